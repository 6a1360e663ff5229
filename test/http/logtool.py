#!/usr/bin/env python3
"""Questions about the request log of test/http/server.py, for the shell
helpers of test/scripts/lib/http.bash (Python 3 standard library only).

    logtool.py count LOG REGEX            requests whose path matches REGEX
    logtool.py ids LOG REGEX              "<requests> <distinct event ids> <ids received more than once>"
                                          (the X-Eventbus-Event-Id header)
    logtool.py idlist LOG REGEX           the distinct event ids, one a line
    logtool.py gaps LOG REGEX             seconds between successive matching requests, one a line
    logtool.py ports LOG REGEX            "<requests> <distinct client ports>"
    logtool.py field LOG REGEX EXPR       EXPR (a Python expression over r, the record) per matching request
    logtool.py ctl URL [METHOD]           a request to URL (a control endpoint); prints the body,
                                          exits 1 when it cannot connect or the status is not 2xx

REGEX is searched (re.search) in the request's path.  A log line that is
not complete JSON (a server killed while writing) is skipped.
"""

import json
import re
import sys
import urllib.error
import urllib.request


def records(log, regex):
    pat = re.compile(regex)
    try:
        f = open(log, encoding="utf-8")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if pat.search(r.get("path", "")):
                yield r


def event_id(r):
    return r.get("event_id")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "ctl":
        method = argv[3] if len(argv) > 3 else "GET"
        req = urllib.request.Request(argv[2], method=method, data=b"" if method == "POST" else None)
        # never through a proxy: the server is on 127.0.0.1
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=5) as resp:
                sys.stdout.write(resp.read().decode("utf-8", "replace"))
                return 0
        except (urllib.error.URLError, OSError) as e:
            print("ctl %s: %s" % (argv[2], e), file=sys.stderr)
            return 1
    log, regex = argv[2], argv[3]
    rs = list(records(log, regex))
    if cmd == "count":
        print(len(rs))
    elif cmd in ("ids", "idlist"):
        counts = {}
        for r in rs:
            i = event_id(r)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        if cmd == "idlist":
            for i in sorted(counts):
                print(i)
        else:
            print(len(rs), len(counts), sum(1 for n in counts.values() if n > 1))
    elif cmd == "gaps":
        times = sorted(r["time"] for r in rs)
        for a, b in zip(times, times[1:]):
            print("%.6f" % (b - a))
    elif cmd == "ports":
        print(len(rs), len({r.get("client_port") for r in rs}))
    elif cmd == "field":
        expr = compile(argv[4], "<expr>", "eval")
        for r in rs:
            print(eval(expr, {"json": json}, {"r": r}))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
