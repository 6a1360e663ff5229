-- Crash (issue 8): eventbus._receive_pass on a TEMP table whose columns
-- have the outbox's names but other types.  The statement is valid SQL, so
-- its rows (integer message_id, integer rule and target_id) were copied into
-- the function's result as if they had the declared types: the backend
-- segfaulted.  Needs no privilege beyond TEMP.  Expected: an error.
CREATE TEMP TABLE fake_outbox (
    message_id integer, event_id uuid, event_ingestion_time timestamptz,
    bus text, rule integer, target_id integer, payload jsonb,
    enqueued_at timestamptz, visible_at timestamptz, receive_count integer,
    first_attempt_at timestamptz, last_attempt_at timestamptz);
INSERT INTO fake_outbox VALUES (1, gen_random_uuid(), now(), 'b', 1, 1, '{}',
                                now(), now() - interval '1 hour', 0, NULL, NULL);
SELECT * FROM eventbus._receive_pass('fake_outbox', now(), 1, 10, 30, 'q', 0);
