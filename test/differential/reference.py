"""Reference matcher for EventBridge event patterns (Python 3, standard library).

Written from the semantics (README "Event patterns", the service's recorded
answers, the behaviour of EventBridge's open-source matching library), not
from eventbus's C matcher, so that the differential test compares two
independent implementations.

    compile_pattern(pattern) -> list of sub-rules, or raises Invalid(code, text)
    matches(subrules, event) -> bool

JSON values are plain Python values, except numbers, which are JNum (the text
as written plus its exact Decimal value): the text is what the generator
sends to the database, the value is what the reference compares.

Model
-----
A pattern compiles to alternatives ("sub-rules"); the event matches when one
of them matches.  A sub-rule is a list of (field name, conditions): every
entry must hold (AND), each entry's conditions are alternatives (OR).  Field
names are the object keys joined with "." in the pattern and in the event,
so {"a.b": [1]} and {"a": {"b": [1]}} name the same field "a.b".

"$or": [p1, p2, ...] forks the alternatives: each branch is combined with
everything else of the enclosing object.  When a branch names a field that
the enclosing pattern names too, the branch's conditions replace the
enclosing ones in that alternative.  The library keeps the one written later
in the pattern text (a $or written after the field overrides it); jsonb does
not keep key order, so eventbus always lets the branch win, as when the $or
is written last (the README lists it among the differences).  Entries of one
name at the same $or depth (one path spelled two ways in one object, or named
by two $or of the same depth that meet in one alternative) are all kept: each
must hold.  The library keeps the one written later in the text, which jsonb
cannot know; eventbus requires both (also listed in the README).

The event is flattened into leaf fields (name, value, array membership):
objects add a name step, arrays add no step; every element of an array that
is an object or an array records (array id -> element index).  Objects and
empty arrays are not leaves.  Matching a sub-rule walks its entries in name
order, picking for each entry one event field of that name whose array
membership is consistent with the fields picked so far (same element index
for every array both lie in): fields of different elements of one array are
never combined.

exists:false holds for an entry when the event has no leaf value of that
name anywhere: under an array of objects, when no element has the field
(the service's answer).  The library judges the absence within an element
already picked when a sibling field comes earlier in name order; eventbus
does not follow that order dependence (the README lists it), and neither
does this reference.

Values: strings, numbers, true/false and null are leaf values; "" and null
are distinct; a missing field matches no value condition.  Numbers compare
by exact decimal value (eventbus's choice; the generator keeps numbers
short, where double and decimal comparison agree).  anything-but matches any
present leaf value that is not excluded, of any type: {"anything-but":
"x"} matches 5, true and null; anything-but with numbers excludes numbers
only.  exists:true matches any leaf value, null included.
equals-ignore-case (and the prefix/suffix/anything-but forms): an event
character e matches a pattern character p when e == p, e == p.lower() or
e == p.upper() (per code point; the generator only uses characters whose
case mappings are single characters that round-trip).
"""

from decimal import Decimal, InvalidOperation
import ipaddress
import json
import math
import re


class JNum:
    """A JSON number: its text and its exact value."""
    __slots__ = ('text', 'val')

    def __init__(self, text):
        self.text = str(text)
        self.val = Decimal(self.text)

    def __repr__(self):
        return 'JNum(%s)' % self.text

    def __eq__(self, other):
        return isinstance(other, JNum) and self.text == other.text

    def __hash__(self):
        return hash(self.text)


_NUM_MARK = re.compile(r'"\\u0000([^"]*)\\u0000"')


def _num_default(o):
    if isinstance(o, JNum):
        return '\0' + o.text + '\0'
    raise TypeError(type(o).__name__)


def dumps(v):
    """Serialize a JSON value; a JNum keeps its text.  (Numbers travel as
    NUL-marked strings through the json module, then lose the marks:
    generated strings never hold NUL, which jsonb refuses anyway.)"""
    return _NUM_MARK.sub(r'\1', json.dumps(v, ensure_ascii=False, default=_num_default))


