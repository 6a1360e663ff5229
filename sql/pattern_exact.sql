--
-- Exact matching: strings, numbers, booleans, null, lists (OR), keys (AND),
-- nested objects, arrays in the event and the envelope fields.
--
-- Every query lists the case, the answer EventBridge gives ("expected") and
-- the answer of event =~ pattern ("matches"); the two columns must agree.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- Strings are compared exactly and case-sensitively.
WITH p(pattern) AS (VALUES ('{"source": ["aws.ec2"]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('same string',              '{"source": "aws.ec2"}',  true),
    ('other case',               '{"source": "AWS.EC2"}',  false),
    ('shorter string',           '{"source": "aws.ec"}',   false),
    ('longer string',            '{"source": "aws.ec2x"}', false),
    ('trailing space',           '{"source": "aws.ec2 "}', false),
    ('other key',                '{"Source": "aws.ec2"}',  false),
    ('field missing',            '{"detail": {}}',         false),
    ('empty event',              '{}',                     false),
    ('event is not an object',   '["aws.ec2"]',            false)
) AS c(label, event, expected);

-- Non-ASCII strings are compared exactly as well.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('same accented string',     '{"city": "Zürich"}', '{"city": ["Zürich"]}', true),
    ('accent missing',           '{"city": "Zurich"}', '{"city": ["Zürich"]}', false),
    ('escaped in event',         '{"city": "Z\u00fcrich"}', '{"city": ["Zürich"]}', true),
    ('empty string key',         '{"": "x"}', '{"": ["x"]}', true)
) AS c(label, event, pattern, expected);

-- A string is never a number and a number never a string.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('number vs string "5"',     '{"n": 5}',     '{"n": ["5"]}', false),
    ('string "5" vs number 5',   '{"n": "5"}',   '{"n": [5]}',   false),
    ('string "5" vs string "5"', '{"n": "5"}',   '{"n": ["5"]}', true)
) AS c(label, event, pattern, expected);

-- Numbers compare by value: 300, 300.0 and 3.0e2 are the same number.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('300 vs [300]',             '{"n": 300}',    '{"n": [300]}',    true),
    ('300.0 vs [300]',           '{"n": 300.0}',  '{"n": [300]}',    true),
    ('3.0e2 vs [300]',           '{"n": 3.0e2}',  '{"n": [300]}',    true),
    ('300 vs [3e2]',             '{"n": 300}',    '{"n": [3e2]}',    true),
    ('300 vs [300.000]',         '{"n": 300}',    '{"n": [300.000]}', true),
    ('30000e-2 vs [300]',        '{"n": 30000e-2}', '{"n": [300]}',  true),
    ('300.5 vs [300]',           '{"n": 300.5}',  '{"n": [300]}',    false),
    ('-300 vs [300]',            '{"n": -300}',   '{"n": [300]}',    false),
    ('-0 vs [0]',                '{"n": -0}',     '{"n": [0]}',      true),
    ('0.1 vs [1e-1]',            '{"n": 0.1}',    '{"n": [1e-1]}',   true),
    ('12-digit account number',  '{"n": 123456789012}', '{"n": [123456789012]}', true),
    ('next account number',      '{"n": 123456789013}', '{"n": [123456789012]}', false)
) AS c(label, event, pattern, expected);

-- Booleans are JSON literals, not strings or numbers.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('true vs [true]',           '{"b": true}',   '{"b": [true]}',   true),
    ('false vs [false]',         '{"b": false}',  '{"b": [false]}',  true),
    ('false vs [true]',          '{"b": false}',  '{"b": [true]}',   false),
    ('"true" vs [true]',         '{"b": "true"}', '{"b": [true]}',   false),
    ('true vs ["true"]',         '{"b": true}',   '{"b": ["true"]}', false),
    ('1 vs [true]',              '{"b": 1}',      '{"b": [true]}',   false),
    ('0 vs [false]',             '{"b": 0}',      '{"b": [false]}',  false),
    ('missing vs [false]',       '{}',            '{"b": [false]}',  false)
) AS c(label, event, pattern, expected);

-- null and "" are different values, and a missing field is neither
-- (eb-event-patterns-null-values).
WITH e(event) AS (VALUES ('{"source": "com.example.banking",
                            "detail": {"middleName": "", "closedAt": null}}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('"" matches [""]',          '{"detail": {"middleName": [""]}}',          true),
    ('null matches [null]',      '{"detail": {"closedAt": [null]}}',          true),
    ('"" vs [null]',             '{"detail": {"middleName": [null]}}',        false),
    ('null vs [""]',             '{"detail": {"closedAt": [""]}}',            false),
    ('null vs ["null"]',         '{"detail": {"closedAt": ["null"]}}',        false),
    ('missing vs [null]',        '{"detail": {"nickname": [null]}}',          false),
    ('missing vs [""]',          '{"detail": {"nickname": [""]}}',            false),
    ('"" vs [null, ""]',         '{"detail": {"middleName": [null, ""]}}',    true),
    ('null vs [null, ""]',       '{"detail": {"closedAt": [null, ""]}}',      true),
    ('missing vs [null, ""]',    '{"detail": {"nickname": [null, ""]}}',      false),
    ('both fields',              '{"detail": {"middleName": [""], "closedAt": [null]}}', true)
) AS c(label, pattern, expected);

