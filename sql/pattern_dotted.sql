--
-- Field names are joined with dots, as EventBridge joins them: a pattern
-- key "a.b" and a nested {"a": {"b": ...}} name the same field, in the
-- pattern and in the event, and an event holding both forms matches
-- either value.
--
-- Every query lists the case, the answer EventBridge gives ("expected") and
-- the answer of event =~ pattern ("matches"); the two columns must agree.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- The two spellings, in the pattern and in the event.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('dotted pattern, nested event',  '{"detail": {"a": {"b": 1}}}', '{"detail": {"a.b": [1]}}',        true),
    ('nested pattern, dotted event',  '{"detail": {"a.b": 1}}',      '{"detail": {"a": {"b": [1]}}}',   true),
    ('dotted both',                   '{"detail": {"a.b": 1}}',      '{"detail": {"a.b": [1]}}',        true),
    ('dotted from the top',           '{"detail": {"a": {"b": 1}}}', '{"detail.a.b": [1]}',             true),
    ('dotted event from the top',     '{"detail.a.b": 1}',           '{"detail": {"a": {"b": [1]}}}',   true),
    ('dotted event, other value',     '{"detail": {"a.b": 2}}',      '{"detail": {"a": {"b": [1]}}}',   false),
    ('split in two places',           '{"detail": {"a.b": {"c": 7}}}', '{"detail": {"a": {"b.c": [7]}}}', true),
    ('three levels in one key',       '{"x.y.z": "v"}',              '{"x": {"y": {"z": ["v"]}}}',      true),
    ('empty segment',                 '{"a": {"": {"b": 1}}}',       '{"a..b": [1]}',                   true),
    ('trailing dot',                  '{"a": {"": 1}}',              '{"a.": [1]}',                     true),
    ('not a prefix of a name',        '{"ab": {"c": 1}}',            '{"a.c": [1]}',                    false),
    ('dot inside a value, not a name','{"a": "b.c"}',                '{"a": ["b.c"]}',                  true),
    ('prefix on a dotted field',      '{"detail": {"file.name": "report.pdf"}}', '{"detail": {"file": {"name": [{"suffix": ".pdf"}]}}}', true)
) AS c(label, event, pattern, expected);

-- An event holding both forms has both values: either one matches.
WITH e(event) AS (VALUES ('{"detail": {"a": {"b": 1}, "a.b": 2}}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('nested value, nested pattern', '{"detail": {"a": {"b": [1]}}}',   true),
    ('dotted value, nested pattern', '{"detail": {"a": {"b": [2]}}}',   true),
    ('nested value, dotted pattern', '{"detail": {"a.b": [1]}}',        true),
    ('dotted value, dotted pattern', '{"detail": {"a.b": [2]}}',        true),
    ('neither value',                '{"detail": {"a.b": [3]}}',        false),
    ('anything-but one of them',     '{"detail": {"a.b": [{"anything-but": 1}]}}', true),
    ('anything-but both',            '{"detail": {"a.b": [{"anything-but": [1, 2]}]}}', false),
    ('numeric over both',            '{"detail": {"a.b": [{"numeric": [">", 1]}]}}', true)
) AS c(label, pattern, expected);

-- Arrays.  Fields of one array element combine only with each other; a
-- field outside the array (a dotted key beside it) combines with any
-- element, and two arrays spelled two ways combine freely.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('dotted keys in elements',       '{"items": [{"x.y": 1}, {"x": {"y": 2}}]}', '{"items": {"x": {"y": [1]}}}', true),
    ('nested keys in elements',       '{"items": [{"x.y": 1}, {"x": {"y": 2}}]}', '{"items": {"x.y": [2]}}',      true),
    ('no element has it',             '{"items": [{"x.y": 1}, {"x": {"y": 2}}]}', '{"items": {"x.y": [3]}}',      false),
    ('element and dotted sibling',    '{"a": [{"b": 1}], "a.c": 2}',              '{"a": {"b": [1], "c": [2]}}',  true),
    ('two arrays, two spellings',     '{"a": [{"b": 1}, {"b": 3}], "a.c": [2, 4]}', '{"a": {"b": [3], "c": [2]}}', true),
    ('array of objects both ways',    '{"a": [{"b": 1}], "a.x": [{"c": 2}]}',     '{"a": {"b": [1], "x": {"c": [2]}}}', true),
    ('two elements of one array',     '{"a": [{"b": 1}, {"c": 2}]}',              '{"a.b": [1], "a.c": [2]}',     false),
    ('one element of one array',      '{"a": [{"b": 1, "c": 2}]}',                '{"a.b": [1], "a.c": [2]}',     true),
    ('scalar and dotted child',       '{"a": 1, "a.b": 2}',                       '{"a": [1], "a.b": [2]}',       true),
    ('scalar list and dotted child',  '{"a": [1, 5], "a.b": 2}',                  '{"a": [5], "a.b": [2]}',          true),
    ('a value and a child, one fails','{"a": [1, 5], "a.b": 2}',                  '{"a": [6], "a.b": [2]}',          false)
) AS c(label, event, pattern, expected);

