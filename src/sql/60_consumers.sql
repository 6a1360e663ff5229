-- Pull consumers: receive, ack, change_visibility, nack and queue_depth over
-- a queue's outbox table (the transactional-outbox pattern, with SQS's
-- vocabulary: visibility timeout, receive count, redrive to dead letters).
--
-- A message is visible when visible_at <= the clock.  receive() claims the
-- lowest-numbered visible messages with FOR UPDATE SKIP LOCKED, hides them
-- for visibility_timeout seconds and counts the receive; ack() deletes them.
-- A message that was received max_receive_count times and becomes visible
-- again is moved to eventbus.dead_letters by the next receive() that meets
-- it, instead of being returned.  Nothing here drops a message except ack()
-- and that move, which happen in the caller's transaction.
--
-- The clock is clock_timestamp(), read once per pass: a consumer that
-- receives inside a long transaction still hides messages for
-- visibility_timeout seconds from the moment it looked for them.
-- With wait_seconds > 0 a receive() that finds nothing sleeps (in shared
-- memory, src/queue_wait.c) until a transaction commits messages into the
-- queue or makes its messages visible again, or until the earliest hidden
-- message becomes visible by time, and looks again, until wait_seconds.
-- A dead letter keeps the outbox row's payload as it was: NULL still means
-- "the envelope of event (event_id, event_ingestion_time)".
-- receive() is meant for READ COMMITTED: under REPEATABLE READ or
-- SERIALIZABLE, FOR UPDATE fails with 40001 on a message that a concurrent
-- transaction changed since the snapshot.

-- The queue of that name, or error 42704; 42501 unless the caller of the
-- current API function holds receive on it.
CREATE FUNCTION eventbus._queue(queue text)
RETURNS eventbus.queues
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result eventbus.queues;
BEGIN
    IF queue IS NULL THEN
        PERFORM eventbus._raise('22023',
            'queue name must not be NULL',
            'Consumer functions take the name of a queue made by create_queue or by a target.',
            'Pass a queue name; SELECT name FROM eventbus.queues shows the queues.');
    END IF;
    SELECT * INTO result FROM eventbus.queues q WHERE q.name = _queue.queue;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42704',
            format('queue %L does not exist', queue),
            'No queue of that name exists in this database.',
            'create_queue() makes a queue; SELECT name FROM eventbus.queues shows the queues.');
    END IF;
    PERFORM eventbus._require_privilege('queue', result.name, 'receive');
    RETURN result;
END;
$fn$;

COMMENT ON FUNCTION eventbus._queue(text) IS
'Internal: the eventbus.queues row of a queue for a consumer; raises 42704 when it does not exist and 42501 unless the caller of the current API function holds receive on it.';

