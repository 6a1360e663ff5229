--
-- numeric: =, <, <=, >, >= and ranges (a lower and an upper bound).  Only
-- JSON numbers match, never strings holding digits.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- Three numeric conditions on one event (a range, a bound and an equality,
-- as in eb-event-patterns-content-based-filtering), ANDed.
WITH p(pattern) AS (VALUES ('{"detail": {"reviews": [{"numeric": [">", 0, "<=", 3]}],
                                         "age-days": [{"numeric": ["<", 30]}],
                                         "deposit": [{"numeric": ["=", 2.505e2]}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('all three hold',           '{"detail": {"reviews": 3, "age-days": 2, "deposit": 250.5}}',  true),
    ('reviews 0 (open bound)',   '{"detail": {"reviews": 0, "age-days": 2, "deposit": 250.5}}',  false),
    ('age-days 30 (open bound)', '{"detail": {"reviews": 1, "age-days": 30, "deposit": 250.5}}', false),
    ('deposit 250.50',           '{"detail": {"reviews": 1, "age-days": 29, "deposit": 250.50}}', true),
    ('deposit 250.51',           '{"detail": {"reviews": 1, "age-days": 29, "deposit": 250.51}}', false),
    ('age-days missing',         '{"detail": {"reviews": 1, "deposit": 250.5}}',                  false)
) AS c(label, event, expected);

-- Each operator at and around its bound.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('= 300 vs 300',             '{"n": 300}',     '{"n": [{"numeric": ["=", 300]}]}',  true),
    ('= 300 vs 3.0e2',           '{"n": 3.0e2}',   '{"n": [{"numeric": ["=", 300]}]}',  true),
    ('= 300 vs 300.000001',      '{"n": 300.000001}', '{"n": [{"numeric": ["=", 300]}]}', false),
    ('= 0 vs -0',                '{"n": -0}',      '{"n": [{"numeric": ["=", 0]}]}',    true),
    ('< 10 vs 9.999',            '{"n": 9.999}',   '{"n": [{"numeric": ["<", 10]}]}',   true),
    ('< 10 vs 10',               '{"n": 10}',      '{"n": [{"numeric": ["<", 10]}]}',   false),
    ('< 10 vs 10.0',             '{"n": 10.0}',    '{"n": [{"numeric": ["<", 10]}]}',   false),
    ('< 10 vs -1e9',             '{"n": -1e9}',    '{"n": [{"numeric": ["<", 10]}]}',   true),
    ('<= 10 vs 10',              '{"n": 10}',      '{"n": [{"numeric": ["<=", 10]}]}',  true),
    ('<= 10 vs 10.001',          '{"n": 10.001}',  '{"n": [{"numeric": ["<=", 10]}]}',  false),
    ('> 0 vs 0',                 '{"n": 0}',       '{"n": [{"numeric": [">", 0]}]}',    false),
    ('> 0 vs 0.000001',          '{"n": 0.000001}', '{"n": [{"numeric": [">", 0]}]}',   true),
    ('> 0 vs -1',                '{"n": -1}',      '{"n": [{"numeric": [">", 0]}]}',    false),
    ('>= 0 vs 0',                '{"n": 0}',       '{"n": [{"numeric": [">=", 0]}]}',   true),
    ('>= 0 vs -0.0',             '{"n": -0.0}',    '{"n": [{"numeric": [">=", 0]}]}',   true),
    ('>= 0 vs -0.5',             '{"n": -0.5}',    '{"n": [{"numeric": [">=", 0]}]}',   false),
    ('>= -5 vs -5',              '{"n": -5}',      '{"n": [{"numeric": [">=", -5]}]}',  true),
    ('>= -5 vs -6',              '{"n": -6}',      '{"n": [{"numeric": [">=", -5]}]}',  false)
) AS c(label, event, pattern, expected);

-- Ranges: every combination of open and closed bounds.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('(0, 5] vs 0',              '{"n": 0}',    '{"n": [{"numeric": [">", 0, "<=", 5]}]}',   false),
    ('(0, 5] vs 0.5',            '{"n": 0.5}',  '{"n": [{"numeric": [">", 0, "<=", 5]}]}',   true),
    ('(0, 5] vs 5',              '{"n": 5}',    '{"n": [{"numeric": [">", 0, "<=", 5]}]}',   true),
    ('(0, 5] vs 5.0000001',      '{"n": 5.0000001}', '{"n": [{"numeric": [">", 0, "<=", 5]}]}', false),
    ('[0, 5) vs 0',              '{"n": 0}',    '{"n": [{"numeric": [">=", 0, "<", 5]}]}',   true),
    ('[0, 5) vs 5',              '{"n": 5}',    '{"n": [{"numeric": [">=", 0, "<", 5]}]}',   false),
    ('[0, 5) vs 4.99',           '{"n": 4.99}', '{"n": [{"numeric": [">=", 0, "<", 5]}]}',   true),
    ('[0, 5] vs 5',              '{"n": 5}',    '{"n": [{"numeric": [">=", 0, "<=", 5]}]}',  true),
    ('[0, 5] vs -0.01',          '{"n": -0.01}', '{"n": [{"numeric": [">=", 0, "<=", 5]}]}', false),
    ('(0, 5) vs 2.5',            '{"n": 2.5}',  '{"n": [{"numeric": [">", 0, "<", 5]}]}',    true),
    ('(0, 5) vs 5',              '{"n": 5}',    '{"n": [{"numeric": [">", 0, "<", 5]}]}',    false),
    ('(-10, -1) vs -5',          '{"n": -5}',   '{"n": [{"numeric": [">", -10, "<", -1]}]}', true),
    ('(-10, -1) vs -1',          '{"n": -1}',   '{"n": [{"numeric": [">", -10, "<", -1]}]}', false),
    ('(0.1, 0.2) vs 0.15',       '{"n": 0.15}', '{"n": [{"numeric": [">", 0.1, "<", 0.2]}]}', true),
    ('(0.1, 0.2) vs 0.2',        '{"n": 0.2}',  '{"n": [{"numeric": [">", 0.1, "<", 0.2]}]}', false)
) AS c(label, event, pattern, expected);

