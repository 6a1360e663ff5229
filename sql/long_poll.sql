-- Long polling: receive(queue, max_messages, visibility_timeout,
-- wait_seconds).  The wake-up by a committing producer (and not by one that
-- rolls back) is in test/isolation/specs/long_poll.spec; here: the
-- arguments, a wait that times out, a wait ended by a message becoming
-- visible by time, the refusal under REPEATABLE READ, statement_timeout
-- and the privilege check.  Elapsed times are checked within bounds.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

SELECT name FROM eventbus.create_queue('lp_q');

-- wait_seconds is 0 to 20 (SQS's WaitTimeSeconds): 22023 otherwise.
\set VERBOSITY default
SELECT * FROM eventbus.receive('lp_q', 1, 30, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('lp_q', 1, 30, 21);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('lp_q', 1, 30, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM eventbus.receive('lp_q', wait_seconds => 21);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse

-- The default is 0: an empty queue answers at once (3 arguments too).
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM eventbus.receive('lp_q');
SELECT count(*) FROM eventbus.receive('lp_q', 10, 30);
SELECT clock_timestamp() - :'t0' < interval '0.5 s' AS at_once;

-- Nothing comes: the wait ends empty after wait_seconds.
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM eventbus.receive('lp_q', 10, 30, 1);
SELECT clock_timestamp() - :'t0' BETWEEN interval '0.95 s' AND interval '3 s' AS waited_1s;

-- A message that is there is received at once, whatever the wait.
INSERT INTO eventbus.events (id, source, detail_type)
VALUES ('00000000-0000-4000-8000-0000000001a1', 'test.long-poll', 't');
INSERT INTO eventbus_outbox.queue_lp_q (event_id, event_ingestion_time, bus, rule, target_id)
SELECT e.id, e.ingestion_time, e.bus, 'r', 't' FROM eventbus.events e WHERE e.source = 'test.long-poll';
SELECT clock_timestamp() AS t0 \gset
SELECT receive_count FROM eventbus.receive('lp_q', 10, 1, 20);
SELECT clock_timestamp() - :'t0' < interval '0.5 s' AS at_once;

-- It is now hidden for 1 second; a wait of 5 returns it when it becomes
-- visible again by time (no commit signals that).
SELECT clock_timestamp() AS t0 \gset
SELECT receive_count FROM eventbus.receive('lp_q', 10, 30, 5);
SELECT clock_timestamp() - :'t0' BETWEEN interval '0.5 s' AND interval '3 s' AS woke_at_visibility;

-- A wait needs READ COMMITTED: a REPEATABLE READ snapshot never shows new
-- messages (25000); without a wait it is allowed.
BEGIN ISOLATION LEVEL REPEATABLE READ;
\set VERBOSITY default
SELECT * FROM eventbus.receive('lp_q', 1, 30, 1);
\set VERBOSITY terse
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM eventbus.receive('lp_q', 1, 30, 0);
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT * FROM eventbus.receive('lp_q', 1, 30, 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- READ COMMITTED in a transaction block waits.
BEGIN;
SELECT count(*) FROM eventbus.receive('lp_q', 1, 30, 1);
COMMIT;

-- statement_timeout ends a wait (57014), as does a cancel.
SET statement_timeout = '300ms';
SELECT clock_timestamp() AS t0 \gset
SELECT * FROM eventbus.receive('lp_q', 1, 30, 10);
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT clock_timestamp() - :'t0' < interval '3 s' AS interrupted;

-- The caller's rights are checked before any wait (42501).
CREATE ROLE lp_stranger;
SET ROLE lp_stranger;
SELECT clock_timestamp() AS t0 \gset
SELECT * FROM eventbus.receive('lp_q', 1, 30, 5);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT clock_timestamp() - :'t0' < interval '1 s' AS refused_at_once;
DROP ROLE lp_stranger;

-- The internal functions are not for PUBLIC.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p
 WHERE p.pronamespace = 'eventbus'::regnamespace
   AND p.proname IN ('_wait_generation', '_wait_for_messages', '_wake_at_commit',
                     '_wake_after_receive', '_receive_impl', 'receive')
 ORDER BY 1;

SELECT eventbus.delete_queue('lp_q', force => true);
DELETE FROM eventbus.events WHERE source = 'test.long-poll';
