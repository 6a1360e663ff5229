--
-- eventbus.max_pattern_size: the quota on a rule's pattern, in characters
-- of its JSON text as jsonb prints it (EventBridge's default quota is
-- 2048).  It applies where patterns are defined (put_rule), never where
-- stored rules are loaded: lowering it leaves the rules already stored
-- routing.
--
SET search_path = public, eventbus;
\set VERBOSITY default
\set SHOW_CONTEXT never

SHOW eventbus.max_pattern_size;
SELECT create_event_bus('pq-bus') ->> 'EventBusArn' AS bus;

-- At the quota and one character over it.
CREATE TEMP TABLE sized (label text, pattern jsonb);
INSERT INTO sized VALUES
    ('2048 characters', jsonb_build_object('source', jsonb_build_array(repeat('x', 2048 - 16)))),
    ('2049 characters', jsonb_build_object('source', jsonb_build_array(repeat('x', 2049 - 16)))),
    ('2049, multibyte', jsonb_build_object('source', jsonb_build_array(repeat('é', 2049 - 16))));
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM sized ORDER BY label LOOP
        BEGIN
            PERFORM put_rule('pq-sized', r.pattern, 'pq-bus');
            RAISE NOTICE '% (% characters): accepted', r.label, length(r.pattern::text);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% (% characters): SQLSTATE %: %', r.label, length(r.pattern::text), SQLSTATE, SQLERRM;
        END;
    END LOOP;
END
$$;

-- The error in full.
SELECT put_rule('pq-too-big', (SELECT pattern FROM sized WHERE label = '2049 characters'), 'pq-bus');

-- A rule stored under the default quota ...
SELECT put_rule('pq-stored', '{"source": ["shop"], "detail-type": ["OrderPlaced", "OrderPaid", "OrderShipped"]}', 'pq-bus') IS NOT NULL AS stored;
SELECT put_targets('pq-stored', '[{"Id": "q", "Arn": "queue:pq_q"}]', 'pq-bus') ->> 'FailedEntryCount' AS failed;

-- ... keeps routing after the quota is lowered below its size, in this
-- session (whose rule index is rebuilt) and in a new one.
SET eventbus.max_pattern_size = 64;
SELECT length(event_pattern::text) AS characters FROM list_rules('pq-bus') WHERE name = 'pq-stored';
SELECT put_rule('pq-sized', '{"source": ["x"]}', 'pq-bus') IS NOT NULL AS redefined_small;
INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES ('pq-bus', 'shop', 'OrderPaid', '{"n": 1}');
SELECT (e.detail->>'n')::int AS n, o.rule
  FROM eventbus_outbox.queue_pq_q o
  JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
 ORDER BY n;
\c
SET search_path = public, eventbus;
SET eventbus.max_pattern_size = 64;
SELECT put_events('[{"Source": "shop", "DetailType": "OrderShipped", "Detail": "{\"n\": 2}", "EventBusName": "pq-bus"}]') ->> 'FailedEntryCount' AS failed;
SELECT (e.detail->>'n')::int AS n, o.rule
  FROM eventbus_outbox.queue_pq_q o
  JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
 ORDER BY n;
-- Redefining it now is refused with the quota's error.
SELECT put_rule('pq-stored', '{"source": ["shop"], "detail-type": ["OrderPlaced", "OrderPaid", "OrderShipped"]}', 'pq-bus');
RESET eventbus.max_pattern_size;

-- Likewise, rules stored before a check became stricter (by eventbus
-- 0.1.0: a $or of one pattern, an empty anything-but prefix, wildcards
-- beyond the complexity bound) are loaded as they were accepted: they
-- keep routing, and survive dump and restore (the domain's check loads
-- them the same way); put_rule refuses them now.
INSERT INTO eventbus.rules (bus, name, event_pattern, state, owner) VALUES
    ('pq-bus', 'pq-legacy-or', '{"$or": [{"source": ["legacy"]}]}', 'ENABLED', 'eventbus_admin'),
    ('pq-bus', 'pq-legacy-affix', '{"source": ["legacy"], "detail-type": [{"anything-but": {"prefix": ""}}]}', 'ENABLED', 'eventbus_admin'),
    ('pq-bus', 'pq-legacy-wildcard', '{"detail-type": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}', 'ENABLED', 'eventbus_admin');
SELECT put_targets(r, '[{"Id": "q", "Arn": "queue:pq_q"}]', 'pq-bus') ->> 'FailedEntryCount' AS failed
  FROM unnest(ARRAY['pq-legacy-or', 'pq-legacy-affix', 'pq-legacy-wildcard']) r;
INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES
    ('pq-bus', 'legacy', 'x', '{"n": 3}'),
    ('pq-bus', 'other', 'arn:aws:events:r:1:event-bus/b', '{"n": 4}');
SELECT (e.detail->>'n')::int AS n, o.rule
  FROM eventbus_outbox.queue_pq_q o
  JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
 WHERE (e.detail->>'n')::int >= 3
 ORDER BY n, o.rule;
SELECT '{"$or": [{"source": ["legacy"]}]}'::eventbus.event_pattern IS NOT NULL AS castable,
       eventbus.is_valid_event_pattern('{"$or": [{"source": ["legacy"]}]}') AS valid_now;
SELECT put_rule('pq-legacy-or', '{"$or": [{"source": ["legacy"]}]}', 'pq-bus');

SELECT delete_event_bus('pq-bus', force => true);
SELECT delete_queue('pq_q', force => true);
