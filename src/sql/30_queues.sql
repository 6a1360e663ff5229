-- Queues and outbox tables.
--
-- Every queue has one outbox table, eventbus_outbox."queue_<name>"; several
-- rules' targets may name the same queue.  A queue comes into being
-- explicitly (create_queue) or with the first target that names it, and
-- goes away only through delete_queue, which refuses while targets name it
-- or while it holds messages, unless forced.  Removing targets never drops a
-- queue, so undelivered messages are never dropped silently.

-- One outbox row per message.  payload is NULL when the target takes the
-- event unchanged: the envelope is then read from eventbus.events.
-- message_group_id and deduplication_id are set in FIFO queues only
-- (58_fifo.sql); a FIFO queue's outbox also has an index on
-- (message_group_id, message_id), made by create_queue.
-- SECURITY DEFINER: outboxes belong to the extension's owner, never to the
-- role that put a target, which could otherwise drop or alter them.  It
-- only ever creates a table of this one shape, with an outbox name.
CREATE FUNCTION eventbus._create_outbox(table_name text)
RETURNS regclass
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF table_name IS NULL OR table_name !~ '^(queue_[A-Za-z0-9_-]{1,54}|push_[0-9a-f]{12}_[A-Za-z0-9._-]{1,44})$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid outbox table name %L', table_name),
            'Outbox tables are named queue_<queue> or push_<hash>_<target id>.',
            'Create queues with create_queue and targets with put_targets.');
    END IF;
    EXECUTE format($ddl$
        CREATE TABLE eventbus_outbox.%I (
            message_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id             uuid NOT NULL,
            event_ingestion_time timestamptz NOT NULL,
            bus                  text NOT NULL,
            rule                 text NOT NULL,
            target_id            text NOT NULL,
            payload              jsonb,
            enqueued_at          timestamptz NOT NULL DEFAULT now(),
            visible_at           timestamptz NOT NULL DEFAULT now(),
            receive_count        integer NOT NULL DEFAULT 0,
            first_attempt_at     timestamptz,
            last_attempt_at      timestamptz,
            last_error_code      text,
            last_error_message   text,
            message_group_id     text,
            deduplication_id     text
        ) WITH (fillfactor = 80,
                autovacuum_vacuum_scale_factor = 0,
                autovacuum_vacuum_threshold = 5000,
                autovacuum_vacuum_insert_scale_factor = 0,
                autovacuum_vacuum_insert_threshold = 5000,
                autovacuum_vacuum_cost_delay = 0)
        $ddl$, table_name);
    RETURN format('eventbus_outbox.%I', table_name)::regclass;
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_outbox(text) IS
'Internal: creates an outbox table in schema eventbus_outbox, owned by the extension''s owner, and returns it.';

CREATE FUNCTION eventbus.create_queue(queue_name text,
                                      max_receive_count integer DEFAULT 10,
                                      if_not_exists boolean DEFAULT false,
                                      fifo boolean DEFAULT false,
                                      delay_seconds integer DEFAULT 0)
RETURNS eventbus.queues
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.create_queue(text, integer, boolean, boolean, integer) IS
'Creates a queue (and its outbox table eventbus_outbox.queue_<name>) for pull consumers, owned by the caller (a member of eventbus_user or eventbus_admin); at most eventbus.max_queues queues (54000). fifo makes an SQS FIFO queue (order kept per message group, duplicates dropped within eventbus.deduplication_window); delay_seconds (0-900) delays the delivery of every message, as SQS''s DelaySeconds. Queues are also created (standard, without delay) by the first target that names them.';

CREATE FUNCTION eventbus._create_queue_impl(queue_name text, max_receive_count integer, if_not_exists boolean,
                                            fifo boolean, delay_seconds integer)
RETURNS eventbus.queues
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result eventbus.queues;
    n_queues bigint;
