--
-- The statements a session keeps prepared for outbox tables: a bounded
-- number per outbox whatever LIMITs receive() is called with, and none left
-- for an outbox that was dropped.
--
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

SELECT name FROM create_queue('plans_q', 2);
SELECT outbox::oid AS plans_q_oid FROM eventbus.queues WHERE name = 'plans_q' \gset

-- A few messages, so that receive() also moves some to the dead letters
-- (which prepares the dead-letter statement).
INSERT INTO eventbus.events (id, source, detail_type)
VALUES ('00000000-0000-4000-8000-00000000aa01', 'test.plans', 'Plan');
INSERT INTO eventbus_outbox.queue_plans_q (event_id, event_ingestion_time, bus, rule, target_id, payload)
SELECT e.id, e.ingestion_time, 'default', 'plans', 'q', jsonb_build_object('n', n)
  FROM eventbus.events e, generate_series(1, 5) n
 WHERE e.source = 'test.plans';

-- receive() with every max_messages from 1 to 300, each twice, the
-- messages becoming visible at once (visibility timeout 0): after two
-- receives each message has reached max_receive_count and moves.
DO $$
BEGIN
    FOR n IN 1..300 LOOP
        PERFORM * FROM eventbus.receive('plans_q', n, 0);
        PERFORM * FROM eventbus.receive('plans_q', n, 0);
    END LOOP;
END;
$$;
SELECT count(*) AS moved_to_dead_letters FROM eventbus.dead_letters WHERE queue = 'plans_q';
SELECT count(*) AS left_in_queue FROM eventbus_outbox.queue_plans_q;

-- At most 4 receive plans (the most recently used LIMITs), one
-- statement that hides and returns the locked messages (no LIMIT), one
-- dead-letter statement.
SELECT statement, "limit" FROM eventbus._outbox_plans()
 WHERE outbox = :plans_q_oid ORDER BY 1, 2;

-- The same from PostgreSQL's side: the plan sources this session holds
-- whose statement names the outbox.
SELECT count(*) AS plan_sources
  FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE '%eventbus_outbox.queue_plans_q %';

-- The cache's own memory stays small.
SELECT sum(total_bytes) < 65536 AS cache_is_small
  FROM pg_backend_memory_contexts WHERE name = 'eventbus outbox plans';

-- Dropping the queue drops its plans at the next use of the cache (here,
-- a receive on another queue).
SELECT delete_queue('plans_q', force => true);
SELECT name FROM create_queue('plans_other');
SELECT count(*) FROM eventbus.receive('plans_other', 7);
SELECT count(*) AS plans_of_dropped_outbox FROM eventbus._outbox_plans() WHERE outbox = :plans_q_oid;
SELECT count(*) AS plan_sources_of_dropped_outbox
  FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE '%eventbus_outbox.queue_plans_q %';
SELECT statement, "limit" FROM eventbus._outbox_plans()
 WHERE outbox = 'eventbus_outbox.queue_plans_other'::regclass ORDER BY 1, 2;

-- A queue made again under the same name gets a table of its own, and
-- statements for it.
SELECT name FROM create_queue('plans_q');
SELECT count(*) FROM eventbus.receive('plans_q', 3);
SELECT statement, "limit" FROM eventbus._outbox_plans()
 WHERE outbox = 'eventbus_outbox.queue_plans_q'::regclass ORDER BY 1, 2;

-- A push target removed while messages wait in its outbox: they move to
-- the dead letters (through the same statement as receive's), and the
-- outbox goes.  In one transaction, so that no delivery worker sees them.
CREATE FUNCTION public.plans_handler(payload jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$;
SELECT put_rule('plans-push', '{"source": ["test.plans"]}') IS NOT NULL;
BEGIN;
SELECT put_targets('plans-push', '[{"Id": "fn", "Arn": "function:public.plans_handler"}]') ->> 'FailedEntryCount' AS failed;
SELECT outbox AS push_outbox FROM eventbus.targets WHERE rule = 'plans-push' \gset
INSERT INTO :push_outbox (event_id, event_ingestion_time, bus, rule, target_id, payload, receive_count)
VALUES ('00000000-0000-4000-8000-00000000aa02', '2024-01-01 00:00:00+00', 'default', 'plans-push', 'fn', '{"n": 1}', 2),
       ('00000000-0000-4000-8000-00000000aa03', '2024-01-01 00:00:00+00', 'default', 'plans-push', 'fn', NULL, 0);
SELECT remove_targets('plans-push', ARRAY['fn']) ->> 'FailedEntryCount' AS failed;
COMMIT;
SELECT event_id, queue, payload, error_code, error_message, exhausted_condition, retry_attempts,
       bus, rule, target_id, dead_lettered_at IS NOT NULL AS dated
  FROM eventbus.dead_letters WHERE rule = 'plans-push' ORDER BY event_id;
SELECT to_regclass(:'push_outbox') AS outbox_after_removal;

SELECT delete_rule('plans-push');
DROP FUNCTION public.plans_handler(jsonb);
DELETE FROM eventbus.dead_letters WHERE rule = 'plans-push';
SELECT delete_queue('plans_q');
SELECT delete_queue('plans_other');
DELETE FROM eventbus.dead_letters WHERE queue = 'plans_q';
DELETE FROM eventbus.events WHERE source = 'test.plans';
