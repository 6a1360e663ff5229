--
-- Routing: events inserted into eventbus.events (by put_events, INSERT or
-- COPY) are fanned out to the outbox of every target of every ENABLED rule
-- of their bus that matches, in the inserting transaction.
--
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

SELECT create_event_bus('rt-bus') ->> 'EventBusArn' AS bus;

-- Rules of every anchor kind the rule index knows: exact (top level and
-- nested), prefix, and patterns it cannot index ($or, numeric, exists).
SELECT put_rule('rt-exact', '{"detail-type": ["OrderPlaced", "OrderPaid"]}', 'rt-bus') IS NOT NULL;
SELECT put_rule('rt-nested', '{"detail": {"customer": {"tier": ["gold"]}}}', 'rt-bus') IS NOT NULL;
SELECT put_rule('rt-prefix', '{"source": [{"prefix": "shop."}], "detail-type": [{"prefix": "Order"}]}', 'rt-bus') IS NOT NULL;
SELECT put_rule('rt-or', '{"$or": [{"detail": {"total": [{"numeric": [">", 1000]}]}}, {"detail": {"vip": [true]}}]}', 'rt-bus') IS NOT NULL;
SELECT put_rule('rt-exists', '{"detail": {"coupon": [{"exists": true}]}}', 'rt-bus') IS NOT NULL;
SELECT put_rule('rt-disabled', '{"source": ["shop.web"]}', 'rt-bus', 'DISABLED') IS NOT NULL;
SELECT put_rule('rt-no-targets', '{"source": ["shop.web"]}', 'rt-bus') IS NOT NULL;