-- A pattern naming one field twice (two spellings of one object level):
-- both lists must hold.  (A deliberate difference, see the README:
-- EventBridge keeps the list written later in the pattern's text, here
-- [2], so it matches the first case; jsonb keeps no key order.)
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('both lists, 2 only',            '{"a": {"b": 2}}', '{"a": {"b": [1]}, "a.b": [2]}', false),
    ('both lists, 1 only',            '{"a": {"b": 1}}', '{"a": {"b": [1]}, "a.b": [2]}', false),
    ('both lists, 1 and 2',           '{"a": {"b": [1, 2]}}', '{"a": {"b": [1]}, "a.b": [2]}', true),
    ('different fields add up',       '{"a": {"b": 1, "c": 2}}', '{"a": {"b": [1]}, "a.c": [2]}', true),
    ('different fields, one fails',   '{"a": {"b": 1, "c": 3}}', '{"a": {"b": [1]}, "a.c": [2]}', false)
) AS c(label, event, pattern, expected);

--
-- Routing.  The rule index looks anchor values up along the event's
-- fields; it reads dotted keys as the matcher does.
--
SELECT create_event_bus('pd-bus') ->> 'EventBusArn' AS bus;
SELECT put_rule('pd-nested', '{"detail": {"purchase": {"state": ["paid"]}}}', 'pd-bus') IS NOT NULL;
SELECT put_rule('pd-dotted', '{"detail.customer.tier": ["gold"]}', 'pd-bus') IS NOT NULL;
SELECT put_targets('pd-nested', '[{"Id": "q", "Arn": "queue:pd_q"}]', 'pd-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('pd-dotted', '[{"Id": "q", "Arn": "queue:pd_q"}]', 'pd-bus') ->> 'FailedEntryCount' AS failed;
-- both rules have an anchor on their one exact field
SELECT * FROM rule_index_anchors('pd-bus');

INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES
  ('pd-bus', 'shop', 'x', '{"n": 1, "purchase": {"state": "paid"}}'),
  ('pd-bus', 'shop', 'x', '{"n": 2, "purchase.state": "paid"}'),
  ('pd-bus', 'shop', 'x', '{"n": 3, "customer": {"tier": "gold"}}'),
  ('pd-bus', 'shop', 'x', '{"n": 4, "customer.tier": "gold", "purchase": {"state": "open"}}'),
  ('pd-bus', 'shop', 'x', '{"n": 5, "customer": [{"tier.x": "gold"}], "purchase.state": "open"}');
SELECT (e.detail->>'n')::int AS n, o.rule
  FROM eventbus_outbox.queue_pd_q o
  JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
 ORDER BY n, o.rule;

SELECT delete_event_bus('pd-bus', force => true);
SELECT delete_queue('pd_q', force => true);
