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
'Resets every counter of the metrics views (rule_stats, target_stats, queue_stats) of the current database to zero and sets their stats_reset to now, as pg_stat_reset() does; not transactional. For superusers and eventbus_admin, and roles granted EXECUTE.';

-- As pg_stat_reset(): nobody but superusers (and eventbus_admin), unless
-- granted.
REVOKE EXECUTE ON FUNCTION eventbus.reset_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION eventbus.reset_stats() TO eventbus_admin;

-- The views show each role what it may read: a view's functions run as
-- the querying role, so each view reads through an API function whose
-- implementation (as the extension's owner) keeps the rows of the caller:
-- rules it owns or whose bus it may read (read_events), their targets, and
-- queues it may receive from.
CREATE FUNCTION eventbus._visible_rule_stats()
RETURNS TABLE (bus text, rule text, state text, matched_events bigint,
               triggered_rules bigint, stats_reset timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus._visible_rule_stats() IS
'Internal: the rows of view rule_stats that its reader may see.';

CREATE FUNCTION eventbus.__visible_rule_stats_impl()
RETURNS TABLE (bus text, rule text, state text, matched_events bigint,
               triggered_rules bigint, stats_reset timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT r.bus, r.name, r.state, coalesce(s.matched, 0), coalesce(s.matched, 0),
           eventbus._stats_reset_time()
      FROM eventbus.rules r
      LEFT JOIN eventbus._stats() s ON s.kind = 'rule' AND s.id = r.rule_id
     WHERE pg_catalog.pg_has_role(eventbus._caller(), r.owner, 'USAGE')
        OR eventbus.has_event_bus_privilege(r.bus, 'read_events', eventbus._caller())
$fn$;

COMMENT ON FUNCTION eventbus.__visible_rule_stats_impl() IS
'Internal: implementation of _visible_rule_stats.';
REVOKE ALL ON FUNCTION eventbus.__visible_rule_stats_impl() FROM PUBLIC;

CREATE FUNCTION eventbus._visible_queue_stats()
RETURNS TABLE (queue text, enqueued bigint, received bigint, acked bigint,
               dead_lettered bigint, backlog bigint, visible bigint, in_flight bigint,
               oldest_message_age interval, stats_reset timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._visible_queue_stats() IS
'Internal: the rows of view queue_stats that its reader may see.';

CREATE FUNCTION eventbus.__visible_queue_stats_impl()
RETURNS TABLE (queue text, enqueued bigint, received bigint, acked bigint,
               dead_lettered bigint, backlog bigint, visible bigint, in_flight bigint,
               oldest_message_age interval, stats_reset timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT q.name,
           coalesce(s.enqueued, 0), coalesce(s.received, 0), coalesce(s.acked, 0),
           coalesce(s.dead_lettered, 0),
           d.visible + d.in_flight, d.visible, d.in_flight, d.oldest_message_age,
           eventbus._stats_reset_time()
      FROM eventbus.queues q
      LEFT JOIN eventbus._stats() s ON s.kind = 'queue' AND s.name = q.name
     CROSS JOIN LATERAL eventbus._outbox_depth(q.outbox) d
     WHERE eventbus.has_queue_privilege(q.name, 'receive', eventbus._caller())
$fn$;

COMMENT ON FUNCTION eventbus.__visible_queue_stats_impl() IS
'Internal: implementation of _visible_queue_stats.';
REVOKE ALL ON FUNCTION eventbus.__visible_queue_stats_impl() FROM PUBLIC;

CREATE FUNCTION eventbus._visible_target_stats()
RETURNS TABLE (bus text, rule text, target_id text, kind text, destination text,
               enqueued bigint, invocations bigint, failed_invocations bigint,
               retry_invocation_attempts bigint, dead_lettered bigint, latency_samples bigint,
               latency_p50_ms numeric, latency_p95_ms numeric, latency_p99_ms numeric,
               queue_received bigint, queue_acked bigint, queue_dead_lettered bigint,
               queue_backlog bigint, queue_oldest_message_age interval,
               stats_reset timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._visible_target_stats() IS
'Internal: the rows of view target_stats that its reader may see.';

-- (queue_stats inside: an API call for the same caller, so a target's
-- queue columns are there only when the caller may receive from it.)
CREATE FUNCTION eventbus.__visible_target_stats_impl()
RETURNS TABLE (bus text, rule text, target_id text, kind text, destination text,
               enqueued bigint, invocations bigint, failed_invocations bigint,
               retry_invocation_attempts bigint, dead_lettered bigint, latency_samples bigint,
               latency_p50_ms numeric, latency_p95_ms numeric, latency_p99_ms numeric,
               queue_received bigint, queue_acked bigint, queue_dead_lettered bigint,
               queue_backlog bigint, queue_oldest_message_age interval,
               stats_reset timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT t.bus, t.rule, t.target_id, t.kind, t.destination,
           coalesce(s.enqueued, 0), coalesce(s.invocations, 0),
           coalesce(s.failed_invocations, 0), coalesce(s.retry_invocation_attempts, 0),
           coalesce(s.dead_lettered, 0), coalesce(s.latency_samples, 0),
           round(s.latency_p50_ms::numeric, 3), round(s.latency_p95_ms::numeric, 3),
           round(s.latency_p99_ms::numeric, 3),
           qs.received, qs.acked, qs.dead_lettered, qs.backlog, qs.oldest_message_age,
           eventbus._stats_reset_time()
      FROM eventbus.targets t
      JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule
      LEFT JOIN eventbus._stats() s
             ON s.kind = 'target' AND s.id = r.rule_id AND s.name = t.target_id
      LEFT JOIN eventbus._visible_queue_stats() qs ON t.kind = 'queue' AND qs.queue = t.destination
     WHERE pg_catalog.pg_has_role(eventbus._caller(), r.owner, 'USAGE')
        OR eventbus.has_event_bus_privilege(r.bus, 'read_events', eventbus._caller())
$fn$;

COMMENT ON FUNCTION eventbus.__visible_target_stats_impl() IS
'Internal: implementation of _visible_target_stats.';
REVOKE ALL ON FUNCTION eventbus.__visible_target_stats_impl() FROM PUBLIC;

CREATE VIEW eventbus.rule_stats AS
SELECT s.bus, s.rule, s.state, s.matched_events, s.triggered_rules, s.stats_reset
  FROM eventbus._visible_rule_stats() s;

COMMENT ON VIEW eventbus.rule_stats IS
'Per rule: MatchedEvents (events that matched the rule since stats_reset) and TriggeredRules (times the rule was triggered; one per matched event, as in EventBridge); stats_reset is the last eventbus.reset_stats() in this database, or the server''s start. Shows the rules the reader owns and those of the buses it may read (read_events).';

CREATE VIEW eventbus.queue_stats AS
SELECT s.queue, s.enqueued, s.received, s.acked, s.dead_lettered, s.backlog, s.visible,
       s.in_flight, s.oldest_message_age, s.stats_reset
  FROM eventbus._visible_queue_stats() s;

COMMENT ON VIEW eventbus.queue_stats IS
'Per queue: messages enqueued, received, acknowledged and dead-lettered since stats_reset (the last eventbus.reset_stats() in this database, or the server''s start), and the current backlog (visible + in flight) with the age of the oldest message. Shows the queues the reader may receive from.';

CREATE VIEW eventbus.target_stats AS
SELECT s.bus, s.rule, s.target_id, s.kind, s.destination, s.enqueued, s.invocations,
       s.failed_invocations, s.retry_invocation_attempts, s.dead_lettered, s.latency_samples,
       s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms, s.queue_received, s.queue_acked,
       s.queue_dead_lettered, s.queue_backlog, s.queue_oldest_message_age, s.stats_reset
  FROM eventbus._visible_target_stats() s;

GRANT SELECT ON eventbus.rule_stats, eventbus.queue_stats, eventbus.target_stats TO PUBLIC;

COMMENT ON VIEW eventbus.target_stats IS
'Per target: messages enqueued for it and, for push targets, Invocations, FailedInvocations, RetryInvocationAttempts, DeadLetterInvocations and the delivery latency (ingestion to invocation start) over the last one to two minutes as p50/p95/p99 in milliseconds (histogram buckets, within 19%); for queue targets, the queue''s consumption and backlog (shared by every target of the queue). Counters count since stats_reset (the last eventbus.reset_stats() in this database, or the server''s start). Shows the targets of the rules of rule_stats; the queue columns only for queues the reader may receive from.';
