"""Known answers the reference must give before its answers are trusted:
the service's recorded answers quoted in the project's notes, the README's
examples, and the project's own choices.  driver.py runs them first."""

from reference import JNum, check, compile_pattern, matches

N = JNum

MATCH = [
    # field names are joined with "."
    ({"detail": {"a.b": [N('1')]}}, {"detail": {"a": {"b": N('1')}}}, True),
    ({"detail": {"a": {"b": [N('1')]}}}, {"detail": {"a.b": N('1')}}, True),
    ({"detail": {"a.b": [N('1')]}}, {"detail": {"a.b": N('2'), "a": {"b": N('1')}}}, True),
    ({"detail": {"a.b": [N('2')]}}, {"detail": {"a.b": N('2'), "a": {"b": N('1')}}}, True),
    ({"detail": {"a.b": [N('3')]}}, {"detail": {"a.b": N('2'), "a": {"b": N('1')}}}, False),
    # exists:false under an array of objects: no element has the field
    ({"a": {"b": [{"exists": False}]}}, {"a": [{"b": N('1')}, {"c": N('1')}]}, False),
    ({"a": {"b": [{"exists": False}]}}, {"a": [{"c": N('1')}, {"c": N('2')}]}, True),
    ({"a": {"b": [{"exists": False}]}}, {"a": []}, True),
    ({"a": [{"exists": False}]}, {"a": {"b": N('1')}}, True),
    ({"a": [{"exists": True}]}, {"a": None}, True),
    ({"a": [{"exists": True}]}, {"a": {"b": N('1')}}, False),
    ({"a": [{"exists": True}]}, {"a": []}, False),
    # null, "" and missing are three things
    ({"a": [None]}, {"a": ""}, False),
    ({"a": [""]}, {}, False),
    ({"a": [None]}, {}, False),
    ({"a": [None]}, {"a": None}, True),
    # anything-but never matches a missing field; it matches other types
    ({"a": [{"anything-but": "x"}]}, {}, False),
    ({"a": [{"anything-but": "x"}]}, {"a": N('5')}, True),
    ({"a": [{"anything-but": [N('5')]}]}, {"a": N('5.0')}, False),
    ({"a": [{"anything-but": [N('5')]}]}, {"a": "5"}, True),
    ({"a": [{"anything-but": {"prefix": "x"}}]}, {"a": "xy"}, False),
    ({"a": [{"anything-but": {"prefix": "x"}}]}, {"a": None}, True),
    # numbers by value, numeric on numbers only
    ({"a": [N('300')]}, {"a": N('3e2')}, True),
    ({"a": [N('300')]}, {"a": N('300.0')}, True),
    ({"a": [N('300')]}, {"a": "300"}, False),
    ({"a": [{"numeric": [">", N('0'), "<=", N('5')]}]}, {"a": N('5')}, True),
    ({"a": [{"numeric": [">", N('0'), "<=", N('5')]}]}, {"a": N('0')}, False),
    ({"a": [{"numeric": [">", N('0'), "<=", N('5')]}]}, {"a": "5"}, False),
    # arrays: any element; elements of one array are never combined
    ({"a": ["x"]}, {"a": ["y", "x"]}, True),
    ({"a": {"b": [N('1')], "c": [N('2')]}}, {"a": [{"b": N('1')}, {"c": N('2')}]}, False),
    ({"a": {"b": [N('1')], "c": [N('2')]}}, {"a": [{"b": N('1'), "c": N('2')}]}, True),
    # ignore case, not depending on a locale
    ({"a": [{"equals-ignore-case": "ÄPFEL"}]}, {"a": "äpfel"}, True),
    ({"a": [{"prefix": {"equals-ignore-case": "ÄP"}}]}, {"a": "äpfel"}, True),
    ({"a": [{"suffix": {"equals-ignore-case": "FEL"}}]}, {"a": "äpfel"}, True),
    ({"a": [{"anything-but": {"equals-ignore-case": ["ÄPFEL"]}}]}, {"a": "äpfel"}, False),
    # wildcard escapes
    ({"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"}, True),
    ({"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"}, False),
    ({"a": [{"wildcard": "a*b"}]}, {"a": "ab"}, True),
    # cidr
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}, True),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.0"}, False),
    ({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:DB8:0:0::1"}, True),
    # $or, and a branch naming a field of the enclosing pattern: the
    # branch's condition replaces the enclosing one in that alternative
    ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "y"}, True),
    ({"a": [N('1')], "$or": [{"a": [N('2')]}, {"b": [N('3')]}]}, {"a": N('2')}, True),
    ({"a": [N('1')], "$or": [{"a": [N('2')]}, {"b": [N('3')]}]}, {"a": N('1')}, False),
    ({"a": [N('1')], "$or": [{"a": [N('2')]}, {"b": [N('3')]}]}, {"a": N('1'), "b": N('3')}, True),
    ({"a": [N('1')], "$or": [{"a": [N('2')]}, {"b": [N('3')]}]}, {"a": N('2'), "b": N('3')}, True),
    # exists:false beside a sibling field of the same array elements: no
    # element may have the field, whichever element the sibling matched
    ({"a": {"b": ["x"], "c": [{"exists": False}]}}, {"a": [{"c": N('1')}, {"b": "x"}]}, False),
    ({"a": [N('1')], "$or": [{"a": [N('2')]}, {"b": [N('3')]}]}, {"a": N('1'), "b": N('3')}, True),
]

