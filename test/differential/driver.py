#!/usr/bin/env python3
"""Differential test of eventbus's event-pattern matcher.

Generates random patterns and events (generator.py, fixed seed), answers
each case with the reference (reference.py), sends the cases to PostgreSQL in
batches and compares:

  validity  eventbus.is_valid_event_pattern(pattern) against the reference
  matching  event OPERATOR(eventbus.=~) pattern, for patterns both call valid

Each disagreement is classed by the area being changed in the matcher that
explains it (see explain()), or, when none does, by the features of its
minimal form; disagreements are shrunk (patterns and events made smaller
while both answers stay the same) to give each class a minimal example.
Prints the counts, every class with its example, and up to --show
disagreements as generated; exits 1 on any disagreement, 2 when it could
not run.  Before anything, the reference must give the known answers of
selftest.py.

    driver.py --seconds 45 --seed 1 [--dbname DB] [--psql PATH]
              [--shrink-seconds 20] [--without dotted,non-ascii,...]

Connection: the usual libpq environment (PGHOST, PGPORT, PGUSER).
"""

import argparse
import collections
import copy
import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reference import JNum, dumps, compile_pattern, matches, match_subrule, flatten, answer_with, Invalid  # noqa: E402
from generator import Generator, FEATURES  # noqa: E402

GROUPS_PER_BATCH = 120    # each: a pattern, 7 variants, 16 events = 128 cases
VARIANTS = 7
EVENTS = 16

SETUP_SQL = r"""
CREATE OR REPLACE FUNCTION public.eb_diff_reason(p jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM eventbus.validate_event_pattern(p);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLERRM;
END $$;
"""


def copy_escape(s):
    return s.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')


