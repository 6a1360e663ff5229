--
-- exists: true matches a field that is present with a value (null
-- included), false a field that is absent.  exists looks at leaf values
-- only: a field whose value is an object (or holds no scalar at all) counts
-- as absent.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- exists: true
WITH p(pattern) AS (VALUES ('{"detail": {"state": [{"exists": true}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('a string',                 '{"detail": {"state": "running"}}', true),
    ('empty string',             '{"detail": {"state": ""}}',        true),
    ('a number',                 '{"detail": {"state": 0}}',         true),
    ('false',                    '{"detail": {"state": false}}',     true),
    ('null (present)',           '{"detail": {"state": null}}',      true),
    ('array of values',          '{"detail": {"state": ["a", "b"]}}', true),
    ('array holding null',       '{"detail": {"state": [null]}}',    true),
    ('field missing',            '{"detail": {"other": "x"}}',       false),
    ('parent missing',           '{"source": "x"}',                  false),
    ('parent not an object',     '{"detail": "running"}',            false),
    ('object value (no leaf)',   '{"detail": {"state": {"name": "running"}}}', false),
    ('empty array (no value)',   '{"detail": {"state": []}}',        false),
    ('array of objects (no leaf)','{"detail": {"state": [{"name": "running"}]}}', false)
) AS c(label, event, expected);

-- exists: false
WITH p(pattern) AS (VALUES ('{"detail": {"state": [{"exists": false}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('a string',                 '{"detail": {"state": "running"}}', false),
    ('null (present)',           '{"detail": {"state": null}}',      false),
    ('empty string',             '{"detail": {"state": ""}}',        false),
    ('array of values',          '{"detail": {"state": ["a"]}}',     false),
    ('field missing',            '{"detail": {"other": "x"}}',       true),
    ('detail empty',             '{"detail": {}}',                   true),
    ('parent missing',           '{"source": "x"}',                  true),
    ('empty event',              '{}',                               true),
    ('parent not an object',     '{"detail": "running"}',            true),
    ('object value (no leaf)',   '{"detail": {"state": {"name": "running"}}}', true),
    ('empty array (no value)',   '{"detail": {"state": []}}',        true),
    ('array of objects (no leaf)','{"detail": {"state": [{"name": "running"}]}}', true)
) AS c(label, event, expected);

-- exists on a key whose value is an object: it is not a leaf, so
-- exists: true never matches it and exists: false always does.
WITH e(event) AS (VALUES ('{"detail": {"limits": {"daily": 500}}}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('exists true on the object',  '{"detail": {"limits": [{"exists": true}]}}',       false),
    ('exists false on the object', '{"detail": {"limits": [{"exists": false}]}}',      true),
    ('exists true on detail',      '{"detail": [{"exists": true}]}',                    false),
    ('exists true on the leaf',    '{"detail": {"limits": {"daily": [{"exists": true}]}}}', true),
    ('exists false on the leaf',   '{"detail": {"limits": {"daily": [{"exists": false}]}}}', false),
    ('exists false, absent key',  '{"detail": {"limits": {"weekly": [{"exists": false}]}}}', true)
) AS c(label, pattern, expected);

-- exists combined with other keys and other conditions.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('source and no error',      '{"source": "app", "detail": {"ok": 1}}',
                                 '{"source": ["app"], "detail": {"error": [{"exists": false}]}}', true),
    ('source and an error',      '{"source": "app", "detail": {"error": "boom"}}',
                                 '{"source": ["app"], "detail": {"error": [{"exists": false}]}}', false),
    ('no error, other source',   '{"source": "other", "detail": {}}',
                                 '{"source": ["app"], "detail": {"error": [{"exists": false}]}}', false),
    ('both exist',               '{"a": 1, "b": null}',  '{"a": [{"exists": true}], "b": [{"exists": true}]}', true),
    ('one exists, one not',      '{"a": 1}',             '{"a": [{"exists": true}], "b": [{"exists": true}]}', false),
    ('missing or "x": missing',  '{}',                   '{"a": [{"exists": false}, "x"]}', true),
    ('missing or "x": "x"',      '{"a": "x"}',           '{"a": [{"exists": false}, "x"]}', true),
    ('missing or "x": "y"',      '{"a": "y"}',           '{"a": [{"exists": false}, "x"]}', false),
    ('exists true or false',     '{"a": "y"}',           '{"a": [{"exists": false}, {"exists": true}]}', true),
    ('exists true or false, missing', '{}',              '{"a": [{"exists": false}, {"exists": true}]}', true)
) AS c(label, event, pattern, expected);

-- exists inside arrays of objects.  exists: true is judged element by
-- element, with the element's other fields; exists: false, as EventBridge
-- judges it, over the whole event: it holds only when no element has the
-- field.
WITH e(event) AS (VALUES ('{"items": [{"sku": "a", "qty": 1}, {"sku": "b"}]}'::jsonb))
SELECT label, expected, event =~ pattern::jsonb AS matches
FROM e, (VALUES
    ('an element has qty',       '{"items": {"qty": [{"exists": true}]}}',                     true),
    ('element b has qty',        '{"items": {"sku": ["b"], "qty": [{"exists": true}]}}',       false),
    ('element a has qty',        '{"items": {"sku": ["a"], "qty": [{"exists": true}]}}',       true),
    ('element b lacks qty',      '{"items": {"sku": ["b"], "qty": [{"exists": false}]}}',      false),
    ('element a lacks qty',      '{"items": {"sku": ["a"], "qty": [{"exists": false}]}}',      false),
    ('some element lacks qty',   '{"items": {"qty": [{"exists": false}]}}',                    false),
    ('no element has price',     '{"items": {"price": [{"exists": false}]}}',                  true),
    ('an element has price',     '{"items": {"price": [{"exists": true}]}}',                   false)
) AS c(label, pattern, expected);

-- Absence over the whole event, also below nested arrays, in $or branches
-- and when the field is spelled with a dot.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('no element has qty',       '{"items": [{"sku": "a"}, {"sku": "b"}]}',
                                 '{"items": {"sku": ["b"], "qty": [{"exists": false}]}}', true),
    ('nested arrays, one has it','{"a": [[{"b": 1}], [{"c": 2}]]}',
                                 '{"a": {"c": [2], "b": [{"exists": false}]}}',           false),
    ('nested arrays, none has it','{"a": [[{"d": 1}], [{"c": 2}]]}',
                                 '{"a": {"c": [2], "b": [{"exists": false}]}}',           true),
    ('parent missing here, present elsewhere', '{"a": [{"x": 1}, {"b": {"c": 1}}]}',
                                 '{"a": {"x": [1], "b": {"c": [{"exists": false}]}}}',   false),
    ('parent missing everywhere','{"a": [{"x": 1}, {"b": {"d": 1}}]}',
                                 '{"a": {"x": [1], "b": {"c": [{"exists": false}]}}}',   true),
    ('in a $or branch',          '{"items": [{"sku": "a"}, {"sku": "b", "qty": 2}]}',
                                 '{"$or": [{"items": {"qty": [{"exists": false}]}}, {"source": ["x"]}]}', false),
    ('present as a dotted key',  '{"items.qty": 1}',
                                 '{"items": {"qty": [{"exists": false}]}}',               false),
    ('present nested, asked dotted', '{"items": [{"qty": 1}]}',
                                 '{"items.qty": [{"exists": false}]}',                    false)
) AS c(label, event, pattern, expected);
