"""Random EventBridge event patterns and events for the differential test.

    Generator(seed).case() -> (pattern, [event, ...])

Patterns use every operator, nested objects, dotted keys ("a.b"), "$or" at
any level (also branches that name a field of the enclosing pattern).  A
share of the patterns is made invalid by one injected error (each class of
error the service reports).  Events are built from the pattern's fields so
that they nearly match: values that satisfy a condition and values one step
away (another case, one character more or less, the next number, the other
type, absent), placed in nested objects, dotted keys, arrays of values and
arrays of objects, with noise fields around.  The generator does not decide
whether a case matches: the reference does.

Kept out on purpose (where the answer would be ambiguous, or the service is
known to be plainly wrong): wildcards near the complexity bound (at most 3
'*' per value, at most 2 wildcard values per pattern), numbers that a double
cannot hold exactly, IP addresses of one family matched against a CIDR block
of the other, literal strings that are IP addresses, characters whose case
mappings are not single characters that round-trip, and one field named
twice in one object (other than through "$or").
"""

import ipaddress
import random

from reference import JNum, parse_ip

# Letters whose upper/lower case are single characters and round-trip
# (so that ignore-case matching is the same under every definition).
_CANDIDATES = ('abzABZ' 'éÉøØÿŸłŁőŐ' 'ωΩσΣλΛ' 'жЖяЯ')
LETTERS = [c for c in _CANDIDATES
           if len(c.lower()) == 1 and len(c.upper()) == 1 and c in (c.lower(), c.upper())
           and c.lower().upper() == c.upper() and c.upper().lower() == c.lower()]
OTHER_CHARS = list('01-.:/ _')
STRING_POOL = ['', 'a', 'A', 'ab', 'aB', 'AB', 'ba', 'é', 'É', 'éa', 'ÿŸ', 'ωΣ', 'жЯ', 'a-b', 'a.b',
               'a*b', 'a\\b', 'x', 'abc', 'Abc']
KEYS = ['a', 'b', 'c', 'd', 'x', 'source', 'detail']
NUMBERS = ['0', '1', '2', '5', '-1', '2.5', '100', '0.001', '-3.75', '42', '1000000', '7.125']
OPS = ['=', '<', '<=', '>', '>=']


def _is_ip(s):
    return parse_ip(s) is not None


FEATURES = ('dotted', 'exists-false', 'non-ascii', 'or', 'arrays-of-objects')


