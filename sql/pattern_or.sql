--
-- $or: an array of sub-patterns, at least one of which must match.  It
-- may appear at any level, and is ANDed with the other keys of its level.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- source AND (detail-type OR channel)
WITH p(pattern) AS (VALUES ('{"source": ["com.example.banking"],
                              "$or": [{"detail-type": ["APPLICATION_APPROVED", "APPLICATION_REJECTED"]},
                                      {"channel": ["web", "branch"]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('source and detail-type',   '{"source": "com.example.banking", "detail-type": "APPLICATION_REJECTED"}', true),
    ('source and channel',       '{"source": "com.example.banking", "channel": "branch"}',                   true),
    ('source and both',          '{"source": "com.example.banking", "detail-type": "APPLICATION_APPROVED", "channel": "web"}', true),
    ('source, other values',     '{"source": "com.example.banking", "detail-type": "APPLICATION_SUBMITTED", "channel": "phone"}', false),
    ('source only',              '{"source": "com.example.banking"}',                                       false),
    ('detail-type, no source',   '{"detail-type": "APPLICATION_APPROVED"}',                                 false),
    ('detail-type, other source','{"source": "com.example.cards", "detail-type": "APPLICATION_APPROVED"}',  false)
) AS c(label, event, expected);

-- An alternative may hold several keys (AND inside OR).
WITH p(pattern) AS (VALUES ('{"source": ["com.example.banking"],
                              "$or": [{"detail-type": ["APPLICATION_FLAGGED_FOR_REVIEW"]},
                                      {"channel": ["branch"], "region": ["eu-west-1"]},
                                      {"priority": ["high"]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('first alternative',        '{"source": "com.example.banking", "detail-type": "APPLICATION_FLAGGED_FOR_REVIEW"}', true),
    ('second, both keys',        '{"source": "com.example.banking", "channel": "branch", "region": "eu-west-1"}', true),
    ('second, one key only',     '{"source": "com.example.banking", "channel": "branch"}',  false),
    ('third alternative',        '{"source": "com.example.banking", "priority": "high"}',   true),
    ('none',                     '{"source": "com.example.banking", "priority": "low"}',    false)
) AS c(label, event, expected);

-- $or inside an alternative of $or.
WITH p(pattern) AS (VALUES ('{"source": ["com.example.banking"],
                              "$or": [{"detail-type": ["APPLICATION_FLAGGED_FOR_REVIEW"]},
                                      {"channel": ["branch"],
                                       "$or": [{"branchId": [1234]}, {"agentId": [1000]}]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('outer first alternative',  '{"source": "com.example.banking", "detail-type": "APPLICATION_FLAGGED_FOR_REVIEW"}', true),
    ('inner first alternative',  '{"source": "com.example.banking", "channel": "branch", "branchId": 1234}', true),
    ('inner second alternative', '{"source": "com.example.banking", "channel": "branch", "agentId": 1000.0}', true),
    ('inner, no alternative',    '{"source": "com.example.banking", "channel": "branch", "agentId": 1}',    false),
    ('inner alternative only',   '{"source": "com.example.banking", "branchId": 1234}',                     false)
) AS c(label, event, expected);

-- Two $or at different levels must both hold.
WITH p(pattern) AS (VALUES ('{"$or": [{"detail-type": ["APPLICATION_APPROVED"]}, {"channel": ["web"]}],
                              "detail": {"$or": [{"state": ["APPROVED"]},
                                                 {"approvalType": ["HUMAN"]}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('both hold',                '{"channel": "web", "detail": {"approvalType": "HUMAN"}}',    true),
    ('top holds, nested not',    '{"channel": "web", "detail": {"state": "REJECTED"}}',        false),
    ('nested holds, top not',    '{"channel": "phone", "detail": {"state": "APPROVED"}}',      false),
    ('nested keys at top level', '{"detail-type": "APPLICATION_APPROVED", "state": "APPROVED"}', false)
) AS c(label, event, expected);

-- $or inside a nested object and inside an array of objects (the
-- alternatives and the other keys must hold in the same element).
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('nested $or, first',        '{"detail": {"a": "1"}}',          '{"detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}', true),
    ('nested $or, second',       '{"detail": {"b": "2"}}',          '{"detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}', true),
    ('nested $or, none',         '{"detail": {"a": "2", "b": "1"}}', '{"detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}', false),
    ('nested $or, detail missing','{"a": "1"}',                     '{"detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}', false),
    ('array, same element',      '{"items": [{"a": "1", "c": "3"}]}',
                                 '{"items": {"$or": [{"a": ["1"]}, {"b": ["2"]}], "c": ["3"]}}', true),
    ('array, two elements',      '{"items": [{"a": "1"}, {"c": "3"}]}',
                                 '{"items": {"$or": [{"a": ["1"]}, {"b": ["2"]}], "c": ["3"]}}', false),
    ('array, second element',    '{"items": [{"a": "9", "c": "3"}, {"b": "2", "c": "3"}]}',
                                 '{"items": {"$or": [{"a": ["1"]}, {"b": ["2"]}], "c": ["3"]}}', true)
) AS c(label, event, pattern, expected);

-- Alternatives may use any condition, exists: false included.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('numeric alternatives, low', '{"c": 1, "d": 50}', '{"$or": [{"c": [{"numeric": ["<", 2]}]}, {"d": [{"numeric": [">", 100]}]}]}', true),
    ('numeric alternatives, high','{"c": 5, "d": 150}', '{"$or": [{"c": [{"numeric": ["<", 2]}]}, {"d": [{"numeric": [">", 100]}]}]}', true),
    ('numeric alternatives, none','{"c": 5, "d": 50}', '{"$or": [{"c": [{"numeric": ["<", 2]}]}, {"d": [{"numeric": [">", 100]}]}]}', false),
    ('missing or "x": missing',  '{"b": 1}',           '{"$or": [{"a": [{"exists": false}]}, {"a": ["x"]}]}', true),
    ('missing or "x": "x"',      '{"a": "x"}',         '{"$or": [{"a": [{"exists": false}]}, {"a": ["x"]}]}', true),
    ('missing or "x": "y"',      '{"a": "y"}',         '{"$or": [{"a": [{"exists": false}]}, {"a": ["x"]}]}', false),
    ('prefix or suffix',         '{"f": "img.png"}',   '{"$or": [{"f": [{"prefix": "doc"}]}, {"f": [{"suffix": ".png"}]}]}', true),
    ('anything-but or exists',   '{"g": "x"}',         '{"$or": [{"f": [{"anything-but": "x"}]}, {"g": [{"exists": true}]}]}', true)
) AS c(label, event, pattern, expected);

-- $or below a missing parent: only an alternative that holds for absent
-- fields (exists: false) can match.
WITH p(pattern) AS (VALUES ('{"detail": {"$or": [{"a": [{"exists": false}]}, {"b": ["1"]}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('detail missing',           '{"source": "x"}',                 true),
    ('detail not an object',     '{"detail": "x"}',                 true),
    ('a present, b absent',      '{"detail": {"a": 1}}',            false),
    ('a present, b matches',     '{"detail": {"a": 1, "b": "1"}}',  true),
    ('a absent',                 '{"detail": {"b": "2"}}',          true)
) AS c(label, event, expected);

WITH p(pattern) AS (VALUES ('{"detail": {"$or": [{"a": ["1"]}, {"b": [{"exists": true}]}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('detail missing',           '{"source": "x"}',                 false),
    ('b present',                '{"detail": {"b": null}}',         true)
) AS c(label, event, expected);

-- A field named both outside a $or and inside one of its branches.
-- EventBridge expands a $or into one rule per branch, each branch's fields
-- replacing those of the same name already collected; eventbus does the
-- same, whatever the order in which the keys were written (jsonb keeps
-- none).  Here the rules are {"source": b} and {"source": a, "detail-type": t}.
WITH p(pattern) AS (VALUES ('{"source": ["a"], "$or": [{"source": ["b"]}, {"detail-type": ["t"]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('source b alone',           '{"source": "b"}',                      true),
    ('source a alone',           '{"source": "a"}',                      false),
    ('source a, type t',         '{"source": "a", "detail-type": "t"}',  true),
    ('source b, type t',         '{"source": "b", "detail-type": "t"}',  true),
    ('source c, type t',         '{"source": "c", "detail-type": "t"}',  false)
) AS c(label, event, expected);

-- The same with the field spelled two ways ({"detail": {"x": ...}} and
-- "detail.x"): rules {detail.x: 2} and {detail.x: 1, detail.y: 3}.
WITH p(pattern) AS (VALUES ('{"detail": {"x": [1]}, "$or": [{"detail.x": [2]}, {"detail": {"y": [3]}}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('x 2',                      '{"detail": {"x": 2}}',          true),
    ('x 1',                      '{"detail": {"x": 1}}',          false),
    ('x 1, y 3',                 '{"detail": {"x": 1, "y": 3}}',  true),
    ('x 2, y 3',                 '{"detail": {"x": 2, "y": 3}}',  true),
    ('x 3, y 3',                 '{"detail": {"x": 3, "y": 3}}',  false)
) AS c(label, event, expected);

-- A $or inside a branch replaces in turn: rules {a: 3, b: 2},
-- {a: 1, b: 2, c: 4} and {a: 1, d: 5}.
WITH p(pattern) AS (VALUES ('{"a": ["1"], "$or": [{"b": ["2"], "$or": [{"a": ["3"]}, {"c": ["4"]}]}, {"d": ["5"]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('a 3, b 2',                 '{"a": "3", "b": "2"}',            true),
    ('a 1, b 2',                 '{"a": "1", "b": "2"}',            false),
    ('a 1, b 2, c 4',            '{"a": "1", "b": "2", "c": "4"}',  true),
    ('a 3, b 2, c 4',            '{"a": "3", "b": "2", "c": "4"}',  true),
    ('a 1, d 5',                 '{"a": "1", "d": "5"}',            true),
    ('a 3, d 5',                 '{"a": "3", "d": "5"}',            false)
) AS c(label, event, expected);

-- A $or of a single pattern is refused, as EventBridge refuses it.
SELECT eventbus.is_valid_event_pattern('{"$or": [{"a": ["1"]}]}') AS "one branch",
       eventbus.is_valid_event_pattern('{"$or": [{"a": ["1"]}, {"b": ["1"]}]}') AS "two branches";
