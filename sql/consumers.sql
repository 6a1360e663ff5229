-- Pull consumers: receive, ack, nack, change_visibility, queue_depth, and the
-- move to the dead letters after max_receive_count receives.  Messages are
-- written to the queue's outbox directly (routing is tested elsewhere).
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

SELECT name, max_receive_count, outbox FROM eventbus.create_queue('consumers_q', 3);

-- Nothing to receive yet.
SELECT * FROM eventbus.receive('consumers_q');
SELECT visible, in_flight, oldest_message_age FROM eventbus.queue_depth('consumers_q');

-- Three events, with fixed ids and times so that envelopes are stable.
INSERT INTO eventbus.events (id, "time", source, detail_type, account, region, resources, detail)
VALUES ('00000000-0000-4000-8000-000000000001', '2024-01-02 03:04:05.678+00', 'test.consumers',
        'Order Placed', '123456789012', 'eu-west-1', '{arn:aws:test:order/1}', '{"order": 1}'),
       ('00000000-0000-4000-8000-000000000002', '2024-01-02 23:59:59+05', 'test.consumers',
        'Order Shipped', '123456789012', 'eu-west-1', '{}', '{"order": 2, "items": [1, 2]}'),
       ('00000000-0000-4000-8000-000000000003', '2024-02-29 12:00:00+00', 'test.consumers',
        'Order Placed', '123456789012', 'eu-west-1', '{a,b}', '{"order": 3}');

-- Messages 1 to 5: payload NULL means "the event's envelope"; message 4 has
-- a transformed payload; message 5 names an event that does not exist.
INSERT INTO eventbus_outbox.queue_consumers_q
       (event_id, event_ingestion_time, bus, rule, target_id, payload)
SELECT e.id, e.ingestion_time, e.bus, 'orders', 'audit', NULL
  FROM eventbus.events e WHERE e.source = 'test.consumers' ORDER BY e.id;
INSERT INTO eventbus_outbox.queue_consumers_q
       (event_id, event_ingestion_time, bus, rule, target_id, payload)
SELECT e.id, e.ingestion_time, e.bus, 'orders', 'transformed', '{"order": 1, "custom": true}'
  FROM eventbus.events e WHERE e.id = '00000000-0000-4000-8000-000000000001';
INSERT INTO eventbus_outbox.queue_consumers_q
       (event_id, event_ingestion_time, bus, rule, target_id, payload)
VALUES ('00000000-0000-4000-8000-0000000000ff', now(), 'default', 'orders', 'audit', NULL);

SELECT visible, in_flight, oldest_message_age IS NOT NULL AS has_age
  FROM eventbus.queue_depth('consumers_q');

-- The envelope, as EventBridge delivers it: time in UTC to the second.
SELECT jsonb_pretty(eventbus.event_envelope(e)) FROM eventbus.events e
 WHERE e.id = '00000000-0000-4000-8000-000000000002';

-- receive: the lowest message ids first, hidden for visibility_timeout.
SELECT message_id, event_id, payload, receive_count, rule, target_id
  FROM eventbus.receive('consumers_q', 2, 30);
SELECT message_id, event_id, payload, receive_count, rule, target_id
  FROM eventbus.receive('consumers_q', max_messages => 10);
-- All five are hidden now: nothing is delivered twice.
SELECT * FROM eventbus.receive('consumers_q', 10);
SELECT visible, in_flight FROM eventbus.queue_depth('consumers_q');
-- receive recorded the attempt and hid the message for 30 seconds.
SELECT message_id, receive_count,
       first_attempt_at = last_attempt_at AS first_is_last,
       visible_at - last_attempt_at AS hidden_for,
       enqueued_at <= first_attempt_at AS after_enqueue
  FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;

-- ack deletes; ids not (or no longer) in the queue do not count.
SELECT eventbus.ack('consumers_q', ARRAY[1, 2, 99]);
SELECT eventbus.ack('consumers_q', ARRAY[1, 2]);
SELECT eventbus.ack('consumers_q', '{}');
SELECT message_id FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;

-- nack: visible again now (default), its receive count kept.
SELECT eventbus.nack('consumers_q', ARRAY[3]);
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 10);
-- nack with a delay keeps it hidden for that long.
SELECT eventbus.nack('consumers_q', ARRAY[3], 600);
SELECT message_id, visible_at - clock_timestamp() BETWEEN interval '590 s' AND interval '600 s' AS delayed
  FROM eventbus_outbox.queue_consumers_q WHERE message_id = 3;
SELECT * FROM eventbus.receive('consumers_q', 10);

-- change_visibility: 0 releases messages, a longer timeout extends the hold.
SELECT eventbus.change_visibility('consumers_q', ARRAY[4, 5, 3], 0);
SELECT eventbus.change_visibility('consumers_q', ARRAY[5], 43200);
SELECT message_id, visible_at - clock_timestamp() > interval '11 hours 59 minutes' AS hidden_12h
  FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;
