-- eventbus 0.3.0 -> 0.4.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.4.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Outbox scan floors (src/outbox_floor.c): claims walk the primary key from
-- the lowest id an outbox can still hold.

CREATE FUNCTION eventbus._outbox_floor(outbox regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_outbox_floor'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._outbox_floor(regclass) IS
'Internal: the scan floor of an outbox (no message has a lower or equal id; claims walk its primary key from there), kept in shared memory by the database''s first delivery worker; 0 when not known.';
REVOKE ALL ON FUNCTION eventbus._outbox_floor(regclass) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Long polling: receive(queue, max_messages, visibility_timeout,
-- wait_seconds) waits up to wait_seconds (0-20) for a commit into the
-- queue (src/queue_wait.c); the 3-argument receive and its implementation
-- give way to it (nothing in the extension depends on them: the API entry
-- eventbus_api_call finds _receive_impl by name and argument types).
-- nack and change_visibility wake waiters too.
DROP FUNCTION eventbus.receive(text, integer, integer);
DROP FUNCTION eventbus._receive_impl(text, integer, integer);

-- Long polling (src/queue_wait.c): a receive() that found nothing sleeps
-- until a committing transaction wakes its queue's slot in shared memory.
CREATE FUNCTION eventbus._wait_generation(queue text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_wait_generation'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._wait_generation(text) IS
'Internal: the generation of a queue''s wake slot in shared memory, read by receive() before it looks for messages (0 without shared memory).';
REVOKE ALL ON FUNCTION eventbus._wait_generation(text) FROM PUBLIC;

CREATE FUNCTION eventbus._wait_for_messages(queue text, generation bigint, until timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_wait_for_messages'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._wait_for_messages(text, bigint, timestamptz) IS
'Internal: sleeps until a transaction that commits messages into the queue (or rolls back messages it received) moves the generation of its wake slot away from generation (true), or until the time given, at most 20 seconds (false). Without shared memory it sleeps at most 100 ms and returns true.';
REVOKE ALL ON FUNCTION eventbus._wait_for_messages(text, bigint, timestamptz) FROM PUBLIC;

CREATE FUNCTION eventbus._wake_at_commit(queue text, visible_at timestamptz)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_wake_at_commit'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._wake_at_commit(text, timestamptz) IS
'Internal: wakes the long-polling receive()s of a queue when the current transaction commits, which makes messages visible at visible_at.';
REVOKE ALL ON FUNCTION eventbus._wake_at_commit(text, timestamptz) FROM PUBLIC;

CREATE FUNCTION eventbus._wake_after_receive(queue text, visible_at timestamptz)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_wake_after_receive'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._wake_after_receive(text, timestamptz) IS
'Internal: the current transaction received messages of a queue that are hidden until visible_at: wakes the queue''s long-polling receive()s if it rolls back (the messages are visible again), or as _wake_at_commit if it commits.';
REVOKE ALL ON FUNCTION eventbus._wake_after_receive(text, timestamptz) FROM PUBLIC;

CREATE FUNCTION eventbus.receive(queue text,
                                 max_messages integer DEFAULT 1,
                                 visibility_timeout integer DEFAULT 30,
                                 wait_seconds integer DEFAULT 0)
RETURNS TABLE (message_id bigint,
               event_id uuid,
               payload jsonb,
               receive_count integer,
               enqueued_at timestamptz,
               rule text,
               target_id text)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.receive(text, integer, integer, integer) IS
'Receives up to max_messages (1-10000) visible messages of a queue in message_id order, skipping messages locked by concurrent transactions, and hides them for visibility_timeout seconds (0-43200). Messages already received max_receive_count times move to eventbus.dead_letters instead. With wait_seconds (0-20, SQS''s WaitTimeSeconds) and no message available, waits until a transaction commits messages into the queue, or returns no row after wait_seconds (READ COMMITTED only). payload is the event''s EventBridge envelope unless the target transformed it. Needs receive on the queue (42501).';

CREATE FUNCTION eventbus._receive_impl(queue text, max_messages integer, visibility_timeout integer,
                                       wait_seconds integer)
RETURNS TABLE (message_id bigint,
               event_id uuid,
               payload jsonb,
               receive_count integer,
               enqueued_at timestamptz,
               rule text,
               target_id text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q           eventbus.queues;
    clock       timestamptz;
    deadline    timestamptz;
    next_visible timestamptz;
    generation  bigint;
    r           record;
    got         integer := 0;
    moved       bigint;
    dead_total  bigint := 0;
    last_id     bigint;
BEGIN
    IF max_messages IS NULL OR max_messages NOT BETWEEN 1 AND 10000 THEN
        PERFORM eventbus._raise('22023',
            format('invalid max_messages %s', coalesce(max_messages::text, 'NULL')),
            'receive() returns from 1 to 10000 messages per call.',
            'Pass a max_messages from 1 to 10000.');
    END IF;
    PERFORM eventbus._check_seconds('visibility_timeout', visibility_timeout);
    IF wait_seconds IS NULL OR wait_seconds NOT BETWEEN 0 AND 20 THEN
        PERFORM eventbus._raise('22023',
            format('invalid wait_seconds %s', coalesce(wait_seconds::text, 'NULL')),
            'wait_seconds is how long receive() waits for a message when none is available: 0 to 20 seconds, as Amazon SQS''s WaitTimeSeconds.',
            'Pass a wait_seconds from 0 (return at once) to 20.');
    END IF;
    IF wait_seconds > 0
       AND current_setting('transaction_isolation') NOT IN ('read committed', 'read uncommitted') THEN
        PERFORM eventbus._raise('25000',
            format('receive() cannot wait under %s', upper(current_setting('transaction_isolation'))),
            'The snapshot of this transaction never shows the messages committed after it began, so a wait could only time out.',
            'Call receive() with wait_seconds in a READ COMMITTED transaction (the default), or with wait_seconds 0.');
    END IF;
    q := eventbus._queue(queue);
    deadline := clock_timestamp() + make_interval(secs => wait_seconds);

    LOOP
        -- before the pass's snapshot: a commit after it moves the generation
        IF wait_seconds > 0 THEN
            generation := eventbus._wait_generation(q.name);
        END IF;
        clock := clock_timestamp();
        last_id := 0;
        -- Another pass when messages moved to the dead letters left room, so
        -- that an empty result means that no message was available.
        LOOP
            moved := 0;
            FOR r IN SELECT * FROM eventbus._receive_pass(q.outbox, clock, max_messages - got,
                                                          q.max_receive_count, visibility_timeout,
                                                          q.name, last_id)
            LOOP
                IF r.message_id IS NULL THEN
                    moved := r.moved;
                    dead_total := dead_total + r.moved;
                    last_id := r.last_id;
                ELSE
                    message_id := r.message_id;
                    event_id := r.event_id;
                    payload := r.payload;
                    receive_count := r.receive_count;
                    enqueued_at := r.enqueued_at;
                    rule := r.rule;
                    target_id := r.target_id;
                    got := got + 1;
                    RETURN NEXT;
                END IF;
            END LOOP;
            EXIT WHEN moved = 0 OR got >= max_messages OR last_id IS NULL;
        END LOOP;
        EXIT WHEN got > 0 OR clock_timestamp() >= deadline;
        -- Messages that become visible by time (a visibility timeout or a
        -- delay running out) are signalled by no commit: wake up for the
        -- earliest of them at the latest.
        EXECUTE format('SELECT min(o.visible_at) FROM %s o WHERE o.visible_at > $1', q.outbox)
          INTO next_visible USING clock;
        PERFORM eventbus._wait_for_messages(q.name, generation,
                                            least(deadline, next_visible));
    END LOOP;
    IF got > 0 THEN
        -- a rollback gives the messages back at once, a commit after the
        -- visibility timeout: tell waiters
        PERFORM eventbus._wake_after_receive(q.name, clock + make_interval(secs => visibility_timeout));
    END IF;
    -- metrics (shared memory, published at commit)
    PERFORM eventbus._count_queue(q.name, got, 0, dead_total);
END;
$fn$;

COMMENT ON FUNCTION eventbus._receive_impl(text, integer, integer, integer) IS
'Internal: implementation of receive.';
REVOKE ALL ON FUNCTION eventbus._receive_impl(text, integer, integer, integer) FROM PUBLIC;

-- Shared by change_visibility and nack.
CREATE OR REPLACE FUNCTION eventbus._set_visibility(queue text, message_ids bigint[], seconds integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
    n integer;
    visible_at timestamptz;
BEGIN
    q := eventbus._queue(queue);
    PERFORM eventbus._check_message_ids(message_ids);
    visible_at := clock_timestamp() + make_interval(secs => seconds);
    EXECUTE format('UPDATE %s SET visible_at = $2 WHERE message_id = ANY ($1)', q.outbox)
      USING message_ids, visible_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        -- long-polling receive()s (src/queue_wait.c)
        PERFORM eventbus._wake_at_commit(q.name, visible_at);
    END IF;
    RETURN n;
END;
$fn$;

COMMENT ON FUNCTION eventbus._set_visibility(text, bigint[], integer) IS
'Internal: makes messages of a queue visible again after that many seconds; returns how many messages it changed.';

