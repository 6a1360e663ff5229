-- Who may put and read events, bus by bus: put_events / put_event refuse a
-- bus the caller may not put on, row-level security holds plain INSERTs
-- and SELECTs on eventbus.events (and its view) and SELECTs on the dead
-- letters to the same privileges; plain INSERTs and COPYs obey
-- eventbus.max_entry_size; a queue target routes only while its owner may
-- send to the queue; the internal functions that take an outbox refuse
-- any other relation.
\set SHOW_CONTEXT never
CREATE ROLE rs_owner;
CREATE ROLE rs_producer;
CREATE ROLE rs_reader;
CREATE ROLE rs_stranger;
CREATE ROLE rs_manager;

SELECT eventbus.create_event_bus('rs-bus') ->> 'EventBusArn' AS arn;
SELECT eventbus.create_event_bus('rs-other') ->> 'EventBusArn' AS arn;
-- owners as the API functions record them
UPDATE eventbus.event_buses SET owner = 'rs_owner' WHERE name IN ('rs-bus', 'rs-other');
SET ROLE rs_owner;
SELECT eventbus.grant_event_bus_privilege('rs-bus', 'put_events', 'rs_producer');
SELECT eventbus.grant_event_bus_privilege('rs-bus', 'read_events', 'rs_reader');
RESET ROLE;

