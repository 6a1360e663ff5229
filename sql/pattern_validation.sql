--
-- Pattern validation: every way a pattern can be refused.  An invalid
-- pattern is an error (SQLSTATE 22023, "Event pattern is not valid.
-- Reason: ...", a DETAIL naming the offending key and a HINT) for
-- validate_event_pattern(), the =~ operator, test_event_pattern() and the
-- event_pattern domain, and plain false for is_valid_event_pattern().
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- How an invalid pattern is reported, through each entry point.
SELECT eventbus.validate_event_pattern('{"source": "aws.ec2"}');
SELECT '{"source": "aws.ec2"}'::jsonb =~ '{"source": "aws.ec2"}'::jsonb;
SELECT '{"source": ["aws.ec2"]}'::eventbus.event_pattern;
SELECT '{"source": "aws.ec2"}'::eventbus.event_pattern;
SELECT '{"detail": {"state": [{"prefix": 5}]}}'::eventbus.event_pattern;
SELECT eventbus.validate_event_pattern('{}');
SELECT eventbus.validate_event_pattern('["source"]');
SELECT eventbus.is_valid_event_pattern('{"source": "aws.ec2"}') AS bare_value_is_valid;

-- The SQLSTATE, as a client sees it.
\set SHOW_CONTEXT never
DO $$
DECLARE
    p jsonb;
BEGIN
    FOREACH p IN ARRAY ARRAY['{"source": "aws.ec2"}', '{}', '{"n": [{"numeric": [">", "5"]}]}',
                             '{"ip": [{"cidr": "10.0.0.0"}]}', '{"$or": []}']::jsonb[]
    LOOP
        BEGIN
            PERFORM eventbus.validate_event_pattern(p);
            RAISE NOTICE '% accepted', p;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% refused with SQLSTATE %', p, SQLSTATE;
        END;
    END LOOP;
END
$$;
\set SHOW_CONTEXT errors

--
-- Every invalid pattern, one row each: is_valid_event_pattern() must say
-- false, validate_event_pattern() must raise 22023; "reason" is the message
-- after "Event pattern is not valid. Reason: " and "detail" its DETAIL.
--
CREATE FUNCTION pg_temp.refusal(pattern jsonb,
                                OUT valid boolean, OUT state text,
                                OUT reason text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
BEGIN
    valid := eventbus.is_valid_event_pattern(pattern);
    BEGIN
        PERFORM eventbus.validate_event_pattern(pattern);
        state := 'accepted';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                                msg = MESSAGE_TEXT,
                                detail = PG_EXCEPTION_DETAIL;
        IF msg LIKE 'Event pattern is not valid. Reason: %' THEN
            reason := substr(msg, length('Event pattern is not valid. Reason: ') + 1);
        ELSE
            reason := 'UNEXPECTED MESSAGE: ' || msg;
        END IF;
    END;
END
$$;

-- The shape of a pattern: an object whose fields are objects or non-empty
-- lists; a bare value, an empty list or an empty object is refused.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('bare string value',        '{"source": "aws.ec2"}'),
    ('bare number value',        '{"detail": {"count": 5}}'),
    ('bare boolean value',       '{"flag": true}'),
    ('bare null value',          '{"field": null}'),
    ('empty list',               '{"source": []}'),
    ('empty nested list',        '{"detail": {"state": []}}'),
    ('empty pattern {}',         '{}'),
    ('empty nested object',      '{"detail": {}}'),
    ('pattern is an array',      '["source"]'),
    ('pattern is a string',      '"source"'),
    ('pattern is a number',      '42'),
    ('pattern is JSON null',     'null'),
    ('list inside a list',       '{"source": [["aws.ec2"]]}'),
    ('empty condition {}',       '{"source": [{}]}'),
    ('two operators in one',     '{"source": [{"prefix": "a", "suffix": "b"}]}')
) AS c(label, pattern);

-- Operator names are case-sensitive; unknown operators are refused.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('unknown operator',         '{"source": [{"contains": "ec2"}]}'),
    ('operator "Prefix"',        '{"source": [{"Prefix": "aws."}]}'),
    ('operator "SUFFIX"',        '{"source": [{"SUFFIX": ".png"}]}'),
    ('operator "Anything-But"',  '{"source": [{"Anything-But": "x"}]}'),
    ('operator "Numeric"',       '{"n": [{"Numeric": [">", 0]}]}'),
    ('operator "Exists"',        '{"n": [{"Exists": true}]}'),
    ('operator "CIDR"',          '{"ip": [{"CIDR": "10.0.0.0/8"}]}'),
    ('operator "Wildcard"',      '{"s": [{"Wildcard": "*"}]}'),
    ('equals_ignore_case',       '{"s": [{"equals_ignore_case": "x"}]}'),
    ('a key as an operator',     '{"detail": [{"state": ["running"]}]}')
) AS c(label, pattern);

