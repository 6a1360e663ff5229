--
-- wildcard: "*" matches any run of characters (also none), "\*" is a
-- literal star and "\\" a literal backslash.  Strings only.
--
-- In the SQL literals below a JSON "\\*" is the pattern text \* and a
-- JSON "\\\\" is the pattern text \\ (standard_conforming_strings is on).
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- An ARN with a star for the account and one for the name (the kind of
-- pattern eb-event-patterns-content-based-filtering shows).
WITH p(pattern) AS (VALUES ('{"busArn": [{"wildcard": "arn:aws:events:eu-west-1:*:event-bus/banking-*"}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('account and bus name',     '{"busArn": "arn:aws:events:eu-west-1:123456789012:event-bus/banking-demo-events"}', true),
    ('empty runs',               '{"busArn": "arn:aws:events:eu-west-1::event-bus/banking-"}',                     true),
    ('star spans a slash',       '{"busArn": "arn:aws:events:eu-west-1:1/2:event-bus/banking-a/b"}',              true),
    ('other region',             '{"busArn": "arn:aws:events:us-west-2:123456789012:event-bus/banking-demo-events"}', false),
    ('literal part missing',     '{"busArn": "arn:aws:events:eu-west-1:123456789012:event-bus/billing-dev"}',      false)
) AS c(label, event, expected);

-- A lone star matches every string, the empty one included, and only strings.
WITH p(pattern) AS (VALUES ('{"s": [{"wildcard": "*"}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('any string',               '{"s": "anything"}', true),
    ('empty string',             '{"s": ""}',         true),
    ('a number',                 '{"s": 5}',          false),
    ('null',                     '{"s": null}',       false),
    ('true',                     '{"s": true}',       false),
    ('field missing',            '{}',                false)
) AS c(label, event, expected);

-- Leading, trailing and middle stars.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('abc* vs abc',              '{"s": "abc"}',    '{"s": [{"wildcard": "abc*"}]}', true),
    ('abc* vs abcdef',           '{"s": "abcdef"}', '{"s": [{"wildcard": "abc*"}]}', true),
    ('abc* vs ab',               '{"s": "ab"}',     '{"s": [{"wildcard": "abc*"}]}', false),
    ('abc* vs xabc',             '{"s": "xabc"}',   '{"s": [{"wildcard": "abc*"}]}', false),
    ('*abc vs abc',              '{"s": "abc"}',    '{"s": [{"wildcard": "*abc"}]}', true),
    ('*abc vs xxabc',            '{"s": "xxabc"}',  '{"s": [{"wildcard": "*abc"}]}', true),
    ('*abc vs abcx',             '{"s": "abcx"}',   '{"s": [{"wildcard": "*abc"}]}', false),
    ('a*c vs ac',                '{"s": "ac"}',     '{"s": [{"wildcard": "a*c"}]}',  true),
    ('a*c vs abc',               '{"s": "abc"}',    '{"s": [{"wildcard": "a*c"}]}',  true),
    ('a*c vs abbbc',             '{"s": "abbbc"}',  '{"s": [{"wildcard": "a*c"}]}',  true),
    ('a*c vs acb',               '{"s": "acb"}',    '{"s": [{"wildcard": "a*c"}]}',  false),
    ('a*c vs a',                 '{"s": "a"}',      '{"s": [{"wildcard": "a*c"}]}',  false),
    ('*b* vs b',                 '{"s": "b"}',      '{"s": [{"wildcard": "*b*"}]}',  true),
    ('*b* vs abc',               '{"s": "abc"}',    '{"s": [{"wildcard": "*b*"}]}',  true),
    ('*b* vs ac',                '{"s": "ac"}',     '{"s": [{"wildcard": "*b*"}]}',  false),
    ('case-sensitive',           '{"s": "x.png"}',  '{"s": [{"wildcard": "*.PNG"}]}', false)
) AS c(label, event, pattern, expected);

-- Cases where the first place a segment fits is not the one that matches.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('*ab*ab vs abab',           '{"s": "abab"}',   '{"s": [{"wildcard": "*ab*ab"}]}', true),
    ('*ab*ab vs ababab',         '{"s": "ababab"}', '{"s": [{"wildcard": "*ab*ab"}]}', true),
    ('*ab*ab vs abxab',          '{"s": "abxab"}',  '{"s": [{"wildcard": "*ab*ab"}]}', true),
    ('*ab*ab vs xabab',          '{"s": "xabab"}',  '{"s": [{"wildcard": "*ab*ab"}]}', true),
    ('*ab*ab vs abaab',          '{"s": "abaab"}',  '{"s": [{"wildcard": "*ab*ab"}]}', true),
    ('*ab*ab vs aba',            '{"s": "aba"}',    '{"s": [{"wildcard": "*ab*ab"}]}', false),
    ('*ab*ab vs ab',             '{"s": "ab"}',     '{"s": [{"wildcard": "*ab*ab"}]}', false),
    ('*ab*ab vs ababx',          '{"s": "ababx"}',  '{"s": [{"wildcard": "*ab*ab"}]}', false),
    ('a*b*c vs abc',             '{"s": "abc"}',    '{"s": [{"wildcard": "a*b*c"}]}',  true),
    ('a*b*c vs aXbYc',           '{"s": "aXbYc"}',  '{"s": [{"wildcard": "a*b*c"}]}',  true),
    ('a*b*c vs abcabc',          '{"s": "abcabc"}', '{"s": [{"wildcard": "a*b*c"}]}',  true),
    ('a*b*c vs acbc',            '{"s": "acbc"}',   '{"s": [{"wildcard": "a*b*c"}]}',  true),
    ('a*b*c vs acb',             '{"s": "acb"}',    '{"s": [{"wildcard": "a*b*c"}]}',  false),
    ('a*b*c vs ac',              '{"s": "ac"}',     '{"s": [{"wildcard": "a*b*c"}]}',  false),
    ('a*b*c vs abcb',            '{"s": "abcb"}',   '{"s": [{"wildcard": "a*b*c"}]}',  false),
    ('ab*ba vs aba (no overlap)','{"s": "aba"}',    '{"s": [{"wildcard": "ab*ba"}]}',  false),
    ('ab*ba vs abba',            '{"s": "abba"}',   '{"s": [{"wildcard": "ab*ba"}]}',  true),
    ('a*a vs a',                 '{"s": "a"}',      '{"s": [{"wildcard": "a*a"}]}',    false),
    ('a*a vs aa',                '{"s": "aa"}',     '{"s": [{"wildcard": "a*a"}]}',    true),
    ('*a*a* vs a',               '{"s": "a"}',      '{"s": [{"wildcard": "*a*a*"}]}',  false),
    ('*a*a* vs baab',            '{"s": "baab"}',   '{"s": [{"wildcard": "*a*a*"}]}',  true),
    ('*aab vs aaab',             '{"s": "aaab"}',   '{"s": [{"wildcard": "*aab"}]}',   true),
    ('x*aab*y vs xaaaby',        '{"s": "xaaaby"}', '{"s": [{"wildcard": "x*aab*y"}]}', true)
) AS c(label, event, pattern, expected);