-- Arguments in seconds: visibility timeouts and delays (0 to 12 hours, as SQS).
CREATE FUNCTION eventbus._check_seconds(name text, value integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF value IS NULL OR value NOT BETWEEN 0 AND 43200 THEN
        PERFORM eventbus._raise('22023',
            format('invalid %s %s', name, coalesce(value::text, 'NULL')),
            format('%s is a number of seconds from 0 to 43200 (12 hours), as in Amazon SQS.', name),
            format('Pass a %s from 0 to 43200.', name));
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_seconds(text, integer) IS
'Internal: raises 22023 unless value is a number of seconds from 0 to 43200.';

CREATE FUNCTION eventbus._check_message_ids(message_ids bigint[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF message_ids IS NULL THEN
        PERFORM eventbus._raise('22023',
            'message_ids must not be NULL',
            'The message ids are those receive() returned.',
            'Pass an array of message ids, such as ARRAY[1, 2]; an empty array changes nothing.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_message_ids(bigint[]) IS
'Internal: raises 22023 when the array of message ids is NULL.';

-- The statements behind receive() and ack(), prepared once per outbox
-- table (src/outbox.c) instead of planned on every call.
CREATE FUNCTION eventbus._receive_pass(outbox regclass, clock timestamptz,
    how_many integer, max_receive_count integer, visibility_timeout integer,
    queue text, after_id bigint,
    OUT message_id bigint, OUT event_id uuid, OUT payload jsonb,
    OUT receive_count integer, OUT enqueued_at timestamptz, OUT rule text,
    OUT target_id text, OUT moved bigint, OUT last_id bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_receive_pass'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._receive_pass(regclass, timestamptz, integer, integer, integer, text, bigint) IS
'Internal: one pass of receive() over a queue''s outbox; its last row (message_id NULL) reports how many messages moved to the dead letters and the last id it locked.';

CREATE FUNCTION eventbus._delete_messages(outbox regclass, message_ids bigint[])
RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_delete_messages'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._delete_messages(regclass, bigint[]) IS
'Internal: deletes messages of an outbox by id; returns how many.';

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

CREATE FUNCTION eventbus.ack(queue text, message_ids bigint[])
RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.ack(text, bigint[]) IS
'Acknowledges messages of a queue: deletes them (SQS''s DeleteMessage). Returns how many were deleted; ids no longer in the queue are ignored. Needs receive on the queue (42501).';

CREATE FUNCTION eventbus._ack_impl(queue text, message_ids bigint[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
    n integer;
BEGIN
    q := eventbus._queue(queue);
    PERFORM eventbus._check_message_ids(message_ids);
    n := eventbus._delete_messages(q.outbox, message_ids);
    IF n > 0 AND q.fifo THEN
        -- the next message of each group acked is free: wake long-polling
        -- receive()s (src/queue_wait.c)
        PERFORM eventbus._wake_at_commit(q.name, clock_timestamp());
    END IF;
    PERFORM eventbus._count_queue(q.name, 0, n, 0);
    RETURN n;
END;
$fn$;

COMMENT ON FUNCTION eventbus._ack_impl(text, bigint[]) IS
'Internal: implementation of ack.';
REVOKE ALL ON FUNCTION eventbus._ack_impl(text, bigint[]) FROM PUBLIC;

-- Shared by change_visibility and nack.
CREATE FUNCTION eventbus._set_visibility(queue text, message_ids bigint[], seconds integer)
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

CREATE FUNCTION eventbus.change_visibility(queue text, message_ids bigint[],
                                           visibility_timeout integer)
RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.change_visibility(text, bigint[], integer) IS
'Sets the visibility timeout of messages of a queue to visibility_timeout seconds (0-43200) from now, as SQS''s ChangeMessageVisibility: extends a consumer''s hold, or with 0 releases it. Returns how many messages it changed. Needs receive on the queue (42501).';

CREATE FUNCTION eventbus._change_visibility_impl(queue text, message_ids bigint[], visibility_timeout integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._check_seconds('visibility_timeout', visibility_timeout);
    RETURN eventbus._set_visibility(queue, message_ids, visibility_timeout);
END;
$fn$;

COMMENT ON FUNCTION eventbus._change_visibility_impl(text, bigint[], integer) IS
'Internal: implementation of change_visibility.';
REVOKE ALL ON FUNCTION eventbus._change_visibility_impl(text, bigint[], integer) FROM PUBLIC;

CREATE FUNCTION eventbus.nack(queue text, message_ids bigint[], delay integer DEFAULT 0)
RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.nack(text, bigint[], integer) IS
'Gives messages of a queue back unprocessed: they become visible again after delay seconds (0-43200, default 0). Their receive count is kept, so max_receive_count still applies. Returns how many messages it changed. Needs receive on the queue (42501).';

CREATE FUNCTION eventbus._nack_impl(queue text, message_ids bigint[], delay integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._check_seconds('delay', delay);
    RETURN eventbus._set_visibility(queue, message_ids, delay);
END;
$fn$;

COMMENT ON FUNCTION eventbus._nack_impl(text, bigint[], integer) IS
'Internal: implementation of nack.';
REVOKE ALL ON FUNCTION eventbus._nack_impl(text, bigint[], integer) FROM PUBLIC;

CREATE FUNCTION eventbus.queue_depth(queue text)
RETURNS TABLE (visible bigint, in_flight bigint, oldest_message_age interval)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.queue_depth(text) IS
'Metrics of a queue: visible messages, hidden (in-flight) messages, and the age of the oldest message (NULL when the queue is empty). Counts every row: meant for monitoring, not for each receive. Needs receive on the queue (42501).';

-- The depth of an outbox (queue_depth, queue_stats).
CREATE FUNCTION eventbus._outbox_depth(outbox regclass)
RETURNS TABLE (visible bigint, in_flight bigint, oldest_message_age interval)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY EXECUTE format($sql$
        SELECT count(*) FILTER (WHERE o.visible_at <= $1),
               count(*) FILTER (WHERE o.visible_at > $1),
               $1 - min(o.enqueued_at)
          FROM %s o
        $sql$, outbox)
      USING clock_timestamp();
END;
$fn$;

COMMENT ON FUNCTION eventbus._outbox_depth(regclass) IS
'Internal: visible and in-flight messages of an outbox table and the age of its oldest message.';

CREATE FUNCTION eventbus._queue_depth_impl(queue text)
RETURNS TABLE (visible bigint, in_flight bigint, oldest_message_age interval)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY SELECT * FROM eventbus._outbox_depth((eventbus._queue(queue)).outbox);
END;
$fn$;

COMMENT ON FUNCTION eventbus._queue_depth_impl(text) IS
'Internal: implementation of queue_depth.';
REVOKE ALL ON FUNCTION eventbus._queue_depth_impl(text) FROM PUBLIC;
