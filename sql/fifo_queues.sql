-- FIFO queues, deduplication, delays and send_message: the options of
-- create_queue, SqsParameters of targets (group from a path or static,
-- deduplication id from a path or the event id), the deduplication window,
-- queue and per-message delays, and the send privilege.  Concurrency is
-- tested by the isolation specs fifo_groups and dedup_producers.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

-- create_queue's new options, and their validation
SELECT name, fifo, delay_seconds FROM eventbus.create_queue('fq_orders', fifo => true);
SELECT name, fifo, delay_seconds FROM eventbus.create_queue('fq_plain');
SELECT eventbus.create_queue('fq_bad', delay_seconds => 901);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.create_queue('fq_bad', delay_seconds => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.create_queue('fq_bad', fifo => NULL);
\echo :LAST_ERROR_SQLSTATE
-- the dot of SQS's ".fifo" suffix is not a queue name character
SELECT eventbus.create_queue('fq_bad.fifo', fifo => true);
\echo :LAST_ERROR_SQLSTATE
-- a FIFO queue's outbox has the group index
SELECT indexdef FROM pg_indexes
 WHERE schemaname = 'eventbus_outbox' AND tablename = 'queue_fq_orders' AND indexdef LIKE '%message_group_id%';

-- SqsParameters: required by a FIFO queue, refused elsewhere, checked
SELECT eventbus.put_rule('fq_rule', '{"source": ["fq.test"]}');
SELECT f ->> 'TargetId' AS target, f ->> 'ErrorCode' AS code, f ->> 'ErrorMessage' AS message
  FROM jsonb_array_elements(eventbus.put_targets('fq_rule', ('[
    {"Id": "no-params", "Arn": "queue:fq_orders"},
    {"Id": "no-group", "Arn": "queue:fq_orders", "SqsParameters": {"MessageDeduplicationId": "$.detail.id"}},
    {"Id": "standard", "Arn": "queue:fq_plain", "SqsParameters": {"MessageGroupId": "g"}},
    {"Id": "function", "Arn": "function:pg_catalog.jsonb_typeof", "SqsParameters": {"MessageGroupId": "g"}},
    {"Id": "bad-path", "Arn": "queue:fq_orders", "SqsParameters": {"MessageGroupId": "$.detail..x"}},
    {"Id": "static-dedup", "Arn": "queue:fq_orders", "SqsParameters": {"MessageGroupId": "g", "MessageDeduplicationId": "same"}},
    {"Id": "bad-key", "Arn": "queue:fq_orders", "SqsParameters": {"MessageGroupId": "g", "Other": 1}},
    {"Id": "not-string", "Arn": "queue:fq_orders", "SqsParameters": {"MessageGroupId": 7}},
    {"Id": "long-group", "Arn": "queue:fq_orders", "SqsParameters": {"MessageGroupId": "' || repeat('g', 129) || '"}}
  ]')::jsonb) -> 'FailedEntries') f;

-- a group from the event, deduplicated by the event id (the default)
SELECT eventbus.put_targets('fq_rule', '[{"Id": "by-customer", "Arn": "queue:fq_orders",
    "SqsParameters": {"MessageGroupId": "$.detail.customer"}}]');
SELECT t ->> 'Id' AS id, t -> 'SqsParameters' AS sqs_parameters
  FROM jsonb_array_elements(eventbus.list_targets_by_rule('fq_rule') -> 'Targets') t;

INSERT INTO eventbus.events (id, source, detail_type, detail)
VALUES ('00000000-0000-4000-8000-00000000f001', 'fq.test', 'o', '{"customer": "c1", "n": 1}'),
       ('00000000-0000-4000-8000-00000000f002', 'fq.test', 'o', '{"customer": "c2", "n": 2}'),
       ('00000000-0000-4000-8000-00000000f003', 'fq.test', 'o', '{"customer": "c1", "n": 3}'),
       ('00000000-0000-4000-8000-00000000f004', 'fq.test', 'o', '{"n": 4}'),
       ('00000000-0000-4000-8000-00000000f005', 'fq.test', 'o', '{"customer": 42, "n": 5}');
SELECT message_id, message_group_id, deduplication_id FROM eventbus_outbox.queue_fq_orders ORDER BY message_id;

-- the same event ids again (a retried producer): not enqueued again
INSERT INTO eventbus.events (id, source, detail_type, detail, ingestion_time)
VALUES ('00000000-0000-4000-8000-00000000f001', 'fq.test', 'o', '{"customer": "c1", "n": 1}', now() + interval '1 ms');
SELECT count(*) AS messages FROM eventbus_outbox.queue_fq_orders;

-- receive: group heads first, the groups in round robin (after the last one
-- this session locked; across groups no order), each group's messages in
-- order: c1's 3 comes with 1 or after it, never without it
SELECT message_id, payload -> 'detail' AS detail FROM eventbus.receive('fq_orders', 1, 60);
SELECT message_id, payload -> 'detail' AS detail FROM eventbus.receive('fq_orders', 10, 60);
SELECT message_id, payload -> 'detail' AS detail FROM eventbus.receive('fq_orders', 10, 60);
SELECT eventbus.ack('fq_orders', ARRAY[1::bigint]);
SELECT message_id, payload -> 'detail' AS detail FROM eventbus.receive('fq_orders', 10, 60);
SELECT eventbus.ack('fq_orders', ARRAY[2, 3, 4, 5]::bigint[]);

-- a static group, deduplicated by a path; the window is a setting
SELECT eventbus.put_targets('fq_rule', '[{"Id": "by-customer", "Arn": "queue:fq_orders",
    "SqsParameters": {"MessageGroupId": "all", "MessageDeduplicationId": "$.detail.order"}}]');
SET eventbus.deduplication_window = 1;
SELECT eventbus.put_events('[{"Source": "fq.test", "DetailType": "o", "Detail": "{\"order\": \"A\"}"},
                             {"Source": "fq.test", "DetailType": "o", "Detail": "{\"order\": \"A\"}"},
                             {"Source": "fq.test", "DetailType": "o", "Detail": "{\"order\": \"B\"}"}]') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.put_events('[{"Source": "fq.test", "DetailType": "o", "Detail": "{\"order\": \"A\"}"}]') ->> 'FailedEntryCount' AS failed;
SELECT message_group_id, deduplication_id FROM eventbus_outbox.queue_fq_orders ORDER BY message_id;
-- after the window, A is new again
SELECT pg_sleep(1.2);
SELECT eventbus.put_events('[{"Source": "fq.test", "DetailType": "o", "Detail": "{\"order\": \"A\"}"}]') ->> 'FailedEntryCount' AS failed;
SELECT message_group_id, deduplication_id FROM eventbus_outbox.queue_fq_orders ORDER BY message_id;
-- window 0: no deduplication (not even against ids claimed before)
SET eventbus.deduplication_window = 0;
SELECT eventbus.put_events('[{"Source": "fq.test", "DetailType": "o", "Detail": "{\"order\": \"A\"}"}]') ->> 'FailedEntryCount' AS failed;
SELECT count(*) AS messages FROM eventbus_outbox.queue_fq_orders;
RESET eventbus.deduplication_window;
SELECT eventbus.delete_rule('fq_rule', force => true);

-- send_message: FIFO queues need a group; the deduplication id is the
-- body's SHA-256 unless given; NULL means "a duplicate"
SELECT eventbus.send_message('fq_orders', '{"x": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_orders', '{"x": 1}', message_group_id => repeat('g', 129));
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_orders', '{"x": 1}', delay_seconds => 5, message_group_id => 'g');
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_orders', '{"x": 1}', message_group_id => 'g') IS NOT NULL AS enqueued;
SELECT eventbus.send_message('fq_orders', '{"x": 1}', message_group_id => 'g') IS NOT NULL AS enqueued;
SELECT eventbus.send_message('fq_orders', '{"x": 1}', message_group_id => 'g', message_deduplication_id => 'other') IS NOT NULL AS enqueued;
SELECT message_group_id, deduplication_id = encode(sha256('{"x": 1}'::bytea), 'hex') AS content_based
  FROM eventbus_outbox.queue_fq_orders WHERE message_group_id = 'g' ORDER BY message_id;
-- standard queues take no ids; bad arguments
SELECT eventbus.send_message('fq_plain', '{"x": 1}', message_group_id => 'g');
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_plain', '{"x": 1}', message_deduplication_id => 'd');
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_plain', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_plain', '{"x": 1}', delay_seconds => 901);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.send_message('fq_missing', '{"x": 1}');
\echo :LAST_ERROR_SQLSTATE
-- a sent message is received with its body as payload, a new event id, no rule
SELECT eventbus.send_message('fq_plain', '{"sent": true}') IS NOT NULL AS enqueued;
SELECT payload, event_id IS NOT NULL AS has_event_id, rule, target_id, receive_count
  FROM eventbus.receive('fq_plain', 10, 0);