-- Operand types of prefix, suffix, equals-ignore-case, wildcard, exists.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('prefix: number',           '{"s": [{"prefix": 5}]}'),
    ('prefix: null',             '{"s": [{"prefix": null}]}'),
    ('prefix: list',             '{"s": [{"prefix": ["a"]}]}'),
    ('prefix: boolean',          '{"s": [{"prefix": true}]}'),
    ('prefix: empty object',     '{"s": [{"prefix": {}}]}'),
    ('prefix: unknown key',      '{"s": [{"prefix": {"ignore-case": "a"}}]}'),
    ('prefix: two keys',         '{"s": [{"prefix": {"equals-ignore-case": "a", "x": "b"}}]}'),
    ('prefix: ignore-case number', '{"s": [{"prefix": {"equals-ignore-case": 1}}]}'),
    ('suffix: number',           '{"s": [{"suffix": 5}]}'),
    ('suffix: list',             '{"s": [{"suffix": [".png"]}]}'),
    ('suffix: ignore-case list', '{"s": [{"suffix": {"equals-ignore-case": [".png"]}}]}'),
    ('equals-ignore-case: number', '{"s": [{"equals-ignore-case": 5}]}'),
    ('equals-ignore-case: null', '{"s": [{"equals-ignore-case": null}]}'),
    ('equals-ignore-case: object', '{"s": [{"equals-ignore-case": {"prefix": "a"}}]}'),
    ('wildcard: number',         '{"s": [{"wildcard": 5}]}'),
    ('wildcard: list',           '{"s": [{"wildcard": ["*"]}]}'),
    ('exists: string "true"',    '{"s": [{"exists": "true"}]}'),
    ('exists: number 1',         '{"s": [{"exists": 1}]}'),
    ('exists: null',             '{"s": [{"exists": null}]}')
) AS c(label, pattern);

-- numeric: an operator and a number, or a lower and an upper bound.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('not a list: number',       '{"n": [{"numeric": 5}]}'),
    ('not a list: string',       '{"n": [{"numeric": ">5"}]}'),
    ('not a list: object',       '{"n": [{"numeric": {">": 5}}]}'),
    ('empty list',               '{"n": [{"numeric": []}]}'),
    ('odd length: 1',            '{"n": [{"numeric": [">"]}]}'),
    ('odd length: 3',            '{"n": [{"numeric": [">", 0, "<"]}]}'),
    ('too long: 6',              '{"n": [{"numeric": [">", 0, "<", 5, "<", 6]}]}'),
    ('unknown operator !=',      '{"n": [{"numeric": ["!=", 1]}]}'),
    ('unknown operator ==',      '{"n": [{"numeric": ["==", 1]}]}'),
    ('unknown operator =>',      '{"n": [{"numeric": ["=>", 1]}]}'),
    ('unknown 2nd operator',     '{"n": [{"numeric": [">", 0, "=<", 5]}]}'),
    ('= then a bound',           '{"n": [{"numeric": ["=", 1, "<", 2]}]}'),
    ('a bound then =',           '{"n": [{"numeric": [">", 1, "=", 2]}]}'),
    ('two lower bounds',         '{"n": [{"numeric": [">", 1, ">=", 2]}]}'),
    ('two upper bounds',         '{"n": [{"numeric": ["<", 1, "<=", 2]}]}'),
    ('lower = upper (open)',     '{"n": [{"numeric": [">", 5, "<", 5]}]}'),
    ('lower = upper (closed)',   '{"n": [{"numeric": [">=", 5, "<=", 5]}]}'),
    ('lower > upper',            '{"n": [{"numeric": [">=", 10, "<=", 1]}]}'),
    ('number given as string',   '{"n": [{"numeric": [">", "5"]}]}'),
    ('2nd number as string',     '{"n": [{"numeric": [">", 0, "<", "5"]}]}'),
    ('number given as null',     '{"n": [{"numeric": ["=", null]}]}'),
    ('operator not a string',    '{"n": [{"numeric": [5, ">"]}]}'),
    ('operator null',            '{"n": [{"numeric": [null, 5]}]}')
) AS c(label, pattern);