-- put_events: an entry for a bus without put_events fails alone, with
-- PutEvents' AccessDeniedException; the good ones are stored; an unknown
-- bus is still ResourceNotFoundException
SET ROLE rs_producer;
SELECT jsonb_pretty(eventbus.put_events(jsonb_build_array(
    jsonb_build_object('Source', 'rs', 'DetailType', 'ok', 'Detail', '{"n": 1}', 'EventBusName', 'rs-bus'),
    jsonb_build_object('Source', 'rs', 'DetailType', 'denied', 'Detail', '{"n": 2}', 'EventBusName', 'rs-other'),
    jsonb_build_object('Source', 'rs', 'DetailType', 'denied', 'Detail', '{"n": 3}',
                       'EventBusName', 'arn:aws:events:local:000000000000:event-bus/rs-other'),
    jsonb_build_object('Source', 'rs', 'DetailType', 'missing', 'Detail', '{"n": 4}', 'EventBusName', 'rs-nowhere'),
    jsonb_build_object('Source', 'rs', 'DetailType', 'ok', 'Detail', '{"n": 5}', 'EventBusName', 'rs-bus')))
    #- '{Entries,0,EventId}' #- '{Entries,4,EventId}');
-- put_event raises 42501
SELECT eventbus.put_event('rs', 'denied', '{"n": 6}', 'rs-other');
SELECT eventbus.put_event('rs', 'denied', '{"n": 7}');
SELECT eventbus.put_event('rs', 'missing', '{"n": 8}', 'rs-nowhere');
SELECT eventbus.put_event('rs', 'ok', '{"n": 9}', 'rs-bus') IS NOT NULL AS put;
RESET ROLE;
-- only the entries on rs-bus were stored
SELECT bus, detail_type, detail FROM eventbus.events WHERE source = 'rs' ORDER BY detail->>'n';

-- a grant to PUBLIC lets every role put; a revoke takes it back
SET ROLE rs_owner;
SELECT eventbus.grant_event_bus_privilege('rs-other', 'put_events', 'PUBLIC');
SET ROLE rs_stranger;
SELECT eventbus.put_event('rs', 'public', '{"n": 10}', 'rs-other') IS NOT NULL AS put;
SET ROLE rs_owner;
SELECT eventbus.revoke_event_bus_privilege('rs-other', 'put_events', 'PUBLIC');
SET ROLE rs_stranger;
SELECT eventbus.put_events('[{"Source": "rs", "DetailType": "revoked", "Detail": {"n": 11}, "EventBusName": "rs-other"}]')
       -> 'Entries' -> 0 ->> 'ErrorCode' AS error_code;
RESET ROLE;

-- plain INSERT: held to put_events by row-level security
SET ROLE rs_producer;
INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES ('rs-bus', 'rs', 'insert', '{"n": 12}');
INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES ('rs-other', 'rs', 'insert', '{"n": 13}');
INSERT INTO eventbus.events (source, detail_type, detail) VALUES ('rs', 'insert', '{"n": 14}');
-- nor pass an event off as replayed (it would escape every archive): only
-- an active replay's owner puts events with its name
INSERT INTO eventbus.events (bus, source, detail_type, detail, replay_name) VALUES ('rs-bus', 'rs', 'insert', '{"n": 15}', 'rs-replay');
-- producers cannot read what they put, change or delete events, or reach a partition
SELECT count(*) FROM eventbus.events;
UPDATE eventbus.events SET detail = '{}' WHERE source = 'rs';
DELETE FROM eventbus.events WHERE source = 'rs';
TRUNCATE eventbus.events;
SELECT count(*) FROM eventbus.events_default;
INSERT INTO eventbus.events_default (bus, source, detail_type, detail) VALUES ('rs-other', 'rs', 'partition', '{}');
RESET ROLE;

-- reading: only the buses a role holds read_events on, through the table and the view
SET ROLE rs_reader;
SELECT bus, detail_type, detail->>'n' AS n FROM eventbus.events ORDER BY 3;
SELECT bus, envelope->>'detail-type' AS detail_type FROM eventbus.event_envelopes ORDER BY envelope->'detail'->>'n';
SET ROLE rs_stranger;
SELECT count(*) FROM eventbus.events;
SELECT count(*) FROM eventbus.event_envelopes;
RESET ROLE;
-- the bus owner reads its buses' events
SET ROLE rs_owner;
SELECT bus, count(*) FROM eventbus.events GROUP BY bus ORDER BY bus;
RESET ROLE;

-- dead letters: read_events on the bus, or owning the rule
SELECT eventbus.put_rule('rs-mine', '{"source": ["rs"]}', 'rs-other') IS NOT NULL AS rule;
SELECT eventbus.put_rule('rs-theirs', '{"source": ["rs"]}', 'rs-bus') IS NOT NULL AS rule;
UPDATE eventbus.rules SET owner = 'rs_manager' WHERE name = 'rs-mine';
UPDATE eventbus.rules SET owner = 'rs_owner' WHERE name = 'rs-theirs';
INSERT INTO eventbus.dead_letters (bus, rule, target_id, event_id, error_code)
VALUES ('rs-other', 'rs-mine', 't', gen_random_uuid(), 'mine'),
       ('rs-bus', 'rs-theirs', 't', gen_random_uuid(), 'theirs');
SET ROLE rs_manager;
SELECT rule, error_code FROM eventbus.dead_letters ORDER BY 1;
DELETE FROM eventbus.dead_letters;
SET ROLE rs_reader;
SELECT rule, error_code FROM eventbus.dead_letters ORDER BY 1;
SET ROLE rs_stranger;
SELECT count(*) FROM eventbus.dead_letters;
RESET ROLE;
-- rules change: the owner cache follows
UPDATE eventbus.rules SET owner = 'rs_stranger' WHERE name = 'rs-mine';
SET ROLE rs_stranger;
SELECT rule, error_code FROM eventbus.dead_letters ORDER BY 1;
RESET ROLE;
DELETE FROM eventbus.dead_letters WHERE rule IN ('rs-mine', 'rs-theirs');
SELECT eventbus.delete_rule('rs-mine', 'rs-other', force => true);
SELECT eventbus.delete_rule('rs-theirs', 'rs-bus', force => true);

-- plain INSERT and COPY obey eventbus.max_entry_size, counted as put_events counts
SET eventbus.max_entry_size = 1024;
-- 14 (time) + 2 (source) + 4 (detail_type) + 1004 (detail text) = 1024 bytes: in
INSERT INTO eventbus.events (id, bus, source, detail_type, detail)
VALUES ('00000000-0000-4000-8000-000000000001', 'rs-bus', 'rs', 'size',
        jsonb_build_object('s', repeat('x', 995)));
-- one byte more: refused
INSERT INTO eventbus.events (id, bus, source, detail_type, detail)
VALUES ('00000000-0000-4000-8000-000000000002', 'rs-bus', 'rs', 'size',
        jsonb_build_object('s', repeat('x', 996)));
-- resources count too
INSERT INTO eventbus.events (id, bus, source, detail_type, resources, detail)
VALUES ('00000000-0000-4000-8000-000000000003', 'rs-bus', 'rs', 'size', ARRAY['arn:a'],
        jsonb_build_object('s', repeat('x', 995)));
-- put_event (which always has a time, as a stored event) refuses the same event
SELECT eventbus.put_event('rs', 'size', jsonb_build_object('s', repeat('x', 996)), 'rs-bus');
-- put_events counts the 14 bytes only for an entry with a Time
SELECT eventbus.put_events(jsonb_build_array(jsonb_build_object('Source', 'rs', 'DetailType', 'size',
           'Detail', jsonb_build_object('s', repeat('x', 996)), 'EventBusName', 'rs-bus',
           'Time', '2024-05-01T12:30:00Z'))) -> 'Entries' -> 0 ->> 'ErrorMessage' AS error;
-- COPY: one byte over
COPY eventbus.events (id, bus, source, detail_type, detail) FROM stdin;
00000000-0000-4000-8000-000000000004	rs-bus	rs	size	{"s": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
\.
-- a number stored in a few bytes that prints as 1011 digits counts 1011 bytes, as in put_events
INSERT INTO eventbus.events (id, bus, source, detail_type, detail)
VALUES ('00000000-0000-4000-8000-000000000005', 'rs-bus', 'rs', 'size', '{"n": 1e1010}');
SELECT eventbus.put_event('rs', 'size', '{"n": 1e1010}', 'rs-bus');
RESET eventbus.max_entry_size;
SELECT id FROM eventbus.events WHERE detail_type = 'size' ORDER BY id;

-- a queue target routes only while its owner holds send on the queue
SELECT eventbus.put_rule('rs-route', '{"source": ["rs.route"]}', 'rs-bus') IS NOT NULL AS rule;
SELECT eventbus.put_targets('rs-route', '[{"Id": "q", "Arn": "queue:rs_q"}]', 'rs-bus') ->> 'FailedEntryCount' AS failed;
-- the target acts as rs_manager (as if rs_manager had put it)
UPDATE eventbus.targets SET owner = 'rs_manager' WHERE rule = 'rs-route';
SELECT eventbus.put_event('rs.route', 'a', '{"n": 1}', 'rs-bus') IS NOT NULL AS put;
SELECT count(*) AS messages FROM eventbus_outbox.queue_rs_q;
SELECT eventbus.grant_queue_privilege('rs_q', 'send', 'rs_manager');
SELECT eventbus.put_event('rs.route', 'b', '{"n": 2}', 'rs-bus') IS NOT NULL AS put;
SELECT count(*) AS messages FROM eventbus_outbox.queue_rs_q;
SELECT eventbus.revoke_queue_privilege('rs_q', 'send', 'rs_manager');
SELECT eventbus.put_event('rs.route', 'c', '{"n": 3}', 'rs-bus') IS NOT NULL AS put;
SELECT payload IS NULL AS references_event, (SELECT detail_type FROM eventbus.events e WHERE e.id = o.event_id) AS detail_type
  FROM eventbus_outbox.queue_rs_q o;
-- the refused messages count as failed invocations (nothing is written)
SELECT enqueued, failed_invocations FROM eventbus.target_stats WHERE rule = 'rs-route';

-- internal functions touch registered outbox tables only, even for a superuser
CREATE TABLE public.rs_fake (message_id bigint, event_id uuid, event_ingestion_time timestamptz,
    bus text, rule text, target_id text, payload jsonb, enqueued_at timestamptz DEFAULT now(),
    visible_at timestamptz DEFAULT now(), receive_count integer DEFAULT 0, first_attempt_at timestamptz,
    last_attempt_at timestamptz, last_error_code text, last_error_message text);
INSERT INTO public.rs_fake (message_id, event_id, event_ingestion_time, bus, rule, target_id)
VALUES (1, gen_random_uuid(), now(), 'rs-bus', 'r', 't');
SELECT * FROM eventbus._receive_pass('public.rs_fake', clock_timestamp(), 10, 5, 30, 'rs_q', 0);
SELECT eventbus._delete_messages('public.rs_fake', ARRAY[1::bigint]);
SELECT eventbus._enqueue('public.rs_fake', gen_random_uuid(), now(), 'rs-bus', 'r', 't', NULL);
SELECT eventbus._dead_letter('public.rs_fake', ARRAY[1::bigint], 'X', 'x');
SELECT eventbus._receive_pass('pg_catalog.pg_class', clock_timestamp(), 10, 5, 30, 'rs_q', 0);
SELECT count(*) AS untouched FROM public.rs_fake;
-- a table of an outbox's shape in eventbus_outbox that no queue or target names
CREATE TABLE eventbus_outbox.queue_rs_rogue (LIKE public.rs_fake);
SELECT * FROM eventbus._receive_pass('eventbus_outbox.queue_rs_rogue', clock_timestamp(), 10, 5, 30, 'rs_q', 0);
DROP TABLE eventbus_outbox.queue_rs_rogue;
-- a TEMP table whose column types differ (this used to crash the backend)
CREATE TEMP TABLE rs_temp (message_id bigint, event_id uuid, event_ingestion_time timestamptz,
    payload jsonb, receive_count int, enqueued_at timestamptz, rule bigint, target_id text,
    visible_at timestamptz, first_attempt_at timestamptz, last_attempt_at timestamptz);
INSERT INTO rs_temp VALUES (1, gen_random_uuid(), now(), '{}', 0, now(), 12345, 't', now() - interval '1 s');
DO $$
BEGIN
    PERFORM * FROM eventbus._receive_pass('pg_temp.rs_temp', clock_timestamp(), 10, 5, 30, 'rs_q', 0);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'refused with %', SQLSTATE;
END
$$;
-- a registered queue outbox whose column type was changed: refused (22023)
ALTER TABLE eventbus_outbox.queue_rs_q ALTER COLUMN rule TYPE varchar;
SELECT * FROM eventbus._receive_pass((SELECT outbox FROM eventbus.queues WHERE name = 'rs_q'),
                                     clock_timestamp(), 10, 5, 30, 'rs_q', 0);
SELECT eventbus.receive('rs_q');
ALTER TABLE eventbus_outbox.queue_rs_q ALTER COLUMN rule TYPE text;
SELECT count(*) AS received FROM eventbus.receive('rs_q', 10);
-- the server is still up
SELECT 1 AS alive;

-- Clean up.
DROP TABLE public.rs_fake;
SELECT eventbus.delete_event_bus('rs-bus', force => true);
SELECT eventbus.delete_event_bus('rs-other', force => true);
SELECT eventbus.delete_queue('rs_q', force => true);
DELETE FROM eventbus.events WHERE source LIKE 'rs%';
DELETE FROM eventbus.grants WHERE object_name IN ('rs-bus', 'rs-other', 'rs_q');
DROP ROLE rs_owner, rs_producer, rs_reader, rs_stranger, rs_manager;