-- delays: a per-message delay (standard queues) and a queue's delay
SELECT eventbus.send_message('fq_plain', '{"delayed": true}', delay_seconds => 1) IS NOT NULL AS enqueued;
SELECT payload FROM eventbus.receive('fq_plain', 10, 60) WHERE payload ? 'delayed';
SELECT pg_sleep(1.2);
SELECT payload FROM eventbus.receive('fq_plain', 10, 60) WHERE payload ? 'delayed';

SELECT name, delay_seconds FROM eventbus.create_queue('fq_delayed', delay_seconds => 1);
SELECT name, fifo, delay_seconds FROM eventbus.create_queue('fq_delayed_fifo', fifo => true, delay_seconds => 1);
SELECT eventbus.put_rule('fq_delay_rule', '{"source": ["fq.delay"]}');
SELECT eventbus.put_targets('fq_delay_rule', '[{"Id": "std", "Arn": "queue:fq_delayed"},
    {"Id": "fifo", "Arn": "queue:fq_delayed_fifo", "SqsParameters": {"MessageGroupId": "g"}}]');
SELECT eventbus.put_events('[{"Source": "fq.delay", "DetailType": "d", "Detail": "{}"}]') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.send_message('fq_delayed', '{"sent": 1}') IS NOT NULL AS enqueued;
SELECT eventbus.send_message('fq_delayed', '{"sent": 0}', delay_seconds => 0) IS NOT NULL AS enqueued;
SELECT 'std' AS queue, payload ->> 'source' AS source, payload ->> 'sent' AS sent FROM eventbus.receive('fq_delayed', 10, 60)
UNION ALL
SELECT 'fifo', payload ->> 'source', payload ->> 'sent' FROM eventbus.receive('fq_delayed_fifo', 10, 60);
SELECT pg_sleep(1.2);
SELECT 'std' AS queue, payload ->> 'source' AS source, payload ->> 'sent' AS sent FROM eventbus.receive('fq_delayed', 10, 60)
UNION ALL
SELECT 'fifo', payload ->> 'source', payload ->> 'sent' FROM eventbus.receive('fq_delayed_fifo', 10, 60);
SELECT eventbus.delete_rule('fq_delay_rule', force => true);