-- wildcard: no consecutive stars, only \* and \\ as escapes, and the rule's
-- wildcard complexity bound (pattern_wildcard tests it).  Positions count
-- bytes from 1, as EventBridge's do.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('consecutive **',           '{"s": [{"wildcard": "**"}]}'),
    ('consecutive a**b',         '{"s": [{"wildcard": "a**b"}]}'),
    ('consecutive at the end',   '{"s": [{"wildcard": "a*b**"}]}'),
    ('escape \b',                '{"s": [{"wildcard": "a\\b"}]}'),
    ('escape \n (letters)',      '{"s": [{"wildcard": "\\n*"}]}'),
    ('trailing backslash',       '{"s": [{"wildcard": "a*\\"}]}'),
    ('the service''s example',   '{"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}')
) AS c(label, pattern);

-- cidr: "address/prefix-length" with a valid address and length.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('not a string',             '{"ip": [{"cidr": 10}]}'),
    ('a list',                   '{"ip": [{"cidr": ["10.0.0.0/8"]}]}'),
    ('missing slash',            '{"ip": [{"cidr": "10.0.0.0"}]}'),
    ('bad address: octet 300',   '{"ip": [{"cidr": "10.0.0.300/24"}]}'),
    ('bad address: three octets','{"ip": [{"cidr": "10.0.0/24"}]}'),
    ('bad address: a name',      '{"ip": [{"cidr": "localhost/8"}]}'),
    ('bad address: IPv6',        '{"ip": [{"cidr": "2001:db8:::1/64"}]}'),
    ('bad address: space',       '{"ip": [{"cidr": "10.0.0.0 /8"}]}'),
    ('IPv4 mask 33',             '{"ip": [{"cidr": "10.0.0.0/33"}]}'),
    ('IPv6 mask 129',            '{"ip": [{"cidr": "2001:db8::/129"}]}'),
    ('mask not a number',        '{"ip": [{"cidr": "10.0.0.0/x"}]}'),
    ('mask negative',            '{"ip": [{"cidr": "10.0.0.0/-1"}]}'),
    ('mask with a sign',         '{"ip": [{"cidr": "10.0.0.0/+8"}]}'),
    ('mask empty',               '{"ip": [{"cidr": "10.0.0.0/"}]}'),
    ('mask with trailing text',  '{"ip": [{"cidr": "10.0.0.0/8x"}]}'),
    ('two slashes',              '{"ip": [{"cidr": "10.0.0.0/8/8"}]}'),
    ('mask 4294967304 (2^32+8)', '{"ip": [{"cidr": "10.0.0.0/4294967304"}]}')
) AS c(label, pattern);