class Invalid(Exception):
    """The pattern is refused; code is a short class name, text the reason."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


# Variants, for classing disagreements only (driver.py, explain()): SEP is
# how object keys are joined into field names (a character no key holds
# means "no flattening": {"a.b"} and {"a": {"b"}} stay different fields);
# UNICODE_CASE False folds ASCII letters only (what a C locale does).
SEP = '.'
UNICODE_CASE = True

RESERVED_IN_OR = {
    'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists',
    'wildcard', 'numeric', 'cidr', '=', '<', '<=', '>', '>=',
}

IPV4_RE = re.compile(r'[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+')
IPV6_RE = re.compile(r'[0-9a-fA-F:]*:[0-9a-fA-F:]*')


def is_number(v):
    return isinstance(v, JNum)


def comparable(num):
    """A number the service can compare: finite as a double, and the double's
    shortest text has the same value (so 0.1 is fine, 20 significant digits
    are not)."""
    try:
        f = float(num.val)
    except (OverflowError, InvalidOperation):
        return False
    return math.isfinite(f) and Decimal(repr(f)) == num.val


def parse_ip(text):
    """IPv4 or IPv6 address literal -> ipaddress object, or None.  IPv4 is
    four dotted decimal numbers; IPv6 is hex digits and colons only (no
    embedded IPv4, no zone)."""
    if not isinstance(text, str):
        return None
    if IPV4_RE.fullmatch(text):
        # Choice: a leading zero ("10.0.0.01") is ambiguous (octal or
        # decimal) and not an address (the JDK the library runs on refuses
        # such literals; Python's parser too)
        try:
            return ipaddress.IPv4Address(text)
        except ValueError:
            return None
    if IPV6_RE.fullmatch(text):
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return None


def parse_cidr(text):
    """CIDR block -> ip_network, or raises Invalid (the library's rules:
    exactly one '/', an integer mask, 0..32 for IPv4 and 0..128 for IPv6;
    the library refuses /32 and /128, eventbus accepts them: a difference
    the README lists)."""
    parts = text.split('/')
    while len(parts) > 1 and parts[-1] == '':     # Java's split drops trailing empties
        parts.pop()
    if len(parts) != 2:
        raise Invalid('cidr-syntax', "Malformed CIDR, one '/' required")
    if not re.fullmatch(r'[+-]?[0-9]+', parts[1]):
        raise Invalid('cidr-mask', 'Malformed CIDR, mask bits must be an integer')
    mask = int(parts[1])
    if mask < 0:
        raise Invalid('cidr-mask', 'Malformed CIDR, mask bits must not be negative')
    ip = parse_ip(parts[0])
    if ip is None:
        raise Invalid('cidr-address', 'Nonstandard IP address: ' + parts[0])
    if ip.version == 4 and mask > 32:
        raise Invalid('cidr-mask', 'IPv4 mask bits must be <= 32')
    if ip.version == 6 and mask > 128:
        raise Invalid('cidr-mask', 'IPv6 mask bits must be <= 128')
    return ipaddress.ip_network('%s/%d' % (ip, mask), strict=False)


def parse_wildcard(text):
    """Wildcard text -> compiled regex; '*' any run, '\\*' and '\\\\' literal."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == '*':
            if i + 1 < len(text) and text[i + 1] == '*':
                raise Invalid('wildcard-consecutive', 'Consecutive wildcard characters at pos %d' % i)
            out.append('.*')
        elif c == '\\':
            if i + 1 < len(text) and text[i + 1] in '*\\':
                out.append(re.escape(text[i + 1]))
                i += 1
            else:
                raise Invalid('wildcard-escape', 'Invalid escape character at pos %d' % i)
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile(''.join(out), re.DOTALL)


def need_str(v, what):
    if not isinstance(v, str):
        raise Invalid('operand-type', '%s match pattern must be a string' % what)
    return v


def compile_number(v, what):
    if not is_number(v):
        raise Invalid('numeric-malformed', 'Value of %s must be numeric' % what)
    if not comparable(v):
        raise Invalid('number-range', 'Cannot compare number : ' + v.text)
    return v.val


