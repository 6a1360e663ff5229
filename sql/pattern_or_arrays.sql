--
-- $or branches that reach into the objects and arrays of the enclosing
-- pattern.  EventBridge expands every $or into alternatives, each branch
-- combined with everything else of the enclosing objects, and matches each
-- alternative as one rule: all of its fields below one array of objects
-- must come from the same element.  A branch's field replaces the same
-- field named by an enclosing level (the one inside more $or wins); a
-- field given two lists at the same $or depth needs both.
--
-- Every query lists the case, the answer EventBridge gives ("expected") and
-- the answer of event =~ pattern ("matches"); the two columns must agree.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- The second branch needs detail.detail.d and detail.detail.a in the same
-- element of the array "detail.detail".
WITH p(pattern) AS (VALUES ('{"detail": {"detail.d": ["_ωÿ"]},
                              "$or": [{"b": [{"anything-but": ""}]}, {"detail.detail.a": [{"suffix": ""}]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('d and a in two elements',  '{"detail": {"detail": [{"d": "_ωÿ"}, {"a": ""}]}}',             false),
    ('d and a in one element',   '{"detail": {"detail": [{"d": "_ωÿ", "a": ""}]}}',               true),
    ('first branch, b',          '{"detail": {"detail": [{"d": "_ωÿ"}, {"a": ""}]}, "b": "x"}',   true),
    ('one element, other d',     '{"detail": {"detail": [{"d": "x", "a": ""}, {"d": "_ωÿ"}]}}',   false)
) AS c(label, event, expected);

-- The same through an array at the top ("x"), with an absent field in the
-- other branch: x.a and x.d.detail must come from one element of "x".
WITH p(pattern) AS (VALUES ('{"$or": [{"x.a": [{"prefix": ""}]}, {"d": {"detail": [{"exists": false}]}}],
                              "x": {"d.detail": [{"wildcard": "\\\\"}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('two elements, d.detail present', '{"x": [{"d": {"detail": "\\"}}, {"a": ""}], "d": {"detail": ""}}', false),
    ('one element',                    '{"x": [{"d": {"detail": "\\"}, "a": ""}], "d": {"detail": ""}}',   true),
    ('two elements, d.detail absent',  '{"x": [{"d": {"detail": "\\"}}, {"a": ""}]}',                      true),
    ('one element, other value',       '{"x": [{"d": {"detail": "x"}, "a": ""}]}',                         false)
) AS c(label, event, expected);

-- A $or inside "detail" and one at the top, both naming detail.b.  The
-- alternatives: detail.b wildcard "" (the top branch, one $or deep, wins
-- over b < -1) with a.source in the range; detail.b wildcard "" and
-- exists:true (both one $or deep: both hold); c not starting with "0" with
-- detail.b < -1 and a.source in the range; c with detail.b exists:true
-- (replacing b < -1).  a.x = 1 always.
WITH p(pattern) AS (VALUES ('{"a.x": [{"numeric": ["=", 1]}],
                              "detail": {"b": [{"numeric": ["<", -1]}],
                                         "$or": [{"a.source": [{"numeric": [">", 2, "<", 7.125]}]}, {"b": [{"exists": true}]}]},
                              "$or": [{"detail.b": [{"wildcard": ""}]}, {"c": [{"anything-but": {"prefix": "0"}}]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('c, b exists replaces b < -1', '{"a": {"x": 1.0}, "detail": {"b": "2"}, "c": ""}',                       true),
    ('c starts with 0',             '{"a": {"x": 1.0}, "detail": {"b": "2"}, "c": "0x"}',                     false),
    ('b "" but c starts with 0',    '{"a": {"x": 1.0}, "detail": {"b": ""}, "c": "0x"}',                      true),
    ('range, b < -1, c 0x',         '{"a": {"x": 1.0}, "detail": {"b": -2, "a": {"source": 3}}, "c": "0x"}',  false),
    ('range, b < -1, c x',          '{"a": {"x": 1.0}, "detail": {"b": -2, "a": {"source": 3}}, "c": "x"}',   true),
    ('c x but a.x 2',               '{"a": {"x": 2}, "detail": {"b": "2"}, "c": ""}',                         false)
) AS c(label, event, expected);

-- Fields named outside a $or and inside its branches, below an array of
-- objects: the alternatives are {items: {sku: x, qty: 1}} and
-- {items: {sku: x, qty: 2}, rush: true}.
WITH p(pattern) AS (VALUES ('{"items": {"sku": ["x"]},
                              "$or": [{"items.qty": [1]}, {"items": {"qty": [2]}, "rush": [true]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('sku and qty 1 in one element',   '{"items": [{"sku": "x", "qty": 1}]}',                true),
    ('sku and qty 1 in two elements',  '{"items": [{"sku": "x"}, {"qty": 1}]}',              false),
    ('not an array',                   '{"items": {"sku": "x", "qty": 1}}',                  true),
    ('second element holds both',      '{"items": [{"sku": "y", "qty": 1}, {"sku": "x", "qty": 1}]}', true),
    ('qty 2 and rush',                 '{"items": [{"sku": "x", "qty": 2}], "rush": true}',  true),
    ('qty 2, rush, two elements',      '{"items": [{"sku": "x"}, {"qty": 2}], "rush": true}', false)
) AS c(label, event, expected);

-- A $or inside a branch, naming a field of the outermost level: the
-- innermost list wins.  Alternatives {a: {b: 3}, c: 1}, {a: {b: 2, d: 4}, c: 1}
-- and {a: {b: 1}, e: 5}; under an array all from one element of "a".
WITH p(pattern) AS (VALUES ('{"a.b": [1],
                              "$or": [{"c": [1], "a": {"b": [2], "$or": [{"b": [3]}, {"d": [4]}]}}, {"e": [5]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('b 3, c 1',                 '{"a": {"b": 3}, "c": 1}',                  true),
    ('b 2, c 1',                 '{"a": {"b": 2}, "c": 1}',                  false),
    ('b 2, d 4, c 1',            '{"a": [{"b": 2, "d": 4}], "c": 1}',        true),
    ('b 2, d 4 apart, c 1',      '{"a": [{"b": 2}, {"d": 4}], "c": 1}',      false),
    ('b 1, e 5',                 '{"a": {"b": 1}, "e": 5}',                  true),
    ('b 3, e 5',                 '{"a": {"b": 3}, "e": 5}',                  false)
) AS c(label, event, expected);

-- One path given two lists at the same $or depth, through two spellings:
-- both must hold (EventBridge keeps the one written later; jsonb keeps no
-- key order).  null is not a string, so anything-but wildcard "" holds.
WITH p(pattern) AS (VALUES ('{"b": {"detail.c": {"b": [null]}, "detail.c.b": [{"anything-but": {"wildcard": ""}}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('null: both hold',          '{"b": {"detail": {"c": {"b": null}}}}',        true),
    ('"": neither',              '{"b": {"detail": {"c": {"b": ""}}}}',          false),
    ('"x": only the second',     '{"b": {"detail": {"c": {"b": "x"}}}}',         false),
    ('[null, "x"]: one each',    '{"b": {"detail": {"c": {"b": [null, "x"]}}}}', true)
) AS c(label, event, expected);

WITH p(pattern) AS (VALUES ('{"a.b": ["x", "yz"], "a": {"b": [{"prefix": "y"}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('yz: both',                 '{"a": {"b": "yz"}}',        true),
    ('x: not the prefix',        '{"a": {"b": "x"}}',         false),
    ('y: not in the list',       '{"a": {"b": "y"}}',         false),
    ('x and y',                  '{"a": {"b": ["x", "y"]}}',  true)
) AS c(label, event, expected);

-- Two $or one depth apart in structure but at the same $or depth: the top
-- branch's a.y and the nested branch's y both hold.  Alternatives
-- {a.y: 1, a.y: 2}, {a.y: 1, c: 1}, {a.z: 1, a.y: 2}, {a.z: 1, c: 1}.
WITH p(pattern) AS (VALUES ('{"a": {"$or": [{"y": [1]}, {"z": [1]}]}, "$or": [{"a.y": [2]}, {"c": [1]}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('z 1, y 2',                 '{"a": {"z": 1, "y": 2}}',   true),
    ('y 1 and 2',                '{"a": {"y": [1, 2]}}',      true),
    ('y 2 alone',                '{"a": {"y": 2}}',           false),
    ('y 1, c 1',                 '{"a": {"y": 1}, "c": 1}',   true),
    ('z 1, y 2 apart',           '{"a": [{"z": 1}, {"y": 2}]}', false)
) AS c(label, event, expected);

-- The number of alternatives is bounded: ten $or of two branches at
-- independent places give 1024, refused; nine give 512.
SELECT eventbus.is_valid_event_pattern(
           ('{' || string_agg(format('"k%s": {"$or": [{"a": [1]}, {"b": [1]}]}', i), ', ') || '}')::jsonb)
       AS "nine $or"
FROM generate_series(1, 9) AS i;
SELECT eventbus.validate_event_pattern(
           ('{' || string_agg(format('"k%s": {"$or": [{"a": [1]}, {"b": [1]}]}', i), ', ') || '}')::jsonb)
       AS "ten $or"
FROM generate_series(1, 10) AS i;

-- Routing: the rule index anchors a rule only on a field that every
-- alternative requires with those values.
SELECT create_event_bus('oa-bus') ->> 'EventBusArn' AS bus;
-- source is replaced in one alternative: no anchor
SELECT put_rule('oa-override', '{"source": ["oa.a"], "$or": [{"source": ["oa.b"]}, {"detail-type": ["T"]}]}', 'oa-bus') IS NOT NULL;
-- detail.items.sku is copied into both alternatives: anchored on it
SELECT put_rule('oa-common', '{"detail": {"items": {"sku": ["x"]}},
                               "$or": [{"detail.items.qty": [1]}, {"detail.items.qty": [2], "detail.rush": [true]}]}', 'oa-bus') IS NOT NULL;
SELECT put_targets('oa-override', '[{"Id": "q", "Arn": "queue:oa_q"}]', 'oa-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('oa-common', '[{"Id": "q", "Arn": "queue:oa_q"}]', 'oa-bus') ->> 'FailedEntryCount' AS failed;
SELECT rule, anchor_path, anchor_values, anchor_kind FROM rule_index_anchors('oa-bus');

INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES
  ('oa-bus', 'oa.b', 'X', '{"n": 1}'),
  ('oa-bus', 'oa.a', 'X', '{"n": 2}'),
  ('oa-bus', 'oa.a', 'T', '{"n": 3}'),
  ('oa-bus', 'oa.c', 'X', '{"n": 4, "items": [{"sku": "x", "qty": 1}]}'),
  ('oa-bus', 'oa.c', 'X', '{"n": 5, "items": [{"sku": "x"}, {"qty": 1}]}'),
  ('oa-bus', 'oa.c', 'X', '{"n": 6, "items": [{"sku": "x", "qty": 2}], "rush": true}'),
  ('oa-bus', 'oa.c', 'X', '{"n": 7, "items": [{"sku": "y", "qty": 2}], "rush": true}');
-- expected: 1 and 3 by oa-override, 4 and 6 by oa-common
SELECT (e.detail->>'n')::int AS n, o.rule
  FROM eventbus_outbox.queue_oa_q o
  JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
 ORDER BY 1, 2;
