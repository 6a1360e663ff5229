-- The envelope of an event, written directly in jsonb's binary format, must
-- be the jsonb that jsonb_build_object makes of the same fields: same text,
-- equal as jsonb, and readable by the jsonb operators (keys, paths,
-- containment) that rules and transformations use.  And a Detail given to
-- put_events as JSON text, parsed once into the stored jsonb, must be what
-- the jsonb type makes of that text.
SET eventbus.account = '123456789012';
SET eventbus.region = 'eu-west-1';

CREATE TEMP TABLE env_cases (label text, resources text[], detail jsonb);
INSERT INTO env_cases VALUES
    ('plain', '{}', '{"a": 1}'),
    ('empty detail', '{}', '{}'),
    ('resources', '{arn:aws:s3:::a,arn:aws:s3:::b}', '{"k": [1, 2, {"x": null}]}'),
    -- more than 32 elements: JEntries holding offsets instead of lengths
    ('many resources', (SELECT array_agg('r' || i) FROM generate_series(1, 70) i),
        (SELECT jsonb_object_agg('key' || i, i) FROM generate_series(1, 70) i)),
    ('null resource', ARRAY['a', NULL, 'c'], '{"n": 1.5e3, "b": true}'),
    ('unicode', '{"é☃"}', '{"ключ": "значение ☃", "e": ""}'),
    ('big detail', '{}', jsonb_build_object('blob', repeat('x', 100000), 'n', 7)),
    ('nested detail', '{}', '{"a": {"b": {"c": [[], {}, [1, "2"]]}}}');

INSERT INTO eventbus.events (source, detail_type, resources, detail, "time")
SELECT 'env.test', label, resources, detail, '2024-05-01T12:30:00Z' FROM env_cases;

-- text and jsonb equality with the reference, and the value read back
SELECT e.detail_type,
       eventbus.event_envelope(e)::text = ref::text AS same_text,
       eventbus.event_envelope(e) = ref AS equal,
       eventbus.event_envelope(e) @> ref AND ref @> eventbus.event_envelope(e) AS contains,
       eventbus.event_envelope(e) -> 'detail' = e.detail AS detail,
       jsonb_array_length(eventbus.event_envelope(e) -> 'resources') AS nres,
       eventbus.event_envelope(e) ->> 'detail-type' = e.detail_type AS dtype,
       eventbus.event_envelope(e) #>> '{resources,0}' IS NOT DISTINCT FROM e.resources[1] AS res0
FROM eventbus.events e,
     LATERAL (SELECT jsonb_build_object(
                 'version', '0', 'id', e.id, 'detail-type', e.detail_type,
                 'source', e.source, 'account', e.account,
                 'time', to_char(e."time" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                 'region', e.region, 'resources', to_jsonb(e.resources),
                 'detail', e.detail) AS ref) r
WHERE e.source = 'env.test'
ORDER BY e.detail_type;

-- every key in jsonb's order, each value typed as EventBridge sends it
SELECT k, jsonb_typeof(v)
FROM eventbus.events e, jsonb_each(eventbus.event_envelope(e)) AS j(k, v)
WHERE e.source = 'env.test' AND e.detail_type = 'plain';

-- Details given as JSON text, parsed once: the same jsonb as the text's cast
CREATE TEMP TABLE detail_texts (n int, txt text);
INSERT INTO detail_texts VALUES
    (1, '{"a": 1, "b": [true, false, null], "c": {"d": "e"}}'),
    (2, '  {"dup": 1, "dup": 2}  '),
    (3, '{"esc": "quote \" backslash \\ tab \t unicode \u00e9 \ud83d\ude00"}'),
    (4, '{"num": -12.5e-3, "big": 123456789012345678901234567890, "zero": 0}'),
    (5, '{"nested": [[[[{"x": [1, [2, [3]]]}]]]]}'),
    (6, '{}');
SELECT d.n,
       (eventbus.put_events(jsonb_build_object('Entries', jsonb_build_array(
            jsonb_build_object('Source', 'detail.test', 'DetailType', 'T' || d.n,
                               'Detail', d.txt)))) ->> 'FailedEntryCount') AS failed
FROM detail_texts d ORDER BY d.n;
SELECT d.n, e.detail = d.txt::jsonb AS same, e.detail::text = d.txt::jsonb::text AS same_text
FROM detail_texts d JOIN eventbus.events e
  ON e.source = 'detail.test' AND e.detail_type = 'T' || d.n
ORDER BY d.n;

-- refused Details: not JSON, not an object, an unpaired surrogate
SELECT t.txt, r -> 'Entries' -> 0 ->> 'ErrorCode' AS code,
       r -> 'Entries' -> 0 ->> 'ErrorMessage' AS message
FROM (VALUES ('{"a": '), ('[1, 2]'), ('"text"'), ('42'), ('{"a": 1} x'),
             ('{"a": "\ud83d"}'), ('{"a": "\u0000"}'), ('{"a": [1, 2}')) AS t(txt),
     LATERAL (SELECT eventbus.put_events(jsonb_build_array(
            jsonb_build_object('Source', 'detail.bad', 'DetailType', 'T',
                               'Detail', t.txt))) AS r) x;
SELECT count(*) AS stored_bad FROM eventbus.events WHERE source = 'detail.bad';

DELETE FROM eventbus.events WHERE source IN ('env.test', 'detail.test');
RESET eventbus.account;
RESET eventbus.region;
