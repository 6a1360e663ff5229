-- Metrics: shared-memory counters (see src/stats.c) joined with the
-- catalog and with each queue's current depth.  Counters count what
-- committed since the database's last reset_stats() (or the server's
-- start), shown as stats_reset; they need eventbus in
-- shared_preload_libraries (without it they stay at zero).

CREATE FUNCTION eventbus._stats(
    OUT kind text, OUT id bigint, OUT name text,
    OUT matched bigint, OUT enqueued bigint, OUT received bigint,
    OUT acked bigint, OUT dead_lettered bigint, OUT invocations bigint,
    OUT failed_invocations bigint, OUT retry_invocation_attempts bigint,
    OUT latency_samples bigint, OUT latency_p50_ms double precision,
    OUT latency_p95_ms double precision, OUT latency_p99_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_stats'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._stats() IS
'Internal: the raw counters of this database (kind rule, target or queue).';

CREATE FUNCTION eventbus._count_queue(queue text, received bigint, acked bigint,
                                      dead_lettered bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_count_queue'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._count_queue(text, bigint, bigint, bigint) IS
'Internal: adds to a queue''s received, acked and dead-lettered counters at commit.';

CREATE FUNCTION eventbus._stats_reset_time()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'eventbus_stats_reset_time'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus._stats_reset_time() IS
'Internal: when this database''s counters were last reset, or the server''s start if never (NULL when eventbus is not preloaded).';

CREATE FUNCTION eventbus.reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_reset_stats'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.reset_stats() IS
'Resets every counter of the metrics views (rule_stats, target_stats, queue_stats) of the current database to zero and sets their stats_reset to now, as pg_stat_reset() does; not transactional. Superusers only unless EXECUTE is granted.';

-- As pg_stat_reset(): nobody but superusers, unless granted.
REVOKE EXECUTE ON FUNCTION eventbus.reset_stats() FROM PUBLIC;

CREATE VIEW eventbus.rule_stats AS
SELECT r.bus,
       r.name AS rule,
       r.state,
       coalesce(s.matched, 0) AS matched_events,
       coalesce(s.matched, 0) AS triggered_rules,
       eventbus._stats_reset_time() AS stats_reset
  FROM eventbus.rules r
  LEFT JOIN eventbus._stats() s ON s.kind = 'rule' AND s.id = r.rule_id;

COMMENT ON VIEW eventbus.rule_stats IS
'Per rule: MatchedEvents (events that matched the rule since stats_reset) and TriggeredRules (times the rule was triggered; one per matched event, as in EventBridge); stats_reset is the last eventbus.reset_stats() in this database, or the server''s start.';

CREATE VIEW eventbus.queue_stats AS
SELECT q.name AS queue,
       coalesce(s.enqueued, 0) AS enqueued,
       coalesce(s.received, 0) AS received,
       coalesce(s.acked, 0) AS acked,
       coalesce(s.dead_lettered, 0) AS dead_lettered,
       d.visible + d.in_flight AS backlog,
       d.visible,
       d.in_flight,
       d.oldest_message_age,
       eventbus._stats_reset_time() AS stats_reset
  FROM eventbus.queues q
  LEFT JOIN eventbus._stats() s ON s.kind = 'queue' AND s.name = q.name
 CROSS JOIN LATERAL eventbus.queue_depth(q.name) d;

COMMENT ON VIEW eventbus.queue_stats IS
'Per queue: messages enqueued, received, acknowledged and dead-lettered since stats_reset (the last eventbus.reset_stats() in this database, or the server''s start), and the current backlog (visible + in flight) with the age of the oldest message.';

CREATE VIEW eventbus.target_stats AS
SELECT t.bus,
       t.rule,
       t.target_id,
       t.kind,
       t.destination,
       coalesce(s.enqueued, 0) AS enqueued,
       coalesce(s.invocations, 0) AS invocations,
       coalesce(s.failed_invocations, 0) AS failed_invocations,
       coalesce(s.retry_invocation_attempts, 0) AS retry_invocation_attempts,
       coalesce(s.dead_lettered, 0) AS dead_lettered,
       coalesce(s.latency_samples, 0) AS latency_samples,
       round(s.latency_p50_ms::numeric, 3) AS latency_p50_ms,
       round(s.latency_p95_ms::numeric, 3) AS latency_p95_ms,
       round(s.latency_p99_ms::numeric, 3) AS latency_p99_ms,
       qs.received AS queue_received,
       qs.acked AS queue_acked,
       qs.dead_lettered AS queue_dead_lettered,
       qs.backlog AS queue_backlog,
       qs.oldest_message_age AS queue_oldest_message_age,
       eventbus._stats_reset_time() AS stats_reset
  FROM eventbus.targets t
  JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule
  LEFT JOIN eventbus._stats() s
         ON s.kind = 'target' AND s.id = r.rule_id AND s.name = t.target_id
  LEFT JOIN eventbus.queue_stats qs ON t.kind = 'queue' AND qs.queue = t.destination;

COMMENT ON VIEW eventbus.target_stats IS
'Per target: messages enqueued for it and, for push targets, Invocations, FailedInvocations, RetryInvocationAttempts, DeadLetterInvocations and the delivery latency (ingestion to invocation start) over the last one to two minutes as p50/p95/p99 in milliseconds (histogram buckets, within 19%); for queue targets, the queue''s consumption and backlog (shared by every target of the queue). Counters count since stats_reset (the last eventbus.reset_stats() in this database, or the server''s start).';