-- Escapes: \* is a literal star, \\ a literal backslash.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('a\*b vs a*b',              '{"s": "a*b"}',    '{"s": [{"wildcard": "a\\*b"}]}',    true),
    ('a\*b vs axb',              '{"s": "axb"}',    '{"s": [{"wildcard": "a\\*b"}]}',    false),
    ('a\*b vs ab',               '{"s": "ab"}',     '{"s": [{"wildcard": "a\\*b"}]}',    false),
    ('\** vs *abc',              '{"s": "*abc"}',   '{"s": [{"wildcard": "\\**"}]}',     true),
    ('\** vs abc',               '{"s": "abc"}',    '{"s": [{"wildcard": "\\**"}]}',     false),
    ('*\* vs abc*',              '{"s": "abc*"}',   '{"s": [{"wildcard": "*\\*"}]}',     true),
    ('\\ vs one backslash',      '{"s": "\\"}',     '{"s": [{"wildcard": "\\\\"}]}',     true),
    ('\\ vs two backslashes',    '{"s": "\\\\"}',   '{"s": [{"wildcard": "\\\\"}]}',     false),
    ('C:\\* vs C:\dir',          '{"s": "C:\\dir"}', '{"s": [{"wildcard": "C:\\\\*"}]}', true),
    ('*\\ vs ends in backslash', '{"s": "x\\"}',    '{"s": [{"wildcard": "*\\\\"}]}',    true),
    ('\\\* vs backslash-star',   '{"s": "\\*"}',    '{"s": [{"wildcard": "\\\\\\*"}]}',  true),
    ('\\* vs backslash-anything','{"s": "\\abc"}',  '{"s": [{"wildcard": "\\\\*"}]}',    true)
) AS c(label, event, pattern, expected);

-- Without a star a wildcard is an exact comparison.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('abc vs abc',               '{"s": "abc"}',    '{"s": [{"wildcard": "abc"}]}', true),
    ('abc vs abcd',              '{"s": "abcd"}',   '{"s": [{"wildcard": "abc"}]}', false),
    ('"" vs ""',                 '{"s": ""}',       '{"s": [{"wildcard": ""}]}',    true),
    ('"" vs a',                  '{"s": "a"}',      '{"s": [{"wildcard": ""}]}',    false)
) AS c(label, event, pattern, expected);

