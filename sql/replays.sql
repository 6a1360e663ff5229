-- Replays (StartReplay, DescribeReplay, CancelReplay, ListReplays): answers,
-- validation, the delivery worker re-sending an archive's events (through
-- rules, FilterArns, "replay-name"), cancels, lost rights, and who may do
-- what.  (A right lost while a replay runs: test/scripts/replay.sh.)
\set SHOW_CONTEXT never
CREATE ROLE rp_owner IN ROLE eventbus_user;
CREATE ROLE rp_reader;
CREATE ROLE rp_putter;
CREATE ROLE rp_both;

-- until the replay is no longer active (the worker runs it), at most 60 s
CREATE FUNCTION pg_temp.wait_replay(replay text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s text;
BEGIN
    FOR i IN 1 .. 1200 LOOP
        SELECT state INTO s FROM eventbus.replays WHERE name = replay;
        EXIT WHEN s NOT IN ('STARTING', 'RUNNING', 'CANCELLING');
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN s;
END;
$$;

SET ROLE rp_owner;
SELECT eventbus.create_event_bus('rp-bus') ->> 'EventBusArn' AS arn;
SELECT eventbus.create_event_bus('rp-other') ->> 'EventBusArn' AS arn;
SELECT eventbus.grant_event_bus_privilege('rp-bus', 'read_events', 'rp_reader');
SELECT eventbus.grant_event_bus_privilege('rp-bus', 'put_events', 'rp_putter');
SELECT eventbus.grant_event_bus_privilege('rp-bus', 'read_events', 'rp_both');
SELECT eventbus.grant_event_bus_privilege('rp-bus', 'put_events', 'rp_both');
SELECT eventbus.put_rule('rp-all', '{"source": ["rp.src"]}', 'rp-bus') ->> 'RuleArn' AS rule;
SELECT eventbus.put_targets('rp-all', '[{"Id": "q", "Arn": "queue:rp_all"}]', 'rp-bus') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.put_rule('rp-again', '{"source": ["rp.src"]}', 'rp-bus') ->> 'RuleArn' AS rule;
SELECT eventbus.put_targets('rp-again', '[{"Id": "q", "Arn": "queue:rp_again"}]', 'rp-bus') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.put_rule('rp-replayed', '{"replay-name": ["rp-1"]}', 'rp-bus') ->> 'RuleArn' AS rule;
SELECT eventbus.put_targets('rp-replayed', '[{"Id": "q", "Arn": "queue:rp_replayed"}]', 'rp-bus') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.put_rule('rp-elsewhere', '{"source": ["rp.src"]}', 'rp-other') ->> 'RuleArn' AS rule;

SELECT eventbus.put_event('rp.src', 'before', '{"n": 0}', 'rp-bus') IS NOT NULL AS put;
SELECT eventbus.create_archive('rp-arch', 'rp-bus') ->> 'State' AS state;
SELECT eventbus.create_archive('rp-big', 'rp-bus', '{"detail": {"n": [{"numeric": [">", 3]}]}}') ->> 'State' AS state;
SELECT eventbus.put_event('rp.src', 'e', jsonb_build_object('n', n), 'rp-bus') IS NOT NULL AS put
  FROM generate_series(1, 5) n;
RESET ROLE;
SELECT (SELECT count(*) FROM eventbus_outbox.queue_rp_all) AS rp_all,
       (SELECT count(*) FROM eventbus_outbox.queue_rp_again) AS rp_again,
       (SELECT count(*) FROM eventbus_outbox.queue_rp_replayed) AS rp_replayed;

-- validation
SET ROLE rp_owner;
SELECT eventbus.start_replay('bad name', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.start_replay('rp-x', 'no-such-archive', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.start_replay('rp-x', 'arn:aws:events:local:000000000000:event-bus/rp-bus', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now(), now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.start_replay('rp-x', 'rp-arch', NULL, now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now() + interval '1 hour',
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(), NULL);
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(), '{"FilterArns": []}');
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'), 'Input', 'x'));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-other')));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'), 'FilterArns', 'rp-all'));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'), 'FilterArns', '[1]'::jsonb));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'),
                                                'FilterArns', jsonb_build_array(eventbus.rule_arn('rp-elsewhere', 'rp-other'))));