def compile_numeric(arr):
    """["op", n] or [">"|">=", n, "<"|"<=", n] -> ('num', lo, lo_open, hi, hi_open).
    The library takes the lower bound first; an upper bound first with a
    second term is refused ("Too many elements")."""
    if not isinstance(arr, list):
        raise Invalid('numeric-malformed', 'Value of numeric must be an array.')
    if not arr or not isinstance(arr[0], str):
        raise Invalid('numeric-malformed', 'Invalid member in numeric match')
    op = arr[0]
    if op not in ('=', '<', '<=', '>', '>='):
        raise Invalid('numeric-malformed', 'Unrecognized numeric range operator: ' + op)
    if len(arr) < 2:
        raise Invalid('numeric-malformed', 'Value of %s must be numeric' % op)
    n = compile_number(arr[1], op)
    if op in ('=', '<', '<='):
        if len(arr) != 2:
            raise Invalid('numeric-upper-first' if op != '=' else 'numeric-malformed',
                          'Too many elements in numeric expression')
        if op == '=':
            return ('num', n, False, n, False)
        return ('num', None, False, n, op == '<')
    if len(arr) == 2:
        return ('num', n, op == '>', None, False)
    op2 = arr[2]
    if not isinstance(op2, str):
        raise Invalid('numeric-malformed', 'Bad value in numeric range')
    if op2 not in ('<', '<='):
        raise Invalid('numeric-malformed', 'Bad numeric range operator: ' + op2)
    if len(arr) < 4:
        raise Invalid('numeric-malformed', 'Value of %s must be numeric' % op2)
    top = compile_number(arr[3], op2)
    if len(arr) != 4:
        raise Invalid('numeric-malformed', 'Too many terms in numeric range expression')
    if not n < top:
        raise Invalid('numeric-empty', 'Bottom must be less than top')
    return ('num', n, op == '>', top, op2 == '<')


def str_list(v, what, allow_empty=False):
    vals = v if isinstance(v, list) else [v]
    for x in vals:
        if not isinstance(x, str):
            raise Invalid('operand-type', '%s match pattern must be a string' % what)
    if not vals and not allow_empty:
        raise Invalid('anything-but-list', 'Empty anything-but list')
    return list(vals)


def compile_anything_but(v):
    if isinstance(v, dict):
        if len(v) != 1:
            raise Invalid('anything-but-object', 'anything-but object takes one key')
        (op, x), = v.items()
        if op not in ('prefix', 'suffix', 'equals-ignore-case', 'wildcard'):
            raise Invalid('anything-but-object', 'Unsupported anything-but pattern: ' + op)
        if not isinstance(x, (str, list)):
            raise Invalid('anything-but-type',
                          'Value of anything-but must be an array or single string/number value.')
        # the library accepts an empty list here; eventbus refuses it: never generated
        vals = str_list(x, op, allow_empty=False)
        if op in ('prefix', 'suffix'):
            if any(s == '' for s in vals):
                raise Invalid('anything-but-empty-affix', 'Null prefix/suffix not allowed')
            return ('ab_' + op, vals)
        if op == 'equals-ignore-case':
            return ('ab_eic', vals)
        return ('ab_wild', [parse_wildcard(s) for s in vals])
    if isinstance(v, str):
        return ('ab_set', 's', {v})
    if is_number(v):
        return ('ab_set', 'n', {compile_number(v, 'anything-but')})
    if isinstance(v, list):
        if any(not (isinstance(x, str) or is_number(x)) for x in v):
            raise Invalid('anything-but-type', 'Inside anything but list, start|null|boolean is not supported.')
        kinds = {'s' if isinstance(x, str) else 'n' for x in v}
        if len(kinds) != 1:
            raise Invalid('anything-but-list', 'Inside anything but list, either all values are number '
                          'or string, mixed type is not supported')
        kind = kinds.pop()
        if kind == 'n':
            return ('ab_set', 'n', {compile_number(x, 'anything-but') for x in v})
        return ('ab_set', 's', set(v))
    raise Invalid('anything-but-type', 'Value of anything-but must be an array or single string/number value.')


def compile_match_expression(d):
    if not d:
        raise Invalid('match-expression', 'Match expression name not found')
    if len(d) != 1:
        raise Invalid('match-expression', 'Only one key allowed in match expression')
    (op, v), = d.items()
    if op in ('prefix', 'suffix'):
        if isinstance(v, dict):
            if len(v) != 1 or 'equals-ignore-case' not in v:
                raise Invalid('operand-type', 'Unsupported %s pattern' % op)
            return (op + '_ic', need_str(v['equals-ignore-case'], 'equals-ignore-case'))
        return (op, need_str(v, op))
    if op == 'equals-ignore-case':
        return ('eic', need_str(v, op))
    if op == 'wildcard':
        return ('wild', parse_wildcard(need_str(v, op)))
    if op == 'numeric':
        return compile_numeric(v)
    if op == 'anything-but':
        return compile_anything_but(v)
    if op == 'exists':
        if not isinstance(v, bool):
            raise Invalid('operand-type', 'exists match pattern must be either true or false.')
        return ('exists', v)
    if op == 'cidr':
        return ('cidr', parse_cidr(need_str(v, 'cidr')))
    # "exactly" is the library's too, but not eventbus's: never generated
    raise Invalid('unknown-operator', 'Unrecognized match type ' + op)