-- Multibyte characters, arrays, and many stars (within the complexity bound).
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('é*é vs éaé',               '{"s": "éaé"}',    '{"s": [{"wildcard": "é*é"}]}',  true),
    ('é*é vs é',                 '{"s": "é"}',      '{"s": [{"wildcard": "é*é"}]}',  false),
    ('*ü* vs Zürich',            '{"s": "Zürich"}', '{"s": [{"wildcard": "*ü*"}]}',  true),
    ('array, one element',       '{"s": ["a.jpg", "b.png"]}', '{"s": [{"wildcard": "*.png"}]}', true),
    ('array, no element',        '{"s": ["a.jpg", "b.gif"]}', '{"s": [{"wildcard": "*.png"}]}', false),
    ('four stars, match',        '{"s": "arn:aws:events:us-east-1:1:event-bus/b"}', '{"s": [{"wildcard": "*:*:*:*:event-bus/*"}]}', true),
    ('four stars, too few :',    '{"s": "arn:aws:events:event-bus/b"}',             '{"s": [{"wildcard": "*:*:*:*:event-bus/*"}]}', false),
    ('wildcard or exact value',  '{"s": "x"}',      '{"s": [{"wildcard": "a*"}, "x"]}', true)
) AS c(label, event, pattern, expected);

--
-- Wildcard complexity.  EventBridge bounds, for each field, how many
-- prefixes of the rule's wildcard values one input can be in at once
-- (each value between the quotes EventBridge stores it with; equal values
-- count once; anything-but wildcards count too; values of the same field
-- in different $or branches count together).  Above 10 the service
-- refuses the rule.  The complexity column is the bound's count, from a
-- reference model of the evaluation written apart from eventbus (it
-- reproduces the values of event-ruler's own complexity tests).
--
SELECT label, complexity, eventbus.is_valid_event_pattern(pattern::jsonb) AS valid,
       complexity <= 10 AS expected
FROM (VALUES
    ('the service''s refusal',  11, '{"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}'),
    ('one star fewer',           9, '{"a": [{"wildcard": "*:*:*:*:event-bus/*"}]}'),
    ('*:*:*:*:*:e',             10, '{"a": [{"wildcard": "*:*:*:*:*:e"}]}'),
    ('*a*a*a*a*a*',             11, '{"a": [{"wildcard": "*a*a*a*a*a*"}]}'),
    -- rules in use with the service: four suffix wildcards on one field ...
    ('four suffixes',            8, '{"key": [{"wildcard": "*.bif"}, {"wildcard": "*.tiff"}, {"wildcard": "*.tif"}, {"wildcard": "*.svs"}]}'),
    ('two folder wildcards',     8, '{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}]}'),
    -- ... and the four folder wildcards it refused ("/datasync/. leaves 16)
    ('four folder wildcards',   16, '{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}, {"wildcard": "*/datasync/*.tiff"}, {"wildcard": "*/datasync/*.svs"}]}'),
    ('the same, across $or',    16, '{"$or": [{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}]}, {"key": [{"wildcard": "*/datasync/*.tiff"}, {"wildcard": "*/datasync/*.svs"}]}]}'),
    ('dotted key in a branch',  16, '{"detail": {"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}]}, "$or": [{"detail.key": [{"wildcard": "*/datasync/*.tiff"}, {"wildcard": "*/datasync/*.svs"}]}, {"x": ["1"]}]}'),
    ('two fields, 8 each',       8, '{"k1": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}], "k2": [{"wildcard": "*/datasync/*.tiff"}, {"wildcard": "*/datasync/*.svs"}]}'),
    ('equal values count once',  8, '{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}, {"wildcard": "*/datasync/*.tif"}]}'),
    ('anything-but wildcards',  16, '{"key": [{"anything-but": {"wildcard": ["*/datasync/*.bif", "*/datasync/*.tif", "*/datasync/*.tiff", "*/datasync/*.svs"]}}]}'),
    ('wildcard and anything-but',16, '{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}, {"anything-but": {"wildcard": ["*/datasync/*.tiff", "*/datasync/*.svs"]}}]}'),
    -- after the opening quote every value has a prefix active
    ('ten values',              10, '{"a": [{"wildcard": "a*"}, {"wildcard": "b*"}, {"wildcard": "c*"}, {"wildcard": "d*"}, {"wildcard": "e*"}, {"wildcard": "f*"}, {"wildcard": "g*"}, {"wildcard": "h*"}, {"wildcard": "i*"}, {"wildcard": "j*"}]}'),
    ('eleven values',           11, '{"a": [{"wildcard": "a*"}, {"wildcard": "b*"}, {"wildcard": "c*"}, {"wildcard": "d*"}, {"wildcard": "e*"}, {"wildcard": "f*"}, {"wildcard": "g*"}, {"wildcard": "h*"}, {"wildcard": "i*"}, {"wildcard": "j*"}, {"wildcard": "k*"}]}'),
    ('no star, many values',     5, '{"a": [{"wildcard": "a"}, {"wildcard": "b"}, {"wildcard": "c"}, {"wildcard": "d"}, {"wildcard": "e"}]}'),
    ('escaped stars are bytes',  1, '{"a": [{"wildcard": "\\*\\*\\*\\*\\*\\*"}]}')
) AS c(label, complexity, pattern);

-- The reason, as the service gives it.
SELECT eventbus.validate_event_pattern('{"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}');