-- anything-but: a string, a number, a non-empty list of strings or of
-- numbers, or one prefix/suffix/wildcard/equals-ignore-case object.  An
-- empty prefix or suffix is refused ("Null prefix/suffix not allowed").
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('mixed list',               '{"s": [{"anything-but": ["a", 1]}]}'),
    ('mixed list, number first', '{"s": [{"anything-but": [1, "a"]}]}'),
    ('empty list',               '{"s": [{"anything-but": []}]}'),
    ('list of booleans',         '{"s": [{"anything-but": [true]}]}'),
    ('list holding null',        '{"s": [{"anything-but": ["a", null]}]}'),
    ('list of lists',            '{"s": [{"anything-but": [["a"]]}]}'),
    ('list of objects',          '{"s": [{"anything-but": [{"prefix": "a"}]}]}'),
    ('boolean',                  '{"s": [{"anything-but": true}]}'),
    ('null',                     '{"s": [{"anything-but": null}]}'),
    ('empty object',             '{"s": [{"anything-but": {}}]}'),
    ('nested anything-but',      '{"s": [{"anything-but": {"anything-but": "x"}}]}'),
    ('inner numeric',            '{"s": [{"anything-but": {"numeric": [">", 0]}}]}'),
    ('inner exists',             '{"s": [{"anything-but": {"exists": true}}]}'),
    ('inner cidr',               '{"s": [{"anything-but": {"cidr": "10.0.0.0/8"}}]}'),
    ('inner "Prefix"',           '{"s": [{"anything-but": {"Prefix": "a"}}]}'),
    ('two inner operators',      '{"s": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}'),
    ('prefix: number',           '{"s": [{"anything-but": {"prefix": 5}}]}'),
    ('prefix: empty list',       '{"s": [{"anything-but": {"prefix": []}}]}'),
    ('prefix: list with number', '{"s": [{"anything-but": {"prefix": ["a", 1]}}]}'),
    ('prefix: object',           '{"s": [{"anything-but": {"prefix": {"equals-ignore-case": "a"}}}]}'),
    ('suffix: null',             '{"s": [{"anything-but": {"suffix": null}}]}'),
    ('wildcard: consecutive **', '{"s": [{"anything-but": {"wildcard": "a**"}}]}'),
    ('wildcard: bad escape',     '{"s": [{"anything-but": {"wildcard": ["ok*", "\\x"]}}]}'),
    ('equals-ignore-case: number', '{"s": [{"anything-but": {"equals-ignore-case": 5}}]}'),
    ('equals-ignore-case: numbers', '{"s": [{"anything-but": {"equals-ignore-case": [1, 2]}}]}'),
    ('prefix: empty string',     '{"s": [{"anything-but": {"prefix": ""}}]}'),
    ('suffix: empty string',     '{"s": [{"anything-but": {"suffix": ""}}]}'),
    ('prefix: list with ""',     '{"s": [{"anything-but": {"prefix": ["a", ""]}}]}'),
    ('operator and an extra key','{"s": [{"anything-but": {"prefix": "a", "x": 1}}]}')
) AS c(label, pattern);

-- $or: an array of at least two pattern objects, each valid on its own,
-- whose field names are not operator names.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('$or is an object',         '{"$or": {"a": ["1"]}}'),
    ('$or is a string',          '{"$or": "a"}'),
    ('$or is empty',             '{"$or": []}'),
    ('$or of one pattern',       '{"$or": [{"a": ["1"]}]}'),
    ('nested $or of one',        '{"detail": {"$or": [{"a": ["1"]}]}, "source": ["x"]}'),
    ('operator name as a field', '{"$or": [{"prefix": ["1"]}, {"b": ["2"]}]}'),
    ('deeper, in a branch',      '{"$or": [{"a": {"numeric": ["1"]}}, {"b": ["2"]}]}'),
    ('element is a string',      '{"$or": ["a", {"b": ["2"]}]}'),
    ('element is an array',      '{"$or": [[{"a": ["1"]}], {"b": ["2"]}]}'),
    ('element is empty',         '{"$or": [{}, {"b": ["2"]}]}'),
    ('element holds a bare value', '{"$or": [{"a": "1"}, {"b": ["2"]}]}'),
    ('nested $or is empty',      '{"detail": {"$or": []}}'),
    ('$or inside $or, invalid',  '{"$or": [{"a": ["1"]}, {"$or": [{"b": [{"numeric": [">"]}]}, {"c": ["3"]}]}]}'),
    ('$OR is just a key',        '{"$OR": [{"a": ["1"]}, {"b": ["2"]}]}')
) AS c(label, pattern);