BEGIN
    PERFORM eventbus._require_creator('queue');
    IF queue_name IS NULL OR queue_name !~ '^[A-Za-z0-9_-]{1,54}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid queue name %L', queue_name),
            'A queue name has 1 to 54 characters: letters, digits, "_" and "-".',
            'Choose a name such as "orders-audit".');
    END IF;
    IF max_receive_count IS NULL OR max_receive_count NOT BETWEEN 1 AND 1000 THEN
        PERFORM eventbus._raise('22023',
            format('invalid max_receive_count %s for queue %L', coalesce(max_receive_count::text, 'NULL'), queue_name),
            'After max_receive_count receives a message moves to the dead letters.',
            'Use a value from 1 to 1000.');
    END IF;
    IF fifo IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('fifo must not be NULL for queue %L', queue_name),
            'A queue is either a FIFO queue (true) or a standard queue (false).',
            'Pass fifo => true or fifo => false.');
    END IF;
    IF delay_seconds IS NULL OR delay_seconds NOT BETWEEN 0 AND 900 THEN
        PERFORM eventbus._raise('22023',
            format('invalid delay_seconds %s for queue %L', coalesce(delay_seconds::text, 'NULL'), queue_name),
            'delay_seconds is a number of seconds from 0 to 900 (15 minutes), as SQS''s DelaySeconds.',
            'Pass a delay_seconds from 0 to 900.');
    END IF;
    -- one creator of a name at a time: a concurrent one waits, then finds it
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('eventbus.create_queue:' || queue_name));
    SELECT * INTO result FROM eventbus.queues q WHERE q.name = queue_name;
    IF FOUND THEN
        IF if_not_exists THEN
            RETURN result;
        END IF;
        PERFORM eventbus._raise('42710',
            format('queue %L already exists', queue_name),
            'Queue names are unique in the database.',
            'Use the existing queue, or pass if_not_exists => true.');
    END IF;
    -- creators of different names count one at a time too
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('eventbus.create_queue'));
    SELECT count(*) INTO n_queues FROM eventbus.queues;
    IF n_queues >= current_setting('eventbus.max_queues')::integer THEN
        PERFORM eventbus._raise('54000',
            format('queue %L cannot be created: the database has %s queues, the limit', queue_name, n_queues),
            format('A database has at most eventbus.max_queues (%s) queues.', current_setting('eventbus.max_queues')),
            'Delete a queue (delete_queue), or ask a superuser to raise eventbus.max_queues.');
    END IF;
    INSERT INTO eventbus.queues (name, outbox, max_receive_count, owner, fifo, delay_seconds)
    VALUES (queue_name, eventbus._create_outbox('queue_' || queue_name), max_receive_count,
            eventbus._caller(), fifo, delay_seconds)
    RETURNING * INTO result;
    PERFORM eventbus._queue_storage(result);
    RETURN result;
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_queue_impl(text, integer, boolean, boolean, integer) IS
'Internal: implementation of create_queue.';
REVOKE ALL ON FUNCTION eventbus._create_queue_impl(text, integer, boolean, boolean, integer) FROM PUBLIC;

-- What a queue's options make of its outbox: a FIFO queue's outbox has an
-- index on (message_group_id, message_id), which its receive walks to find
-- the head of each group; a queue's delay is the default of visible_at,
-- so that routing writes no more for it.
CREATE FUNCTION eventbus._queue_storage(q eventbus.queues)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF q.fifo THEN
        EXECUTE format('CREATE INDEX ON %s (message_group_id, message_id)', q.outbox);
    END IF;
    IF q.delay_seconds > 0 THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN visible_at SET DEFAULT pg_catalog.now() + %L::interval',
                       q.outbox, make_interval(secs => q.delay_seconds));
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._queue_storage(eventbus.queues) IS
'Internal: gives a new queue''s outbox table what its options need (the group index of a FIFO queue, the default visible_at of a delayed queue).';
REVOKE ALL ON FUNCTION eventbus._queue_storage(eventbus.queues) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_queue(queue_name text, force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_queue(text, boolean) IS
'Deletes a queue and its outbox table (for its owner and eventbus_admin); refused while targets name it, and while it holds messages unless force is true.';

CREATE FUNCTION eventbus._delete_queue_impl(queue_name text, force boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
    n_targets bigint;
    has_messages boolean;
BEGIN
    SELECT * INTO q FROM eventbus.queues WHERE name = queue_name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42704',
            format('queue %L does not exist', queue_name),
            'No queue of that name exists in this database.',
            'SELECT name FROM eventbus.queues lists the queues.');
    END IF;
    PERFORM eventbus._require_owner('queue', queue_name, q.owner);
    SELECT count(*) INTO n_targets FROM eventbus.targets
     WHERE (kind = 'queue' AND destination = queue_name)
        OR dead_letter_config->>'Queue' = queue_name;
    IF n_targets > 0 THEN
        PERFORM eventbus._raise('2BP01',
            format('queue %L is the destination of %s target(s)', queue_name, n_targets),
            'A queue that targets name (as destination or as DeadLetterConfig) cannot be deleted.',
            'Remove the targets first (remove_targets).');
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s)', q.outbox) INTO has_messages;
    IF has_messages AND NOT force THEN
        PERFORM eventbus._raise('2BP01',
            format('queue %L still holds messages', queue_name),
            'Deleting it would drop undelivered messages.',
            'Drain the queue first, or pass force => true to drop its messages.');
    END IF;
    DELETE FROM eventbus.queues WHERE name = queue_name;
    -- a later queue of the same name starts with no grants
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'queue' AND g.object_name = queue_name;
    DELETE FROM eventbus.deduplication d WHERE d.outbox = q.outbox::oid;
    EXECUTE format('DROP TABLE %s', q.outbox);
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_queue_impl(text, boolean) IS
'Internal: implementation of delete_queue.';
REVOKE ALL ON FUNCTION eventbus._delete_queue_impl(text, boolean) FROM PUBLIC;