def copy_unescape(s):
    if s == '\\N':
        return None
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            n = s[i + 1]
            out.append({'t': '\t', 'n': '\n', 'r': '\r', '\\': '\\'}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


class Database:
    def __init__(self, psql, dbname):
        self.psql = psql
        self.dbname = dbname

    def run(self, script):
        p = subprocess.run([self.psql, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
                            '-d', self.dbname, '-f', '-'],
                           input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')

    @staticmethod
    def script(groups):
        """groups: [([pattern text, ...], [event text, ...])]: every event
        of a group is matched against every pattern of the group."""
        out = ['CREATE TEMP TABLE dp (pid int, gid int, p jsonb, ok bool);',
               'CREATE TEMP TABLE de (gid int, eid int, e jsonb);',
               'COPY dp (pid, gid, p) FROM STDIN;']
        pid = 0
        for g, (ps, evs) in enumerate(groups):
            for p in ps:
                out.append('%d\t%d\t%s' % (pid, g, copy_escape(p)))
                pid += 1
        out.append('\\.')
        out.append('COPY de FROM STDIN;')
        for g, (ps, evs) in enumerate(groups):
            for j, e in enumerate(evs):
                out.append('%d\t%d\t%s' % (g, j, copy_escape(e)))
        out.append('\\.')
        out.append('UPDATE dp SET ok = eventbus.is_valid_event_pattern(p);')
        out.append("COPY (SELECT 'V', pid, ok, CASE WHEN NOT ok THEN public.eb_diff_reason(p) END "
                   "FROM dp ORDER BY pid) TO STDOUT;")
        # sorted before the operator runs, so that each pattern's rows come
        # together (the operator keeps the last compiled pattern)
        out.append("COPY (SELECT 'M', pid, eid, e OPERATOR(eventbus.=~) p FROM "
                   "(SELECT dp.pid, de.eid, de.e, dp.p FROM dp JOIN de USING (gid) WHERE dp.ok "
                   "ORDER BY dp.pid, de.eid OFFSET 0) s) TO STDOUT;")
        return '\n'.join(out) + '\n'

    def start(self, cases):
        """Run a batch in a thread; .join() gives the results."""
        box = {}

        def work():
            try:
                box['res'] = self.evaluate(cases)
            except ConnectionError as e:
                box['exc'] = e
        t = threading.Thread(target=work)
        t.start()

        def join():
            t.join()
            if 'exc' in box:
                raise box['exc']
            return box['res']
        return join

    def evaluate(self, groups):
        """-> per group, per pattern: (valid, reason, [match per event]),
        or ('error', message) for every pattern of a group that fails."""
        if not groups:
            return []
        rc, out, err = self.run(self.script(groups))
        if rc != 0 and ('could not connect' in err or 'server closed the connection' in err):
            time.sleep(2.0)         # a crash: wait for the restart, once
            rc, out, err = self.run(self.script(groups))
            if rc != 0 and 'could not connect' in err:
                raise ConnectionError(err.strip())
        if rc != 0:
            if len(groups) == 1 and len(groups[0][0]) == 1:
                msg = err.strip().splitlines()[-1] if err.strip() else 'psql exit %d' % rc
                return [[('error', msg)]]
            if len(groups) == 1:
                ps, evs = groups[0]
                return [[self.evaluate([([p], evs)])[0][0] for p in ps]]
            mid = len(groups) // 2
            return self.evaluate(groups[:mid]) + self.evaluate(groups[mid:])
        flat = []
        for ps, evs in groups:
            for _ in ps:
                flat.append([None, None, [None] * len(evs)])
        for line in out.splitlines():
            cols = line.split('\t')
            if cols[0] == 'V':
                r = flat[int(cols[1])]
                r[0] = cols[2] == 't'
                r[1] = copy_unescape(cols[3])
            elif cols[0] == 'M':
                flat[int(cols[1])][2][int(cols[2])] = cols[3] == 't'
        res, k = [], 0
        for ps, evs in groups:
            res.append([tuple(r) for r in flat[k:k + len(ps)]])
            k += len(ps)
        return res


# ------------------------------------------------------------------ tags

def cond_tags(c, tags):
    if isinstance(c, dict) and len(c) == 1:
        (op, v), = c.items()
        if op in ('prefix', 'suffix') and isinstance(v, dict):
            tags.add(op + '-ignore-case')
            s = v.get('equals-ignore-case')
            if isinstance(s, str) and not s.isascii():
                tags.add('non-ascii-ignore-case')
        elif op == 'anything-but':
            if isinstance(v, dict) and len(v) == 1:
                (op2, x), = v.items()
                tags.add('anything-but/' + op2)
                if op2 == 'equals-ignore-case' and not dumps(x).isascii():
                    tags.add('non-ascii-ignore-case')
            elif isinstance(v, list):
                tags.add('anything-but/list')
            else:
                tags.add('anything-but/value')
        elif op == 'exists':
            tags.add('exists:%s' % dumps(v))
        elif op == 'cidr':
            tags.add('cidr/' + ('ipv6' if ':' in str(v) else 'ipv4'))
        else:
            tags.add(op)
            if op == 'equals-ignore-case' and isinstance(v, str) and not v.isascii():
                tags.add('non-ascii-ignore-case')
    elif isinstance(c, dict):
        tags.add('match-expression')
    elif isinstance(c, str):
        tags.add('literal/string')
    elif isinstance(c, bool):
        tags.add('literal/boolean')
    elif c is None:
        tags.add('literal/null')
    elif isinstance(c, JNum):
        tags.add('literal/number')


def pattern_tags(p, tags):
    if not isinstance(p, dict):
        return tags
    for k, v in p.items():
        if k == '$or':
            tags.add('$or')
            if isinstance(v, list):
                for b in v:
                    pattern_tags(b, tags)
            continue
        if '.' in k:
            tags.add('pattern-dotted-key')
        if isinstance(v, dict):
            tags.add('nested')
            pattern_tags(v, tags)
        elif isinstance(v, list):
            for c in v:
                cond_tags(c, tags)
    try:
        for sr in compile_pattern(p):
            names = [e[0] for e in sr]
            if len(names) != len(set(names)):
                tags.add('same-field-twice($or)')
    except Invalid:
        pass
    return tags


def event_tags(e, tags):
    if isinstance(e, dict):
        for k, v in e.items():
            if '.' in k:
                tags.add('event-dotted-key')
            event_tags(v, tags)
    elif isinstance(e, list):
        if not e:
            tags.add('event-empty-array')
        for x in e:
            if isinstance(x, dict):
                tags.add('event-array-of-objects')
            elif isinstance(x, list):
                tags.add('event-nested-array')
            else:
                tags.add('event-array')
            event_tags(x, tags)
    elif e is None:
        tags.add('event-null')
    elif isinstance(e, bool):
        tags.add('event-boolean')
    elif isinstance(e, JNum):
        tags.add('event-number')
    return tags


# Areas being changed in the matcher right now: a disagreement that one of
# them explains is listed as "in flight"; every other one is most likely a
# bug.  Dotted names and ignore-case are recognized by asking the reference
# under the old rule (no flattening of names; ASCII-only case folding, what
# a C locale gives): when that answer is the extension's, the area explains
# it.  The others by the features of the case.
AREA_DOTTED = 'dotted field names'
AREA_CASE = 'ignore-case independent of the locale'
AREA_EXISTS = 'exists:false under an array of objects'
AREA_OR = '$or branch naming a field of the enclosing pattern'
AREA_OR_SINGLE = 'single-element $or is invalid'
AREA_AFFIX = 'anything-but empty prefix/suffix is invalid'


def explain(d, pattern, event):
    """-> the in-flight area that explains a disagreement, or None."""
    if d.kind == 'validity':
        if not d.ref:
            return {'or-single': AREA_OR_SINGLE, 'anything-but-empty-affix': AREA_AFFIX}.get(d.ref_reason)
        return None
    if d.kind != 'match':
        return None
    if answer_with(pattern, event, sep='\0') == d.ext:
        return AREA_DOTTED
    if answer_with(pattern, event, unicode_case=False) == d.ext:
        return AREA_CASE
    if answer_with(pattern, event, sep='\0', unicode_case=False) == d.ext:
        return AREA_DOTTED + ' + ' + AREA_CASE
    tags = pattern_tags(pattern, set())
    event_tags(event, tags)
    if 'exists:false' in tags and ('event-array-of-objects' in tags or 'event-nested-array' in tags):
        return AREA_EXISTS
    if 'same-field-twice($or)' in tags:
        return AREA_OR
    return None


# ------------------------------------------------------------ shrinking

def paths_of(v, path=()):
    """Every (container path) in a JSON value, for shrinking."""
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from paths_of(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from paths_of(x, path + (i,))


def get_at(v, path):
    for k in path:
        v = v[k]
    return v


def replaced(root, path, new):
    if not path:
        return new
    root = copy.deepcopy(root)
    parent = get_at(root, path[:-1])
    parent[path[-1]] = new
    return root


def smaller_values(v):
    """Candidates one step smaller than v (structure only)."""
    out = []
    if isinstance(v, dict):
        for k in v:
            if len(v) > 1:
                out.append({kk: x for kk, x in v.items() if kk != k})
    elif isinstance(v, list):
        if len(v) > 1:
            for i in range(len(v)):
                out.append(v[:i] + v[i + 1:])
    elif isinstance(v, str) and v:
        out.append(v[1:])
        out.append(v[:-1])
    return out


def shrink_candidates(root, is_pattern):
    cands = []
    for path, v in paths_of(root):
        for s in smaller_values(v):
            cands.append(replaced(root, path, s))
        if not is_pattern and path:
            parent = get_at(root, path[:-1])
            if isinstance(parent, list) and isinstance(v, (dict, list)) and len(parent) == 1:
                cands.append(replaced(root, path[:-1], v))
            if isinstance(v, list) and len(v) == 1:
                cands.append(replaced(root, path, v[0]))
        if is_pattern and isinstance(v, dict) and '$or' in v and isinstance(v['$or'], list):
            # replace the $or by one of its branches, merged into the object
            for b in v['$or']:
                if isinstance(b, dict) and not (set(b) & (set(v) - {'$or'})):
                    merged = {k: x for k, x in v.items() if k != '$or'}
                    merged.update(b)
                    cands.append(replaced(root, path, merged))
    return cands


def ref_answer(pattern, event):
    """-> ('valid', bool) / ('invalid', code)"""
    try:
        srs = compile_pattern(pattern)
    except Invalid as e:
        return ('invalid', e.code)
    if event is None:
        return ('valid', None)
    return ('valid', matches(srs, event))


# --------------------------------------------------------------- driver

class Disagreement:
    def __init__(self, kind, pattern, event, ref, ext, ref_reason, ext_reason):
        self.kind = kind            # 'validity' / 'match' / 'error'
        self.pattern = pattern
        self.event = event
        self.ref = ref
        self.ext = ext
        self.ref_reason = ref_reason
        self.ext_reason = ext_reason
        self.small_pattern = pattern
        self.small_event = event
        self.small_ext_reason = ext_reason
        self.cls = None

    def ext_of(self, res, k=0):
        """The extension's answer in the shape of self.ext, from a result."""
        if res[0] == 'error':
            return ('error',)
        if self.kind == 'validity':
            return res[0]
        if res[0] is not True:
            return ('invalid',)
        return res[2][k]


def normalize_reason(r):
    r = re.sub(r'"(?:[^"\\]|\\.)*"', '"…"', r or '')
    r = re.sub(r'\b\d+\b', 'N', r)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=45)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--dbname', default=os.environ.get('PGDATABASE', 'postgres'))
    ap.add_argument('--psql', default='psql')
    ap.add_argument('--show', type=int, default=20)
    ap.add_argument('--shrink-seconds', type=float, default=20)
    ap.add_argument('--without', default='',
                    help='comma-separated features not to generate: ' + ', '.join(FEATURES))
    args = ap.parse_args()
    without = [w for w in args.without.split(',') if w]
    for w in without:
        if w not in FEATURES:
            ap.error('unknown feature %s' % w)

    import selftest
    fails = selftest.run()
    if fails:
        print('the reference gives wrong known answers:\n  ' + '\n  '.join(fails))
        return 2

    db = Database(args.psql, args.dbname)
    rc, out, err = db.run(SETUP_SQL)
    if rc != 0:
        print('cannot set up the database: ' + err.strip())
        return 2

    gen = Generator(args.seed, without)
    stats = collections.Counter()
    disagreements = []

    def make_batch():
        batch, wire = [], []
        for _ in range(GROUPS_PER_BATCH):
            patterns, events = gen.group(VARIANTS, EVENTS)
            flats = [flatten(e) for e in events]
            refs = []
            for p in patterns:
                try:
                    srs = compile_pattern(p)
                except Invalid as e:
                    refs.append((False, e.code, []))
                    continue
                refs.append((True, None, [any(match_subrule(sr, f) for sr in srs) for f in flats]))
            batch.append((patterns, events, refs))
            wire.append(([dumps(p) for p in patterns], [dumps(e) for e in events]))
        return batch, wire

    def check_batch(batch, results):
        for (patterns, events, refs), gres in zip(batch, results):
            for pattern, (ref_ok, code, refm), res in zip(patterns, refs, gres):
                if res[0] == 'error':
                    stats['errors'] += 1
                    disagreements.append(Disagreement('error', pattern, events[0] if events else None,
                                                      ref_ok, ('error',), code, res[1]))
                    continue
                ext_ok, ext_reason, extm = res
                stats['valid patterns' if ref_ok else 'invalid patterns'] += 1
                if ext_ok != ref_ok:
                    disagreements.append(Disagreement('validity', pattern, None, ref_ok, ext_ok,
                                                      code, ext_reason))
                    continue
                if not ref_ok:
                    continue
                for e, r, x in zip(events, refm, extm):
                    stats['matches' if r else 'non-matches'] += 1
                    if x != r:
                        disagreements.append(Disagreement('match', pattern, e, r, x, None, None))

    try:
        return run(args, db, stats, disagreements, make_batch, check_batch)
    except ConnectionError as e:
        print('lost the database: %s' % e)
        return 2


def run(args, db, stats, disagreements, make_batch, check_batch):
    deadline = time.monotonic() + args.seconds
    t0 = time.monotonic()
    pending = None
    while True:
        now = time.monotonic()
        if now >= deadline and pending is None:
            break
        nxt = make_batch() if now < deadline else None
        if pending is not None:
            batch, join = pending
            check_batch(batch, join())
            pending = None
        if nxt is not None:
            batch, wire = nxt
            pending = (batch, db.start(wire))
    elapsed = time.monotonic() - t0

    for d in disagreements:
        d.area = explain(d, d.pattern, d.event)
        d.cls = base_class(d)
    shrink(db, disagreements, args.shrink_seconds)
    return report(stats, disagreements, elapsed, args)


def shrink(db, ds, budget):
    """Make disagreements as small as they go while the reference and the
    extension keep their answers (and the same area explains them); one SQL
    round trip per step for all of them together.  Shrunk: up to 200 that
    no in-flight area explains, and 3 of each in-flight class."""
    deadline = time.monotonic() + budget
    unexplained, per_class = [], collections.Counter()
    for d in ds:
        if d.kind == 'error':
            continue
        if d.area is None:
            if len(unexplained) < 200:
                unexplained.append(d)
        elif per_class[d.cls] < 3:
            per_class[d.cls] += 1
            unexplained.append(d)
    active = unexplained
    for d in active:
        d.shrunk = True

    def keeps(d, p, e):
        if d.kind == 'validity':
            ra = ref_answer(p, None)
            return (ra[0] == 'valid') == d.ref and (d.ref or ra[1] == d.ref_reason)
        return ref_answer(p, e) == ('valid', d.ref) and explain(d, p, e) == d.area

    while active and time.monotonic() < deadline:
        wire, owners = [], []
        for d in active:
            cands = []
            for p in shrink_candidates(d.small_pattern, True):
                if keeps(d, p, d.small_event):
                    cands.append((p, d.small_event))
                    if len(cands) >= 25:
                        break
            if d.kind == 'match':
                for e in shrink_candidates(d.small_event, False):
                    if keeps(d, d.small_pattern, e):
                        cands.append((d.small_pattern, e))
                        if len(cands) >= 50:
                            break
            owners.append((d, len(wire), cands))
            wire.extend(([dumps(p)], [dumps(e)] if e is not None else []) for p, e in cands)
        results = db.evaluate(wire)
        still = []
        for d, start, cands in owners:
            for k, (p, e) in enumerate(cands):
                res = results[start + k][0]
                if d.ext_of(res) == d.ext:
                    d.small_pattern, d.small_event = p, e
                    if d.kind == 'validity':
                        d.small_ext_reason = res[1]
                    still.append(d)
                    break
        active = still


def base_class(d):
    """The class of a disagreement before shrinking."""
    if d.kind == 'error':
        return 'ERROR from the extension: ' + normalize_reason(d.ext_reason)
    if d.kind == 'validity':
        if d.ref:
            return 'validity: reference valid, extension invalid (%s)' % normalize_reason(d.ext_reason)
        return 'validity: reference invalid (%s), extension valid' % d.ref_reason
    direction = 'match: reference %s, extension %s' % (str(d.ref).lower(), str(d.ext).lower())
    if d.area is not None:
        return direction + ', ' + d.area
    tags = pattern_tags(d.pattern, set())
    event_tags(d.event, tags)
    return '%s [%s] (not shrunk)' % (direction, ' '.join(sorted(tags)))


def final_class(d):
    """Unexplained match disagreements that were shrunk are classed by the
    features of their minimal form."""
    if d.kind == 'match' and d.area is None and getattr(d, 'shrunk', False):
        tags = pattern_tags(d.small_pattern, set())
        event_tags(d.small_event, tags)
        return 'match: reference %s, extension %s [%s]' % (
            str(d.ref).lower(), str(d.ext).lower(), ' '.join(sorted(tags)))
    return d.cls


def report(stats, ds, elapsed, args):
    total = stats['matches'] + stats['non-matches']
    npat = stats['valid patterns'] + stats['invalid patterns']
    print('pattern_differential: seed %d, %.1f s: %d patterns (%d valid, %d invalid), '
          '%d matching cases (%d matches, %d non-matches), %.0f cases/s'
          % (args.seed, elapsed, npat, stats['valid patterns'], stats['invalid patterns'],
             total, stats['matches'], stats['non-matches'], (total + npat) / max(elapsed, 0.001)))
    if not ds:
        print('no disagreements')
        return 0
    classes = collections.OrderedDict()
    for d in ds:
        c = classes.setdefault(final_class(d), {'n': 0, 'examples': [], 'area': d.area})
        c['n'] += 1
        if getattr(d, 'shrunk', False) or d.kind == 'error' or not c['examples']:
            c['examples'].append(d)
    nv = sum(1 for d in ds if d.kind == 'validity')
    nm = sum(1 for d in ds if d.kind == 'match')
    ne = sum(1 for d in ds if d.kind == 'error')
    print('DISAGREEMENTS: %d (validity %d, matching %d, errors %d) in %d classes'
          % (len(ds), nv, nm, ne, len(classes)))
    for flight in (False, True):
        sel = [(k, c) for k, c in classes.items() if (c['area'] is not None) == flight]
        if not sel:
            continue
        print()
        print('== classes in areas being changed now (check against the new matcher):' if flight
              else '== classes NOT in the areas being changed (likely bugs):')
        for k, c in sorted(sel, key=lambda kc: -kc[1]['n']):
            exs = sorted(c['examples'], key=lambda d: (not getattr(d, 'shrunk', False), len(
                dumps(d.small_pattern)) + (len(dumps(d.small_event)) if d.small_event is not None else 0)))
            d = exs[0]
            print('%6d  %s' % (c['n'], k))
            print('        example: pattern %s' % dumps(d.small_pattern))
            if d.kind == 'match':
                print('                 event   %s' % dumps(d.small_event))
            elif d.kind == 'validity' and d.small_ext_reason:
                print('                 extension: %s' % d.small_ext_reason)
            elif d.kind == 'error':
                print('                 event   %s' % dumps(d.event))
                print('                 error:  %s' % d.ext_reason)
    print()
    print('first %d disagreements as generated:' % min(args.show, len(ds)))
    for d in ds[:args.show]:
        print('  - pattern:   %s' % dumps(d.pattern))
        if d.event is not None:
            print('    event:     %s' % dumps(d.event))
        if d.kind == 'validity':
            print('    reference: %s' % ('valid' if d.ref else 'invalid (%s)' % d.ref_reason))
            print('    extension: %s' % ('valid' if d.ext else 'invalid: %s' % d.ext_reason))
        elif d.kind == 'match':
            print('    reference: %s   extension: %s' % (str(d.ref).lower(), str(d.ext).lower()))
        else:
            print('    extension error: %s' % d.ext_reason)
    return 1


if __name__ == '__main__':
    sys.exit(main())
