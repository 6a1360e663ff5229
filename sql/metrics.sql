-- Metrics: the counters behind rule_stats, queue_stats and target_stats,
-- eventbus.reset_stats() and the views' stats_reset (as pg_stat_reset() and
-- pg_stat_database.stats_reset).  The suite runs with eventbus preloaded, so
-- the counters are kept.  Queue targets only: no delivery worker touches
-- these counters meanwhile.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

SELECT create_event_bus('mt-bus') ? 'EventBusArn' AS bus;
SELECT put_rule('mt-rule', '{"source": ["mt.shop"]}', 'mt-bus') ? 'RuleArn' AS rule;
SELECT put_targets('mt-rule', '[{"Id": "q", "Arn": "queue:mt_q"}]', 'mt-bus') ->> 'FailedEntryCount' AS failed;

-- Three events matched and enqueued, one message received and acked.
SELECT count(put_event('mt.shop', 'Order', jsonb_build_object('n', i), 'mt-bus')) AS put
  FROM generate_series(1, 3) AS i;
SELECT eventbus.ack('mt_q', array_agg(message_id)) AS acked FROM eventbus.receive('mt_q', 1, 30);

-- Counters are non-zero.
SELECT rule, matched_events, triggered_rules FROM rule_stats WHERE bus = 'mt-bus';
SELECT queue, enqueued, received, acked, backlog FROM queue_stats WHERE queue = 'mt_q';
SELECT target_id, enqueued, queue_received, queue_acked FROM target_stats WHERE bus = 'mt-bus';

-- Never reset in this database: the counters count from the server's start.
SELECT stats_reset AS before FROM queue_stats WHERE queue = 'mt_q' \gset
SELECT :'before'::timestamptz = pg_postmaster_start_time() AS since_server_start;
-- All three views show the same time.
SELECT (SELECT stats_reset FROM rule_stats WHERE bus = 'mt-bus') = :'before'
   AND (SELECT stats_reset FROM target_stats WHERE bus = 'mt-bus') = :'before' AS same_in_every_view;

-- Reset: every counter of this database is zero and stats_reset is now.
SELECT clock_timestamp() AS t0 \gset
SELECT reset_stats();
SELECT rule, matched_events, triggered_rules, stats_reset > :'before' AS advanced,
       stats_reset BETWEEN :'t0' AND clock_timestamp() AS is_now
  FROM rule_stats WHERE bus = 'mt-bus';
-- The backlog is the queue's depth, not a counter: the two messages stay.
SELECT queue, enqueued, received, acked, dead_lettered, backlog,
       stats_reset BETWEEN :'t0' AND clock_timestamp() AS is_now
  FROM queue_stats WHERE queue = 'mt_q';
SELECT target_id, enqueued, invocations, latency_samples, queue_received, queue_acked,
       stats_reset BETWEEN :'t0' AND clock_timestamp() AS is_now
  FROM target_stats WHERE bus = 'mt-bus';

-- Counting goes on from zero.
SELECT put_event('mt.shop', 'Order', '{"n": 4}', 'mt-bus') IS NOT NULL AS put;
SELECT matched_events FROM rule_stats WHERE bus = 'mt-bus';

-- The reset is not transactional (as pg_stat_reset()): rolling back does not
-- bring the counts back, and a transaction in progress publishes its counts
-- when it commits, after the reset.
SELECT stats_reset AS first_reset FROM rule_stats WHERE bus = 'mt-bus' \gset
BEGIN;
SELECT count(*) AS received FROM eventbus.receive('mt_q', 1, 30);
SELECT reset_stats();
ROLLBACK;
SELECT matched_events, stats_reset > :'first_reset' AS advanced_again FROM rule_stats WHERE bus = 'mt-bus';
BEGIN;
SELECT count(*) AS received FROM eventbus.receive('mt_q', 1, 30);
SELECT reset_stats();
COMMIT;
SELECT received FROM queue_stats WHERE queue = 'mt_q';

-- Who may reset: EXECUTE is revoked from PUBLIC, as for pg_stat_reset().
SELECT has_function_privilege('public', 'eventbus.reset_stats()', 'EXECUTE') AS public_may_reset;
SELECT put_event('mt.shop', 'Order', '{"n": 5}', 'mt-bus') IS NOT NULL AS put;
CREATE ROLE regress_mt_monitor;
-- Every role reads the views, which show it only what it may read: here,
-- nothing, and it may not reset them.
SET ROLE regress_mt_monitor;
SELECT (SELECT count(*) FROM eventbus.rule_stats) AS rules_seen,
       (SELECT count(*) FROM eventbus.target_stats) AS targets_seen,
       (SELECT count(*) FROM eventbus.queue_stats) AS queues_seen;
SELECT eventbus.reset_stats();
-- the raw counters are not for PUBLIC
SELECT count(*) FROM eventbus._stats();
RESET ROLE;
-- read_events on the bus shows its rules and targets; receive on the
-- queue shows the queue (and a queue target's queue columns)
SELECT grant_event_bus_privilege('mt-bus', 'read_events', 'regress_mt_monitor');
SET ROLE regress_mt_monitor;
SELECT rule, matched_events FROM eventbus.rule_stats;
SELECT target_id, queue_received IS NULL AS no_queue_columns FROM eventbus.target_stats;
SELECT count(*) AS queues_seen FROM eventbus.queue_stats;
RESET ROLE;
SELECT grant_queue_privilege('mt_q', 'receive', 'regress_mt_monitor');
SET ROLE regress_mt_monitor;
SELECT target_id, queue_received IS NULL AS no_queue_columns FROM eventbus.target_stats;
SELECT queue FROM eventbus.queue_stats;
-- delivery_workers: the backlog (of every push target) only for eventbus_admin
SELECT count(*) FILTER (WHERE backlog IS NOT NULL) AS rows_with_backlog
  FROM eventbus.delivery_workers;
SELECT eventbus._push_backlog() IS NULL AS no_backlog;
RESET ROLE;
SELECT eventbus._push_backlog() IS NOT NULL AS admin_sees_backlog;
-- The refused call reset nothing.
SELECT matched_events FROM rule_stats WHERE bus = 'mt-bus';
-- Granted, the role may reset.
GRANT EXECUTE ON FUNCTION eventbus.reset_stats() TO regress_mt_monitor;
SET ROLE regress_mt_monitor;
SELECT eventbus.reset_stats();
RESET ROLE;
SELECT matched_events FROM rule_stats WHERE bus = 'mt-bus';

-- Clean up.
REVOKE EXECUTE ON FUNCTION eventbus.reset_stats() FROM regress_mt_monitor;
SELECT delete_event_bus('mt-bus', force => true);
SELECT delete_queue('mt_q', force => true);
-- deleting the bus and the queue deleted their grants
SELECT count(*) AS grants_left FROM eventbus.grants WHERE grantee = 'regress_mt_monitor'::regrole;
DROP ROLE regress_mt_monitor;
DELETE FROM eventbus.events WHERE bus = 'mt-bus';