def compile_conditions(arr):
    if not arr:
        raise Invalid('empty-array', 'Empty arrays are not allowed')
    out = []
    for x in arr:
        if isinstance(x, dict):
            out.append(compile_match_expression(x))
        elif isinstance(x, list):
            raise Invalid('nested-array', 'Match value must be String, number, true, false, or null')
        elif isinstance(x, str):
            # the library reads a string that is an IP address as that
            # address (any spelling); the generator never writes one
            out.append(('lit', 's', x))
        elif isinstance(x, bool):
            out.append(('lit', 'b', x))
        elif x is None:
            out.append(('lit', 'z', None))
        elif is_number(x):
            out.append(('lit', 'n', x.val))
        else:
            raise Invalid('bad-value', 'Match value must be String, number, true, false, or null')
    return out


def add_entry(alt, entry):
    """alt + entry, where an entry of a deeper $or branch replaces one of the
    same name from an enclosing level (and is never replaced by it); entries
    of one name at the same depth are all kept (AND)."""
    name, _conds, depth = entry
    out = []
    for x in alt:
        if x[0] == name and x[2] != depth:
            if x[2] > depth:
                return alt
            continue
        out.append(x)
    out.append(entry)
    return out


def combine(alt, more):
    for e in more:
        alt = add_entry(alt, e)
    return alt


def compile_object(obj, path, in_or, depth=0):
    """-> list of alternatives, each a list of (name, conditions, $or depth)."""
    if not isinstance(obj, dict):
        raise Invalid('not-object', 'Filter is not an object')
    if not obj:
        raise Invalid('empty-object', 'Empty objects are not allowed')
    alts = [[]]
    for key, val in obj.items():
        if key == '$or':
            if not isinstance(val, list):
                raise Invalid('or-syntax', 'It must be an Array followed with $or.')
            branches = []
            for b in val:
                if not isinstance(b, dict):
                    raise Invalid('or-syntax', 'Only JSON object is allowed in array of $or relationship.')
                branches.extend(compile_object(b, path, True, depth + 1))
            if len(val) < 2:
                raise Invalid('or-single', 'There must have at least 2 Objects in $or relationship.')
            alts = [combine(a, b) for a in alts for b in branches]
            continue
        if in_or and key in RESERVED_IN_OR:
            raise Invalid('or-reserved', key + ' is Ruler reserved fieldName which cannot be used inside $or.')
        if isinstance(val, dict):
            sub = compile_object(val, path + [key], in_or, depth)
            alts = [combine(a, b) for a in alts for b in sub]
        elif isinstance(val, list):
            entry = (SEP.join(path + [key]), compile_conditions(val), depth)
            alts = [add_entry(a, entry) for a in alts]
        else:
            raise Invalid('bare-value', '"%s" must be an object or an array' % key)
    return alts


def compile_pattern(pattern):
    """-> sub-rules: lists of (name, conditions, has exists:false, the
    other conditions), sorted by name."""
    subrules = compile_object(pattern, [], False)
    out = []
    for sr in subrules:
        entries = []
        for name, conds, _depth in sorted(sr, key=lambda e: e[0]):
            absent = any(c[0] == 'exists' and not c[1] for c in conds)
            entries.append((name, conds, absent, [c for c in conds if not (c[0] == 'exists' and not c[1])]))
        out.append(entries)
    return out


# ---------------------------------------------------------------- events