SELECT eventbus.start_replay('rp-x', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')), repeat('d', 513));
SELECT count(*) AS replays FROM eventbus.list_replays();

-- StartReplay's answer; the worker re-sends the 5 archived events to every
-- rule of the bus, and the rule on "replay-name" sees them
SELECT eventbus.start_replay('rp-1', eventbus.archive_arn('rp-arch'), now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')), 'all of it')
       - 'ReplayStartTime' AS started;
SELECT eventbus.start_replay('rp-1', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
RESET ROLE;
SELECT pg_temp.wait_replay('rp-1');
SELECT (SELECT count(*) FROM eventbus_outbox.queue_rp_all) AS rp_all,
       (SELECT count(*) FROM eventbus_outbox.queue_rp_again) AS rp_again,
       (SELECT count(*) FROM eventbus_outbox.queue_rp_replayed) AS rp_replayed;
SELECT e.detail, e.replay_name, eventbus.event_envelope(e) ->> 'replay-name' AS envelope_replay_name
  FROM eventbus_outbox.queue_rp_replayed q
  JOIN eventbus.events e ON e.id = q.event_id AND e.ingestion_time = q.event_ingestion_time
 ORDER BY e.detail ->> 'n';
-- the same ids and times as the originals, new ingestion times
SELECT count(*) AS same_id_and_time
  FROM eventbus.events r JOIN eventbus.events o ON o.id = r.id AND o."time" = r."time"
 WHERE r.replay_name = 'rp-1' AND o.replay_name IS NULL AND r.ingestion_time > o.ingestion_time;
SELECT replayed_count, cursor_ingestion_time = event_last_replayed_time AS cursor_is_last
  FROM eventbus.replays WHERE name = 'rp-1';
SET ROLE rp_owner;
-- replayed events are in no archive
SELECT eventbus.describe_archive('rp-arch') ->> 'EventCount' AS event_count;
SELECT eventbus.describe_replay('rp-1') - 'EventStartTime' - 'EventEndTime' - 'EventLastReplayedTime'
       - 'ReplayStartTime' - 'ReplayEndTime' AS described;
SELECT (d ->> 'ReplayStartTime')::timestamptz <= (d ->> 'ReplayEndTime')::timestamptz AS ended_after_start,
       (d ->> 'EventLastReplayedTime')::timestamptz < (d ->> 'EventEndTime')::timestamptz AS last_in_window
  FROM eventbus.describe_replay('rp-1') d;
SELECT replay_name, event_source_arn, state, state_reason FROM eventbus.list_replays();

-- FilterArns: only those rules get the replayed events
SELECT eventbus.start_replay('rp-2', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'),
                                                'FilterArns', jsonb_build_array(eventbus.rule_arn('rp-again', 'rp-bus'))))
       ->> 'State' AS state;
RESET ROLE;
SELECT pg_temp.wait_replay('rp-2');
SELECT (SELECT count(*) FROM eventbus_outbox.queue_rp_all) AS rp_all,
       (SELECT count(*) FROM eventbus_outbox.queue_rp_again) AS rp_again,
       (SELECT count(*) FROM eventbus_outbox.queue_rp_replayed) AS rp_replayed;
SET ROLE rp_owner;
SELECT eventbus.describe_replay('rp-2') -> 'Destination' -> 'FilterArns' AS filter_arns;
-- a window: only the events ingested in it
SELECT eventbus.start_replay('rp-3', 'rp-arch', now() - interval '1 hour', now() - interval '30 minutes',
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'))) ->> 'State' AS state;
RESET ROLE;
SELECT pg_temp.wait_replay('rp-3');
SELECT replayed_count, event_last_replayed_time FROM eventbus.replays WHERE name = 'rp-3';

-- ListReplays' filters (exclusive)
SET ROLE rp_owner;
SELECT replay_name FROM eventbus.list_replays(name_prefix => 'rp-2');
SELECT replay_name FROM eventbus.list_replays(state => 'COMPLETED');
SELECT replay_name FROM eventbus.list_replays(event_source_arn => eventbus.archive_arn('rp-arch'));
SELECT replay_name FROM eventbus.list_replays(event_source_arn => 'other-archive');
SELECT replay_name FROM eventbus.list_replays('rp', 'COMPLETED');
SELECT replay_name FROM eventbus.list_replays(state => 'DONE');

-- an archive with a pattern replays the events it matches
SELECT eventbus.start_replay('rp-4', 'rp-big', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'),
                                                'FilterArns', jsonb_build_array(eventbus.rule_arn('rp-again', 'rp-bus'))))
       ->> 'State' AS state;
RESET ROLE;
SELECT pg_temp.wait_replay('rp-4');
SELECT replayed_count FROM eventbus.replays WHERE name = 'rp-4';
SELECT e.detail FROM eventbus.events e WHERE e.replay_name = 'rp-4' ORDER BY e.detail ->> 'n';
SELECT count(*) AS rp_again FROM eventbus_outbox.queue_rp_again;
SET ROLE rp_owner;

-- CancelReplay: only while STARTING or RUNNING; a cancel before the worker
-- starts ends it CANCELLED with nothing replayed
SELECT eventbus.cancel_replay('rp-1');
SELECT eventbus.cancel_replay('no-such-replay');
SELECT eventbus.describe_replay('no-such-replay');
BEGIN;
SELECT eventbus.start_replay('rp-cancel', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'))) ->> 'State' AS state;
SELECT eventbus.cancel_replay('rp-cancel');
SAVEPOINT again;
SELECT eventbus.cancel_replay('rp-cancel');
ROLLBACK TO again;
COMMIT;
RESET ROLE;
SELECT pg_temp.wait_replay('rp-cancel');
SELECT replayed_count, state_reason, replay_end_time IS NOT NULL AS ended
  FROM eventbus.replays WHERE name = 'rp-cancel';

-- an archive, and its bus, are not deleted while a replay of it is active
SET ROLE rp_owner;
BEGIN;
SELECT eventbus.start_replay('rp-busy', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus'))) ->> 'State' AS state;
SAVEPOINT s;
SELECT eventbus.delete_archive('rp-arch');
ROLLBACK TO s;
SELECT eventbus.delete_event_bus('rp-bus', force => true);
ROLLBACK;
RESET ROLE;

-- rights: read_events on the archive's bus and put_events on the destination
SET ROLE rp_reader;
SELECT eventbus.start_replay('rp-r', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.describe_replay('rp-1') ->> 'State' AS state;
SELECT replay_name FROM eventbus.list_replays() ORDER BY 1 LIMIT 1;
SELECT eventbus.cancel_replay('rp-1');
RESET ROLE;
SET ROLE rp_putter;
SELECT eventbus.start_replay('rp-p', 'rp-arch', now() - interval '1 hour', now(),
                             jsonb_build_object('Arn', eventbus.event_bus_arn('rp-bus')));
SELECT eventbus.describe_replay('rp-1');
SELECT count(*) AS visible FROM eventbus.list_replays();
SELECT count(*) FROM eventbus.replays;
RESET ROLE;

SET ROLE rp_owner;
SELECT eventbus.delete_archive('rp-arch');
SELECT eventbus.delete_archive('rp-big');
SELECT eventbus.describe_replay('rp-1') ->> 'EventSourceArn' AS archive_gone;
SELECT eventbus.delete_event_bus('rp-bus', force => true);
SELECT eventbus.delete_event_bus('rp-other', force => true);
SELECT eventbus.delete_queue(q, force => true) FROM unnest(ARRAY['rp_all', 'rp_again', 'rp_replayed']) q;
RESET ROLE;
DELETE FROM eventbus.replays;
DROP ROLE rp_owner, rp_reader, rp_putter, rp_both;