-- Huge and tiny doubles.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('1e308 > 1e307',            '{"n": 1e308}',    '{"n": [{"numeric": [">", 1e307]}]}',   true),
    ('1e308 = 1.0e308',          '{"n": 1e308}',    '{"n": [{"numeric": ["=", 1.0e308]}]}', true),
    ('1e308 < 1e308',            '{"n": 1e308}',    '{"n": [{"numeric": ["<", 1e308]}]}',   false),
    ('-1e308 < -1e307',          '{"n": -1e308}',   '{"n": [{"numeric": ["<", -1e307]}]}',  true),
    ('-1e308 in [-1e308, 1e308]','{"n": -1e308}',   '{"n": [{"numeric": [">=", -1e308, "<=", 1e308]}]}', true),
    ('1e308 in [-1e308, 1e308]', '{"n": 1e308}',    '{"n": [{"numeric": [">=", -1e308, "<=", 1e308]}]}', true),
    ('0 in (-1e308, 1e308)',     '{"n": 0}',        '{"n": [{"numeric": [">", -1e308, "<", 1e308]}]}', true),
    ('1e308 in (-1e308, 1e308)', '{"n": 1e308}',    '{"n": [{"numeric": [">", -1e308, "<", 1e308]}]}', false),
    ('5e-324 > 0',               '{"n": 5e-324}',   '{"n": [{"numeric": [">", 0]}]}',       true),
    ('-5e-324 > 0',              '{"n": -5e-324}',  '{"n": [{"numeric": [">", 0]}]}',       false),
    ('-5e-324 < 0',              '{"n": -5e-324}',  '{"n": [{"numeric": ["<", 0]}]}',       true),
    ('5e-324 = 5e-324',          '{"n": 5e-324}',   '{"n": [{"numeric": ["=", 5e-324]}]}',  true),
    ('5e-324 in (0, 1e-300)',    '{"n": 5e-324}',   '{"n": [{"numeric": [">", 0, "<", 1e-300]}]}', true),
    ('exact 1e308 vs [1e308]',   '{"n": 1E+308}',   '{"n": [1e308]}',                       true)
) AS c(label, event, pattern, expected);

-- Only JSON numbers match: strings holding digits, booleans, null, objects
-- and missing fields never do.
WITH p(pattern) AS (VALUES ('{"n": [{"numeric": [">=", 0]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('number 5',                 '{"n": 5}',        true),
    ('string "5"',               '{"n": "5"}',      false),
    ('string "1e2"',             '{"n": "1e2"}',    false),
    ('string "0"',               '{"n": "0"}',      false),
    ('true',                     '{"n": true}',     false),
    ('null',                     '{"n": null}',     false),
    ('object',                   '{"n": {"v": 5}}', false),
    ('field missing',            '{}',              false),
    ('array, one number',        '{"n": ["5", -1, 3]}', true),
    ('array, no number in range','{"n": [-1, -2]}',     false),
    ('array of strings',         '{"n": ["5", "6"]}',   false),
    ('empty array',              '{"n": []}',           false)
) AS c(label, event, expected);

-- Arrays of numbers: some element must be in the range.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('array, one in range',      '{"n": [1, 20]}',  '{"n": [{"numeric": ["<", 10]}]}', true),
    ('array, none in range',     '{"n": [20, 30]}', '{"n": [{"numeric": ["<", 10]}]}', false)
) AS c(label, event, pattern, expected);

-- numeric conditions are alternatives like any other value of a list.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('outside both ranges',      '{"n": 50}',    '{"n": [{"numeric": ["<", 0]}, {"numeric": [">", 100]}]}', false),
    ('below zero',               '{"n": -1}',    '{"n": [{"numeric": ["<", 0]}, {"numeric": [">", 100]}]}', true),
    ('above 100',                '{"n": 101}',   '{"n": [{"numeric": ["<", 0]}, {"numeric": [">", 100]}]}', true),
    ('string alternative',       '{"n": "n/a"}', '{"n": ["n/a", {"numeric": [">", 0]}]}',                 true),
    ('number alternative',       '{"n": 3}',     '{"n": ["n/a", {"numeric": [">", 0]}]}',                 true),
    ('neither',                  '{"n": "3"}',   '{"n": ["n/a", {"numeric": [">", 0]}]}',                 false)
) AS c(label, event, pattern, expected);