-- privileges: send_message needs send on the queue
CREATE ROLE fq_sender IN ROLE eventbus_user;
CREATE ROLE fq_stranger IN ROLE eventbus_user;
SELECT eventbus.grant_queue_privilege('fq_plain', 'send', 'fq_sender');
SET ROLE fq_stranger;
SELECT eventbus.send_message('fq_plain', '{"from": "stranger"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE fq_sender;
SELECT eventbus.send_message('fq_plain', '{"from": "sender"}') IS NOT NULL AS enqueued;
-- send is not receive
SELECT * FROM eventbus.receive('fq_plain');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- internal functions are not for PUBLIC
SELECT outbox::oid AS plain_outbox FROM eventbus.queues WHERE name = 'fq_plain' \gset
SET ROLE fq_sender;
SELECT eventbus._send(:plain_outbox::oid::regclass, 'fq_plain', '{}', NULL, NULL, 0);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- many sends: the deletion of expired ids runs now and then (every 500
-- messages a backend writes) and leaves every send its message id
SELECT count(eventbus.send_message('fq_orders', jsonb_build_object('bulk', i), message_group_id => 'bulk')) AS sent
  FROM generate_series(1, 600) i;
-- delete_queue forgets the queue's deduplication ids
SELECT count(*) > 0 AS has_ids FROM eventbus.deduplication d
 WHERE d.outbox = 'eventbus_outbox.queue_fq_orders'::regclass;
SELECT eventbus.delete_queue(q, force => true)
  FROM unnest(ARRAY['fq_orders', 'fq_plain', 'fq_delayed', 'fq_delayed_fifo']) q;
SELECT count(*) AS ids_left FROM eventbus.deduplication;
DROP ROLE fq_sender;
DROP ROLE fq_stranger;
DELETE FROM eventbus.events WHERE source LIKE 'fq.%';
