#!/usr/bin/env python3
"""Fuzz harness for eventbus: bad input must never crash the server.

Generates inputs for eight areas and sends them to a running server with
psql, one `SELECT fuzz.try(id, sql)` per input (test/fuzz/fixtures.sql), in
batches of one psql session each:

  pattern    the pattern compiler: is_valid_event_pattern,
             validate_event_pattern, the event_pattern domain
  matcher    =~, event_matches, test_event_pattern, also over many rows with
             a pattern per row (the compiled-pattern cache)
  put_events put_events / put_event with random and mutated entries
  targets    put_targets (Arn forms, Input, InputPath, InputTransformer,
             RetryPolicy, DeadLetterConfig, Config) then an event routed
             through them, remove_targets
  transform  validate_target_input / transform_input
  functions  every function of schema eventbus (from pg_proc, internal ones
             too) with NULL, empty, huge, negative, wrong-typed values
  tables     adversarial relations: TEMP tables with unexpected column types
             as regclass arguments, eventbus's trigger functions on user
             tables, odd rows and composites (event_envelope, INSERT into
             eventbus.events)
  worker     push targets whose outbox is a table with NULLs and unexpected
             types, for the delivery worker (waits for the worker)

Errors are fine; a crash is not.  After every batch the server log is read
for "terminated by signal" (and the other lines of a crash reset), and the
postmaster's start time is compared.  A crash is attributed to its input
(the log's "Failed process was running" line, or the first input of the
batch without an answer), run again alone to confirm it, and saved as a
plain SQL file in --out; the input's generator kind is then skipped for the
rest of the run.

  fuzz.py --seconds 30 --seed 1 --log SERVER_LOG [--corpus DIR] [--out DIR]

Connection: psql's environment (PGHOST, PGPORT, PGUSER, PGDATABASE); the role
must be a superuser (the worker area writes eventbus.targets).  Exit status
1 when the server crashed (also in the corpus replay), 0 otherwise.
"""

import argparse
import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures.sql")
CRASH_RE = re.compile(r"terminated by signal|terminated by exception|"
                      r"exited with exit code (?!1\b)\d+|all server processes terminated|"
                      r"\bPANIC:|AddressSanitizer")
# a delivery worker that stopped on an ERROR (restarted by the postmaster):
# not a crash, but reported
WORKER_EXIT_RE = re.compile(r'background worker "eventbus[^"]*" \(PID (\d+)\) exited with exit code 1\b')
RUNNING_RE = re.compile(r"Failed process was running: .*?fuzz\.try\((\d+),")

MAX_INPUT = 300000      # characters of SQL per input

AREAS = collections.OrderedDict([
    ("pattern", 0.15), ("matcher", 0.15), ("put_events", 0.12),
    ("targets", 0.12), ("transform", 0.10), ("functions", 0.18),
    ("tables", 0.10), ("worker", 0.08),
])


def lit(s):
    """A SQL string literal (standard_conforming_strings on); non-strings as JSON text."""
    if not isinstance(s, str):
        s = json.dumps(s)
    return "'" + s.replace("\x00", "").replace("'", "''") + "'"


def jlit(v):
    """A jsonb literal of a Python value or of raw JSON text."""
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return lit(text) + "::jsonb"


# ---------------------------------------------------------------- server

