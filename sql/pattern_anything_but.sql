--
-- anything-but: a value, a list of strings or of numbers, or a prefix /
-- suffix / wildcard / equals-ignore-case object holding a value or a list.
-- A missing field never matches anything-but.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- A single string.
WITH p(pattern) AS (VALUES ('{"detail": {"state": [{"anything-but": "SUBMITTED"}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('another value',            '{"detail": {"state": "APPROVED"}}',     true),
    ('the excluded value',       '{"detail": {"state": "SUBMITTED"}}',    false),
    ('other case',               '{"detail": {"state": "Submitted"}}',    true),
    ('empty string',             '{"detail": {"state": ""}}',             true),
    ('field missing',            '{"detail": {}}',                        false),
    ('parent missing',           '{}',                                    false),
    ('object value (no leaf)',   '{"detail": {"state": {"x": "APPROVED"}}}', false)
) AS c(label, event, expected);

-- A single number, compared by value.
WITH p(pattern) AS (VALUES ('{"detail": {"score": [{"anything-but": 640}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('another number',           '{"detail": {"score": 5}}',      true),
    ('the excluded number',      '{"detail": {"score": 640}}',    false),
    ('same number, 640.0',       '{"detail": {"score": 640.0}}',  false),
    ('same number, 6.4e2',       '{"detail": {"score": 6.4e2}}',  false),
    ('640.5',                    '{"detail": {"score": 640.5}}',  true),
    ('field missing',            '{"detail": {}}',                false)
) AS c(label, event, expected);

-- A list of strings.
WITH p(pattern) AS (VALUES ('{"detail": {"state": [{"anything-but": ["REJECTED", "WITHDRAWN"]}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('not in the list',          '{"detail": {"state": "APPROVED"}}',   true),
    ('first of the list',        '{"detail": {"state": "REJECTED"}}',   false),
    ('second of the list',       '{"detail": {"state": "WITHDRAWN"}}',  false),
    ('field missing',            '{"detail": {}}',                      false)
) AS c(label, event, expected);

-- A list of numbers.
WITH p(pattern) AS (VALUES ('{"detail": {"tier": [{"anything-but": [10, 20, 30]}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('not in the list',          '{"detail": {"tier": 15}}',     true),
    ('in the list',              '{"detail": {"tier": 20}}',     false),
    ('in the list, 3e1',         '{"detail": {"tier": 3e1}}',    false),
    ('in the list, 10.00',       '{"detail": {"tier": 10.00}}',  false),
    ('field missing',            '{}',                           false)
) AS c(label, event, expected);

-- prefix, with a value or a list.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('prefix: other value',      '{"app": "app-42"}',         '{"app": [{"anything-but": {"prefix": "test-"}}]}', true),
    ('prefix: has the prefix',   '{"app": "test-42"}',        '{"app": [{"anything-but": {"prefix": "test-"}}]}', false),
    ('prefix: is the prefix',    '{"app": "test-"}',          '{"app": [{"anything-but": {"prefix": "test-"}}]}', false),
    ('prefix: shorter',          '{"app": "test"}',           '{"app": [{"anything-but": {"prefix": "test-"}}]}', true),
    ('prefix: missing',          '{}',                        '{"app": [{"anything-but": {"prefix": "test-"}}]}', false),
    ('prefix list: outside US/EU','{"region": "ap-south-1"}', '{"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}', true),
    ('prefix list: US',          '{"region": "us-east-1"}',   '{"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}', false),
    ('prefix list: EU',          '{"region": "eu-west-1"}',   '{"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}', false),
    ('prefix list: missing',     '{}',                        '{"region": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}', false)
) AS c(label, event, pattern, expected);

-- suffix, with a value or a list.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('suffix: other extension',  '{"FileName": "a.jpg"}',  '{"FileName": [{"anything-but": {"suffix": ".png"}}]}', true),
    ('suffix: has the suffix',   '{"FileName": "a.png"}',  '{"FileName": [{"anything-but": {"suffix": ".png"}}]}', false),
    ('suffix: other case',       '{"FileName": "a.PNG"}',  '{"FileName": [{"anything-but": {"suffix": ".png"}}]}', true),
    ('suffix: missing',          '{}',                     '{"FileName": [{"anything-but": {"suffix": ".png"}}]}', false),
    ('suffix list: neither',     '{"FileName": "a.txt"}',  '{"FileName": [{"anything-but": {"suffix": [".png", ".gif"]}}]}', true),
    ('suffix list: second',      '{"FileName": "a.gif"}',  '{"FileName": [{"anything-but": {"suffix": [".png", ".gif"]}}]}', false)
) AS c(label, event, pattern, expected);

-- wildcard, with a value or a list.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('wildcard: no /drafts/',    '{"key": "statements/2024/03.pdf"}', '{"key": [{"anything-but": {"wildcard": "*/drafts/*"}}]}', true),
    ('wildcard: has /drafts/',   '{"key": "statements/drafts/03.pdf"}', '{"key": [{"anything-but": {"wildcard": "*/drafts/*"}}]}', false),
    ('wildcard: missing',        '{}',                           '{"key": [{"anything-but": {"wildcard": "*/drafts/*"}}]}', false),
    ('wildcard list: neither',   '{"key": "home/a.txt"}',        '{"key": [{"anything-but": {"wildcard": ["*/drafts/*", "*.tmp"]}}]}', true),
    ('wildcard list: second',    '{"key": "home/a.tmp"}',        '{"key": [{"anything-but": {"wildcard": ["*/drafts/*", "*.tmp"]}}]}', false),
    ('wildcard escape: literal', '{"s": "a*b"}',                 '{"s": [{"anything-but": {"wildcard": "a\\*b"}}]}', false),
    ('wildcard escape: other',   '{"s": "axb"}',                 '{"s": [{"anything-but": {"wildcard": "a\\*b"}}]}', true)
) AS c(label, event, pattern, expected);

-- equals-ignore-case, with a value or a list.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('ignore case: other value', '{"state": "approved"}',     '{"state": [{"anything-but": {"equals-ignore-case": "submitted"}}]}', true),
    ('ignore case: upper case',  '{"state": "SUBMITTED"}',    '{"state": [{"anything-but": {"equals-ignore-case": "submitted"}}]}', false),
    ('ignore case: mixed case',  '{"state": "Submitted"}',    '{"state": [{"anything-but": {"equals-ignore-case": "submitted"}}]}', false),
    ('ignore case: missing',     '{}',                        '{"state": [{"anything-but": {"equals-ignore-case": "submitted"}}]}', false),
    ('ignore case list: neither','{"s": "c"}',                '{"s": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}', true),
    ('ignore case list: a',      '{"s": "a"}',                '{"s": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}', false),
    ('ignore case list: B',      '{"s": "B"}',                '{"s": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}', false),
    ('ignore case: ÉCOLE/école', '{"s": "école"}',            '{"s": [{"anything-but": {"equals-ignore-case": "ÉCOLE"}}]}', false),
    ('ignore case: ÉCOLE/ecole', '{"s": "ecole"}',            '{"s": [{"anything-but": {"equals-ignore-case": "ÉCOLE"}}]}', true)
) AS c(label, event, pattern, expected);