-- The offending key is named with its full path.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('deep leaf',                '{"detail": {"requestParameters": {"bucketName": "x"}}}'),
    ('deep operator',            '{"source": ["s3"], "detail": {"object": {"size": [{"numeric": [">", "1"]}]}}}'),
    ('inside $or',               '{"detail": {"$or": [{"a": ["1"]}, {"b": []}]}}')
) AS c(label, pattern);

-- Keys are names, not paths: a key may hold dots or be empty, and the
-- reason names it whole.
SELECT label, (pg_temp.refusal(pattern::jsonb)).*
FROM (VALUES
    ('dotted key, empty list',   '{"detail.state": []}'),
    ('dotted key, empty object', '{"a.b": {}}'),
    ('nested dotted key',        '{"x": {"a.b": [{}]}}'),
    ('dotted key, bare value',   '{"x": {"a.b": "c"}}'),
    ('nested empty key',         '{"a": {"": []}}'),
    ('below an empty key',       '{"": {"b": [["c"]]}}')
) AS c(label, pattern);
-- At the top level an empty key has an empty path, which the DETAIL cannot
-- tell from the whole pattern; the reason still names the key.
SELECT label, r.valid, r.state, r.reason
FROM (VALUES
    ('top-level empty key, {}',  '{"": {}}'),
    ('top-level empty key, []',  '{"": []}')
) AS c(label, pattern), pg_temp.refusal(pattern::jsonb) AS r;

--
-- Patterns at the edge of validity are accepted, by all entry points.
--
SELECT label, eventbus.is_valid_event_pattern(pattern::jsonb) AS valid,
       eventbus.validate_event_pattern(pattern::jsonb) AS validated,
       pattern::eventbus.event_pattern IS NOT NULL AS castable
FROM (VALUES
    ('four wildcard stars',      '{"s": [{"wildcard": "*:*:*:*:event-bus/*"}]}'),
    ('escaped stars',            '{"s": [{"wildcard": "\\*\\*\\*"}]}'),
    ('escaped backslash + star', '{"s": [{"wildcard": "\\\\*"}]}'),
    ('cidr /0',                  '{"ip": [{"cidr": "0.0.0.0/0"}]}'),
    ('cidr /32',                 '{"ip": [{"cidr": "10.1.2.3/32"}]}'),
    ('cidr ::/0',                '{"ip": [{"cidr": "::/0"}]}'),
    ('cidr /128',                '{"ip": [{"cidr": "::1/128"}]}'),
    ('numeric lower < upper',    '{"n": [{"numeric": [">", 0, "<", 0.000001]}]}'),
    ('numeric = alone',          '{"n": [{"numeric": ["=", -1e308]}]}'),
    ('anything-but numbers',     '{"n": [{"anything-but": [1, 2.5, -3e2]}]}'),
    ('anything-but empty string','{"s": [{"anything-but": ""}]}'),
    ('exists false',             '{"s": [{"exists": false}]}'),
    ('null and "" values',       '{"s": [null, ""]}'),
    ('every value type',         '{"s": ["a", 1, true, false, null]}'),
    ('$or with two alternatives','{"$or": [{"a": ["1"]}, {"b": ["2"]}]}'),
    ('$or at two levels',        '{"$or": [{"a": ["1"]}, {"b": ["2"]}], "d": {"$or": [{"c": ["3"]}, {"e": ["4"]}]}}')
) AS c(label, pattern);

--
-- eventbus.max_pattern_size is a quota of put_rule (pattern_quota tests
-- it): the validation functions, the domain and the operator, all
-- IMMUTABLE, never depend on it.
--
SET eventbus.max_pattern_size = 64;
SELECT length(p::text) AS characters, eventbus.is_valid_event_pattern(p) AS valid,
       eventbus.validate_event_pattern(p) AS validated,
       p::eventbus.event_pattern IS NOT NULL AS castable,
       '{"source": "aws.ec2"}'::jsonb =~ p AS matches
FROM (VALUES ('{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}'::jsonb)) AS v(p);
SELECT eventbus.is_valid_event_pattern(jsonb_build_object('k', jsonb_build_array(repeat('x', 5000)))) AS "5000 characters, valid";
RESET eventbus.max_pattern_size;