class Server:
    def __init__(self, psql, log_path, timeout_ms, pgdata=None):
        self.psql = psql
        self.pgdata = pgdata
        self.log_path = log_path
        self.timeout_ms = timeout_ms
        self.log_pos = self._log_size()
        self.start_time = None

    def _log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def new_log(self):
        """The server log written since the last call."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_pos)
                data = f.read()
        except OSError:
            return ""
        self.log_pos += len(data)
        return data.decode("utf-8", "replace")

    def run(self, script, timeout=120):
        """psql on a script, without ON_ERROR_STOP: (rc, stdout, stderr)."""
        try:
            p = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0"],
                               input=script.encode("utf-8", "replace"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, "", "psql timed out"
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def query(self, sql):
        rc, out, err = self.run(sql, timeout=60)
        return out.strip() if rc == 0 and "ERROR" not in err else None

    def wait_ready(self, secs=90):
        deadline = time.time() + secs
        while time.time() < deadline:
            if self.query("SELECT 1;") == "1":
                return True
            time.sleep(0.2)
        return False

    def set_delivery(self, on):
        """Turn the delivery workers off or on through PGDATA/fuzz.conf (which
        postgresql.conf includes) and SIGHUP: a worker that crashes on every
        cycle leaves no time for a cleanup connection.  False without PGDATA."""
        if not self.pgdata:
            return False
        path = os.path.join(self.pgdata, "fuzz.conf")
        with open(path, "w") as f:
            f.write("" if on else "eventbus.delivery_enabled = off\n")
        os.chmod(path, 0o644)
        try:
            with open(os.path.join(self.pgdata, "postmaster.pid")) as f:
                os.kill(int(f.readline()), signal.SIGHUP)
        except (OSError, ValueError):
            return False
        time.sleep(0.5)
        return True

    def postmaster_start(self):
        return self.query("SELECT pg_postmaster_start_time();")

    def fixtures(self):
        """Run fixtures.sql; retried while the server is still recovering."""
        with open(FIXTURES) as f:
            script = f.read()
        for _ in range(60):
            rc, out, err = self.run(script)
            if rc == 0 and "ERROR" not in err:
                return
            if "recovery mode" not in err and "starting up" not in err and rc != 2:
                raise RuntimeError("fixtures failed: " + err)
            time.sleep(0.5)
            self.wait_ready()
        raise RuntimeError("fixtures failed: " + err)

    def batch(self, inputs, preamble=""):
        """Run inputs [(id, sql)]: ({id: (sqlstate, message)}, stderr)."""
        lines = ["SET statement_timeout = %d;" % self.timeout_ms,
                 "SET lock_timeout = 1000;", "SET client_min_messages = error;", preamble]
        for iid, sql in inputs:
            lines.append("SELECT fuzz.try(%d, %s);" % (iid, lit(sql)))
        rc, out, err = self.run("\n".join(lines) + "\n")
        results = {}
        for line in out.splitlines():
            parts = line.split("|", 2)
            if len(parts) >= 2 and parts[0].isdigit():
                results[int(parts[0])] = (parts[1], parts[2] if len(parts) > 2 else "")
        return results, err, rc


# ---------------------------------------------------------------- values

UNICODE = ["é", "İ", "ß", "ẞ", "Σ", "ς", "ﬃ", "ǅ", "\u0130", "\u212a", "\u2126",
           "\u0301", "\u200d", "\u202e", "\ufeff", "\uffff", "\U0001f600",
           "\U0010ffff", "日本", "\u00a0", "\t", "\n", "\\", "\"", "*", "\\*", "<", ">", "$"]
FIELDS = ["source", "detail-type", "detail", "account", "region", "resources",
          "time", "id", "version", "$or", "", "a", "b", "x", "state", "n", "a.b",
          "Source", "detail.x", "*", "İd", "\U0001f600"]
OPERATORS = ["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
             "numeric", "exists", "cidr", "Prefix", "numerics", "", "$or"]
NUMBERS = [0, -0.0, 1, -1, 3.5, 300, 3e2, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 63,
           -2 ** 63, 2 ** 64, 123456789012345678901234567890]
RAW_NUMBERS = ["1e400", "-1e400", "1e-400", "0.0000000000000000000000000001",
               "9" * 400, "-" + "9" * 400, "1." + "0" * 300 + "1", "-0", "1E+308"]


class Gen:
    def __init__(self, rng):
        self.r = rng

    def chance(self, p):
        return self.r.random() < p

    def string(self, maxlen=12):
        r = self.r
        k = r.random()
        if k < 0.35:
            return "".join(r.choice("abcxyz.-_/:") for _ in range(r.randint(0, maxlen)))
        if k < 0.55:
            return "".join(r.choice(UNICODE + ["a", "b", "A", "B"]) for _ in range(r.randint(1, maxlen)))
        if k < 0.65:
            return r.choice(["", "*", "**", "a*b", "\\*", "\\\\", "a\\", "*" * 17, "*a" * 16,
                             "a*" * 16, "\\", "\\x", "10.0.0.0/24", "::1", "fz.t", "fz"])
        if k < 0.75:
            return r.choice(["1.2.3.4", "10.0.0.0/8", "10.0.0.0/33", "256.1.1.1/8", "1.2.3.4/-1",
                             "01.2.3.4/32", "2001:db8::/32", "2001:db8::/129", "::ffff:1.2.3.4/120",
                             ":::/1", "1:2:3:4:5:6:7:8:9/64", "1.2.3/24", "0.0.0.0/0", "::/0",
                             "fe80::1%eth0/64", "1.2.3.4/24/8", " 1.2.3.4/8"])
        if k < 0.82:
            return r.choice(["a", "x", "é"]) * r.choice([100, 1000, 5000, 70000])
        return str(r.choice(NUMBERS))

    def number(self):
        return self.r.choice(NUMBERS) if self.chance(0.8) else self.r.randint(-10 ** 6, 10 ** 6)

    def scalar(self):
        k = self.r.random()
        if k < 0.5:
            return self.string()
        if k < 0.8:
            return self.number()
        return self.r.choice([True, False, None])

    def any_json(self, depth=0):
        k = self.r.random()
        if depth > 4 or k < 0.5:
            return self.scalar()
        if k < 0.75:
            return [self.any_json(depth + 1) for _ in range(self.r.randint(0, 4))]
        return {self.r.choice(FIELDS) if self.chance(0.6) else self.string(6): self.any_json(depth + 1)
                for _ in range(self.r.randint(0, 4))}

    # -- patterns
    def operator(self):
        r = self.r
        op = r.choice(OPERATORS)
        if op in ("prefix", "suffix", "Prefix"):
            v = self.string() if self.chance(0.8) else (
                {"equals-ignore-case": self.string()} if self.chance(0.7) else self.any_json(2))
            return {op: v}
        if op == "equals-ignore-case":
            return {op: self.string() if self.chance(0.85) else self.any_json(2)}
        if op == "wildcard":
            return {op: r.choice(["*", "a*", "*.png", "a*b*c", "a**b", "\\*x", "x\\", "a\\b",
                                  "*" * r.randint(1, 20), "a*" * r.randint(1, 20)])
                    if self.chance(0.6) else self.string()}
        if op == "anything-but":
            k = r.random()
            if k < 0.3:
                v = self.scalar()
            elif k < 0.6:
                v = [self.scalar() for _ in range(r.randint(0, 4))]
            else:
                v = {r.choice(["prefix", "suffix", "wildcard", "equals-ignore-case", "numeric", "x"]):
                     self.string() if self.chance(0.6) else [self.string() for _ in range(r.randint(0, 3))]}
            return {op: v}
        if op in ("numeric", "numerics"):
            n = r.choice([1, 2, 2, 3, 4, 4, 5, 6])
            v = []
            for i in range(n):
                if i % 2 == 0 and self.chance(0.9):
                    v.append(r.choice(["<", "<=", "=", ">", ">=", "!=", "=="]))
                else:
                    v.append(self.number() if self.chance(0.85) else self.scalar())
            return {op: v}
        if op == "exists":
            return {op: r.choice([True, False, "true", None, 1, []])}
        if op == "cidr":
            return {op: self.string() if self.chance(0.3) else r.choice(
                ["10.0.0.0/24", "10.0.0.0/33", "192.168.0.1/32", "0.0.0.0/0", "2001:db8::/32",
                 "::/0", "::ffff:10.0.0.0/104", "10.0.0.0", "1.2.3.4/", "/8", "a.b.c.d/8", ""])}
        return {op: self.any_json(2)}

    def leaf_list(self):
        r = self.r
        if self.chance(0.05):
            return self.any_json(2)     # not a list: refused
        items = []
        for _ in range(r.choice([0, 1, 1, 1, 2, 3, 5])):
            items.append(self.operator() if self.chance(0.45) else self.scalar())
        return items

    def pattern(self, depth=0):
        r = self.r
        p = {}
        for _ in range(r.choice([0, 1, 1, 2, 2, 3])):
            key = r.choice(FIELDS) if self.chance(0.8) else self.string(8)
            if key == "$or" and depth < 6:
                p[key] = [self.pattern(depth + 1) for _ in range(r.randint(0, 3))] \
                    if self.chance(0.9) else self.any_json(2)
            elif (key == "detail" or self.chance(0.2)) and depth < 6:
                p[key] = self.pattern(depth + 1)
            else:
                p[key] = self.leaf_list()
        if depth == 0 and not p:
            p["source"] = [self.string()]
        return p

    def deep(self, kind, depth):
        if kind == "object":
            return "{\"detail\": " + "{\"a\": " * depth + "[1]" + "}" * depth + "}"
        if kind == "or":
            return "{\"$or\": [" * depth + "{\"a\": [1]}" + "]}" * depth
        if kind == "array_event":
            return "{\"detail\": {\"a\": " + "[" * depth + "1" + "]" * depth + "}}"
        return "[" * depth + "]" * depth

    def mutate(self, v, n=None):
        """Random structural mutations of a JSON value."""
        r = self.r
        for _ in range(n if n is not None else r.randint(1, 3)):
            v = self._mutate_one(v, 0)
        return v

    def _mutate_one(self, v, depth):
        r = self.r
        if isinstance(v, dict) and v and self.chance(0.7):
            k = r.choice(list(v))
            v = dict(v)
            action = r.random()
            if action < 0.6:
                v[k] = self._mutate_one(v[k], depth + 1)
            elif action < 0.75:
                del v[k]
            elif action < 0.9:
                v[self.r.choice(FIELDS + OPERATORS)] = self.any_json(3)
            else:
                v[k] = [v[k]]
            return v
        if isinstance(v, list) and v and self.chance(0.7):
            v = list(v)
            i = r.randrange(len(v))
            action = r.random()
            if action < 0.6:
                v[i] = self._mutate_one(v[i], depth + 1)
            elif action < 0.8 or len(v) > 100:
                del v[i]
            else:
                v.extend(v[:r.randint(1, 3)] * r.choice([1, 10, 30]))
            return v
        action = r.random()
        if action < 0.3:
            return self.scalar()
        if action < 0.5:
            return self.operator()
        if action < 0.6:
            return [v]
        if action < 0.7:
            return {r.choice(FIELDS + OPERATORS): v}
        return self.any_json(2)

    def text_mutate(self, text):
        """Mutations of JSON text: raw numbers, escapes, truncation."""
        r = self.r
        k = r.random()
        if k < 0.35:
            nums = list(re.finditer(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text))
            if nums:
                m = r.choice(nums)
                return text[:m.start()] + r.choice(RAW_NUMBERS) + text[m.end():]
        if k < 0.6:
            strs = list(re.finditer(r"\"(?:[^\"\\]|\\.)*\"", text))
            if strs:
                m = r.choice(strs)
                esc = r.choice(["\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\u0000\"", "\"\\u0130\"",
                                "\"\\\\\"", "\"a\\*\"", "\"\\ud83d\\ude00\"", "\"\\u00e9*\""])
                return text[:m.start()] + esc + text[m.end():]
        if k < 0.7 and text:
            i = r.randrange(len(text))
            return text[:i]
        if k < 0.8 and text:
            i = r.randrange(len(text))
            return text[:i] + r.choice(["{", "}", "[", "]", ",", ":", "\"", "\\", "\u00e9"]) + text[i:]
        return text

    # -- events
    def value_for(self, cond):
        """A value that may satisfy one condition of a leaf list."""
        r = self.r
        if not isinstance(cond, dict) or not cond:
            if isinstance(cond, str) and self.chance(0.3):
                return cond.upper() if self.chance(0.5) else cond + "x"
            if isinstance(cond, (int, float)) and not isinstance(cond, bool) and self.chance(0.3):
                # the same number as a float, when a float can hold it
                try:
                    return float(cond)
                except OverflowError:
                    return cond
            return cond
        op, arg = next(iter(cond.items()))
        s = arg if isinstance(arg, str) else self.string()
        if op == "prefix":
            return s + self.string(4)
        if op == "suffix":
            return self.string(4) + s
        if op == "equals-ignore-case":
            return s.upper() if self.chance(0.5) else s.lower()
        if op == "wildcard":
            return s.replace("*", self.string(3))
        if op == "numeric" and isinstance(arg, list):
            nums = [a for a in arg if isinstance(a, (int, float)) and not isinstance(a, bool)]
            if nums:
                return r.choice(nums) + r.choice([-1, 0, 0.5, 1e-9, 1])
            return self.number()
        if op == "cidr":
            return r.choice(["10.0.0.1", "10.0.0.255", "192.168.0.1", "2001:db8::1", "::1",
                             "10.0.0.256", "1.2.3", "::ffff:10.0.0.1"])
        return self.scalar()

    def detail_for(self, pattern, depth=0):
        r = self.r
        out = {}
        if not isinstance(pattern, dict):
            return self.any_json(2)
        for k, v in pattern.items():
            if k == "$or" and isinstance(v, list) and v:
                sub = r.choice(v)
                if isinstance(sub, dict):
                    out.update(self.detail_for(sub, depth + 1))
            elif isinstance(v, dict):
                out[k] = self.detail_for(v, depth + 1) if depth < 40 else self.scalar()
                if depth < 3 and self.chance(0.15):
                    out[k] = [out[k], self.detail_for(v, depth + 1)]
            elif isinstance(v, list) and v:
                c = r.choice(v)
                if isinstance(c, dict) and c.get("exists") is False:
                    continue
                val = self.value_for(c)
                out[k] = [val, self.scalar()] if self.chance(0.2) else val
            elif self.chance(0.3):
                out[k] = self.scalar()
        return out

    def event_for(self, pattern):
        d = self.detail_for(pattern)
        if not isinstance(d, dict):
            d = {"detail": d}
        ev = {"id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "account": "000000000000",
              "source": "fz", "time": "2024-01-01T00:00:00Z", "region": "local",
              "resources": [], "detail-type": "t", "version": "0", "detail": {}}
        for k, v in d.items():
            if k in ev and k != "detail":
                ev[k] = v
        ev["detail"] = d.get("detail", {}) if isinstance(d.get("detail"), dict) else d.get("detail", {})
        if self.chance(0.2):
            ev = self.mutate(ev, 1)
        return ev


# ---------------------------------------------------------------- areas

class Areas:
    def __init__(self, gen, seeds, procs):
        self.g = gen
        self.r = gen.r
        self.seeds = seeds
        self.procs = procs      # [(name, [argtype...], retset, rettype)]

    # a pattern: generated, a mutated seed, or a pathological one (JSON text)
    def pattern_text(self):
        g, r = self.g, self.r
        k = r.random()
        if k < 0.45:
            p = g.pattern()
        elif k < 0.8 and self.seeds["patterns"]:
            p = g.mutate(r.choice(self.seeds["patterns"]))
        elif k < 0.9:
            return g.deep(r.choice(["object", "or", "array", "array_event"]),
                          r.choice([10, 100, 1000, 3000, 10000]))
        else:
            p = {"detail": {"k%d" % i: [g.operator() if g.chance(0.5) else g.scalar()]
                            for i in range(r.choice([50, 300, 2000]))}}
        text = json.dumps(p, ensure_ascii=False)
        if g.chance(0.15):
            text = g.text_mutate(text)
        return text

    def pattern_and_event(self):
        text = self.pattern_text()
        if len(text) > 20000 and self.g.chance(0.7):
            # a deep or big pattern: a deep event beside it
            return text, self.g.deep(self.r.choice(["object", "array_event"]),
                                     self.r.choice([10, 100, 1000, 5000]))
        try:
            p = json.loads(text)
        except (ValueError, RecursionError):
            p = {}
        ev = self.g.event_for(p) if self.g.chance(0.85) else self.g.any_json()
        etext = json.dumps(ev, ensure_ascii=False)
        if self.g.chance(0.08):
            etext = self.g.text_mutate(etext)
        return text, etext

    def big_size(self):
        # sometimes lift the pattern size limit, so that big patterns reach the compiler
        return "SET LOCAL eventbus.max_pattern_size = 10000000; " if self.g.chance(0.4) else ""

    def pattern(self):
        p = jlit(self.pattern_text())
        form = self.r.randrange(4)
        kind = "pattern/%d" % form
        pre = self.big_size()
        if form == 0:
            return kind, pre + "SELECT eventbus.is_valid_event_pattern(%s)" % p
        if form == 1:
            return kind, pre + "SELECT eventbus.validate_event_pattern(%s)" % p
        if form == 2:
            return kind, pre + "SELECT %s::eventbus.event_pattern" % p
        return kind, pre + "SELECT eventbus.put_rule('fz-p%d', %s, 'fz', %s)" % (
            self.r.randrange(3), p, lit(self.r.choice(["ENABLED", "DISABLED", "enabled", ""])))

    def matcher(self):
        r = self.r
        form = r.randrange(5)
        kind = "matcher/%d" % form
        pre = self.big_size()
        p, e = self.pattern_and_event()
        if form == 0:
            return kind, pre + "SELECT %s OPERATOR(eventbus.=~) %s" % (jlit(e), jlit(p))
        if form == 1:
            return kind, pre + "SELECT eventbus.event_matches(%s, %s)" % (jlit(e), jlit(p))
        if form == 2:
            return kind, pre + "SELECT eventbus.test_event_pattern(%s, %s)" % (jlit(e), jlit(p))
        if form == 3:
            # one pattern, many events: the compiled pattern is cached for the scan
            evs = [jlit(e)] + [jlit(self.pattern_and_event()[1]) for _ in range(r.randint(1, 20))]
            return kind, pre + "SELECT count(*) FROM (VALUES (%s)) v(e) WHERE e OPERATOR(eventbus.=~) %s" % (
                "), (".join(evs), jlit(p))
        # a pattern per row: the cache must follow the argument
        rows = []
        for _ in range(r.randint(2, 12)):
            pp, ee = self.pattern_and_event()
            rows.append("(%s, %s)" % (jlit(ee), jlit(pp)))
        fn = r.choice(["e OPERATOR(eventbus.=~) p", "eventbus.is_valid_event_pattern(p)",
                       "CASE WHEN eventbus.is_valid_event_pattern(p) THEN e OPERATOR(eventbus.=~) p END"])
        return kind, pre + "SELECT count(%s) FROM (VALUES %s) v(e, p)" % (fn, ", ".join(rows))

    # -- put_events
    def entry(self):
        g, r = self.g, self.r
        e = {}
        if g.chance(0.9):
            e["Source"] = r.choice(["fz", "fz.t", "fz.w", "fz.x" + g.string(4), g.string()]) \
                if g.chance(0.85) else g.any_json(2)
        if g.chance(0.9):
            e["DetailType"] = g.string() if g.chance(0.85) else g.any_json(2)
        if g.chance(0.9):
            d = g.any_json() if g.chance(0.3) else g.detail_for(g.pattern())
            k = r.random()
            if k < 0.4:
                e["Detail"] = json.dumps(d, ensure_ascii=False)
            elif k < 0.5:
                e["Detail"] = g.text_mutate(json.dumps(d, ensure_ascii=False))
            else:
                e["Detail"] = d
        if g.chance(0.5):
            e["EventBusName"] = r.choice(["fz", "default", "nope", "arn:aws:events:local:000000000000:event-bus/fz",
                                          "arn:aws:events:x:y:event-bus/fz", "arn:aws:events:::event-bus/",
                                          "", g.string()]) if g.chance(0.9) else g.any_json(1)
        if g.chance(0.3):
            e["Resources"] = [g.string() if g.chance(0.8) else g.scalar() for _ in range(r.randint(0, 5))] \
                if g.chance(0.85) else g.any_json(1)
        if g.chance(0.3):
            e["Time"] = r.choice(["2024-01-01T00:00:00Z", "2024-13-45T25:61:61Z", "+275760-09-13T00:00:00Z",
                                  "0000-01-01T00:00:00Z", "2024-01-01T00:00:00.123456789+14:00",
                                  "2024-01-01", "infinity", "-infinity", "epoch", "now", "",
                                  "2024-01-01T00:00:00+99:99", "294277-01-01T00:00:00Z"]) \
                if g.chance(0.85) else g.scalar()
        if g.chance(0.1):
            e[r.choice(["TraceHeader", "source", "Detail ", "X"])] = g.any_json(1)
        return e

    def put_events(self):
        g, r = self.g, self.r
        if g.chance(0.75):
            entries = [self.entry() for _ in range(r.choice([1, 1, 2, 3, 10, 11]))]
            req = {"Entries": entries} if g.chance(0.7) else entries
            if g.chance(0.1):
                req = g.mutate(req, 1)
            text = json.dumps(req, ensure_ascii=False)
            if g.chance(0.05):
                text = g.text_mutate(text)
            return "put_events", "SELECT eventbus.put_events(%s)" % jlit(text)
        vals = [lit(g.string()) if g.chance(0.85) else "NULL",
                lit(g.string()) if g.chance(0.85) else "NULL",
                jlit(g.any_json()) if g.chance(0.9) else "NULL",
                lit(r.choice(["fz", "default", "nope", "", g.string()])) if g.chance(0.9) else "NULL",
                r.choice(["'{}'::text[]", "NULL", "ARRAY[NULL]::text[]", "ARRAY['a','b']",
                          "ARRAY[repeat('x', 100000)]", "'{{a,b},{c,d}}'::text[]", "'[3:4]={a,b}'::text[]"]),
                r.choice(["now()", "NULL", "'infinity'", "'-infinity'", "'4713-01-01 BC'", "'294276-12-31'"])]
        n = r.randint(3, 6)
        return "put_event", "SELECT eventbus.put_event(%s)" % ", ".join(vals[:n])

    # -- targets
    def arn(self):
        g, r = self.g, self.r
        return r.choice([
            "queue:fzq", "queue:fzq2", "queue:" + g.string(8), "queue:", "queue:" + "q" * 60,
            "arn:aws:sqs:local:000000000000:fzq", "arn:aws:sqs:x:y:" + g.string(6), "arn:aws:sqs:::",
            "function:fuzz.sink", "function:fuzz.nope", "function:sink", "function:\"fuzz\".\"sink\"",
            "function:fuzz.sink(jsonb)", "function:pg_catalog.pg_sleep", "function:", "function:a.b.c",
            "function:fuzz.sink; DROP TABLE fuzz.victim", "bus:fz", "bus:default", "bus:nope", "bus:",
            "arn:aws:events:local:000000000000:event-bus/fz", "arn:aws:events:local:000000000000:event-bus/",
            "notify:fz", "notify:" + "n" * 100, "notify:", "http://x", "https://example.com/x",
            "arn:aws:lambda:local:0:function:x", "", g.string(), "queue:fz\"q", "function:fuzz.\"si nk\"",
        ]) if g.chance(0.92) else g.any_json(1)

    def path(self):
        g, r = self.g, self.r
        return r.choice([
            "$", "$.detail", "$.detail.a", "$.detail.a[0]", "$.detail.a[-1]", "$.detail[99999999999999]",
            "$.", "$..a", "$['a']", "$.a.b.c.d.e.f", "$.detail." + "a." * 200 + "a", "detail",
            "$.detail.\u00e9", "$[0]", "$.*", "$.a[", "$.a]", "", "$.detail.a[1][2][3]",
            "$.resources[0]", "$.\"a\"", "$.a b", "$." + "x" * 5000, g.string(),
        ]) if g.chance(0.9) else g.any_json(1)

    def template(self, names):
        g, r = self.g, self.r
        ph = ["<%s>" % n for n in names] + ["<aws.events.rule-name>", "<aws.events.rule-arn>",
                                            "<aws.events.event>", "<aws.events.event.json>",
                                            "<aws.events.event.ingestion-time>", "<nope>", "<>", "<", ">"]
        k = r.random()
        if k < 0.3:
            return "{" + ", ".join("\"k%d\": %s" % (i, r.choice(ph)) for i in range(r.randint(0, 5))) + "}"
        if k < 0.5:
            return "\"" + " ".join(r.choice(ph + ["text", "\\\"", "\\n", "\u00e9"]) for _ in range(r.randint(0, 6))) + "\""
        if k < 0.65:
            return "[" + ", ".join(r.choice(ph + ["1", "null", "\"s <a> t\""]) for _ in range(r.randint(0, 6))) + "]"
        if k < 0.75:
            return r.choice(ph)
        if k < 0.85:
            return "".join(r.choice(ph + ["{", "}", "\"", ":", ",", "[", "]", "x", "\\"]) for _ in range(r.randint(0, 12)))
        return json.dumps(g.any_json(), ensure_ascii=False)

    def transformer(self):
        g, r = self.g, self.r
        names = [r.choice(["a", "b", "x", "aws.events.rule-name", "", "a b", "<", "\u00e9", g.string(5)])
                 for _ in range(r.choice([0, 1, 2, 3, 5, 100, 101]))]
        t = {}
        if g.chance(0.9):
            t["InputPathsMap"] = {n: self.path() for n in names} if g.chance(0.9) else g.any_json(1)
        if g.chance(0.9):
            t["InputTemplate"] = self.template(names) if g.chance(0.9) else g.any_json(1)
        if g.chance(0.1):
            t[g.string(5)] = g.any_json(1)
        return t if g.chance(0.95) else g.any_json(1)

    def target(self, i):
        g, r = self.g, self.r
        t = {}
        if g.chance(0.95):
            t["Id"] = r.choice(["t%d" % i, "t%d" % i, "", "a" * 65, "a b", "t\u00e9", "x.y-z_1"]) \
                if g.chance(0.9) else g.scalar()
        if g.chance(0.95):
            t["Arn"] = self.arn()
        k = r.random()
        if k < 0.25:
            t["Input"] = g.any_json() if g.chance(0.5) else json.dumps(g.any_json())
            if g.chance(0.1):
                t["Input"] = g.text_mutate(json.dumps(g.any_json()))
        elif k < 0.45:
            t["InputPath"] = self.path()
        elif k < 0.7:
            t["InputTransformer"] = self.transformer()
        if g.chance(0.3):
            t["RetryPolicy"] = {r.choice(["MaximumRetryAttempts", "MaximumEventAgeInSeconds", "X"]):
                                r.choice([0, 1, 185, 186, -1, 60, 59, 86400, 86401, 1e308, 2 ** 63, "5", None, 1.5])
                                for _ in range(r.randint(0, 2))} if g.chance(0.9) else g.any_json(1)
        if g.chance(0.2):
            t["DeadLetterConfig"] = {"Arn": self.arn()} if g.chance(0.8) else g.any_json(1)
        if g.chance(0.2):
            t["Config"] = {"TimeoutSeconds": r.choice([0, 1, 30, -1, 1e308, 2 ** 31, 2 ** 63, 0.0001, "1", None])} \
                if g.chance(0.8) else g.any_json(1)
        if g.chance(0.05):
            t = g.mutate(t, 1)
        return t

    def targets(self):
        g, r = self.g, self.r
        ts = [self.target(i) for i in range(r.choice([1, 1, 2, 3, 6]))]
        req = ts if g.chance(0.8) else {"Targets": ts}
        if g.chance(0.03):
            req = g.any_json()
        detail = g.detail_for(g.pattern())
        keep = g.chance(0.3)
        sql = ("SELECT eventbus.remove_targets('fz-t', ARRAY(SELECT target_id FROM eventbus.targets"
               " WHERE bus = 'fz' AND rule = 'fz-t'), 'fz')"
               " WHERE (SELECT count(*) FROM eventbus.targets WHERE bus = 'fz' AND rule = 'fz-t') >= 3;"
               " SELECT eventbus.put_targets('fz-t', %s, 'fz');"
               " SELECT eventbus.put_event('fz.t', 't', %s, 'fz');"
               " SELECT eventbus.list_targets_by_rule('fz-t', 'fz');" % (jlit(req), jlit(detail)))
        if not keep:
            sql += (" SELECT eventbus.remove_targets('fz-t', ARRAY(SELECT target_id FROM eventbus.targets"
                    " WHERE bus = 'fz' AND rule = 'fz-t'), 'fz');")
        return "targets", sql

    def transform(self):
        g, r = self.g, self.r

        def settings():
            k = r.random()
            inp = jlit(g.any_json()) if k < 0.3 else "NULL"
            path = lit(self.path()) if 0.3 <= k < 0.55 else "NULL"
            tr = jlit(self.transformer()) if 0.55 <= k < 0.95 else "NULL"
            if g.chance(0.1):       # more than one: refused
                inp, path = jlit(g.any_json()), lit(self.path())
            return inp, path, tr

        ev = jlit(g.event_for(g.pattern()) if g.chance(0.8) else g.any_json())
        form = r.randrange(3)
        if form == 0:
            return "transform/validate", "SELECT eventbus.validate_target_input(%s, %s, %s)" % settings()
        if form == 1:
            inp, path, tr = settings()
            return "transform/apply", "SELECT eventbus.transform_input(%s, %s, %s, %s, %s, %s)" % (
                ev if g.chance(0.95) else "NULL", inp, path, tr,
                lit(g.string()) if g.chance(0.8) else "NULL", lit(g.string()) if g.chance(0.8) else "NULL")
        # settings per row: the compiled settings are cached per call site
        rows = []
        for _ in range(r.randint(2, 8)):
            inp, path, tr = settings()
            rows.append("(%s, %s::jsonb, %s::text, %s::jsonb)" % (ev, inp, path, tr))
        return "transform/rows", ("SELECT count(eventbus.transform_input(e, i, p, t, 'r', 'a'))"
                                  " FROM (VALUES %s) v(e, i, p, t)" % ", ".join(rows))

    # -- every function
    TYPES = {
        "text": ["NULL", "''", "'default'", "'fz'", "'fz-r'", "'fz-t'", "'fzq'", "'nope'", "'q'",
                 "'queue:fzq'", "'function:fuzz.sink'", "'bus:fz'", "'notify:x'", "'https://x'",
                 "'arn:aws:sqs:local:000000000000:fzq'", "'arn:aws:events:local:000000000000:event-bus/fz'",
                 "'arn:aws:events:local:000000000000:rule/fz/fz-r'", "repeat('x', 300)",
                 "repeat('\u00e9', 100000)", "'\\'", "'\"'", "'%s%n%x'", "'a''b'", "' '",
                 "'x\"; DROP TABLE fuzz.victim; --'", "'aws.x'", "'\u0130'", "'eventbus_outbox'",
                 "'queue_fzq'", "'../x'", "'pg_catalog.pg_sleep'", "'$.detail'", "'ENABLED'",
                 "'DISABLED'", "'22023'", "'XX000'", "'P0001'", "'00000'", "'ERROR'", "'*'"],
        "integer": ["NULL", "0", "1", "-1", "10", "10000", "10001", "43200", "43201", "1000", "1001",
                    "2147483647", "(-2147483648)"],
        "bigint": ["NULL", "0", "1", "-1", "2147483648", "9223372036854775807", "(-9223372036854775808)"],
        "boolean": ["NULL", "true", "false"],
        "jsonb": ["NULL", "'{}'", "'[]'", "'null'", "'\"\"'", "'0'", "'1e400'", "'{\"a\": 1}'",
                  "'[{\"Id\": \"x\", \"Arn\": \"queue:fzq\"}]'", "'{\"Entries\": []}'",
                  "(repeat('[', 3000) || repeat(']', 3000))",
                  "(SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 5000) g)"],
        "text[]": ["NULL", "'{}'", "'{NULL}'", "ARRAY['fz-t']", "ARRAY['t0', 't1', 't0']",
                   "ARRAY[repeat('x', 10000)]", "'{{a,b},{c,d}}'", "'[0:1]={a,b}'",
                   "ARRAY(SELECT 'id' || g FROM generate_series(1, 200) g)"],
        "bigint[]": ["NULL", "'{}'", "'{NULL}'", "'{1,2,3}'", "'{-1,0}'", "'{{1,2},{3,4}}'",
                     "'[-5:-4]={1,2}'", "'{9223372036854775807}'",
                     "ARRAY(SELECT generate_series(1, 10000)::bigint)"],
        "timestamp with time zone": ["NULL", "now()", "'infinity'", "'-infinity'", "'epoch'",
                                     "'4713-01-01 00:00:00+00 BC'", "'294276-12-31 23:59:59+00'"],
        "date": ["NULL", "current_date", "'infinity'", "'-infinity'", "'4713-01-01 BC'", "'5874897-12-31'"],
        "interval": ["NULL", "'0'", "'-1 day'", "'30 days'", "'178000000 years'", "'-178000000 years'",
                     "'1 microsecond'"],
        "regclass": ["NULL", "'pg_class'", "'eventbus.events'", "'eventbus.queues'", "'eventbus.targets'",
                     "'eventbus.dead_letters'", "'eventbus_outbox.queue_fzq'", "'fuzz.victim'", "'fuzz.view'",
                     "'fuzz.seq'", "'pg_class_oid_index'", "'pg_stat_activity'", "0::oid",
                     "4294967295::oid", "'eventbus.events_default'"],
        "eventbus.events": ["NULL", "NULL::eventbus.events", "(SELECT e FROM eventbus.events e LIMIT 1)",
                            "jsonb_populate_record(NULL::eventbus.events, '{}')"],
    }
    ADVERSARIAL = ["bigint", "integer", "smallint", "text", "uuid", "jsonb", "timestamptz", "boolean",
                   "numeric", "bytea", "int[]", "text[]", "json", "name", "oid", "interval", "real"]
    OUTBOX_COLUMNS = ["message_id", "event_id", "event_ingestion_time", "bus", "rule", "target_id",
                      "payload", "enqueued_at", "visible_at", "receive_count", "first_attempt_at",
                      "last_attempt_at", "last_error_code", "last_error_message"]
    OUTBOX_TYPES = {"message_id": "bigint", "event_id": "uuid", "event_ingestion_time": "timestamptz",
                    "bus": "text", "rule": "text", "target_id": "text", "payload": "jsonb",
                    "enqueued_at": "timestamptz", "visible_at": "timestamptz", "receive_count": "integer",
                    "first_attempt_at": "timestamptz", "last_attempt_at": "timestamptz",
                    "last_error_code": "text", "last_error_message": "text"}
    TYPE_VALUES = {
        "bigint": ["1", "2", "-1", "9223372036854775807", "NULL"],
        "integer": ["0", "1", "-1", "2147483647", "NULL"], "smallint": ["0", "1", "-1", "NULL"],
        "text": ["'x'", "''", "repeat('y', 5000)", "NULL"],
        "uuid": ["gen_random_uuid()", "'00000000-0000-0000-0000-000000000000'", "NULL"],
        "jsonb": ["'{}'", "'[1]'", "'null'", "'\"s\"'", "NULL"],
        "timestamptz": ["now() - interval '1 hour'", "'-infinity'", "'infinity'", "now()", "NULL"],
        "boolean": ["true", "false", "NULL"], "numeric": ["1", "1e100", "'NaN'", "NULL"],
        "bytea": ["'\\x00'", "''", "NULL"], "int[]": ["'{1,2}'", "'{}'", "NULL"],
        "text[]": ["'{a}'", "NULL"], "json": ["'{}'", "'[]'", "NULL"], "name": ["'n'", "NULL"],
        "oid": ["0", "1259", "NULL"], "interval": ["'1 day'", "NULL"], "real": ["1.5", "'NaN'", "NULL"],
    }

    def value(self, typ, depth=0):
        g, r = self.g, self.r
        pool = self.TYPES.get(typ)
        k = r.random()
        if pool is None:
            return "NULL::" + typ
        if k < 0.12:
            return "NULL::" + typ
        if k < 0.2 and depth == 0:
            # wrong type, cast through text
            other = r.choice([t for t in self.TYPES if t != typ])
            return "(%s)::text::%s" % (self.value(other, 1), typ)
        if typ == "jsonb" and k < 0.45:
            src = r.choice([g.pattern, g.any_json, lambda: self.entry(), lambda: [self.target(0)],
                            lambda: self.transformer()])
            return jlit(src())
        if typ == "text" and k < 0.35:
            return lit(g.string())
        return "(%s)::%s" % (r.choice(pool), typ)

    def functions(self):
        g, r = self.g, self.r
        name, args, retset, rettype = r.choice(self.procs)
        form = r.random()
        vals = []
        for i, t in enumerate(args):
            if form < 0.1:
                vals.append("NULL::" + t)          # all NULL
            else:
                vals.append(self.value(t))
        # sometimes leave trailing defaulted arguments out
        n = len(vals) if g.chance(0.8) else r.randint(0, len(vals))
        call = "%s(%s)" % (name, ", ".join(vals[:n]))
        sql = ("SELECT * FROM %s" % call) if retset else ("SELECT %s" % call)
        return "functions/" + name, sql

    # -- adversarial relations
    def random_table(self, name, temp=True):
        """An outbox-like table: a few columns changed, dropped or added; random rows."""
        g, r = self.g, self.r
        cols = [[c, self.OUTBOX_TYPES[c]] for c in self.OUTBOX_COLUMNS]
        for _ in range(r.choice([0, 1, 1, 1, 2, 2, 3, 6])):
            k = r.random()
            if k < 0.7:
                r.choice(cols)[1] = r.choice(self.ADVERSARIAL)
            elif k < 0.85 and cols:
                cols.remove(r.choice(cols))
            else:
                cols.append(["extra%d" % len(cols), r.choice(self.ADVERSARIAL)])
        if g.chance(0.1):
            r.shuffle(cols)
        ddl = "CREATE %sTABLE %s (%s)%s;" % ("TEMP " if temp else "", name,
                                            ", ".join("%s %s" % tuple(c) for c in cols),
                                            " ON COMMIT DROP" if temp else "")
        rows = []
        for _ in range(r.randint(0, 3)):
            vals = []
            for c, t in cols:
                pool = self.TYPE_VALUES.get(t, ["NULL"])
                v = r.choice(pool)
                if c == "visible_at" and g.chance(0.7) and t in ("timestamptz",):
                    v = "now() - interval '1 hour'"
                if c == "receive_count" and g.chance(0.5):
                    v = r.choice(["0", "100", "NULL"]) if t in ("integer", "bigint", "smallint", "numeric") else v
                vals.append("(%s)::%s" % (v, t))
            rows.append("(%s)" % ", ".join(vals))
        ins = ("INSERT INTO %s (%s) VALUES %s;" % (name, ", ".join(c for c, _ in cols), ", ".join(rows))) \
            if rows and cols else ""
        return ddl + " " + ins

    def tables(self, iid):
        g, r = self.g, self.r
        form = r.randrange(6)
        name = "fz_tmp_%d" % iid
        if form <= 1:
            setup = self.random_table(name)
            if form == 0:
                call = "SELECT * FROM eventbus._receive_pass(%s, %s, %s, %s, %s, 'fzq', %s)" % (
                    lit(name), r.choice(["now()", "'infinity'", "'-infinity'"]),
                    r.choice(["1", "10", "0", "-1", "100000"]), r.choice(["1", "10", "0", "-1"]),
                    r.choice(["0", "30", "-1", "2147483647"]), r.choice(["0", "-1", "9223372036854775807"]))
            else:
                call = "SELECT eventbus._delete_messages(%s, %s)" % (
                    lit(name), r.choice(["'{1,2}'", "'{}'", "'{NULL}'", "'{{1},{2}}'"]))
            return "tables/%s" % ("receive_pass" if form == 0 else "delete_messages"), setup + " " + call
        if form == 2:
            # eventbus's trigger functions on a user table
            fn = r.choice(["eventbus.route_events"] * 3 + ["eventbus.catalog_changed", "eventbus._target_owner",
                                                            "eventbus._target_removed"])
            timing = r.choice(["AFTER INSERT", "BEFORE INSERT", "AFTER INSERT OR UPDATE OR DELETE",
                               "AFTER UPDATE", "AFTER DELETE"])
            level = r.choice(["FOR EACH STATEMENT", "FOR EACH ROW"])
            ref = " REFERENCING NEW TABLE AS new_events" if g.chance(0.6) and "INSERT" in timing \
                and "OR" not in timing else ""
            ncols = r.randint(0, 14) if g.chance(0.5) else r.randint(10, 13)
            cols = ", ".join("c%d %s" % (i, r.choice(self.ADVERSARIAL)) for i in range(ncols))
            ddl = "CREATE TEMP TABLE %s (%s) ON COMMIT DROP;" % (name, cols)
            trg = "CREATE TRIGGER fz %s ON %s%s %s EXECUTE FUNCTION %s();" % (timing, name, ref, level, fn)
            dml = r.choice(["INSERT INTO %s DEFAULT VALUES;" % name,
                            "INSERT INTO %s SELECT FROM generate_series(1, 3);" % name,
                            "INSERT INTO %s DEFAULT VALUES; UPDATE %s SET c0 = c0; DELETE FROM %s;" % (name, name, name)])
            return "tables/trigger:" + fn.split(".")[1], ddl + " " + trg + " " + dml
        if form == 3:
            # composites: event_envelope of odd rows
            obj = {k: g.scalar() if g.chance(0.7) else g.any_json(1)
                   for k in r.sample(["id", "bus", "time", "source", "detail_type", "account", "region",
                                      "resources", "detail", "ingestion_time", "hops"], r.randint(0, 11))}
            return "tables/envelope", "SELECT eventbus.event_envelope(jsonb_populate_record(NULL::eventbus.events, %s))" % jlit(obj)
        if form == 4:
            # a plain INSERT into eventbus.events, routed by the trigger
            cols = {"id": r.choice(["gen_random_uuid()", "NULL", "'00000000-0000-0000-0000-000000000000'"]),
                    "bus": r.choice(["'fz'", "'default'", "'nope'", "NULL", "''"]),
                    "source": r.choice(["'fz'", "'fz.t'", "'fz.w'", "NULL", "''", "repeat('s', 10000)"]),
                    "detail_type": r.choice(["'t'", "NULL", "''"]),
                    "detail": r.choice(["'{}'", "'[]'", "'null'", "'1'", "NULL", jlit(g.any_json()),
                                        "(repeat('[', 1000) || repeat(']', 1000))::jsonb"]),
                    "resources": r.choice(["'{}'", "NULL", "'{NULL}'", "'{{a},{b}}'", "'[2:2]={x}'"]),
                    "time": r.choice(["now()", "NULL", "'infinity'", "'-infinity'"]),
                    "hops": r.choice(["0", "-1", "32767", "NULL"]),
                    "account": r.choice(["'1'", "NULL", "''"]), "region": r.choice(["'r'", "NULL"])}
            keys = r.sample(list(cols), r.randint(1, len(cols)))
            n = r.choice([1, 1, 3])
            return "tables/insert_events", "INSERT INTO eventbus.events (%s) SELECT %s FROM generate_series(1, %d)" % (
                ", ".join('"%s"' % k for k in keys), ", ".join(cols[k] for k in keys), n)
        # a queue whose outbox was replaced, then the public API on it
        setup = self.random_table("fuzz.fz_q_%d" % iid, temp=False)
        api = r.choice(["SELECT * FROM eventbus.receive('fzx%d', %s, 30)" % (iid, r.choice(["1", "10"])),
                        "SELECT eventbus.ack('fzx%d', '{1,2}')" % iid,
                        "SELECT eventbus.nack('fzx%d', '{1,2}', 0)" % iid,
                        "SELECT * FROM eventbus.queue_depth('fzx%d')" % iid,
                        "SELECT eventbus.delete_queue('fzx%d', true)" % iid])
        return "tables/queue_outbox", ("%s SELECT eventbus.create_queue('fzx%d');"
                                       " UPDATE eventbus.queues SET outbox = 'fuzz.fz_q_%d' WHERE name = 'fzx%d';"
                                       " %s" % (setup, iid, iid, iid, api))

    def worker(self, iid):
        """(kind, sql): push targets whose outboxes are hand-made tables."""
        r = self.r
        parts = []
        targets = []
        for j in range(3):
            name = "fuzz.fz_w_%d_%d" % (iid, j)
            parts.append(self.random_table(name, temp=False))
            targets.append({"Id": "w%d" % j, "Arn": r.choice(["function:fuzz.sink", "function:fuzz.sink",
                                                               "notify:fz", "bus:default"])})
        sql = " ".join(parts) + " SELECT eventbus.put_targets('fz-w', %s, 'fz');" % jlit(targets)
        for j in range(3):
            sql += (" UPDATE eventbus.targets SET outbox = 'fuzz.fz_w_%d_%d'"
                    " WHERE bus = 'fz' AND rule = 'fz-w' AND target_id = 'w%d';" % (iid, j, j))
        return "worker", sql + " SELECT eventbus._wake_delivery();"


# Removes what the worker and tables areas made: the targets and queues
# whose outbox is a hand-made table (with target_removed disabled: it would
# move their rows to the dead letters, which rows with NULLs or missing
# columns refuse), then the tables.
WORKER_CLEANUP = """
SET client_min_messages = warning;
DO $c$
DECLARE t record;
BEGIN
    ALTER TABLE eventbus.targets DISABLE TRIGGER target_removed;
    DELETE FROM eventbus.targets WHERE bus = 'fz' AND rule IN ('fz-w', 'fz-t');
    ALTER TABLE eventbus.targets ENABLE TRIGGER target_removed;
    DELETE FROM eventbus.queues WHERE name ~ '^fzx';
    FOR t IN SELECT c.oid::regclass AS rel FROM pg_class c
              WHERE c.relkind = 'r'
                AND ((c.relnamespace = 'fuzz'::regnamespace AND c.relname ~ '^fz_[wq]_')
                     OR (c.relnamespace = 'eventbus_outbox'::regnamespace
                         AND NOT EXISTS (SELECT FROM eventbus.targets x WHERE x.outbox = c.oid)
                         AND NOT EXISTS (SELECT FROM eventbus.queues x WHERE x.outbox = c.oid)))
    LOOP
        EXECUTE format('DROP TABLE %s CASCADE', t.rel);
    END LOOP;