class Generator:
    def __init__(self, seed, without=()):
        """without: features (FEATURES) never to generate, to look past a
        known difference."""
        self.r = random.Random(seed)
        self.without = set(without)
        self.letters = [c for c in LETTERS if c.isascii()] if 'non-ascii' in self.without else LETTERS
        self.pool = [s for s in STRING_POOL if s.isascii()] if 'non-ascii' in self.without else STRING_POOL

    # ------------------------------------------------------------ values
    def chance(self, p):
        return self.r.random() < p

    def rstr(self, maxlen=4):
        r = self.r
        if r.random() < 0.5:
            s = r.choice(self.pool)
        else:
            n = r.randint(0, maxlen)
            s = ''.join(r.choice(self.letters) if r.random() < 0.75 else r.choice(OTHER_CHARS)
                        for _ in range(n))
        return s

    def literal_str(self):
        while True:
            s = self.rstr()
            if not _is_ip(s):
                return s

    def flip_case(self, s):
        return ''.join(c.swapcase() if self.r.random() < 0.6 else c for c in s)

    def near_str(self, s):
        """One step away from s."""
        r = self.r
        ops = ['case', 'drop', 'add', 'change', 'prepend']
        op = r.choice(ops)
        if not s:
            return r.choice(self.letters)
        i = r.randrange(len(s))
        if op == 'case':
            t = s[:i] + s[i].swapcase() + s[i + 1:]
            return t if t != s else s + 'a'
        if op == 'drop':
            return s[:i] + s[i + 1:]
        if op == 'add':
            return s[:i] + r.choice(self.letters) + s[i:]
        if op == 'prepend':
            return r.choice(self.letters) + s
        return s[:i] + r.choice(self.letters + OTHER_CHARS) + s[i + 1:]

    def num(self):
        return JNum(self.r.choice(NUMBERS))

    def alt_form(self, n):
        """The same number written differently."""
        from decimal import Decimal
        v = n.val
        r = self.r
        forms = []
        if v == v.to_integral_value():
            iv = int(v)
            forms += ['%d.0' % iv, '%de0' % iv, '%d.00' % iv]
            if iv != 0 and iv % 10 == 0:
                forms.append('%se1' % (iv // 10))
            if iv == 0:
                forms += ['-0', '0.0', '-0.0']
        else:
            forms += [str(v) + '0', '%sE0' % v]
            forms.append(str((v * 10).normalize()) + 'e-1')
        t = r.choice(forms)
        assert Decimal(t) == v, (t, v)
        return JNum(t)

    def near_num(self, n):
        from decimal import Decimal
        d = self.r.choice(['1', '-1', '0.5', '-0.5', '0.001', '-0.001'])
        v = n.val + Decimal(d)
        return JNum(str(v))

    def other_type(self):
        return self.r.choice([None, True, False, '', JNum('0'), 'null', 'true', '5', {}, [],
                              {'k': 'v'}])

    # -------------------------------------------------------- conditions
    def condition(self, ctx):
        """-> (condition JSON, candidate event values)."""
        r = self.r
        kind = r.choices(
            ['str', 'num', 'bool', 'null', 'prefix', 'suffix', 'prefix_ic', 'suffix_ic', 'eic',
             'wildcard', 'ab', 'numeric', 'exists', 'cidr'],
            [10, 6, 2, 2, 6, 6, 3, 3, 5, 5, 10, 8, 6, 4])[0]
        if kind == 'wildcard' and ctx['wild'] >= 2:
            kind = 'prefix'
        if kind == 'str':
            s = self.literal_str()
            return s, [s, self.near_str(s), self.flip_case(s)]
        if kind == 'num':
            n = self.num()
            return n, [n, self.alt_form(n), self.near_num(n), n.text]
        if kind == 'bool':
            b = r.random() < 0.5
            return b, [b, not b, str(b).lower()]
        if kind == 'null':
            return None, [None, '', 'null', JNum('0')]
        if kind in ('prefix', 'suffix'):
            s = self.rstr(3)
            ext = self.rstr(2)
            v = s + ext if kind == 'prefix' else ext + s
            return {kind: s}, [v, self.near_str(v), s, self.near_str(s)]
        if kind in ('prefix_ic', 'suffix_ic'):
            op = kind[:6]
            s = self.rstr(3)
            ext = self.rstr(2)
            v = self.flip_case(s) + ext if op == 'prefix' else ext + self.flip_case(s)
            return {op: {'equals-ignore-case': s}}, [v, self.near_str(v), self.flip_case(s)]
        if kind == 'eic':
            s = self.rstr(4)
            return {'equals-ignore-case': s}, [self.flip_case(s), s, self.near_str(s)]
        if kind == 'wildcard':
            ctx['wild'] += 1
            w, inst = self.wildcard()
            return {'wildcard': w}, inst
        if kind == 'ab':
            return self.anything_but(ctx)
        if kind == 'numeric':
            return self.numeric()
        if kind == 'exists':
            b = r.random() < 0.5 or 'exists-false' in self.without
            return {'exists': b}, [ABSENT, self.rstr(), None, JNum('1'), {}, [], {'k': JNum('1')}]
        if kind == 'cidr':
            return self.cidr(ctx)
        raise AssertionError(kind)

    def wildcard(self):
        """-> (wildcard text, strings that match it or nearly)."""
        r = self.r
        stars = r.randint(0, 3)
        pieces = [self.wild_piece() for _ in range(stars + 1)]
        text = ''
        for i, (esc, _plain) in enumerate(pieces):
            text += esc
            if i < stars:
                text += '*'
        insts = []
        for _ in range(2):
            s = ''
            for i, (esc, plain) in enumerate(pieces):
                s += plain
                if i < stars:
                    s += self.rstr(2)
            insts.append(s)
        insts.append(self.near_str(insts[0]))
        insts.append(self.near_str(insts[1]))
        return text, insts

    def wild_piece(self):
        """-> (escaped text, the literal it stands for); never empty between
        two '*' (so no '**')."""
        r = self.r
        n = r.randint(1, 3)
        esc = plain = ''
        for _ in range(n):
            c = r.choice(self.letters + OTHER_CHARS) if r.random() < 0.9 else r.choice('*\\')
            if c in '*\\':
                esc += '\\' + c
            else:
                esc += c
            plain += c
        return esc, plain

    def anything_but(self, ctx):
        r = self.r
        form = r.choices(['str', 'strs', 'num', 'nums', 'prefix', 'suffix', 'eic', 'wildcard'],
                         [4, 4, 2, 2, 3, 3, 3, 2])[0]
        if form == 'wildcard' and ctx['wild'] >= 2:
            form = 'prefix'
        if form == 'str':
            s = self.rstr()
            return {'anything-but': s}, [s, self.near_str(s), None, JNum('1'), True]
        if form == 'strs':
            ss = list(dict.fromkeys(self.rstr() for _ in range(r.randint(1, 3))))
            return {'anything-but': ss}, ss + [self.near_str(ss[0]), JNum('2'), None]
        if form == 'num':
            n = self.num()
            return {'anything-but': n}, [n, self.alt_form(n), self.near_num(n), n.text]
        if form == 'nums':
            ns = list(dict.fromkeys(self.num() for _ in range(r.randint(1, 3))))
            return {'anything-but': ns}, ns + [self.alt_form(ns[0]), self.near_num(ns[0]), 'x']
        if form in ('prefix', 'suffix'):
            ss = [s or 'a' for s in (self.rstr(3) for _ in range(r.randint(1, 2)))]
            val = ss[0] if len(ss) == 1 and r.random() < 0.6 else ss
            ext = self.rstr(2)
            v = ss[0] + ext if form == 'prefix' else ext + ss[0]
            return ({'anything-but': {form: val}},
                    [v, self.near_str(v), ext, JNum('3'), None, self.rstr()])
        if form == 'eic':
            ss = [self.rstr(3) for _ in range(r.randint(1, 2))]
            val = ss[0] if len(ss) == 1 and r.random() < 0.6 else ss
            return ({'anything-but': {'equals-ignore-case': val}},
                    [self.flip_case(ss[0]), self.near_str(ss[0]), True, self.rstr()])
        ctx['wild'] += 1
        w, inst = self.wildcard()
        return {'anything-but': {'wildcard': w if r.random() < 0.6 else [w]}}, inst + [JNum('4')]

    def numeric(self):
        r = self.r
        from decimal import Decimal
        a, b = sorted(r.sample(NUMBERS, 2), key=Decimal)
        a, b = Decimal(a), Decimal(b)
        lo, hi = JNum(str(a)), JNum(str(b))
        shape = r.randint(0, 3)
        if shape == 0:
            op = r.choice(OPS)
            n = r.choice([lo, hi])
            arr = [op, n]
        elif shape == 1:
            arr = [r.choice(['>', '>=']), lo, r.choice(['<', '<=']), hi]
        elif shape == 2:
            arr = ['=', lo]
        else:
            arr = [r.choice(['<', '<=', '>', '>=']), lo]
        vals = [lo, hi, self.alt_form(lo), self.near_num(lo), self.near_num(hi),
                JNum(str((a + b) / 2)), lo.text, None]
        return {'numeric': arr}, vals

    def cidr(self, ctx):
        r = self.r
        fam = ctx.setdefault('family', r.choice([4, 6]))
        if fam == 4:
            base = ipaddress.IPv4Address(r.getrandbits(32))
            mask = r.randint(0, 31)
        else:
            base = ipaddress.IPv6Address(r.getrandbits(128))
            mask = r.randint(0, 127)
        net = ipaddress.ip_network('%s/%d' % (base, mask), strict=False)
        shown = net.network_address if r.random() < 0.7 else base
        text = '%s/%d' % (self.ip_text(shown), mask)
        vals = []
        inside = net.network_address + r.randrange(net.num_addresses)
        vals.append(self.ip_text(inside))
        vals.append(self.ip_text(net.broadcast_address))
        # just outside: flip a bit in the fixed part, or step past the block
        if mask > 0:
            bit = r.randrange(mask)
            width = 32 if fam == 4 else 128
            outside = type(base)(int(inside) ^ (1 << (width - 1 - bit)))
            vals.append(self.ip_text(outside))
        top = int(net.broadcast_address)
        if top + 1 < (1 << (32 if fam == 4 else 128)):
            vals.append(self.ip_text(type(base)(top + 1)))
        vals.append('not-an-ip')
        return {'cidr': text}, vals

    def ip_text(self, ip):
        if ip.version == 4:
            return str(ip)
        c = self.r.randint(0, 3)
        if c == 0:
            return ip.compressed
        if c == 1:
            return ip.exploded
        if c == 2:
            return ip.compressed.upper()
        return ':'.join(g.lstrip('0') or '0' for g in ip.exploded.split(':'))

    # ---------------------------------------------------------- patterns
    def key(self, used):
        r = self.r
        for _ in range(20):
            if r.random() < 0.2 and 'dotted' not in self.without:
                k = r.choice(KEYS) + '.' + r.choice(KEYS)
            else:
                k = r.choice(KEYS)
            if k not in used:
                return k
        return None

    def pattern_object(self, depth, prefix, names, leaves, ctx, in_or):
        """A pattern object; names: flattened leaf names already in the
        enclosing AND context (not to be named again, except on purpose in
        an $or branch); leaves: (path segments, candidate values) collected
        for building events."""
        r = self.r
        obj = {}
        nkeys = r.choice([1, 1, 2, 2, 3]) if depth < 3 else 1
        for _ in range(nkeys):
            roll = r.random()
            if roll < 0.12 and depth < 3 and '$or' not in obj and 'or' not in self.without:
                branches = []
                for _ in range(r.choice([2, 2, 3])):
                    bl = []
                    branches.append(self.pattern_object(depth + 1, prefix, set(names), bl, ctx, True))
                    leaves.append(('or', bl))
                obj['$or'] = branches
                continue
            pre = '.'.join(prefix)
            rels = {n if not prefix else n[len(pre) + 1:] for n in names
                    if not prefix or n.startswith(pre + '.')}
            free = [x for x in sorted(rels - set(obj))
                    if '.' not in x or ('dotted' not in self.without and r.random() < 0.5)]
            if in_or and free and r.random() < 0.25:
                # on purpose: name a field of the enclosing pattern again
                rel = r.choice(free)
                conds, cands = self.conditions(ctx)
                obj[rel] = conds
                leaves.append((prefix + rel.split('.'), cands))
                continue
            k = self.key(set(obj) | rels)
            if k is None:
                continue
            full = '.'.join(prefix + [k])
            if roll < 0.35 and depth < 3:
                sub = self.pattern_object(depth + 1, prefix + [k], names, leaves, ctx, in_or)
                obj[k] = sub
            else:
                conds, cands = self.conditions(ctx)
                obj[k] = conds
                names.add(full)
                leaves.append((prefix + k.split('.'), cands))
        if not obj:
            conds, cands = self.conditions(ctx)
            k = 'zz' + str(depth)
            obj[k] = conds
            names.add('.'.join(prefix + [k]))
            leaves.append((prefix + [k], cands))
        return obj

    def conditions(self, ctx):
        r = self.r
        n = r.choice([1, 1, 1, 2, 2, 3])
        conds, cands = [], []
        for _ in range(n):
            c, v = self.condition(ctx)
            conds.append(c)
            cands.extend(v)
        return conds, cands

    # ------------------------------------------------------------ events
    def event(self, leaves):
        """An event built from the pattern's leaves, then mutated."""
        r = self.r
        ev = {}
        chosen = self.pick_leaves(leaves)
        for path, cands in chosen:
            v = r.choice(cands) if cands else self.rstr()
            if r.random() < 0.08:
                v = self.other_type()
            if v is ABSENT:
                continue
            if r.random() < 0.15 and not isinstance(v, (dict, list)):
                v = self.value_array(v, cands)
            self.insert(ev, path, v)
        for _ in range(r.choice([0, 0, 1, 2])):
            self.insert(ev, [r.choice(KEYS), r.choice(KEYS)][:r.randint(1, 2)], self.rstr())
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            self.transform(ev)
        return ev

    def pick_leaves(self, leaves):
        r = self.r
        out = []
        for item in leaves:
            if item[0] == 'or':
                if r.random() < 0.7:
                    out.extend(self.pick_leaves(item[1]))
            else:
                if r.random() < 0.93:
                    out.append(item)
        return out

    def value_array(self, v, cands):
        r = self.r
        arr = [r.choice(cands) if cands else self.rstr() for _ in range(r.randint(0, 2))]
        arr = [x for x in arr if x is not ABSENT and not isinstance(x, (dict, list))]
        arr.insert(r.randint(0, len(arr)), v)
        if r.random() < 0.1:
            return []
        return arr

    def insert(self, ev, path, v):
        node = ev
        for k in path[:-1]:
            nxt = node.get(k)
            if nxt is None or not isinstance(nxt, dict):
                if k in node:
                    return
                nxt = node[k] = {}
            node = nxt
        if path[-1] in node:
            return
        node[path[-1]] = v

    def dict_nodes(self, v, out):
        if isinstance(v, dict):
            out.append(v)
            for x in v.values():
                self.dict_nodes(x, out)
        elif isinstance(v, list):
            for x in v:
                self.dict_nodes(x, out)
        return out

    def transform(self, ev):
        r = self.r
        nodes = self.dict_nodes(ev, [])
        node = r.choice(nodes)
        if not node:
            return
        k = r.choice(list(node))
        v = node[k]
        op = r.choice(['dot', 'dot', 'split', 'split', 'wrap', 'mutate', 'delete', 'both'])
        if op in ('dot', 'both') and 'dotted' in self.without:
            op = 'mutate'
        if op in ('split', 'wrap') and 'arrays-of-objects' in self.without and isinstance(v, dict):
            op = 'mutate'
        if op in ('dot', 'both') and isinstance(v, dict) and v:
            k2 = r.choice(list(v))
            nk = k + '.' + k2
            if nk in node:
                return
            if op == 'both':
                node[nk] = self.mutate_value(v[k2])
            else:
                node[nk] = v.pop(k2)
                if not v:
                    del node[k]
        elif op == 'split' and isinstance(v, dict) and v:
            # an array of objects, the keys spread over the elements
            keys = list(v)
            elems = [dict() for _ in range(r.randint(1, 3))]
            for kk in keys:
                elems[r.randrange(len(elems))][kk] = v[kk]
                if r.random() < 0.3:
                    other = r.choice(elems)
                    if kk not in other:
                        other[kk] = self.mutate_value(v[kk])
            node[k] = elems
        elif op == 'wrap':
            if isinstance(v, dict):
                node[k] = [v, self.mutate_tree(v)] if r.random() < 0.6 else [self.mutate_tree(v), v]
            elif not isinstance(v, list):
                node[k] = [v]
        elif op == 'mutate':
            node[k] = self.mutate_value(v)
        elif op == 'delete':
            del node[k]

    def mutate_tree(self, v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if self.r.random() < 0.2:
                    continue
                out[k] = self.mutate_tree(x) if self.r.random() < 0.6 else x
            return out
        if isinstance(v, list):
            return [self.mutate_tree(x) for x in v]
        return self.mutate_value(v)

    def mutate_value(self, v):
        r = self.r
        if isinstance(v, str):
            if _is_ip(v):
                return v.upper() if r.random() < 0.5 else self.near_str(v)
            return self.near_str(v) if r.random() < 0.8 else self.other_type()
        if isinstance(v, JNum):
            return self.near_num(v) if r.random() < 0.6 else self.alt_form(v)
        if isinstance(v, bool):
            return not v
        if v is None:
            return r.choice(['', JNum('0'), False])
        if isinstance(v, list):
            return [self.mutate_value(x) for x in v]
        if isinstance(v, dict):
            return self.mutate_tree(v)
        return v

    # ------------------------------------------------------------- cases
    def group(self, nvariants, nevents):
        """-> ([pattern, ...], [event, ...]): a pattern and variants of it
        (one condition changed, or one error injected), and events built
        from the first pattern's fields; every event is a case for every
        pattern of the group."""
        ctx = {'wild': 0}
        leaves = []
        base = self.pattern_object(0, [], set(), leaves, ctx, False)
        patterns = [base]
        for _ in range(nvariants):
            p = _copy(base)
            if self.r.random() < 0.25:
                p, _what = self.break_pattern(p)
            else:
                self.vary(p, ctx)
            patterns.append(p)
        return patterns, [self.event(leaves) for _ in range(nevents)]

    def vary(self, pattern, ctx):
        """Change one condition of the pattern: a value one step away, or
        a new condition."""
        lists, objs = [], []
        self.collect(pattern, lists, objs)
        lst = self.r.choice(lists)
        i = self.r.randrange(len(lst))
        c = lst[i]
        if self.r.random() < 0.3:
            lst[i] = self.condition(ctx)[0]
        elif self.r.random() < 0.15 and len(lst) > 1:
            del lst[i]
        else:
            lst[i] = self.vary_value(c)

    def vary_value(self, c):
        r = self.r
        if isinstance(c, str):
            s = self.near_str(c)
            return s if not _is_ip(s) else c
        if isinstance(c, JNum):
            return self.near_num(c) if r.random() < 0.7 else self.alt_form(c)
        if isinstance(c, bool):
            return not c
        if c is None:
            return ''
        if isinstance(c, list):
            if c and r.random() < 0.8:
                i = r.randrange(len(c))
                return c[:i] + [self.vary_value(c[i])] + c[i + 1:]
            return c
        if isinstance(c, dict) and len(c) == 1:
            (op, v), = c.items()
            if op == 'exists' and 'exists-false' in self.without:
                return c
            if op == 'cidr' and isinstance(v, str) and '/' in v and v.rsplit('/', 1)[1].isdigit():
                ip, mask = v.rsplit('/', 1)
                return {op: '%s/%d' % (ip, max(0, int(mask) + r.choice([-1, 1])))}
            if op == 'numeric' and isinstance(v, list):
                i = r.randrange(len(v))
                if isinstance(v[i], JNum):
                    return {op: v[:i] + [self.near_num(v[i])] + v[i + 1:]}
                return {op: v[:i] + [r.choice(OPS)] + v[i + 1:]}
            return {op: self.vary_value(v)}
        return c

    # ------------------------------------------------------ invalid ones
    def break_pattern(self, pattern):
        """Inject one error somewhere in a valid pattern."""
        r = self.r
        what, bad = r.choice(BREAKERS)(self)
        if what == 'top':
            return bad, 'not-object'
        # find a condition list, an object, or the top
        lists, objs = [], []
        self.collect(pattern, lists, objs)
        if what in ('cond', 'cond-list') and lists:
            lst = r.choice(lists)
            if what == 'cond':
                lst[r.randrange(len(lst))] = bad
            else:
                # replace the whole list (bare values, empty arrays)
                parent, key = lst_parent(pattern, lst)
                if parent is not None:
                    parent[key] = bad
            return pattern, self.label(bad)
        obj = r.choice(objs)
        k = self.key(set(obj)) or 'zz'
        obj[k] = bad
        return pattern, self.label(bad)

    def collect(self, v, lists, objs):
        if isinstance(v, dict):
            objs.append(v)
            for k, x in v.items():
                if k == '$or':
                    for b in x:
                        self.collect(b, lists, objs)
                elif isinstance(x, dict):
                    self.collect(x, lists, objs)
                elif isinstance(x, list):
                    lists.append(x)

    def label(self, bad):
        from reference import dumps
        s = dumps(bad)
        return s if len(s) < 60 else s[:57] + '...'


ABSENT = object()


def lst_parent(v, target):
    if isinstance(v, dict):
        for k, x in v.items():
            if x is target:
                return v, k
            if k == '$or':
                for b in x:
                    p = lst_parent(b, target)
                    if p[0] is not None:
                        return p
            elif isinstance(x, dict):
                p = lst_parent(x, target)
                if p[0] is not None:
                    return p
    return None, None


def _n(t):
    return JNum(t)


def _breakers():
    """Each returns (where, bad value): 'cond' replaces one condition,
    'cond-list' a whole list, 'field' adds a field, 'top' the pattern."""
    B = []

    def add(where, *values):
        for v in values:
            B.append(lambda g, w=where, v=v: (w, _copy(v)))

    add('cond-list', 'x', _n('5'), True, None, [])
    add('field', {'$or': [{'a': ['x']}]}, {'$or': []}, {'$or': {'a': ['x']}}, {'$or': ['a', 'b']},
        {'$or': [{'a': ['x']}, 'b']}, {'$or': [{'a': ['x']}, {}]}, {}, {'k': {}})
    add('cond', {'Prefix': 'a'}, {'EXISTS': True}, {'regex': 'a'}, {'prefixx': 'a'},
        {'numeric': '>'}, {'numeric': []}, {'numeric': ['>']}, {'numeric': ['>', '5']}, {'numeric': ['<', '5']},
        {'numeric': ['<', _n('10'), '>', _n('1')]}, {'numeric': ['<=', _n('10'), '>=', _n('1')]},
        {'numeric': ['>', _n('5'), '>', _n('6')]}, {'numeric': ['=', _n('5'), '<', _n('6')]},
        {'numeric': ['>', _n('5'), '<', _n('5')]}, {'numeric': ['>=', _n('5'), '<=', _n('5')]},
        {'numeric': ['>', _n('6'), '<', _n('5')]}, {'numeric': ['~', _n('5')]},
        {'numeric': ['>', _n('1'), '<', _n('5'), '<', _n('6')]}, {'numeric': ['>', _n('1'), '<']},
        {'numeric': ['>', True]}, {'numeric': [_n('5'), '>']},
        {'anything-but': {'prefix': ''}}, {'anything-but': {'suffix': ''}},
        {'anything-but': {'prefix': ['a', '']}}, {'anything-but': {'suffix': ['', 'b']}},
        {'anything-but': True}, {'anything-but': None}, {'anything-but': ['a', _n('1')]},
        {'anything-but': []}, {'anything-but': ['a', True]}, {'anything-but': {'foo': 'x'}},
        {'anything-but': {'prefix': _n('5')}}, {'anything-but': {'equals-ignore-case': _n('5')}},
        {'anything-but': {'wildcard': 'a**b'}}, {'anything-but': {'prefix': 'a', 'suffix': 'b'}},
        {'anything-but': {}}, {'anything-but': [None]},
        {'wildcard': 'a**b'}, {'wildcard': '**'}, {'wildcard': 'a\\db'}, {'wildcard': 'ab\\'},
        {'wildcard': _n('1')},
        {'cidr': '10.0.0.0'}, {'cidr': '10.0.0.0/33'}, {'cidr': '10.0.0.0/x'}, {'cidr': 'xx.11.xx/8'},
        {'cidr': '1.2.3/8'}, {'cidr': '10.0.0.0/-1'}, {'cidr': '10.0.0.0/8/9'}, {'cidr': '::/129'},
        {'cidr': '256.0.0.0/8'}, {'cidr': '10.0.0.0/'}, {'cidr': '/8'}, {'cidr': _n('10')},
        {'cidr': '10.0.0.1/32'}, {'cidr': '2001:db8::1/128'}, {'cidr': '1:::2/64'},
        {'prefix': _n('5')}, {'suffix': None}, {'equals-ignore-case': ['a']}, {'exists': 'true'},
        {'exists': None}, {'prefix': {'equals-ignore-case': _n('5')}}, {'prefix': {'foo': 'a'}},
        {'suffix': {}}, {'prefix': 'a', 'suffix': 'b'}, {'exists': True, 'prefix': 'a'}, {},
        ['a'], {'numeric': ['>', _n('1')], 'x': 1})
    B.append(lambda g: ('top', g.r.choice([['a'], 'a', _n('1'), None, {}])))
    return B


def _copy(v):
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


BREAKERS = _breakers()