-- The values of a list are alternatives (OR).
WITH p(pattern) AS (VALUES ('{"detail": {"state": ["running", "stopped", 0, null]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('first alternative',        '{"detail": {"state": "running"}}', true),
    ('second alternative',       '{"detail": {"state": "stopped"}}', true),
    ('number alternative',       '{"detail": {"state": 0.0}}',       true),
    ('null alternative',         '{"detail": {"state": null}}',      true),
    ('no alternative',           '{"detail": {"state": "pending"}}', false),
    ('false is not 0 or null',   '{"detail": {"state": false}}',     false)
) AS c(label, event, expected);

-- All the keys of a pattern must match (AND).
WITH p(pattern) AS (VALUES ('{"source": ["com.example.banking"],
                              "detail-type": ["APPLICATION_APPROVED"],
                              "detail": {"state": ["APPROVED"]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('all three keys match',     '{"source": "com.example.banking", "detail-type": "APPLICATION_APPROVED", "detail": {"state": "APPROVED", "name": "Ada"}}', true),
    ('source differs',           '{"source": "com.example.cards", "detail-type": "APPLICATION_APPROVED", "detail": {"state": "APPROVED"}}', false),
    ('detail.state differs',     '{"source": "com.example.banking", "detail-type": "APPLICATION_APPROVED", "detail": {"state": "SUBMITTED"}}', false),
    ('detail-type missing',      '{"source": "com.example.banking", "detail": {"state": "APPROVED"}}', false),
    ('detail missing',           '{"source": "com.example.banking", "detail-type": "APPLICATION_APPROVED"}', false)
) AS c(label, event, expected);

-- Nested objects: the pattern follows the event's nesting.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('nested field',             '{"detail": {"state": "on"}}',          '{"detail": {"state": ["on"]}}', true),
    ('field at the wrong level', '{"state": "on", "detail": {}}',        '{"detail": {"state": ["on"]}}', false),
    ('parent is a string',       '{"detail": "on"}',                     '{"detail": {"state": ["on"]}}', false),
    ('parent is null',           '{"detail": null}',                     '{"detail": {"state": ["on"]}}', false),
    ('three levels',             '{"a": {"b": {"c": "x", "d": 1}}}',     '{"a": {"b": {"c": ["x"]}}}',    true),
    ('three levels, other value','{"a": {"b": {"c": "y"}}}',             '{"a": {"b": {"c": ["x"]}}}',    false),
    ('two nested keys (AND)',    '{"a": {"b": "1", "c": "2"}}',          '{"a": {"b": ["1"], "c": ["2"]}}', true),
    ('one nested key differs',   '{"a": {"b": "1", "c": "3"}}',          '{"a": {"b": ["1"], "c": ["2"]}}', false),
    ('leaf pattern, object value','{"detail": {"state": "on"}}',         '{"detail": ["on"]}',            false),
    ('dotted key in the event',  '{"detail.state": "on"}',               '{"detail.state": ["on"]}',      true)
) AS c(label, event, pattern, expected);

-- When the event's value is an array, the pattern matches if any element
-- matches (eb-event-patterns-arrays: the intersection is non-empty).
WITH p(pattern) AS (VALUES ('{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0aaa",
                                            "arn:aws:ec2:us-east-1:111122223333:instance/i-0aaa",
                                            "arn:aws:ec2:us-east-1:444455556666:instance/i-0aaa"]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('second element matches',   '{"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:asg-1", "arn:aws:ec2:us-east-1:123456789012:instance/i-0aaa"]}', true),
    ('no common element',        '{"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:asg-1", "arn:aws:ec2:us-east-1:123456789012:instance/i-0bbb"]}', false),
    ('single string value',      '{"resources": "arn:aws:ec2:us-east-1:444455556666:instance/i-0aaa"}', true),
    ('empty array',              '{"resources": []}', false)
) AS c(label, event, expected);

SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('array of numbers by value','{"n": [1, 2, 300.0]}',     '{"n": [3e2]}',   true),
    ('array of numbers, none',   '{"n": [1, 2, 3]}',         '{"n": [300]}',   false),
    ('mixed array, string',      '{"n": [1, "1", true]}',    '{"n": ["1"]}',   true),
    ('mixed array, boolean',     '{"n": [1, "1", true]}',    '{"n": [true]}',  true),
    ('mixed array, no 2',        '{"n": [1, "1", true]}',    '{"n": [2]}',     false),
    ('array holding null',       '{"n": ["a", null]}',       '{"n": [null]}',  true),
    ('array without null',       '{"n": ["a", ""]}',         '{"n": [null]}',  false),
    ('array of arrays',          '{"n": [["a", "b"], ["c"]]}', '{"n": ["c"]}', true),
    ('array of arrays, none',    '{"n": [["a", "b"], ["c"]]}', '{"n": ["d"]}', false),
    ('array of objects vs leaf', '{"n": [{"v": "a"}]}',      '{"n": ["a"]}',   false)
) AS c(label, event, pattern, expected);

-- Arrays of objects: a nested pattern matches if it matches one element,
-- and fields of different elements are never combined.
WITH e(event) AS (VALUES ('{"signers": [{"name": "Ada", "role": "owner"},
                                        {"name": "Ben", "role": "witness"},
                                        {"name": "Cy",  "role": "notary"}]}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('one field of one element', '{"signers": {"name": ["Ben"]}}',                          true),
    ('two fields, same element', '{"signers": {"name": ["Ben"], "role": ["witness"]}}',     true),
    ('two fields, two elements', '{"signers": {"name": ["Ben"], "role": ["notary"]}}',      false),
    ('alternatives, same element','{"signers": {"name": ["Ben", "Cy"], "role": ["notary"]}}', true),
    ('no such element',          '{"signers": {"name": ["Dora"]}}',                         false),
    ('leaf pattern on objects',  '{"signers": ["Ben"]}',                                    false)
) AS c(label, pattern, expected);