END
$c$;
"""


# ---------------------------------------------------------------- driver

class Fuzzer:
    def __init__(self, server, areas, out_dir, seed):
        self.s = server
        self.areas = areas
        self.out_dir = out_dir
        self.seed = seed
        self.next_id = 1
        self.stats = {a: collections.Counter() for a in AREAS}
        self.used = {a: 0.0 for a in AREAS}
        self.internal = collections.OrderedDict()   # (area, message) -> example sql
        self.slow = []
        self.crashes = []
        self.disabled = set()
        self.exhausted = set()
        self.failed = False
        self.worker_exits = 0
        self.worker_exit_errors = collections.Counter()

    def log(self, msg):
        print(msg, flush=True)

    def gen(self, area):
        iid = self.next_id
        self.next_id += 1
        for _ in range(20):
            if area in ("tables", "worker"):
                kind, sql = getattr(self.areas, area)(iid)
            else:
                kind, sql = getattr(self.areas, area)()
            if kind not in self.disabled and len(sql) <= MAX_INPUT:
                return iid, kind, sql
        return None

    def save(self, area, kind, sql, log_lines, confirmed):
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, "crash-%02d-%s.sql" % (len(self.crashes) + 1,
                                                                 re.sub(r"[^A-Za-z0-9_]+", "_", kind)))
        with open(path, "w") as f:
            f.write("-- fuzz crash: area %s, kind %s, seed %d, %s\n" % (
                area, kind, self.seed, "reproduced when run alone" if confirmed else "NOT reproduced alone"))
            for line in log_lines[:6]:
                f.write("-- log: %s\n" % line[:300])
            f.write("-- run: psql -f test/fuzz/fixtures.sql -f THIS_FILE\n")
            f.write(sql.rstrip().rstrip(";") + ";\n")
        return path

    def check_crash(self):
        """Crash lines of the server log since the last check."""
        text = self.s.new_log()
        lines = text.splitlines()
        for i, l in enumerate(lines):
            m = WORKER_EXIT_RE.search(l)
            if m:
                self.worker_exits += 1
                errs = [x for x in lines[:i] if "[%s] ERROR:" % m.group(1) in x]
                key = re.sub(r"\d+", "N", errs[-1].split("ERROR:", 1)[1].strip())[:150] if errs else "?"
                self.worker_exit_errors[key] += 1
        return text, [l for l in lines if CRASH_RE.search(l)]

    def recover(self, worker=False):
        paused = worker and self.s.set_delivery(False)
        time.sleep(0.5)         # the reset may still be under way
        if not self.s.wait_ready():
            self.log("FAIL: the server did not come back after a crash")
            raise SystemExit(2)
        if self.areas_need_worker_cleanup:
            self.worker_cleanup()
        self.s.fixtures()
        if paused:
            self.s.set_delivery(True)

    areas_need_worker_cleanup = False

    def worker_cleanup(self):
        for _ in range(30):
            rc, out, err = self.s.run(WORKER_CLEANUP)
            if rc == 0 and "ERROR" not in err:
                return
            time.sleep(0.3)
            self.s.wait_ready()

    def handle_crash(self, area, batch, results, text, lines):
        """Attribute, confirm and save one crash of this batch."""
        self.failed = True
        m = RUNNING_RE.search(text)
        by_id = {iid: (kind, sql) for iid, kind, sql in batch}
        culprit = None
        if m and int(m.group(1)) in by_id:
            culprit = int(m.group(1))
        else:
            for iid, _, _ in batch:
                if iid not in results:
                    culprit = iid
                    break
        worker_crash = any("background worker" in l for l in lines)
        self.areas_need_worker_cleanup = True
        self.recover(worker_crash)
        self.s.new_log()
        if culprit is None:
            culprit = batch[-1][0]
        kind, sql = by_id[culprit]
        # confirm: the input alone, in a fresh session
        self.s.batch([(culprit, sql)])
        if worker_crash or area == "worker":
            time.sleep(2.0)
        text2, lines2 = self.check_crash()
        confirmed = bool(lines2)
        if confirmed:
            self.recover(any("background worker" in l for l in lines2))
            self.s.new_log()
        self.areas_need_worker_cleanup = False
        self.worker_cleanup()
        path = self.save(area, kind, sql, lines, confirmed)
        self.crashes.append((area, kind, confirmed, path, lines[:2]))
        self.disabled.add(kind)
        self.stats[area]["crashes"] += 1
        self.log("FAIL: crash in area %s (%s), %s: %s" % (
            area, kind, "reproduced alone" if confirmed else "not reproduced alone", path))
        for l in lines[:3]:
            self.log("      %s" % l[:200])

    def run_batch(self, area, size):
        batch = []
        for _ in range(size):
            x = self.gen(area)
            if x:
                batch.append(x)
        if not batch:
            self.exhausted.add(area)     # every kind it makes crashed already
            return
        results, err, rc = self.s.batch([(iid, sql) for iid, _, sql in batch])
        if area == "worker":
            time.sleep(1.0)      # a delivery cycle or two
        text, lines = self.check_crash()
        st = self.stats[area]
        for iid, kind, sql in batch:
            if iid not in results:
                continue
            state, msg = results[iid]
            st["inputs"] += 1
            if state == "00000":
                st["ok"] += 1
            elif state == "57014":
                st["timeout"] += 1
                if len(self.slow) < 20:
                    self.slow.append((area, kind, sql[:300]))
            else:
                st["error"] += 1
                if state == "XX000":
                    st["internal"] += 1
                    key = (area, re.sub(r"\d+", "N", msg)[:120])
                    if key not in self.internal:
                        self.internal[key] = sql[:400]
        if lines or rc == 2 or "server closed the connection" in err:
            if not lines:
                time.sleep(0.5)
                t2, lines = self.check_crash()
                text += t2
            if lines:
                self.handle_crash(area, batch, results, text, lines)
            else:
                self.log("note: psql lost its connection without a crash in the log: %s" % err[-300:])
                self.s.wait_ready()
        if area == "worker":
            self.worker_cleanup()

    def run(self, seconds):
        deadline = time.time() + seconds
        sizes = {"worker": 1, "tables": 20, "functions": 40, "targets": 20}
        batches = 0
        while time.time() < deadline:
            # the area furthest behind its share of the time
            live = [a for a in AREAS if a not in self.exhausted]
            if not live:
                break
            area = min(live, key=lambda a: self.used[a] / AREAS[a])
            t0 = time.time()
            self.run_batch(area, sizes.get(area, 50))
            self.used[area] += time.time() - t0
            batches += 1
            if batches % 10 == 0:
                self.worker_cleanup()
                self.s.fixtures()
            if len(self.crashes) >= 12:
                self.log("note: 12 crashes, stopping early")
                break


def replay_corpus(server, corpus):
    """Run each corpus file alone; the names of those that crashed."""
    crashed = []
    files = sorted(f for f in os.listdir(corpus) if f.endswith(".sql")) if os.path.isdir(corpus) else []
    for name in files:
        path = os.path.join(corpus, name)
        with open(path) as f:
            body = f.read()
        m = re.search(r"^-- wait: ([\d.]+)", body, re.M)
        with open(FIXTURES) as f:
            script = f.read()
        server.new_log()
        rc, _, err = server.run(script + "\nSET statement_timeout = 10000;\n" + body)
        if m:
            time.sleep(float(m.group(1)))
        lost = rc == 2 or "server closed the connection" in err
        lines = []
        # the postmaster logs a crash after psql saw its connection go
        for _ in range(20 if lost else 2):
            time.sleep(0.25)
            lines += [l for l in server.new_log().splitlines() if CRASH_RE.search(l)]
            if lines:
                break
        if lines:
            crashed.append(name)
            print("FAIL: corpus %s crashed the server: %s" % (name, lines[0][:200]), flush=True)
            # a worker crash repeats every cycle until its target goes
            paused = any("background worker" in l for l in lines) and server.set_delivery(False)
            time.sleep(0.5)
            if not server.wait_ready():
                print("FAIL: the server did not come back", flush=True)
                raise SystemExit(2)
            for _ in range(30):
                rc, _, err = server.run(WORKER_CLEANUP)
                if rc == 0 and "ERROR" not in err:
                    break
                time.sleep(0.3)
                server.wait_ready()
            if paused:
                server.set_delivery(True)
            time.sleep(0.5)
            server.new_log()
        else:
            print("ok: corpus %s" % name, flush=True)
            server.run(WORKER_CLEANUP)
    return crashed, len(files)


def load_seeds():
    seeds = {"patterns": []}
    path = os.path.join(HERE, "seeds", "patterns.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    try:
                        seeds["patterns"].append(json.loads(line))
                    except ValueError:
                        pass
    return seeds


def load_procs(server):
    out = server.query(
        "SELECT p.oid::regproc::text || '|' || coalesce(array_to_string(ARRAY("
        "  SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t), ','), '') || '|' || p.proretset"
        "  || '|' || format_type(p.prorettype, NULL)"
        "  FROM pg_proc p WHERE p.pronamespace = 'eventbus'::regnamespace AND p.prokind = 'f'"
        "  ORDER BY 1;")
    procs = []
    for line in (out or "").splitlines():
        name, args, retset, rettype = line.split("|")
        if not name.startswith("eventbus."):
            name = "eventbus." + name
        procs.append((name, [a for a in args.split(",") if a], retset == "t", rettype))
    return procs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", required=True, help="the server's log file")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--out", default="fuzz-findings")
    ap.add_argument("--psql", default="psql")
    ap.add_argument("--timeout-ms", type=int, default=2000, help="statement_timeout per input")
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--pgdata", help="the cluster's directory, whose postgresql.conf has"
                    " include_if_exists = 'fuzz.conf' (to pause delivery after a worker crash)")
    a = ap.parse_args()

    server = Server(a.psql, a.log, a.timeout_ms, a.pgdata)
    if not server.wait_ready(30):
        print("FAIL: cannot connect")
        return 2
    server.run(WORKER_CLEANUP)
    server.fixtures()
    start = server.postmaster_start()
    server.new_log()
    t0 = time.time()

    corpus_crashed, corpus_n = ([], 0) if a.no_corpus else replay_corpus(server, a.corpus)
    t_corpus = time.time() - t0

    rng = random.Random(a.seed)
    procs = load_procs(server)
    fz = Fuzzer(server, Areas(Gen(rng), load_seeds(), procs), a.out, a.seed)
    print("fuzzing %.0f s, seed %d, %d functions of schema eventbus" % (a.seconds, a.seed, len(procs)), flush=True)
    t1 = time.time()
    try:
        fz.run(a.seconds)
    finally:
        elapsed = time.time() - t1
        fz.worker_cleanup()

    # the same postmaster, and a last look at the log
    server.wait_ready(30)
    _, lines = fz.check_crash()
    if lines:
        fz.failed = True
        print("FAIL: crash lines in the server log at the end: %s" % lines[0][:200])
    now = server.postmaster_start()
    restarted = start is not None and now is not None and now != start
    if restarted:
        print("FAIL: the postmaster restarted (pg_postmaster_start_time changed)")

    print()
    print("%-11s %8s %8s %8s %9s %8s %8s" % ("area", "inputs", "ok", "errors", "internal", "timeout", "crashes"))
    total = 0
    for area in AREAS:
        st = fz.stats[area]
        total += st["inputs"]
        print("%-11s %8d %8d %8d %9d %8d %8d" % (area, st["inputs"], st["ok"], st["error"],
                                                 st["internal"], st["timeout"], st["crashes"]))
    print("%-11s %8d   (%.0f inputs/s over %.1f s; corpus: %d files in %.1f s)" % (
        "total", total, total / max(elapsed, 0.001), elapsed, corpus_n, t_corpus))
    if fz.internal:
        print("\ninternal errors (SQLSTATE XX000: elog(ERROR) reachable by input; not a failure):")
        for (area, msg), sql in list(fz.internal.items())[:15]:
            print("  [%s] %s\n      e.g. %s" % (area, msg, sql[:200]))
    if fz.worker_exits:
        print("\ndelivery worker exits on an ERROR (restarted; not a crash): %d" % fz.worker_exits)
        for msg, n in fz.worker_exit_errors.most_common(8):
            print("  %3d x %s" % (n, msg))
    if fz.slow:
        print("\ninputs that hit the %d ms statement timeout:" % a.timeout_ms)
        for area, kind, sql in fz.slow[:8]:
            print("  [%s/%s] %s" % (area, kind, sql[:200]))
    if fz.crashes:
        print("\ncrashes (saved in %s):" % a.out)
        for area, kind, confirmed, path, lines in fz.crashes:
            print("  %s %s%s -> %s" % (area, kind, "" if confirmed else " (not reproduced alone)", path))
    bad = fz.failed or corpus_crashed or restarted
    print("\n%s: %d inputs, %d crashes, %d corpus files crashed" % (
        "FAIL" if bad else "ok", total, len(fz.crashes), len(corpus_crashed)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