SELECT message_id, receive_count, payload FROM eventbus.receive('consumers_q', 10, 0);

-- visibility_timeout 0: each receive delivers the messages again.  Message
-- 3 has now been received 3 times, the queue's max_receive_count: the next
-- receive moves it to the dead letters instead of returning it, and
-- returns message 4 in its place; the receive after that moves message 4.
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 1, 0);
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 10, 0);
SELECT message_id FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;
SELECT queue, message_id, event_id, payload, error_code, error_message, exhausted_condition,
       retry_attempts, bus, rule, target_id,
       event_ingestion_time IS NOT NULL AS has_ingestion_time,
       first_attempt_at < last_attempt_at AS attempts_ordered,
       last_attempt_at <= dead_lettered_at AS dead_lettered_after
  FROM eventbus.dead_letters WHERE queue = 'consumers_q' ORDER BY message_id;

-- Several exhausted messages ahead of a live one: one receive moves them
-- all (in as many passes as needed) and still returns the live one.
SELECT eventbus.change_visibility('consumers_q', ARRAY[5], 0);
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 10, 0);
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 10, 0);
INSERT INTO eventbus_outbox.queue_consumers_q
       (event_id, event_ingestion_time, bus, rule, target_id, payload)
SELECT '00000000-0000-4000-8000-000000000001', now(), 'default', 'orders', 'audit',
       jsonb_build_object('late', i)
  FROM generate_series(6, 9) i;
-- (as if 6, 7 and 8 had been received 3 times)
UPDATE eventbus_outbox.queue_consumers_q SET receive_count = 3 WHERE message_id IN (6, 7, 8);
SELECT message_id, receive_count, payload FROM eventbus.receive('consumers_q', 1, 0);
SELECT message_id, retry_attempts, payload FROM eventbus.dead_letters
 WHERE queue = 'consumers_q' ORDER BY message_id;
SELECT message_id, receive_count FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;

-- A receive that rolls back leaves no trace: same message, same count.
BEGIN;
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 10, 600);
ROLLBACK;
SELECT message_id, receive_count FROM eventbus.receive('consumers_q', 10, 600);

-- Errors: an unknown queue (42704), invalid arguments (22023).
SELECT * FROM eventbus.receive('no_such_queue');
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.ack('no_such_queue', ARRAY[1]);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.nack('no_such_queue', ARRAY[1]);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.change_visibility('no_such_queue', ARRAY[1], 10);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.queue_depth('no_such_queue');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('consumers_q', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('consumers_q', 10001);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('consumers_q', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('consumers_q', 1, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('consumers_q', 1, 43201);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('consumers_q', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.ack('consumers_q', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.nack('consumers_q', ARRAY[9], -1);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.nack('consumers_q', ARRAY[9], NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.change_visibility('consumers_q', ARRAY[9], 43201);
\echo :LAST_ERROR_SQLSTATE
SELECT eventbus.change_visibility('consumers_q', NULL, 10);
\echo :LAST_ERROR_SQLSTATE
-- No error above changed a message.
SELECT message_id, receive_count, visible_at > clock_timestamp() AS hidden
  FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;

-- A dead-letter move that rolls back leaves the message in the queue.
SELECT eventbus.change_visibility('consumers_q', ARRAY[9], 0);
UPDATE eventbus_outbox.queue_consumers_q SET receive_count = 3 WHERE message_id = 9;
BEGIN;
SELECT * FROM eventbus.receive('consumers_q', 10);
SELECT count(*) FROM eventbus.dead_letters WHERE queue = 'consumers_q' AND message_id = 9;
ROLLBACK;
SELECT message_id, receive_count FROM eventbus_outbox.queue_consumers_q ORDER BY message_id;
SELECT count(*) FROM eventbus.dead_letters WHERE queue = 'consumers_q' AND message_id = 9;
-- The largest arguments are accepted (and the move happens this time).
SELECT count(*) FROM eventbus.receive('consumers_q', 10000, 43200);
SELECT visible, in_flight, oldest_message_age FROM eventbus.queue_depth('consumers_q');
SELECT message_id, retry_attempts FROM eventbus.dead_letters
 WHERE queue = 'consumers_q' ORDER BY message_id;

-- Every consumer function has a comment.
SELECT p.oid::regprocedure AS function, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
  FROM pg_proc p
 WHERE p.pronamespace = 'eventbus'::regnamespace
   AND p.proname IN ('receive', 'ack', 'nack', 'change_visibility', 'queue_depth', '_envelope',
                     '_queue', '_set_visibility', '_check_seconds', '_check_message_ids')
 ORDER BY 1::text;

-- Clean up.
SELECT eventbus.ack('consumers_q', ARRAY(SELECT message_id FROM eventbus_outbox.queue_consumers_q));
SELECT eventbus.delete_queue('consumers_q');
DELETE FROM eventbus.dead_letters WHERE queue = 'consumers_q';
DELETE FROM eventbus.events WHERE source = 'test.consumers';