-- Writing messages, moving them to the dead letters and waking a queue's
-- consumers, with the statements of src/outbox.c: every path that does so,
-- in C or in SQL, goes through them.
CREATE FUNCTION eventbus._enqueue(outbox regclass, event_id uuid,
                                  event_ingestion_time timestamptz, bus text,
                                  rule text, target_id text, payload jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_enqueue'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._enqueue(regclass, uuid, timestamptz, text, text, text, jsonb) IS
'Internal: writes one message to an outbox table; a NULL payload references the event.';

CREATE FUNCTION eventbus._dead_letter(outbox regclass, message_ids bigint[],
                                      error_code text, error_message text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_dead_letter'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._dead_letter(regclass, bigint[], text, text) IS
'Internal: moves messages of an outbox table to eventbus.dead_letters with that error; returns how many.';

CREATE FUNCTION eventbus._notify_queue(queue text)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_notify_queue'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._notify_queue(text) IS
'Internal: notifies the consumers of a queue (channel eventbus.<queue>) when the transaction commits.';

CREATE FUNCTION eventbus._outbox_plans(OUT outbox oid, OUT statement text, OUT "limit" integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_outbox_plans'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._outbox_plans() IS
'Internal: the statements this session keeps prepared for outbox tables, with the LIMIT of those that have one.';

-- A push target's own outbox: eventbus_outbox."push_<hash>_<target id>",
-- created on first use.  SECURITY DEFINER, as _create_outbox: the caller
-- needs no rights on schema eventbus_outbox.
CREATE FUNCTION eventbus._push_outbox(bus text, rule text, target_id text)
RETURNS regclass
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    table_name text := 'push_' || left(md5(bus || '/' || rule || '/' || target_id), 12)
                       || '_' || left(target_id, 44);
    existing regclass := to_regclass(format('eventbus_outbox.%I', table_name));
BEGIN
    RETURN coalesce(existing, eventbus._create_outbox(table_name));
END;
$fn$;

COMMENT ON FUNCTION eventbus._push_outbox(text, text, text) IS
'Internal: the outbox table of a push target (created if missing).';

-- When a push target goes away (removed, its rule or bus deleted with
-- force, or put again as another kind), its outbox goes too; messages still
-- in it move to the dead letters (error_code TargetRemoved), never dropped.
CREATE FUNCTION eventbus._target_removed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ids bigint[];
    n bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.outbox = OLD.outbox THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT FROM eventbus.queues q WHERE q.outbox = OLD.outbox)
       OR EXISTS (SELECT FROM eventbus.targets t WHERE t.outbox = OLD.outbox)
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = OLD.outbox) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT ARRAY(SELECT o.message_id FROM %s o)', OLD.outbox) INTO ids;
    n := eventbus._dead_letter(OLD.outbox, ids, 'TargetRemoved',
                               'The target was removed before the message was delivered.');
    IF n > 0 THEN
        RAISE NOTICE '% undelivered message(s) of target % moved to eventbus.dead_letters', n, OLD.target_id;
    END IF;
    EXECUTE format('DROP TABLE %s', OLD.outbox);
    RETURN NULL;
END;
$fn$;

COMMENT ON FUNCTION eventbus._target_removed() IS
'Internal: trigger on eventbus.targets that retires a push target''s outbox when the target goes, moving undelivered messages to the dead letters.';

CREATE TRIGGER target_removed
    AFTER DELETE OR UPDATE OF outbox ON eventbus.targets
    FOR EACH ROW EXECUTE FUNCTION eventbus._target_removed();

-- The queue a target (or a DeadLetterConfig) names, for put_targets: an
-- existing queue needs send for the caller; a missing one is created,
-- owned by the caller, if the caller may create queues.
CREATE FUNCTION eventbus._target_queue(queue text)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_outbox regclass;
BEGIN
    SELECT q.outbox INTO v_outbox FROM eventbus.queues q WHERE q.name = _target_queue.queue;
    IF FOUND THEN
        PERFORM eventbus._require_privilege('queue', queue, 'send');
        RETURN v_outbox;
    END IF;
    -- created meanwhile by someone else: their queue, so send is needed
    v_outbox := (eventbus.create_queue(queue, if_not_exists => true)).outbox;
    IF NOT EXISTS (SELECT FROM eventbus.queues q
                    WHERE q.name = _target_queue.queue AND q.owner = eventbus._caller()) THEN
        PERFORM eventbus._require_privilege('queue', queue, 'send');
    END IF;
    RETURN v_outbox;
END;
$fn$;

COMMENT ON FUNCTION eventbus._target_queue(text) IS
'Internal: the outbox of the queue a target names, for the caller of put_targets: raises 42501 unless the caller holds send on an existing queue; creates a missing one owned by the caller (42501 unless it may create queues).';

CREATE FUNCTION eventbus._outbox_floor(outbox regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_outbox_floor'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._outbox_floor(regclass) IS
'Internal: the scan floor of an outbox (no message has a lower or equal id; claims walk its primary key from there), kept in shared memory by the database''s first delivery worker; 0 when not known.';