def flatten(event):
    """-> {name: [(typed value, membership dict)]}.  Typed values are
    ('s', str), ('n', Decimal), ('b', bool), ('z', None)."""
    fields = {}
    counter = [0]

    def leaf(path, v, memb):
        if isinstance(v, str):
            t = ('s', v)
        elif isinstance(v, bool):
            t = ('b', v)
        elif v is None:
            t = ('z', None)
        else:
            t = ('n', v.val)
        fields.setdefault(SEP.join(path), []).append((t, dict(memb)))

    def walk(path, v, memb):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(path + [k], x, memb)
        elif isinstance(v, list):
            aid = counter[0]
            counter[0] += 1
            for i, x in enumerate(v):
                if isinstance(x, (dict, list)):
                    memb[aid] = i
                    walk(path, x, memb)
                    del memb[aid]
                else:
                    leaf(path, x, memb)
        else:
            leaf(path, v, memb)

    walk([], event, {})
    return fields


def ic_char(e, p):
    if not UNICODE_CASE and not (e.isascii() and p.isascii()):
        return e == p
    return e == p or e == p.lower() or e == p.upper()


def ic_equal(ev, pat):
    return len(ev) == len(pat) and all(ic_char(e, p) for e, p in zip(ev, pat))


def ic_prefix(ev, pat):
    return len(ev) >= len(pat) and all(ic_char(e, p) for e, p in zip(ev, pat))


def ic_suffix(ev, pat):
    return len(ev) >= len(pat) and ic_prefix(ev[len(ev) - len(pat):], pat)


def value_matches(c, t):
    kind = c[0]
    typ, v = t
    if kind == 'lit':
        return typ == c[1] and v == c[2]
    if kind == 'exists':
        return c[1]                     # exists:false is handled by the walk
    if kind == 'num':
        if typ != 'n':
            return False
        _, lo, lo_open, hi, hi_open = c
        if lo is not None and (v < lo or (lo_open and v == lo)):
            return False
        if hi is not None and (v > hi or (hi_open and v == hi)):
            return False
        return True
    if kind == 'cidr':
        ip = parse_ip(v) if typ == 's' else None
        return ip is not None and ip.version == c[1].version and ip in c[1]
    if kind.startswith('ab_'):
        if kind == 'ab_set':
            return not (typ == c[1] and v in c[2])
        if typ != 's':
            return True
        if kind == 'ab_prefix':
            return not any(v.startswith(p) for p in c[1])
        if kind == 'ab_suffix':
            return not any(v.endswith(p) for p in c[1])
        if kind == 'ab_eic':
            return not any(ic_equal(v, p) for p in c[1])
        if kind == 'ab_wild':
            return not any(r.fullmatch(v) for r in c[1])
        raise AssertionError(kind)
    if typ != 's':
        return False
    if kind == 'prefix':
        return v.startswith(c[1])
    if kind == 'suffix':
        return v.endswith(c[1])
    if kind == 'prefix_ic':
        return ic_prefix(v, c[1])
    if kind == 'suffix_ic':
        return ic_suffix(v, c[1])
    if kind == 'eic':
        return ic_equal(v, c[1])
    if kind == 'wild':
        return c[1].fullmatch(v) is not None
    raise AssertionError(kind)


def consistent(so_far, memb):
    for k, i in memb.items():
        j = so_far.get(k)
        if j is not None and j != i:
            return False
    return True


def match_subrule(entries, fields):
    """entries: (name, conditions, has exists:false, value conditions),
    sorted by name."""
    n = len(entries)

    def walk(i, so_far):
        if i == n:
            return True
        name, _conds, absent_ok, value_conds = entries[i]
        candidates = fields.get(name, ())
        if absent_ok and not candidates:
            return walk(i + 1, so_far)
        for t, m in candidates:
            if m and so_far and not consistent(so_far, m):
                continue
            for c in value_conds:
                if value_matches(c, t):
                    if walk(i + 1, {**so_far, **m} if m else so_far):
                        return True
                    break
        return False
    return walk(0, {})


def matches(subrules, event):
    fields = flatten(event)
    return any(match_subrule(sr, fields) for sr in subrules)


def check(pattern):
    """-> (True, None) or (False, Invalid)."""
    try:
        compile_pattern(pattern)
        return True, None
    except Invalid as e:
        return False, e


def answer_with(pattern, event, sep='.', unicode_case=True):
    """The reference's answer under a variant (see SEP, UNICODE_CASE)."""
    global SEP, UNICODE_CASE
    saved = SEP, UNICODE_CASE
    SEP, UNICODE_CASE = sep, unicode_case
    try:
        return matches(compile_pattern(pattern), event)
    finally:
        SEP, UNICODE_CASE = saved