INVALID = [
    {"source": "x"}, {"source": []}, {}, {"a": {}},
    {"$or": [{"a": ["x"]}]}, {"$or": []},
    {"a": [{"anything-but": {"prefix": ""}}]}, {"a": [{"anything-but": {"suffix": ""}}]},
    {"a": [{"Prefix": "x"}]}, {"a": [{"EXISTS": True}]},
    {"a": [{"numeric": ">"}]}, {"a": [{"numeric": [">", "5"]}]}, {"a": [{"numeric": [">", N('5'), ">", N('6')]}]},
    {"a": [{"numeric": [">=", N('5'), "<=", N('5')]}]},
    # the library takes the lower bound first
    {"a": [{"numeric": ["<", N('10'), ">", N('1')]}]},
    {"a": [{"wildcard": "a**b"}]}, {"a": [{"wildcard": "a\\db"}]},
    {"a": [{"anything-but": True}]}, {"a": [{"anything-but": ["a", N('1')]}]},
    {"a": [{"cidr": "10.0.0.0"}]}, {"a": [{"cidr": "xx.11.xx/8"}]}, {"a": [{"cidr": "10.0.0.0/x"}]},
    {"a": [{"cidr": "10.0.0.1/33"}]}, {"a": [{"cidr": "::1/129"}]},
    {"a": [{"prefix": N('5')}]}, {"a": [{"prefix": "a", "suffix": "b"}]}, {"a": [["x"]]},
]

VALID = [
    {"a": [{"prefix": ""}]}, {"a": [{"anything-but": {"prefix": "x"}}]},
    {"a": [{"numeric": [">", N('0'), "<=", N('5')]}]}, {"a": [{"cidr": "10.0.0.0/31"}]},
    # the library refuses /32 and /128; eventbus accepts them (README: differences)
    {"a": [{"cidr": "10.0.0.1/32"}]}, {"a": [{"cidr": "::1/128"}]},
    {"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"a": [{"wildcard": "*"}]},
]


def run():
    """-> list of failures (empty when the reference gives every answer)."""
    fails = []
    for p, e, want in MATCH:
        ok, err = check(p)
        got = matches(compile_pattern(p), e) if ok else 'invalid: %s' % err.text
        if got != want:
            fails.append('match %r %r: got %r, want %r' % (p, e, got, want))
    for p in INVALID:
        if check(p)[0]:
            fails.append('valid, want invalid: %r' % (p,))
    for p in VALID:
        ok, err = check(p)
        if not ok:
            fails.append('invalid (%s), want valid: %r' % (err.text, p))
    return fails


if __name__ == '__main__':
    f = run()
    print('\n'.join(f) or 'selftest: %d known answers ok' % (len(MATCH) + len(INVALID) + len(VALID)))
