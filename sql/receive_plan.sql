--
-- receive() reads a bounded number of pages whatever the outbox's
-- statistics say.  The scenario: an outbox analyzed while nearly empty
-- (100,000 messages acked, 30 left, no vacuum yet: reltuples 30 over
-- thousands of pages), then filled again.  A query of the claim's shape
-- planned from those statistics expects fewer rows than its LIMIT, and
-- reads and sorts every visible message; receive()'s statements must still
-- walk the primary key from the first message and stop after the LIMIT.
--
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

-- (max_receive_count 1000: the receives below never dead-letter a message)
SELECT name FROM create_queue('plan_q', 1000);
-- no autovacuum/autoanalyze during the test: the statistics stay stale
ALTER TABLE eventbus_outbox.queue_plan_q SET (autovacuum_enabled = false);

INSERT INTO eventbus_outbox.queue_plan_q (event_id, event_ingestion_time, bus, rule, target_id, payload)
SELECT gen_random_uuid(), now(), 'default', 'r', 't', jsonb_build_object('n', n, 'pad', repeat('x', 200))
  FROM generate_series(1, 100000) n;
DELETE FROM eventbus_outbox.queue_plan_q WHERE message_id > 30;
ANALYZE eventbus_outbox.queue_plan_q;
SELECT reltuples AS stale_reltuples, relpages > 3000 AS over_3000_pages
  FROM pg_class WHERE oid = 'eventbus_outbox.queue_plan_q'::regclass;
INSERT INTO eventbus_outbox.queue_plan_q (event_id, event_ingestion_time, bus, rule, target_id, payload)
SELECT gen_random_uuid(), now(), 'default', 'r', 't', jsonb_build_object('n', n, 'pad', repeat('x', 200))
  FROM generate_series(1, 100000) n;

-- Every plan this session makes from here on is a generic one (the plan a
-- prepared statement keeps), made from those statistics.
SET plan_cache_mode = force_generic_plan;

-- blocks read (from shared buffers or disk) since the last call, for the
-- outbox and for its primary key
CREATE FUNCTION pg_temp.pages_read(OUT heap bigint, OUT index bigint)
LANGUAGE plpgsql AS $$
DECLARE
    h bigint := pg_stat_get_xact_blocks_fetched('eventbus_outbox.queue_plan_q'::regclass);
    i bigint := pg_stat_get_xact_blocks_fetched('eventbus_outbox.queue_plan_q_pkey'::regclass);
BEGIN
    heap := h - coalesce(current_setting('pages.heap', true), '0')::bigint;
    index := i - coalesce(current_setting('pages.index', true), '0')::bigint;
    PERFORM set_config('pages.heap', h::text, false), set_config('pages.index', i::text, false);
END;
$$;

-- The scenario is real: the claim's query, prepared by hand and run with
-- the planner's default settings, reads the whole outbox.
PREPARE claim_by_hand(timestamptz, bigint) AS
    SELECT o.message_id FROM eventbus_outbox.queue_plan_q o
     WHERE o.message_id > $2 AND o.visible_at <= $1
     ORDER BY o.message_id LIMIT 10 FOR UPDATE SKIP LOCKED;
SELECT FROM pg_temp.pages_read();
\o /dev/null
EXECUTE claim_by_hand(clock_timestamp(), 0);
\o
SELECT heap > 3000 AS by_hand_reads_the_whole_outbox FROM pg_temp.pages_read();
DEALLOCATE claim_by_hand;

-- receive() in the same state: a few pages of the outbox and of its
-- primary key, with generic plans and then with custom ones.
SELECT count(*) AS received FROM receive('plan_q', 10, 30);
SELECT heap <= 100 AS heap_pages_few, index <= 100 AS index_pages_few FROM pg_temp.pages_read();
SET plan_cache_mode = force_custom_plan;
SELECT count(*) AS received FROM receive('plan_q', 10, 30);
SELECT heap <= 100 AS heap_pages_few, index <= 100 AS index_pages_few FROM pg_temp.pages_read();
RESET plan_cache_mode;

-- ack() finds its messages by key too.
SELECT ack('plan_q', ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]::bigint[]) AS acked;
SELECT heap <= 40 AS heap_pages_few, index <= 40 AS index_pages_few FROM pg_temp.pages_read();

-- The scan floor.  Ack the first 20,000 messages (no vacuum: their index
-- entries stay at the head of the primary key); the first delivery worker
-- raises the outbox's floor to just below the first message left, and
-- claims walk the primary key from there.  The procedure receives with a
-- visibility timeout of 0 (the messages stay available, and a receive
-- asks for the floor) and commits between tries: the worker raises a
-- floor only once the transactions that wrote to the outbox have ended.
SELECT ack('plan_q', ARRAY(SELECT message_id FROM eventbus_outbox.queue_plan_q
                            ORDER BY message_id LIMIT 20000)) AS acked;
SELECT min(message_id) AS first_left FROM eventbus_outbox.queue_plan_q \gset
CREATE PROCEDURE pg_temp.wait_for_floor(want bigint)
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..200 LOOP
        PERFORM * FROM eventbus.receive('plan_q', 1, 0);
        COMMIT;
        EXIT WHEN eventbus._outbox_floor('eventbus_outbox.queue_plan_q') >= want;
        PERFORM pg_sleep(0.1);
        COMMIT;
    END LOOP;
END;
$$;
CALL pg_temp.wait_for_floor(:first_left - 1);
SELECT eventbus._outbox_floor('eventbus_outbox.queue_plan_q') = :first_left - 1
       AS floor_is_just_below_the_first_message;
SELECT FROM pg_temp.pages_read();
SELECT count(*) AS received FROM receive('plan_q', 1, 0);
SELECT index <= 10 AS index_pages_few FROM pg_temp.pages_read();
-- without the floor, the same walk of the primary key reads the entries
-- of the 20,000 acked messages first
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT message_id = :first_left AS first_message
  FROM eventbus_outbox.queue_plan_q WHERE message_id > 0 ORDER BY message_id LIMIT 1;
SELECT index >= 40 AS index_pages_many FROM pg_temp.pages_read();
RESET enable_seqscan;
RESET enable_bitmapscan;

-- The floor is not for everyone.
SELECT 'eventbus_outbox.queue_plan_q'::regclass::oid AS plan_q_oid \gset
CREATE ROLE eb_floor_peeker;
SET ROLE eb_floor_peeker;
SELECT eventbus._outbox_floor(:plan_q_oid::oid::regclass);
RESET ROLE;
DROP ROLE eb_floor_peeker;

SELECT delete_queue('plan_q', force => true);