SELECT put_targets('rt-exact', '[{"Id": "all", "Arn": "queue:rt_all"}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('rt-nested', '[{"Id": "all", "Arn": "queue:rt_all"},
                                  {"Id": "gold", "Arn": "queue:rt_gold", "InputPath": "$.detail.customer"}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('rt-prefix', '[{"Id": "all", "Arn": "queue:rt_all"}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('rt-or', '[{"Id": "big", "Arn": "queue:rt_big",
    "InputTransformer": {"InputPathsMap": {"order": "$.detail.order", "rule": "$.detail.none"},
                         "InputTemplate": "{\"order\": <order>, \"rule\": \"<aws.events.rule-name>\"}"}}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('rt-exists', '[{"Id": "coupon", "Arn": "queue:rt_big", "Input": "{\"coupon\": true}"}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('rt-disabled', '[{"Id": "all", "Arn": "queue:rt_all"}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;

-- A view of what each queue holds: the event's order number, the rule and
-- target that put it there, and the payload when the target transformed it.
CREATE TEMP VIEW routed AS
SELECT 'rt_all' AS queue, (e.detail->>'order')::int AS "order", o.rule, o.target_id, o.payload
  FROM eventbus_outbox.queue_rt_all o JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
UNION ALL
SELECT 'rt_gold', (e.detail->>'order')::int, o.rule, o.target_id, o.payload
  FROM eventbus_outbox.queue_rt_gold o JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
UNION ALL
SELECT 'rt_big', (e.detail->>'order')::int, o.rule, o.target_id, o.payload
  FROM eventbus_outbox.queue_rt_big o JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time;

-- 1: OrderPlaced from shop.web: rt-exact and rt-prefix (rt-disabled is off)
-- 2: a gold customer's refund from billing: rt-nested (both targets)
-- 3: a big order from shop.app: rt-exact, rt-prefix, rt-or (transformed)
-- 4: a vip with a coupon, other bus: nothing (rules are per bus)
-- 5: OrderShipped from warehouse: no rule (prefix on source fails)
INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES
  ('rt-bus',  'shop.web',   'OrderPlaced',  '{"order": 1, "total": 20}'),
  ('rt-bus',  'billing',    'RefundIssued', '{"order": 2, "customer": {"tier": "gold"}}'),
  ('rt-bus',  'shop.app',   'OrderPaid',    '{"order": 3, "total": 5000}'),
  ('default', 'shop.web',   'OrderPlaced',  '{"order": 4, "vip": true, "coupon": "X"}'),
  ('rt-bus',  'warehouse',  'OrderShipped', '{"order": 5}');
SELECT * FROM routed ORDER BY "order", queue, rule, target_id;

-- A rolled-back insert routes nothing.
BEGIN;
INSERT INTO eventbus.events (bus, source, detail_type, detail)
VALUES ('rt-bus', 'shop.web', 'OrderPlaced', '{"order": 6}');
SELECT count(*) AS inside_the_transaction FROM routed WHERE "order" = 6;
ROLLBACK;
SELECT count(*) AS after_rollback FROM routed WHERE "order" = 6;

-- COPY routes like INSERT; so does put_event.
COPY eventbus.events (bus, source, detail_type, detail) FROM stdin;
rt-bus	shop.web	OrderPaid	{"order": 7, "vip": true, "coupon": "Y"}
\.
SELECT put_event('shop.web', 'OrderPlaced', '{"order": 8, "customer": {"tier": ["silver", "gold"]}}', 'rt-bus') IS NOT NULL AS put;
SELECT * FROM routed WHERE "order" >= 7 ORDER BY "order", queue, rule, target_id;

-- Enabling, disabling and changing rules takes effect at once.
SELECT enable_rule('rt-disabled', 'rt-bus');
SELECT disable_rule('rt-exact', 'rt-bus');
SELECT put_rule('rt-prefix', '{"source": [{"prefix": "shop."}], "detail-type": ["OrderCancelled"]}', 'rt-bus') IS NOT NULL;
INSERT INTO eventbus.events (bus, source, detail_type, detail)
VALUES ('rt-bus', 'shop.web', 'OrderPlaced', '{"order": 9}'),
       ('rt-bus', 'shop.web', 'OrderCancelled', '{"order": 10}');
SELECT * FROM routed WHERE "order" >= 9 ORDER BY "order", queue, rule, target_id;

-- Removing a target stops its messages; the queue keeps what it has.
SELECT remove_targets('rt-nested', ARRAY['gold'], 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_event('billing', 'RefundIssued', '{"order": 11, "customer": {"tier": "gold"}}', 'rt-bus') IS NOT NULL AS put;
SELECT * FROM routed WHERE queue = 'rt_gold' OR "order" = 11 ORDER BY "order", queue, rule, target_id;

-- Messages reference the event; a transformed payload is stored.
SELECT queue, count(*) FILTER (WHERE payload IS NULL) AS by_reference,
       count(*) FILTER (WHERE payload IS NOT NULL) AS transformed
  FROM routed GROUP BY queue ORDER BY queue;

-- Many rules: the index finds the one that matches among a thousand (over
-- the default quota of 300 rules per bus).
SET eventbus.max_rules_per_bus = 2000;
SELECT put_rule('rt-many-' || i, format('{"detail": {"sku": ["sku-%s"]}}', i)::jsonb, 'rt-bus') IS NULL AS failed
  FROM generate_series(1, 1000) i GROUP BY 1;
SELECT put_targets('rt-many-777', '[{"Id": "t", "Arn": "queue:rt_gold"}]', 'rt-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_event('shop.web', 'Restocked', '{"order": 12, "sku": "sku-777"}', 'rt-bus') IS NOT NULL AS put;
SELECT * FROM routed WHERE "order" = 12;
SELECT rule, matched_events FROM rule_stats WHERE bus = 'rt-bus' AND rule LIKE 'rt-many-%' AND matched_events > 0;

-- A producer needs put_events on the bus (a plain INSERT is held to it by
-- row-level security), and no grant on the outboxes or the catalogs:
-- routing reads the rules and writes messages as their owner.
CREATE ROLE regress_rt_producer;
SELECT grant_event_bus_privilege('rt-bus', 'put_events', 'regress_rt_producer');
SET ROLE regress_rt_producer;
INSERT INTO eventbus.events (bus, source, detail_type, detail)
VALUES ('rt-bus', 'shop.web', 'Restocked', '{"order": 13}');
SELECT count(*) FROM eventbus_outbox.queue_rt_all;
RESET ROLE;
SELECT queue, rule, target_id FROM routed WHERE "order" = 13;

-- The index anchors each rule on its most selective field: a field that
-- many rules share (source here) is not used when a rarer one exists.
SELECT put_rule('rt-sel-' || i, format('{"source": ["shop.web"], "detail": {"sku": ["sel-%s"]}}', i)::jsonb, 'rt-bus') IS NULL AS failed
  FROM generate_series(1, 3) i GROUP BY 1;
SELECT put_rule('rt-sel-source-only', '{"source": ["shop.web"], "detail": {"qty": [{"numeric": [">", 0]}]}}', 'rt-bus') IS NULL AS failed;
SELECT * FROM rule_index_anchors('arn:aws:events:local:000000000000:event-bus/rt-bus')
 WHERE rule NOT LIKE 'rt-many-%';

-- Metrics: rule_stats counts matches (also of rules without targets);
-- queue_stats counts what was enqueued and what is waiting.
SELECT rule, state, matched_events, triggered_rules FROM rule_stats
 WHERE bus = 'rt-bus' AND rule NOT LIKE 'rt-many-%' ORDER BY rule;
SELECT queue, enqueued, received, acked, backlog FROM queue_stats WHERE queue LIKE 'rt\_%' ORDER BY queue;
SELECT rule, target_id, enqueued FROM target_stats WHERE bus = 'rt-bus' AND rule NOT LIKE 'rt-many-%' ORDER BY rule, target_id;

-- Clean up.
DROP VIEW routed;
SELECT revoke_event_bus_privilege('rt-bus', 'put_events', 'regress_rt_producer');
SELECT delete_event_bus('rt-bus', force => true);
SELECT delete_queue(q, force => true) FROM unnest(ARRAY['rt_all', 'rt_gold', 'rt_big']) q;
DELETE FROM eventbus.events WHERE bus IN ('rt-bus') OR detail ? 'order';
REVOKE ALL ON eventbus.events FROM regress_rt_producer;
REVOKE ALL ON SCHEMA eventbus FROM regress_rt_producer;
DROP ROLE regress_rt_producer;