-- The same rule holds for arrays of arrays of objects, and at every level.
WITH e(event) AS (VALUES ('{"signers": [[{"name": "Ada", "role": "owner"},
                                         {"name": "Ben", "role": "witness"}],
                                        [{"name": "Cy", "role": "notary"}]]}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('nested arrays, one field', '{"signers": {"name": ["Cy"]}}',                        true),
    ('nested arrays, same element','{"signers": {"name": ["Ada"], "role": ["owner"]}}',  true),
    ('nested arrays, two elements','{"signers": {"name": ["Ada"], "role": ["witness"]}}', false)
) AS c(label, pattern, expected);

WITH e(event) AS (VALUES ('{"orders": [{"id": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]},
                                       {"id": 2, "items": [{"sku": "c", "qty": 3}]}]}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('item fields, same item',   '{"orders": {"items": {"sku": ["b"], "qty": [2]}}}',            true),
    ('item fields, two items',   '{"orders": {"items": {"sku": ["b"], "qty": [1]}}}',            false),
    ('order id and its item',    '{"orders": {"id": [2], "items": {"sku": ["c"]}}}',             true),
    ('order id and other item',  '{"orders": {"id": [1], "items": {"sku": ["c"]}}}',             false),
    ('order id and item fields', '{"orders": {"id": [1], "items": {"sku": ["a"], "qty": [1]}}}', true)
) AS c(label, pattern, expected);

SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('objects and scalars mixed','{"a": ["x", {"b": "y"}, 3]}', '{"a": {"b": ["y"]}}', true),
    ('array of scalars only',    '{"a": ["x", "y"]}',           '{"a": {"b": ["y"]}}', false),
    ('empty array',              '{"a": []}',                   '{"a": {"b": ["y"]}}', false)
) AS c(label, event, pattern, expected);

-- The envelope fields of an event (eb-events-structure) match like any other.
WITH e(event) AS (VALUES ('{
    "version": "0",
    "id": "3f0c9b52-6d1e-4a7b-b8e2-91c4d0a6f7e3",
    "detail-type": "APPLICATION_SUBMITTED",
    "source": "com.example.banking",
    "account": "210987654321",
    "time": "2024-03-01T09:15:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:events:eu-west-1:210987654321:event-bus/banking-demo-events"],
    "detail": {"applicationId": "app-42", "state": "SUBMITTED"}
}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('source',                   '{"source": ["com.example.banking"]}',                       true),
    ('detail-type',              '{"detail-type": ["APPLICATION_SUBMITTED"]}',                true),
    ('account (a string)',       '{"account": ["210987654321"]}',                             true),
    ('account given as a number','{"account": [210987654321]}',                               false),
    ('region',                   '{"region": ["eu-west-1", "eu-central-1"]}',                 true),
    ('other region',             '{"region": ["us-east-1"]}',                                 false),
    ('resources',                '{"resources": ["arn:aws:events:eu-west-1:210987654321:event-bus/banking-demo-events"]}', true),
    ('time',                     '{"time": ["2024-03-01T09:15:00Z"]}',                        true),
    ('id',                       '{"id": ["3f0c9b52-6d1e-4a7b-b8e2-91c4d0a6f7e3"]}',          true),
    ('version (a string)',       '{"version": ["0"]}',                                        true),
    ('version given as a number','{"version": [0]}',                                          false),
    ('envelope and detail',      '{"source": ["com.example.banking"], "detail-type": ["APPLICATION_SUBMITTED"], "detail": {"state": ["SUBMITTED", "APPROVED"]}}', true),
    ('envelope, other state',    '{"source": ["com.example.banking"], "detail": {"state": ["REJECTED"]}}', false)
) AS c(label, pattern, expected);