-- Arrays in the event: anything-but holds if some element is none of the
-- excluded values.  An empty array has no value, like a missing field.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('one element excluded, one not', '{"s": ["REJECTED", "APPROVED"]}', '{"s": [{"anything-but": "REJECTED"}]}', true),
    ('only excluded elements',   '{"s": ["REJECTED", "REJECTED"]}',    '{"s": [{"anything-but": "REJECTED"}]}', false),
    ('every element in the list','{"s": ["REJECTED", "WITHDRAWN"]}',   '{"s": [{"anything-but": ["REJECTED", "WITHDRAWN"]}]}', false),
    ('numbers, one not excluded','{"n": [100, 201]}',                  '{"n": [{"anything-but": [100, 200]}]}', true),
    ('numbers, all excluded',    '{"n": [100, 200.0]}',                '{"n": [{"anything-but": [100, 200]}]}', false),
    ('prefix, one element',      '{"r": ["us-east-1", "ap-south-1"]}', '{"r": [{"anything-but": {"prefix": "us-"}}]}', true),
    ('prefix, all elements',     '{"r": ["us-east-1", "us-west-2"]}',  '{"r": [{"anything-but": {"prefix": "us-"}}]}', false),
    ('empty array',              '{"s": []}',                          '{"s": [{"anything-but": "REJECTED"}]}', false),
    ('array of objects',         '{"s": [{"v": "APPROVED"}]}',         '{"s": [{"anything-but": "REJECTED"}]}', false)
) AS c(label, event, pattern, expected);

-- anything-but is one condition among the alternatives of a list, and
-- combines with other keys like any condition.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('OR with the excluded value','{"s": "x"}',  '{"s": [{"anything-but": "x"}, "x"]}', true),
    ('OR, another value',         '{"s": "y"}',  '{"s": [{"anything-but": "x"}, "x"]}', true),
    ('OR, still not when missing','{}',          '{"s": [{"anything-but": "x"}, "x"]}', false),
    ('AND with another key',      '{"source": "aws.ec2", "s": "y"}', '{"source": ["aws.ec2"], "s": [{"anything-but": "x"}]}', true),
    ('AND, other key differs',    '{"source": "aws.s3", "s": "y"}',  '{"source": ["aws.ec2"], "s": [{"anything-but": "x"}]}', false)
) AS c(label, event, pattern, expected);
