-- eventbus: EventBridge-style event routing inside PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION eventbus" to load this file. \quit

-- The extension's own schema, created here (not by the control file's
-- "schema" setting) so that it is a member of the extension and DROP
-- EXTENSION leaves nothing behind.
CREATE SCHEMA eventbus;
COMMENT ON SCHEMA eventbus IS 'eventbus: event buses, rules, targets, queues and events.';
-- Helpers shared by the SQL-language functions.

CREATE FUNCTION eventbus._raise(sqlstate text, message text, detail text DEFAULT NULL,
                                hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message,
                          DETAIL = coalesce(detail, ''), HINT = coalesce(hint, '');
END;
$fn$;

COMMENT ON FUNCTION eventbus._raise(text, text, text, text) IS
'Internal: raises an error with a SQLSTATE, message, detail and hint.';
-- The event pattern language: the pattern-match operator, TestEventPattern,
-- validation, and a domain for columns that hold patterns.

CREATE FUNCTION eventbus.event_matches(event jsonb, pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_event_matches'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_matches(jsonb, jsonb) IS
'true when the event matches the EventBridge event pattern; the function behind the =~ operator. An invalid pattern raises SQLSTATE 22023.';

CREATE OPERATOR eventbus.=~ (
    LEFTARG = jsonb,
    RIGHTARG = jsonb,
    FUNCTION = eventbus.event_matches,
    RESTRICT = matchingsel,
    JOIN = matchingjoinsel
);

COMMENT ON OPERATOR eventbus.=~ (jsonb, jsonb) IS
'event =~ pattern: does the event match the EventBridge event pattern?';

CREATE FUNCTION eventbus.test_event_pattern(event jsonb, pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_test_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.test_event_pattern(jsonb, jsonb) IS
'EventBridge''s TestEventPattern: the event must be an object with the fields id, account, source, time, region and detail-type (of any type); an incomplete event or an invalid pattern raises SQLSTATE 22023.';

CREATE FUNCTION eventbus.validate_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_event_pattern(jsonb) IS
'Returns true for a valid event pattern; raises "Event pattern is not valid. Reason: ..." (SQLSTATE 22023) otherwise.';

CREATE FUNCTION eventbus.is_valid_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_is_valid_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.is_valid_event_pattern(jsonb) IS
'true for a valid event pattern, false otherwise; never raises.';

CREATE FUNCTION eventbus._check_stored_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_check_stored_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._check_stored_event_pattern(jsonb) IS
'Internal: the check of domain event_pattern. Returns true, or raises the pattern''s reason (SQLSTATE 22023); accepts the patterns that earlier versions stored, which validate_event_pattern may refuse.';

CREATE DOMAIN eventbus.event_pattern AS jsonb
    CONSTRAINT event_pattern_check CHECK (eventbus._check_stored_event_pattern(VALUE));

COMMENT ON DOMAIN eventbus.event_pattern IS
'A jsonb value that is a valid EventBridge event pattern; a cast of an invalid pattern raises the pattern''s reason.';
-- Catalog and data tables: buses, rules, targets, queues, events, dead letters.
--
-- Every row a user made is dumped by pg_dump: the catalog tables, their
-- identity sequences and the default partition of eventbus.events are
-- extension members marked with pg_extension_config_dump (pg_dump dumps
-- their rows and sequence values, not their definitions); the daily
-- partitions of eventbus.events and the outbox tables are not members, so
-- pg_dump dumps them whole.  Outbox tables live in schema eventbus_outbox,
-- one per queue and one per push target, created by the functions that
-- create queues and targets.

CREATE SCHEMA eventbus_outbox;
COMMENT ON SCHEMA eventbus_outbox IS
'eventbus outbox tables: one per queue (queue_<name>) and one per push target.';

-- Settings read from SQL go through C functions, so that the library (and
-- with it the settings) is loaded even in a session that has not used
-- eventbus yet.
CREATE FUNCTION eventbus.current_account() RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_current_account' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.current_account() IS 'The value of eventbus.account.';

CREATE FUNCTION eventbus._max_targets_per_rule() RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_get_max_targets_per_rule' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION eventbus._max_targets_per_rule() IS 'Internal: the value of eventbus.max_targets_per_rule.';

CREATE FUNCTION eventbus.current_region() RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_current_region' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.current_region() IS 'The value of eventbus.region.';

CREATE TABLE eventbus.event_buses (
    name        text PRIMARY KEY,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_buses_name_valid
        CHECK (name ~ '^[A-Za-z0-9._/-]+$' AND length(name) <= 256)
);
COMMENT ON TABLE eventbus.event_buses IS 'Event buses; "default" always exists.';

INSERT INTO eventbus.event_buses (name, description)
VALUES ('default', 'The default event bus.');

CREATE TABLE eventbus.rules (
    rule_id       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    bus           text NOT NULL REFERENCES eventbus.event_buses (name),
    name          text NOT NULL,
    event_pattern eventbus.event_pattern NOT NULL,
    state         text NOT NULL DEFAULT 'ENABLED',
    description   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bus, name),
    CONSTRAINT rules_name_valid CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    CONSTRAINT rules_state_valid CHECK (state IN ('ENABLED', 'DISABLED'))
);
COMMENT ON TABLE eventbus.rules IS 'Rules: an event pattern on a bus, ENABLED or DISABLED.';

CREATE TABLE eventbus.queues (
    name              text PRIMARY KEY,
    outbox            regclass NOT NULL,
    max_receive_count integer NOT NULL DEFAULT 10,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queues_name_valid CHECK (name ~ '^[A-Za-z0-9_-]{1,54}$'),
    CONSTRAINT queues_max_receive_count_valid CHECK (max_receive_count BETWEEN 1 AND 1000)
);
COMMENT ON TABLE eventbus.queues IS
'Queues for pull consumers; each has an outbox table eventbus_outbox.queue_<name>.';

CREATE TABLE eventbus.targets (
    bus                text NOT NULL,
    rule               text NOT NULL,
    target_id          text NOT NULL,
    arn                text NOT NULL,
    -- kind: queue (pull), and for the delivery worker: function, bus, notify,
    -- api_destination (http: raw URLs, refused by put_targets)
    kind               text NOT NULL,
    -- queue name, function signature, bus name, channel or API destination, by kind
    destination        text NOT NULL,
    -- the table messages for this target are written to
    outbox             regclass NOT NULL,
    input              jsonb,
    input_path         text,
    input_transformer  jsonb,
    retry_policy       jsonb NOT NULL DEFAULT '{"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}',
    dead_letter_config jsonb,
    -- kind-specific settings (timeouts, headers, ...)
    config             jsonb NOT NULL DEFAULT '{}',
    -- the role the target acts as: whoever last put it (put_targets)
    owner              name NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bus, rule, target_id),
    FOREIGN KEY (bus, rule) REFERENCES eventbus.rules (bus, name),
    CONSTRAINT targets_id_valid CHECK (target_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    CONSTRAINT targets_kind_valid CHECK (kind IN ('queue', 'function', 'bus', 'notify', 'http', 'api_destination')),
    CONSTRAINT targets_one_input CHECK (num_nonnulls(input, input_path, input_transformer) <= 1)
);
COMMENT ON TABLE eventbus.targets IS
'Targets of rules: where a matching event goes (a queue, or a push destination), with its input transformation, retry policy and dead-letter config.';

CREATE INDEX targets_destination ON eventbus.targets (kind, destination);

-- Events, partitioned by ingestion time (daily partitions, see
-- eventbus.create_event_partitions), with a default partition so that a
-- plain INSERT or COPY can never fail for lack of a partition.
--
-- The primary key (id, ingestion_time) is each partition's own, not the
-- partitioned table's: the partitioned table belongs to the extension and
-- exists before a restore attaches the dumped daily partitions, so an index
-- of its own would give each of them a second primary key, and the dumped
-- one would fail.  As ingestion_time is the partition key, a key per
-- partition is unique over the whole table all the same.
CREATE TABLE eventbus.events (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    bus            text NOT NULL DEFAULT 'default',
    "time"         timestamptz NOT NULL DEFAULT now(),
    source         text NOT NULL,
    detail_type    text NOT NULL,
    account        text NOT NULL DEFAULT eventbus.current_account(),
    region         text NOT NULL DEFAULT eventbus.current_region(),
    resources      text[] NOT NULL DEFAULT '{}',
    detail         jsonb NOT NULL DEFAULT '{}',
    ingestion_time timestamptz NOT NULL DEFAULT now(),
    -- how many bus-to-bus targets forwarded this event (loop protection)
    hops           smallint NOT NULL DEFAULT 0,
    CONSTRAINT events_detail_is_object CHECK (jsonb_typeof(detail) = 'object')
) PARTITION BY RANGE (ingestion_time);
COMMENT ON TABLE eventbus.events IS
'Every event put on any bus, partitioned by ingestion_time. Inserting here (put_events, INSERT or COPY) routes the event.';

CREATE TABLE eventbus.events_default PARTITION OF eventbus.events (
    PRIMARY KEY (id, ingestion_time)
) DEFAULT;

CREATE TABLE eventbus.dead_letters (
    dead_letter_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bus                 text NOT NULL,
    rule                text NOT NULL,
    target_id           text NOT NULL,
    queue               text,
    message_id          bigint,
    event_id            uuid NOT NULL,
    event_ingestion_time timestamptz,
    payload             jsonb,
    error_code          text,
    error_message       text,
    exhausted_condition text,
    retry_attempts      integer NOT NULL DEFAULT 0,
    first_attempt_at    timestamptz,
    last_attempt_at     timestamptz,
    dead_lettered_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE eventbus.dead_letters IS
'Messages that could not be delivered or were received too often, with why; see redrive_dead_letters.';

SELECT pg_catalog.pg_extension_config_dump('eventbus.event_buses', $$WHERE name <> 'default'$$);
SELECT pg_catalog.pg_extension_config_dump('eventbus.rules', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.queues', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.targets', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.dead_letters', '');
-- Identity sequences must be marked themselves: marking their table is not
-- enough, and without them a restored database would hand out ids again.
SELECT pg_catalog.pg_extension_config_dump('eventbus.rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.dead_letters_dead_letter_id_seq', '');
-- Events that fell outside the daily partitions (COPY of old events, a day
-- without a partition): data, though the table is part of the extension.
SELECT pg_catalog.pg_extension_config_dump('eventbus.events_default', '');

-- Restores.  pg_dump's output (plain SQL or through pg_restore) runs CREATE
-- EXTENSION with row_security off, which no ordinary session does, and then
-- brings its own daily partitions, outbox tables and rows.  While it loads
-- them the delivery workers must not touch the database: they would deliver
-- or dead-letter messages whose events are not loaded yet, and take ids
-- from sequences not yet set.  So CREATE EXTENSION records the restoring
-- session here, and the workers wait until it (and every pg_restore
-- connection to the database) is gone.  Not dumped: a restored database
-- starts with no restore in progress.
CREATE TABLE eventbus._restore_sessions (
    pid           integer NOT NULL,
    backend_start timestamptz NOT NULL,
    began_at      timestamptz NOT NULL DEFAULT now(),
    -- when a worker first saw no restoring connection left
    quiet_since   timestamptz
);
COMMENT ON TABLE eventbus._restore_sessions IS
'Internal: the session restoring a dump into this database (recorded by CREATE EXTENSION); the delivery workers wait while it runs.';

CREATE FUNCTION eventbus._restoring()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.current_setting('row_security') = 'off'
$fn$;

COMMENT ON FUNCTION eventbus._restoring() IS
'Internal: whether this session runs pg_dump output (a restore): row_security is off, as pg_dump and pg_restore set it and no ordinary session does.';

DO $do$
BEGIN
    IF eventbus._restoring() THEN
        INSERT INTO eventbus._restore_sessions (pid, backend_start)
        SELECT a.pid, a.backend_start
          FROM pg_catalog.pg_stat_activity a
         WHERE a.pid = pg_catalog.pg_backend_pid();
    END IF;
END;
$do$;

CREATE FUNCTION eventbus._restore_pending(quiet_seconds integer DEFAULT 5)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus._restore_sessions) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT FROM eventbus._restore_sessions r
                 JOIN pg_catalog.pg_stat_activity a
                   ON a.pid = r.pid AND a.backend_start = r.backend_start)
       OR EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                   WHERE a.datname = pg_catalog.current_database()
                     AND a.application_name = 'pg_restore'
                     AND a.pid <> pg_catalog.pg_backend_pid()) THEN
        UPDATE eventbus._restore_sessions SET quiet_since = NULL WHERE quiet_since IS NOT NULL;
        RETURN true;
    END IF;
    -- pg_restore --jobs drops its first connection before the parallel ones
    -- connect: the restore is over only when it has been quiet a while.
    UPDATE eventbus._restore_sessions SET quiet_since = now() WHERE quiet_since IS NULL;
    IF EXISTS (SELECT FROM eventbus._restore_sessions
                WHERE quiet_since > now() - make_interval(secs => quiet_seconds)) THEN
        RETURN true;
    END IF;
    DELETE FROM eventbus._restore_sessions;
    RETURN false;
END;
$fn$;

COMMENT ON FUNCTION eventbus._restore_pending(integer) IS
'Internal: true while a restore loads this database (its session or a pg_restore connection is there, or left less than quiet_seconds ago); the delivery workers wait meanwhile. Forgets the restore once it is over.';
-- Target input transformation (EventBridge's Input, InputPath and
-- InputTransformer): validation when a target is put, and an ad-hoc
-- transformation function.  The C code is in src/transform*.c.

CREATE FUNCTION eventbus.validate_target_input(input jsonb, input_path text,
                                               input_transformer jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_target_input'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_target_input(jsonb, text, jsonb) IS
'Checks a target''s input settings (at most one of Input, InputPath and InputTransformer; NULL means absent): returns true, or raises "Target input is not valid. Reason: ..." (SQLSTATE 22023).';

CREATE FUNCTION eventbus.transform_input(event jsonb,
                                         input jsonb DEFAULT NULL,
                                         input_path text DEFAULT NULL,
                                         input_transformer jsonb DEFAULT NULL,
                                         rule_name text DEFAULT NULL,
                                         rule_arn text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_transform_input'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.transform_input(jsonb, jsonb, text, jsonb, text, text) IS
'What a target receives for the event (an EventBridge envelope) under the given Input, InputPath or InputTransformer; the event itself when all three are NULL. <aws.events.event.ingestion-time> is the event''s "time". NULL when the event is NULL.';
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
-- Catalog management: event buses, rules and targets, with EventBridge's
-- API names (CreateEventBus -> create_event_bus, PutRule -> put_rule, ...)
-- and its response shapes as jsonb.
--
-- Every function takes an event bus by name or by ARN
-- (arn:aws:events:<region>:<account>:event-bus/<name>); NULL means the
-- default bus.  ARNs are made from eventbus.region and eventbus.account:
--   bus   arn:aws:events:<region>:<account>:event-bus/<name>
--   rule  arn:aws:events:<region>:<account>:rule/<name>        (default bus)
--         arn:aws:events:<region>:<account>:rule/<bus>/<name>  (other buses)
--
-- Locking: a change to a bus's rules takes a KEY SHARE lock on the bus row
-- (delete_event_bus locks it FOR UPDATE); a change to a rule's targets
-- locks the rule row, so concurrent put_targets calls on one rule are
-- serialised and the targets-per-rule limit holds.

-- ---------------------------------------------------------------------
-- Internal helpers
-- ---------------------------------------------------------------------

-- EventBusName arguments are read by the same C parser as put_events'
-- (src/arn.c).
CREATE FUNCTION eventbus._bus_name(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_name(text) IS
'Internal: the bus name in an EventBusName argument (a name or an event-bus ARN); NULL means "default". Raises 22023 for an empty name or an ARN that is not an event bus ARN.';

CREATE FUNCTION eventbus._bus_arn_name(arn text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_arn_name'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_arn_name(text) IS
'Internal: the bus name in an event bus ARN; NULL when arn is not a well-formed event bus ARN.';

-- Raise 42704 for a bus or rule that does not exist.
CREATE FUNCTION eventbus._bus_not_found(bus text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('event bus %L does not exist', bus),
        'No event bus of that name exists in this database.',
        'list_event_buses() shows the buses; create_event_bus() creates one.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._bus_not_found(text) IS
'Internal: raises 42704 "event bus ... does not exist".';

CREATE FUNCTION eventbus._rule_not_found(bus text, rule text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = _rule_not_found.bus) THEN
        PERFORM eventbus._bus_not_found(bus);
    END IF;
    PERFORM eventbus._raise('42704',
        format('rule %L does not exist on event bus %L', rule, bus),
        'No rule of that name exists on that bus.',
        format('list_rules(%L) shows the rules of the bus; put_rule() creates one.', bus));
END;
$fn$;

COMMENT ON FUNCTION eventbus._rule_not_found(text, text) IS
'Internal: raises 42704 for a missing bus, or else for a missing rule on the bus.';

-- Checks without locking (for the read-only functions).
CREATE FUNCTION eventbus._check_bus(bus text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = _check_bus.bus) THEN
        PERFORM eventbus._bus_not_found(bus);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_bus(text) IS
'Internal: raises 42704 when the event bus does not exist.';

CREATE FUNCTION eventbus._check_rule(bus text, rule text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.rules r
                    WHERE r.bus = _check_rule.bus AND r.name = _check_rule.rule) THEN
        PERFORM eventbus._rule_not_found(bus, rule);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_rule(text, text) IS
'Internal: raises 42704 when the event bus or the rule does not exist.';

-- Locks the bus row (KEY SHARE: the bus cannot be deleted meanwhile) and
-- raises 42704 when it does not exist.
CREATE FUNCTION eventbus._lock_bus(bus text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM FROM eventbus.event_buses b WHERE b.name = _lock_bus.bus FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM eventbus._bus_not_found(bus);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._lock_bus(text) IS
'Internal: locks an event bus row (KEY SHARE) and raises 42704 when the bus does not exist.';

-- Locks the bus (KEY SHARE) and the rule row (NO KEY UPDATE: target
-- changes of one rule are serialised) and raises 42704 when either does
-- not exist.
CREATE FUNCTION eventbus._lock_rule(bus text, rule text)
RETURNS regrole
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_owner regrole;
BEGIN
    PERFORM eventbus._lock_bus(bus);
    SELECT r.owner INTO v_owner FROM eventbus.rules r
     WHERE r.bus = _lock_rule.bus AND r.name = _lock_rule.rule FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._rule_not_found(bus, rule);
    END IF;
    RETURN v_owner;
END;
$fn$;

COMMENT ON FUNCTION eventbus._lock_rule(text, text) IS
'Internal: locks a rule row (and its bus) and returns the rule''s owner; raises 42704 when the bus or the rule does not exist.';

CREATE FUNCTION eventbus._check_description(description text, what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF length(description) > 512 THEN
        PERFORM eventbus._raise('22023',
            format('description of %s is too long (%s characters)', what, length(description)),
            'A description has at most 512 characters, as in EventBridge.',
            'Shorten the description.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_description(text, text) IS
'Internal: raises 22023 when a bus or rule description is longer than 512 characters.';

-- What a target's Arn designates.  Queue targets are pulled by consumers;
-- the other kinds are pushed by the delivery worker.  kind and
-- destination are NULL when the Arn is not one of the recognised forms.
-- An API destination is named "api-destination:<name>" or by its ARN,
-- with or without the trailing /<uuid> (the C parser of the worker,
-- target kind api_destination, reads the same forms).
CREATE FUNCTION eventbus._parse_target_arn(arn text, OUT kind text, OUT destination text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF arn ~ '^queue:.' THEN
        kind := 'queue';
        destination := substr(arn, 7);
    ELSIF arn ~ '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:[^:/]+$' THEN
        kind := 'queue';
        destination := substring(arn FROM '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:([^:/]+)$');
    ELSIF arn ~ '^function:.' THEN
        kind := 'function';
        destination := substr(arn, 10);
    ELSIF arn ~ '^bus:.' THEN
        kind := 'bus';
        destination := substr(arn, 5);
    ELSIF arn ~ '^api-destination:.' THEN
        kind := 'api_destination';
        destination := substr(arn, 17);
    ELSIF arn ~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:api-destination/[.\-_A-Za-z0-9]{1,64}(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$' THEN
        kind := 'api_destination';
        destination := substring(arn FROM ':api-destination/([^/]+)');
    ELSIF eventbus._bus_arn_name(arn) IS NOT NULL THEN
        kind := 'bus';
        destination := eventbus._bus_arn_name(arn);
    ELSIF arn ~ '^notify:.' THEN
        kind := 'notify';
        destination := substr(arn, 8);
    ELSIF arn ~* '^https?://.' THEN
        kind := 'http';
        destination := arn;
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._parse_target_arn(text) IS
'Internal: the kind (queue, function, bus, notify, api_destination, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

-- The EventBridge error code reported for a per-entry failure.
CREATE FUNCTION eventbus._entry_error_code(sqlstate text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE
        WHEN sqlstate = '42704' THEN 'ResourceNotFoundException'
        WHEN sqlstate = '54000' THEN 'LimitExceededException'
        ELSE 'ValidationException'
    END;
$fn$;

COMMENT ON FUNCTION eventbus._entry_error_code(text) IS
'Internal: the EventBridge ErrorCode of a per-entry failure with this SQLSTATE.';

-- Whether an error raised while handling one entry of put_targets is that
-- entry's failure (true): the SQLSTATEs raised on purpose for a bad entry.
-- Anything else (serialization failures, deadlocks, lack of privileges,
-- resources, bugs) fails the whole call.
CREATE FUNCTION eventbus._is_entry_error(sqlstate text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT sqlstate IN ('22023', '0A000', '42704', '54000');
$fn$;

COMMENT ON FUNCTION eventbus._is_entry_error(text) IS
'Internal: true for the SQLSTATEs that fail one entry of put_targets rather than the whole call.';

-- ---------------------------------------------------------------------
-- ARNs
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.event_bus_arn(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_event_bus_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_bus_arn(text) IS
'The ARN of an event bus: arn:aws:events:<region>:<account>:event-bus/<name> (eventbus.region, eventbus.account). Does not check that the bus exists.';

CREATE FUNCTION eventbus.rule_arn(rule text, event_bus_name text DEFAULT 'default')
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_rule_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.rule_arn(text, text) IS
'The ARN of a rule, as EventBridge forms it: arn:aws:events:<region>:<account>:rule/<name> on the default bus, .../rule/<bus>/<name> on other buses. Does not check that the rule exists.';

-- ---------------------------------------------------------------------
-- Event buses
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.create_event_bus(name text, description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.create_event_bus(text, text) IS
'EventBridge''s CreateEventBus: creates a custom event bus owned by the caller (a member of eventbus_user or eventbus_admin) and returns {"EventBusArn": ...}. Names: 1 to 256 letters, digits, ".", "_", "-", "/"; "aws." prefixes are reserved. At most eventbus.max_event_buses buses (54000).';

CREATE FUNCTION eventbus._create_event_bus_impl(name text, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._require_creator('event bus');
    IF _create_event_bus_impl.name IS NULL OR _create_event_bus_impl.name !~ '^[A-Za-z0-9._/-]+$'
       OR length(_create_event_bus_impl.name) > 256 THEN
        PERFORM eventbus._raise('22023',
            format('invalid event bus name %L', _create_event_bus_impl.name),
            'An event bus name has 1 to 256 characters: letters, digits, ".", "_", "-" and "/".',
            'Choose a name such as "orders" or "banking-demo-events".');
    END IF;
    IF _create_event_bus_impl.name LIKE 'aws.%' THEN
        PERFORM eventbus._raise('22023',
            format('invalid event bus name %L', _create_event_bus_impl.name),
            'Event bus names beginning with "aws." are reserved for AWS (partner event buses).',
            'Choose a name that does not begin with "aws.".');
    END IF;
    PERFORM eventbus._check_description(_create_event_bus_impl.description,
                                        format('event bus %L', _create_event_bus_impl.name));
    -- the quota counts every bus, the default one included; creators of
    -- buses count one at a time
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('eventbus.create_event_bus'));
    IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = _create_event_bus_impl.name)
       AND (SELECT count(*) FROM eventbus.event_buses) >= current_setting('eventbus.max_event_buses')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event bus %L cannot be created: the database has %s event buses, the limit',
                   _create_event_bus_impl.name, (SELECT count(*) FROM eventbus.event_buses)),
            format('A database has at most eventbus.max_event_buses (%s) event buses, the default bus included.',
                   current_setting('eventbus.max_event_buses')),
            'Delete a bus (delete_event_bus), or ask a superuser to raise eventbus.max_event_buses.');
    END IF;
    INSERT INTO eventbus.event_buses AS b (name, description, owner)
    VALUES (_create_event_bus_impl.name, _create_event_bus_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT event_buses_pkey DO NOTHING;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('event bus %L already exists', _create_event_bus_impl.name),
            CASE WHEN _create_event_bus_impl.name = 'default'
                 THEN 'The default event bus always exists.'
                 ELSE 'Event bus names are unique in the database.' END,
            'Use the existing bus, or delete it first with delete_event_bus().');
    END IF;
    RETURN jsonb_build_object('EventBusArn', eventbus.event_bus_arn(_create_event_bus_impl.name));
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_event_bus_impl(text, text) IS
'Internal: implementation of create_event_bus.';
REVOKE ALL ON FUNCTION eventbus._create_event_bus_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_event_bus(name text, force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_event_bus(text, boolean) IS
'EventBridge''s DeleteEventBus: deletes a custom event bus (for its owner and eventbus_admin); refused while it has rules unless force is true, which deletes its rules and their targets (never queues). The default bus cannot be deleted; a bus that does not exist is skipped with a notice.';

CREATE FUNCTION eventbus._delete_event_bus_impl(name text, force boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_delete_event_bus_impl.name);
    n_rules bigint;
    v_owner regrole;
BEGIN
    IF v_bus = 'default' THEN
        PERFORM eventbus._raise('2BP01',
            'the default event bus cannot be deleted',
            'Every database has a default event bus; events and rules without an event bus name use it.',
            'Delete its rules instead (delete_rule).');
    END IF;
    SELECT b.owner INTO v_owner FROM eventbus.event_buses b WHERE b.name = v_bus FOR UPDATE;
    IF NOT FOUND THEN
        -- As EventBridge's DeleteEventBus: deleting what is not there succeeds.
        RAISE NOTICE '%', format('event bus %L does not exist, skipping', v_bus);
        RETURN;
    END IF;
    PERFORM eventbus._require_owner('bus', v_bus, v_owner);
    SELECT count(*) INTO n_rules FROM eventbus.rules r WHERE r.bus = v_bus;
    IF n_rules > 0 AND NOT coalesce(force, false) THEN
        PERFORM eventbus._raise('2BP01',
            format('event bus %L still has %s rule(s)', v_bus, n_rules),
            'An event bus with rules cannot be deleted.',
            'Delete its rules first (delete_rule), or pass force => true to delete them with their targets.');
    END IF;
    -- Forced: the rules go with their targets; queues (and the messages
    -- already in them) stay.
    DELETE FROM eventbus.targets t WHERE t.bus = v_bus;
    DELETE FROM eventbus.rules r WHERE r.bus = v_bus;
    -- a later bus of the same name starts with no grants
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'bus' AND g.object_name = v_bus;
    DELETE FROM eventbus.event_buses b WHERE b.name = v_bus;
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_event_bus_impl(text, boolean) IS
'Internal: implementation of delete_event_bus.';
REVOKE ALL ON FUNCTION eventbus._delete_event_bus_impl(text, boolean) FROM PUBLIC;

CREATE FUNCTION eventbus.describe_event_bus(name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_event_bus(text) IS
'EventBridge''s DescribeEventBus: {"Name", "Arn", "Description", "CreationTime"} of a bus (Description omitted when there is none). Raises 42501 unless the caller owns the bus, holds a privilege on it, or is an eventbus_admin.';

CREATE FUNCTION eventbus._describe_event_bus_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    b eventbus.event_buses;
BEGIN
    SELECT * INTO b FROM eventbus.event_buses x
     WHERE x.name = eventbus._bus_name(_describe_event_bus_impl.name);
    IF NOT FOUND THEN
        PERFORM eventbus._bus_not_found(eventbus._bus_name(_describe_event_bus_impl.name));
    END IF;
    PERFORM eventbus._require_bus_visible(b.name);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'Name', b.name,
        'Arn', eventbus.event_bus_arn(b.name),
        'Description', b.description,
        'CreationTime', b.created_at));
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_event_bus_impl(text) IS
'Internal: implementation of describe_event_bus.';
REVOKE ALL ON FUNCTION eventbus._describe_event_bus_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_event_buses(name_prefix text DEFAULT NULL)
RETURNS TABLE (name text, arn text, description text, created_at timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_event_buses(text) IS
'EventBridge''s ListEventBuses: the event buses the caller may see (it owns them, holds a privilege on them, or is an eventbus_admin), optionally those whose name begins with name_prefix, by name.';

CREATE FUNCTION eventbus._list_event_buses_impl(name_prefix text)
RETURNS TABLE (name text, arn text, description text, created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    RETURN QUERY
    SELECT b.name, eventbus.event_bus_arn(b.name), b.description, b.created_at
      FROM eventbus.event_buses b
     WHERE (_list_event_buses_impl.name_prefix IS NULL
            OR starts_with(b.name, _list_event_buses_impl.name_prefix))
       AND eventbus._may_see_bus(b.name, caller)
     ORDER BY b.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_event_buses_impl(text) IS
'Internal: implementation of list_event_buses.';
REVOKE ALL ON FUNCTION eventbus._list_event_buses_impl(text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Rules
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.put_rule(name text, event_pattern jsonb,
                                  event_bus_name text DEFAULT 'default',
                                  state text DEFAULT 'ENABLED',
                                  description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.put_rule(text, jsonb, text, text, text) IS
'EventBridge''s PutRule: creates or replaces a rule (event pattern, ENABLED/DISABLED, description) on a bus and returns {"RuleArn": ...}. Creating a rule needs manage_rules on the bus (the caller owns the new rule); replacing one needs being its owner, the bus''s owner or an eventbus_admin (42501). An invalid pattern raises its reason (SQLSTATE 22023); a pattern longer than eventbus.max_pattern_size, or a rule over eventbus.max_rules_per_bus, raises SQLSTATE 54000.';

CREATE FUNCTION eventbus._put_rule_impl(name text, event_pattern jsonb, event_bus_name text, state text, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_put_rule_impl.event_bus_name);
    v_owner regrole;
    n_rules bigint;
BEGIN
    IF _put_rule_impl.name IS NULL OR _put_rule_impl.name !~ '^[A-Za-z0-9._-]{1,64}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule name %L', _put_rule_impl.name),
            'A rule name has 1 to 64 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "approved-applications".');
    END IF;
    IF _put_rule_impl.event_pattern IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('rule %L has no event pattern', _put_rule_impl.name),
            'A rule routes the events that match its event pattern.',
            'Pass an event pattern such as ''{"source": ["my.app"]}''.');
    END IF;
    PERFORM eventbus.validate_event_pattern(_put_rule_impl.event_pattern);
    -- The size quota applies where patterns are defined, never where stored
    -- rules are loaded: lowering it leaves existing rules routing.
    IF length(_put_rule_impl.event_pattern::text) > current_setting('eventbus.max_pattern_size')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event pattern of rule %L is %s characters long, over the limit of %s',
                   _put_rule_impl.name, length(_put_rule_impl.event_pattern::text),
                   current_setting('eventbus.max_pattern_size')),
            'eventbus.max_pattern_size bounds the patterns put_rule accepts, counted in characters of the pattern as jsonb prints it (EventBridge''s quota is 2048); rules already stored keep routing.',
            'Shorten the pattern, or raise eventbus.max_pattern_size.');
    END IF;
    IF _put_rule_impl.state IS NULL OR _put_rule_impl.state NOT IN ('ENABLED', 'DISABLED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule state %L', _put_rule_impl.state),
            'A rule''s state is ENABLED or DISABLED.',
            'Pass state => ''ENABLED'' or state => ''DISABLED''.');
    END IF;
    PERFORM eventbus._check_description(_put_rule_impl.description, format('rule %L', _put_rule_impl.name));
    PERFORM eventbus._lock_bus(v_bus);
    -- One creator of a bus's rules at a time, so that the rights checked,
    -- the quota counted and the row written are those of the same rules.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('eventbus.put_rule:' || v_bus));
    SELECT r.owner INTO v_owner FROM eventbus.rules r
     WHERE r.bus = v_bus AND r.name = _put_rule_impl.name FOR NO KEY UPDATE;
    IF FOUND THEN
        -- replacing: the rule's owner, the bus's owner or an admin
        PERFORM eventbus._require_rule_owner(v_bus, _put_rule_impl.name, v_owner);
    ELSE
        PERFORM eventbus._require_privilege('bus', v_bus, 'manage_rules');
        SELECT count(*) INTO n_rules FROM eventbus.rules r WHERE r.bus = v_bus;
        IF n_rules >= current_setting('eventbus.max_rules_per_bus')::integer THEN
            PERFORM eventbus._raise('54000',
                format('rule %L cannot be created: event bus %L has %s rules, the limit',
                       _put_rule_impl.name, v_bus, n_rules),
                format('An event bus has at most eventbus.max_rules_per_bus (%s) rules.',
                       current_setting('eventbus.max_rules_per_bus')),
                'Delete a rule (delete_rule), or ask a superuser to raise eventbus.max_rules_per_bus.');
        END IF;
    END IF;
    -- As EventBridge's PutRule: an update replaces the pattern, state and
    -- description with what is given; the rule keeps its owner.
    INSERT INTO eventbus.rules AS r (bus, name, event_pattern, state, description, owner)
    VALUES (v_bus, _put_rule_impl.name, _put_rule_impl.event_pattern, _put_rule_impl.state,
            _put_rule_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT rules_pkey DO UPDATE
       SET event_pattern = excluded.event_pattern,
           state = excluded.state,
           description = excluded.description,
           updated_at = now();
    RETURN jsonb_build_object('RuleArn', eventbus.rule_arn(_put_rule_impl.name, v_bus));
END;
$fn$;

COMMENT ON FUNCTION eventbus._put_rule_impl(text, jsonb, text, text, text) IS
'Internal: implementation of put_rule.';
REVOKE ALL ON FUNCTION eventbus._put_rule_impl(text, jsonb, text, text, text) FROM PUBLIC;

CREATE FUNCTION eventbus._set_rule_state(rule text, event_bus_name text, new_state text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(event_bus_name);
BEGIN
    PERFORM eventbus._require_rule_owner(v_bus, _set_rule_state.rule,
                                         eventbus._lock_rule(v_bus, _set_rule_state.rule));
    UPDATE eventbus.rules r
       SET state = new_state, updated_at = now()
     WHERE r.bus = v_bus AND r.name = _set_rule_state.rule;
END;
$fn$;

COMMENT ON FUNCTION eventbus._set_rule_state(text, text, text) IS
'Internal: sets the state of a rule (enable_rule, disable_rule) for the caller of the current API function, who must own the rule or its bus or be an eventbus_admin.';

CREATE FUNCTION eventbus.enable_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.enable_rule(text, text) IS
'EventBridge''s EnableRule: the rule routes matching events again. For the rule''s owner, the bus''s owner and eventbus_admin (42501); raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus._enable_rule_impl(name text, event_bus_name text)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._set_rule_state(name, event_bus_name, 'ENABLED');
$fn$;

COMMENT ON FUNCTION eventbus._enable_rule_impl(text, text) IS
'Internal: implementation of enable_rule.';
REVOKE ALL ON FUNCTION eventbus._enable_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.disable_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.disable_rule(text, text) IS
'EventBridge''s DisableRule: the rule stops routing events (its targets stay). For the rule''s owner, the bus''s owner and eventbus_admin (42501); raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus._disable_rule_impl(name text, event_bus_name text)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._set_rule_state(name, event_bus_name, 'DISABLED');
$fn$;

COMMENT ON FUNCTION eventbus._disable_rule_impl(text, text) IS
'Internal: implementation of disable_rule.';
REVOKE ALL ON FUNCTION eventbus._disable_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_rule(name text, event_bus_name text DEFAULT 'default',
                                     force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_rule(text, text, boolean) IS
'EventBridge''s DeleteRule: deletes a rule (for its owner, the bus''s owner and eventbus_admin); refused while it has targets unless force is true, which removes them (queues stay). A rule that does not exist is skipped with a notice; a bus that does not exist raises 42704.';

CREATE FUNCTION eventbus._delete_rule_impl(name text, event_bus_name text, force boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_delete_rule_impl.event_bus_name);
    n_targets bigint;
    v_owner regrole;
BEGIN
    PERFORM eventbus._lock_bus(v_bus);
    SELECT r.owner INTO v_owner FROM eventbus.rules r
     WHERE r.bus = v_bus AND r.name = _delete_rule_impl.name FOR UPDATE;
    IF NOT FOUND THEN
        -- As EventBridge's DeleteRule: deleting what is not there succeeds.
        RAISE NOTICE '%', format('rule %L does not exist on event bus %L, skipping',
                                 _delete_rule_impl.name, v_bus);
        RETURN;
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _delete_rule_impl.name, v_owner);
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _delete_rule_impl.name;
    IF n_targets > 0 AND NOT coalesce(force, false) THEN
        PERFORM eventbus._raise('2BP01',
            format('rule %L on event bus %L still has %s target(s)', _delete_rule_impl.name, v_bus, n_targets),
            'A rule with targets cannot be deleted.',
            'Remove its targets first (remove_targets), or pass force => true to remove them with the rule.');
    END IF;
    DELETE FROM eventbus.targets t WHERE t.bus = v_bus AND t.rule = _delete_rule_impl.name;
    DELETE FROM eventbus.rules r WHERE r.bus = v_bus AND r.name = _delete_rule_impl.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_rule_impl(text, text, boolean) IS
'Internal: implementation of delete_rule.';
REVOKE ALL ON FUNCTION eventbus._delete_rule_impl(text, text, boolean) FROM PUBLIC;

CREATE FUNCTION eventbus.describe_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_rule(text, text) IS
'EventBridge''s DescribeRule: {"Name", "Arn", "EventPattern" (JSON text), "State", "Description", "EventBusName", "CreatedBy"}; Description is omitted when there is none. For the rule''s owner and the holders of manage_rules or read_events on its bus (42501).';

CREATE FUNCTION eventbus._describe_rule_impl(name text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_describe_rule_impl.event_bus_name);
    r eventbus.rules;
BEGIN
    SELECT * INTO r FROM eventbus.rules x
     WHERE x.bus = v_bus AND x.name = _describe_rule_impl.name;
    IF NOT FOUND THEN
        PERFORM eventbus._rule_not_found(v_bus, _describe_rule_impl.name);
    END IF;
    IF NOT eventbus._may_see_rule(r.bus, r.owner, eventbus._caller()) THEN
        PERFORM eventbus._require_privilege('bus', r.bus, 'read_events');
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'Name', r.name,
        'Arn', eventbus.rule_arn(r.name, r.bus),
        'EventPattern', r.event_pattern::text,
        'State', r.state,
        'Description', r.description,
        'EventBusName', r.bus,
        'CreatedBy', eventbus.current_account()));
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_rule_impl(text, text) IS
'Internal: implementation of describe_rule.';
REVOKE ALL ON FUNCTION eventbus._describe_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_rules(event_bus_name text DEFAULT 'default',
                                    name_prefix text DEFAULT NULL)
RETURNS TABLE (name text, arn text, event_pattern jsonb, state text,
               description text, event_bus_name text)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_rules(text, text) IS
'EventBridge''s ListRules: the rules of a bus that the caller may see (it owns them, or holds manage_rules or read_events on the bus), optionally those whose name begins with name_prefix, by name. Raises 42704 when the bus does not exist.';

-- (The arguments are named apart from the result columns: the argument
-- event_bus_name shares its name with one, which PL/pgSQL refuses.)
CREATE FUNCTION eventbus._list_rules_impl(bus_arg text, prefix_arg text)
RETURNS TABLE (name text, arn text, event_pattern jsonb, state text,
               description text, event_bus_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(bus_arg);
    caller regrole := eventbus._caller();
BEGIN
    PERFORM eventbus._check_bus(v_bus);
    PERFORM eventbus._require_bus_visible(v_bus);
    RETURN QUERY
    SELECT r.name, eventbus.rule_arn(r.name, r.bus), r.event_pattern::jsonb,
           r.state, r.description, r.bus
      FROM eventbus.rules r
     WHERE r.bus = v_bus
       AND (prefix_arg IS NULL OR starts_with(r.name, prefix_arg))
       AND eventbus._may_see_rule(r.bus, r.owner, caller)
     ORDER BY r.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_rules_impl(text, text) IS
'Internal: implementation of list_rules.';
REVOKE ALL ON FUNCTION eventbus._list_rules_impl(text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Targets
-- ---------------------------------------------------------------------

-- The stored RetryPolicy: both fields, defaults filled in.
CREATE FUNCTION eventbus._retry_policy(policy jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
    attempts jsonb;
    age jsonb;
BEGIN
    IF policy IS NULL OR jsonb_typeof(policy) = 'null' THEN
        RETURN '{"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}';
    END IF;
    IF jsonb_typeof(policy) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            'RetryPolicy must be a JSON object',
            format('RetryPolicy is %s.', policy),
            'Pass {"MaximumRetryAttempts": 0-185, "MaximumEventAgeInSeconds": 60-86400}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(policy) LOOP
        IF k NOT IN ('MaximumRetryAttempts', 'MaximumEventAgeInSeconds') THEN
            PERFORM eventbus._raise('22023',
                format('RetryPolicy has an unknown key %L', k),
                'A RetryPolicy has the keys MaximumRetryAttempts and MaximumEventAgeInSeconds.',
                'Remove the key.');
        END IF;
    END LOOP;
    attempts := coalesce(nullif(policy -> 'MaximumRetryAttempts', 'null'), '185');
    age := coalesce(nullif(policy -> 'MaximumEventAgeInSeconds', 'null'), '86400');
    IF jsonb_typeof(attempts) <> 'number' OR attempts::text::numeric <> trunc(attempts::text::numeric)
       OR attempts::text::numeric NOT BETWEEN 0 AND 185 THEN
        PERFORM eventbus._raise('22023',
            format('RetryPolicy.MaximumRetryAttempts must be an integer from 0 to 185, not %s', attempts),
            'It is how many times a failed delivery is retried.',
            'The default is 185.');
    END IF;
    IF jsonb_typeof(age) <> 'number' OR age::text::numeric <> trunc(age::text::numeric)
       OR age::text::numeric NOT BETWEEN 60 AND 86400 THEN
        PERFORM eventbus._raise('22023',
            format('RetryPolicy.MaximumEventAgeInSeconds must be an integer from 60 to 86400, not %s', age),
            'It is how long, in seconds, a failed delivery keeps being retried.',
            'The default is 86400 (24 hours).');
    END IF;
    RETURN jsonb_build_object('MaximumRetryAttempts', attempts::text::numeric::int,
                              'MaximumEventAgeInSeconds', age::text::numeric::int);
END;
$fn$;

COMMENT ON FUNCTION eventbus._retry_policy(jsonb) IS
'Internal: validates a PutTargets RetryPolicy and returns it with defaults filled in (185 attempts, 86400 seconds).';

CREATE FUNCTION eventbus.put_targets(rule text, targets jsonb,
                                     event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.put_targets(text, jsonb, text) IS
'EventBridge''s PutTargets: adds or updates targets of a rule from PutTargets'' Targets array (or {"Targets": [...]}); returns {"FailedEntryCount", "FailedEntries": [{"TargetId", "ErrorCode", "ErrorMessage"}]}. A bad entry fails alone; a missing rule raises 42704. For the rule''s owner, the bus''s owner and eventbus_admin; the caller becomes the targets'' owner, the role they act as, and needs send on a target''s queue and DeadLetterConfig queue, EXECUTE on a target''s function, put_events on a target''s bus and invoke on a target''s API destination (42501 fails the call). API destination targets ("api-destination:<name>" or the API destination''s ARN) take HttpParameters ({"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}, values static or JSON paths "$...." into the event); other targets refuse them. Queue targets ("queue:<name>", "arn:aws:sqs:...:<name>") create a missing queue, owned by the caller, when the caller may create queues. A FIFO queue''s targets need SqsParameters {"MessageGroupId": "<group>" or "$.<path>", "MessageDeduplicationId": "$.<path>" (optional; default: the event id)}; other targets refuse them.';

CREATE FUNCTION eventbus._put_targets_impl(rule text, targets jsonb, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_put_targets_impl.event_bus_name);
    entries jsonb := _put_targets_impl.targets;
    max_targets int := eventbus._max_targets_per_rule();
    n_targets int;
    failed jsonb := '[]';
    seen text[] := '{}';
    entry jsonb;
    pos bigint;
    k text;
    tid text;
    t_arn text;
    t_kind text;
    t_dest text;
    t_input jsonb;
    t_input_path text;
    t_transformer jsonb;
    t_retry jsonb;
    t_dlc jsonb;
    t_config jsonb;
    t_http jsonb;
    t_sqs jsonb;
    t_uuid text;
    dlq_kind text;
    dlq_name text;
    t_outbox regclass;
    t_func regprocedure;
    is_update boolean;
    err_state text;
    err_message text;
    caller regrole := eventbus._caller();
BEGIN
    IF jsonb_typeof(entries) = 'object' AND entries ? 'Targets' THEN
        entries := entries -> 'Targets';
    END IF;
    IF entries IS NULL OR jsonb_typeof(entries) <> 'array' THEN
        PERFORM eventbus._raise('22023',
            'targets must be a JSON array of targets',
            format('targets is %s.', coalesce(_put_targets_impl.targets::text, 'NULL')),
            'Pass PutTargets'' Targets array, e.g. ''[{"Id": "t1", "Arn": "queue:orders"}]'', or {"Targets": [...]}.');
    END IF;
    IF jsonb_array_length(entries) = 0 THEN
        PERFORM eventbus._raise('22023',
            'targets is empty',
            'PutTargets takes at least one target.',
            'Pass a non-empty array.');
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _put_targets_impl.rule,
                                         eventbus._lock_rule(v_bus, _put_targets_impl.rule));
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _put_targets_impl.rule;

    FOR entry, pos IN SELECT e, o FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(e, o) LOOP
        tid := NULL;
        BEGIN
            IF jsonb_typeof(entry) <> 'object' THEN
                PERFORM eventbus._raise('22023',
                    format('entry %s of targets is not a JSON object', pos),
                    format('It is %s.', entry),
                    'Each target is an object such as {"Id": "t1", "Arn": "queue:orders"}.');
            END IF;
            IF jsonb_typeof(entry -> 'Id') = 'string' THEN
                tid := entry ->> 'Id';
            END IF;
            IF tid IS NULL OR tid !~ '^[A-Za-z0-9._-]{1,64}$' THEN
                PERFORM eventbus._raise('22023',
                    CASE WHEN entry ? 'Id'
                         THEN format('entry %s of targets has an invalid Id %s', pos, entry -> 'Id')
                         ELSE format('entry %s of targets has no Id', pos) END,
                    'A target Id is a string of 1 to 64 characters: letters, digits, ".", "_" and "-".',
                    'Give each target an Id such as "audit-queue".');
            END IF;
            FOR k IN SELECT jsonb_object_keys(entry) LOOP
                IF k NOT IN ('Id', 'Arn', 'Input', 'InputPath', 'InputTransformer',
                             'RetryPolicy', 'DeadLetterConfig', 'Config', 'HttpParameters',
                             'SqsParameters') THEN
                    PERFORM eventbus._raise('22023',
                        format('target %L has an unsupported key %L', tid, k),
                        'A target has the keys Id, Arn, Input, InputPath, InputTransformer, RetryPolicy, DeadLetterConfig, Config, HttpParameters and SqsParameters.',
                        'Remove the key.');
                END IF;
            END LOOP;
            IF tid = ANY (seen) THEN
                PERFORM eventbus._raise('22023',
                    format('target Id %L appears more than once in the request', tid),
                    'Each target of a PutTargets request has its own Id.',
                    'Put one entry per Id.');
            END IF;
            seen := seen || tid;

            -- Arn: what the target designates
            IF jsonb_typeof(entry -> 'Arn') IS DISTINCT FROM 'string' THEN
                PERFORM eventbus._raise('22023',
                    CASE WHEN entry ? 'Arn'
                         THEN format('target %L has an invalid Arn %s', tid, entry -> 'Arn')
                         ELSE format('target %L has no Arn', tid) END,
                    'Every target has an Arn naming where matching events go.',
                    'Use "queue:<name>" or "arn:aws:sqs:<region>:<account>:<name>".');
            END IF;
            t_arn := entry ->> 'Arn';
            SELECT p.kind, p.destination INTO t_kind, t_dest FROM eventbus._parse_target_arn(t_arn) p;
            IF length(t_arn) > 1600 OR t_kind IS NULL THEN
                PERFORM eventbus._raise('22023',
                    format('target %L has an unrecognised Arn %L', tid, left(t_arn, 100)),
                    'Recognised Arns: queue:<name>, arn:aws:sqs:<region>:<account>:<name>, function:<schema.name>, bus:<name>, arn:aws:events:<region>:<account>:event-bus/<name>, notify:<channel>, api-destination:<name>, arn:aws:events:<region>:<account>:api-destination/<name>[/<uuid>].',
                    'Use "queue:<name>" for a queue read with receive().');
            END IF;
            IF t_kind = 'http' THEN
                PERFORM eventbus._raise('0A000',
                    format('target %L has a URL as its Arn', tid),
                    format('Target %L has Arn %L; HTTP endpoints are reached through API destinations, as in EventBridge.', tid, left(t_arn, 200)),
                    'Create a connection (create_connection) and an API destination for the URL (create_api_destination), then use Arn "api-destination:<name>".');
            ELSIF t_kind = 'api_destination' THEN
                t_uuid := substring(t_arn FROM '/([0-9A-Fa-f-]{36})$');
                -- locked, so that it is not deleted while the target is put
                IF NOT EXISTS (SELECT FROM eventbus.api_destinations d
                                WHERE d.name = t_dest AND (t_uuid IS NULL OR d.arn_uuid = t_uuid::uuid)
                                  FOR KEY SHARE) THEN
                    PERFORM eventbus._raise('42704',
                        format('API destination %L does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create the API destination first (create_api_destination).');
                END IF;
                -- the target sends to it as its owner
                PERFORM eventbus._require_privilege('api_destination', t_dest, 'invoke');
            ELSIF t_kind = 'function' THEN
                -- the function takes the payload as its one jsonb argument
                t_func := to_regprocedure(t_dest || '(jsonb)');
                IF t_func IS NULL THEN
                    PERFORM eventbus._raise('42704',
                        format('function %s(jsonb) does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create a function taking one jsonb argument, e.g. CREATE FUNCTION app.on_event(event jsonb) RETURNS void ...');
                END IF;
                -- the worker calls it as the target's owner: who puts the
                -- target must be able to call it
                IF NOT has_function_privilege(caller, t_func, 'EXECUTE') THEN
                    PERFORM eventbus._raise('42501',
                        format('permission denied for function %s', t_func),
                        format('Target %L would run %s as role %s, which lacks EXECUTE on it.', tid, t_func, caller),
                        format('The function''s owner can grant it: GRANT EXECUTE ON FUNCTION %s TO %s.', t_func, caller));
                END IF;
                -- qualified, as search_path is pinned here
                t_dest := t_func::text;
            ELSIF t_kind = 'bus' THEN
                IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = t_dest) THEN
                    PERFORM eventbus._raise('42704',
                        format('event bus %L does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create the bus first (create_event_bus).');
                END IF;
                -- the target forwards events as its owner
                PERFORM eventbus._require_privilege('bus', t_dest, 'put_events');
            ELSIF t_kind = 'notify' THEN
                IF length(t_dest) > 63 THEN
                    PERFORM eventbus._raise('22023',
                        format('notify channel %L is longer than 63 characters', left(t_dest, 100)),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Use a channel name of at most 63 characters.');
                END IF;
            END IF;

            -- Input, InputPath, InputTransformer
            t_input := nullif(entry -> 'Input', 'null');
            IF jsonb_typeof(t_input) = 'string' THEN
                -- AWS passes Input as JSON text
                BEGIN
                    t_input := (t_input #>> '{}')::jsonb;
                EXCEPTION WHEN invalid_text_representation THEN
                    PERFORM eventbus._raise('22023',
                        format('Input of target %L is not valid JSON text', tid),
                        format('Input is %s.', entry -> 'Input'),
                        'Input is JSON text (as in AWS, e.g. "{\"a\": 1}") or a JSON value.');
                END;
            END IF;
            t_input_path := NULL;
            IF nullif(entry -> 'InputPath', 'null') IS NOT NULL THEN
                IF jsonb_typeof(entry -> 'InputPath') <> 'string' THEN
                    PERFORM eventbus._raise('22023',
                        format('InputPath of target %L must be a string', tid),
                        format('InputPath is %s.', entry -> 'InputPath'),
                        'Pass a JSONPath such as "$.detail".');
                END IF;
                t_input_path := entry ->> 'InputPath';
            END IF;
            t_transformer := nullif(entry -> 'InputTransformer', 'null');
            PERFORM eventbus.validate_target_input(t_input, t_input_path, t_transformer);
            IF t_kind = 'bus' AND num_nonnulls(t_input, t_input_path, t_transformer) > 0 THEN
                PERFORM eventbus._raise('22023',
                    format('target %L forwards events to a bus and cannot transform them', tid),
                    'A bus target puts the event itself on the other bus, as in EventBridge.',
                    'Remove Input, InputPath and InputTransformer from this target.');
            END IF;

            t_retry := eventbus._retry_policy(entry -> 'RetryPolicy');

            -- HttpParameters: for API destinations only
            t_http := eventbus._check_http_parameters(entry -> 'HttpParameters', tid);
            IF t_http IS NOT NULL AND t_kind <> 'api_destination' THEN
                PERFORM eventbus._raise('22023',
                    format('target %L cannot take HttpParameters', tid),
                    format('Target %L is a %s target; only API destination targets send HTTP requests.', tid, t_kind),
                    'Remove HttpParameters, or use an API destination ("api-destination:<name>").');
            END IF;

            -- Config (eventbus's own): {"TimeoutSeconds": 1-3600} for function targets
            t_config := coalesce(nullif(entry -> 'Config', 'null'), '{}');
            IF jsonb_typeof(t_config) <> 'object'
               OR EXISTS (SELECT FROM jsonb_object_keys(t_config) ck WHERE ck <> 'TimeoutSeconds')
               OR (t_config ? 'TimeoutSeconds'
                   AND (jsonb_typeof(t_config -> 'TimeoutSeconds') <> 'number'
                        OR (t_config ->> 'TimeoutSeconds')::numeric NOT BETWEEN 0.001 AND 3600)) THEN
                PERFORM eventbus._raise('22023',
                    format('Config of target %L is not valid', tid),
                    format('Config is %s; it takes {"TimeoutSeconds": <0.001 to 3600>}.', entry -> 'Config'),
                    'TimeoutSeconds is the statement timeout of a function target''s call.');
            END IF;

            -- DeadLetterConfig: a queue for the events that could not be delivered
            t_dlc := nullif(entry -> 'DeadLetterConfig', 'null');
            dlq_name := NULL;
            IF t_dlc IS NOT NULL THEN
                IF jsonb_typeof(t_dlc) <> 'object' OR jsonb_typeof(t_dlc -> 'Arn') IS DISTINCT FROM 'string'
                   OR (SELECT count(*) FROM jsonb_object_keys(t_dlc)) <> 1 THEN
                    PERFORM eventbus._raise('22023',
                        format('DeadLetterConfig of target %L must be {"Arn": "<queue>"}', tid),
                        format('DeadLetterConfig is %s.', t_dlc),
                        'Name a queue: {"Arn": "queue:<name>"} or {"Arn": "arn:aws:sqs:<region>:<account>:<name>"}.');
                END IF;
                SELECT p.kind, p.destination INTO dlq_kind, dlq_name
                  FROM eventbus._parse_target_arn(t_dlc ->> 'Arn') p;
                IF dlq_kind IS DISTINCT FROM 'queue' THEN
                    PERFORM eventbus._raise('22023',
                        format('DeadLetterConfig of target %L does not name a queue', tid),
                        format('Its Arn is %L.', t_dlc ->> 'Arn'),
                        'Name a queue: {"Arn": "queue:<name>"} or {"Arn": "arn:aws:sqs:<region>:<account>:<name>"}.');
                END IF;
                -- the Arn as given, and the queue it designates
                t_dlc := jsonb_build_object('Arn', t_dlc ->> 'Arn', 'Queue', dlq_name);
            END IF;

            is_update := EXISTS (SELECT FROM eventbus.targets t
                                  WHERE t.bus = v_bus AND t.rule = _put_targets_impl.rule
                                    AND t.target_id = tid);
            IF NOT is_update AND n_targets >= max_targets THEN
                PERFORM eventbus._raise('54000',
                    format('rule %L on event bus %L already has %s target(s), the limit', _put_targets_impl.rule, v_bus, n_targets),
                    format('A rule has at most eventbus.max_targets_per_rule (%s) targets; target %L was not added.', max_targets, tid),
                    'Remove a target (remove_targets), or raise eventbus.max_targets_per_rule.');
            END IF;

            -- The queues come into being with the first target that names
            -- them (for roles that may create queues; others need send on
            -- an existing one); a push target has an outbox of its own.
            IF t_kind = 'queue' THEN
                t_outbox := eventbus._target_queue(t_dest);
            ELSE
                t_outbox := eventbus._push_outbox(v_bus, _put_targets_impl.rule, tid);
            END IF;

            IF dlq_name IS NOT NULL THEN
                PERFORM eventbus._target_queue(dlq_name);
            END IF;

            -- SqsParameters: required by FIFO queues, refused by the others
            t_sqs := eventbus._check_sqs_parameters(entry -> 'SqsParameters', tid, t_kind, t_dest);

            INSERT INTO eventbus.targets AS t
                (bus, rule, target_id, arn, kind, destination, outbox, input, input_path,
                 input_transformer, retry_policy, dead_letter_config, config, owner, http_parameters,
                 sqs_parameters)
            VALUES (v_bus, _put_targets_impl.rule, tid, t_arn, t_kind, t_dest, t_outbox, t_input,
                    t_input_path, t_transformer, t_retry, t_dlc, t_config,
                    pg_catalog.pg_get_userbyid(caller), t_http, t_sqs)
            ON CONFLICT ON CONSTRAINT targets_pkey DO UPDATE
               SET arn = excluded.arn,
                   kind = excluded.kind,
                   destination = excluded.destination,
                   outbox = excluded.outbox,
                   input = excluded.input,
                   input_path = excluded.input_path,
                   input_transformer = excluded.input_transformer,
                   retry_policy = excluded.retry_policy,
                   dead_letter_config = excluded.dead_letter_config,
                   config = excluded.config,
                   http_parameters = excluded.http_parameters,
                   sqs_parameters = excluded.sqs_parameters,
                   -- whoever last put the target is the role it acts as
                   owner = excluded.owner,
                   updated_at = now();
            IF NOT is_update THEN
                n_targets := n_targets + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
            IF NOT eventbus._is_entry_error(err_state) THEN
                RAISE;
            END IF;
            failed := failed || jsonb_build_array(jsonb_build_object(
                'TargetId', tid,
                'ErrorCode', eventbus._entry_error_code(err_state),
                'ErrorMessage', err_message));
        END;
    END LOOP;
    RETURN jsonb_build_object('FailedEntryCount', jsonb_array_length(failed),
                              'FailedEntries', failed);
END;
$fn$;

COMMENT ON FUNCTION eventbus._put_targets_impl(text, jsonb, text) IS
'Internal: implementation of put_targets.';
REVOKE ALL ON FUNCTION eventbus._put_targets_impl(text, jsonb, text) FROM PUBLIC;

CREATE FUNCTION eventbus.remove_targets(rule text, ids text[],
                                        event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.remove_targets(text, text[], text) IS
'EventBridge''s RemoveTargets: removes targets of a rule by Id (for the rule''s owner, the bus''s owner and eventbus_admin); returns {"FailedEntryCount", "FailedEntries"} (an unknown Id is a per-entry failure). Queues and their messages stay.';

CREATE FUNCTION eventbus._remove_targets_impl(rule text, ids text[], event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_remove_targets_impl.event_bus_name);
    failed jsonb := '[]';
    seen text[] := '{}';
    tid text;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        PERFORM eventbus._raise('22023',
            'no target Ids given',
            'RemoveTargets takes the Ids of at least one target.',
            format('list_targets_by_rule(%L, %L) shows the targets of the rule.', _remove_targets_impl.rule, v_bus));
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _remove_targets_impl.rule,
                                         eventbus._lock_rule(v_bus, _remove_targets_impl.rule));
    FOREACH tid IN ARRAY ids LOOP
        IF tid = ANY (seen) THEN
            CONTINUE;			-- a repeated Id is removed once
        END IF;
        seen := seen || tid;
        -- Queues stay: their messages are never dropped by removing a target.
        DELETE FROM eventbus.targets t
         WHERE t.bus = v_bus AND t.rule = _remove_targets_impl.rule AND t.target_id = tid;
        IF NOT FOUND THEN
            failed := failed || jsonb_build_array(CASE
                WHEN tid IS NULL THEN jsonb_build_object(
                    'TargetId', tid,
                    'ErrorCode', 'ValidationException',
                    'ErrorMessage', 'target Id is NULL')
                ELSE jsonb_build_object(
                    'TargetId', tid,
                    'ErrorCode', 'ResourceNotFoundException',
                    'ErrorMessage', format('rule %L on event bus %L has no target %L',
                                           _remove_targets_impl.rule, v_bus, tid)) END);
        END IF;
    END LOOP;
    RETURN jsonb_build_object('FailedEntryCount', jsonb_array_length(failed),
                              'FailedEntries', failed);
END;
$fn$;

COMMENT ON FUNCTION eventbus._remove_targets_impl(text, text[], text) IS
'Internal: implementation of remove_targets.';
REVOKE ALL ON FUNCTION eventbus._remove_targets_impl(text, text[], text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_targets_by_rule(rule text, event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_targets_by_rule(text, text) IS
'EventBridge''s ListTargetsByRule: {"Targets": [...]} in PutTargets'' shape (Input as JSON text), by Id; for the rule''s owner, the bus''s owner and eventbus_admin (42501). Raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus._list_targets_by_rule_impl(rule text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_list_targets_by_rule_impl.event_bus_name);
    result jsonb;
BEGIN
    PERFORM eventbus._check_rule(v_bus, _list_targets_by_rule_impl.rule);
    PERFORM eventbus._require_rule_owner(v_bus, _list_targets_by_rule_impl.rule,
        (SELECT r.owner FROM eventbus.rules r
          WHERE r.bus = v_bus AND r.name = _list_targets_by_rule_impl.rule));
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'Id', t.target_id,
               'Arn', t.arn,
               'Input', t.input::text,
               'InputPath', t.input_path,
               'InputTransformer', t.input_transformer,
               'RetryPolicy', t.retry_policy,
               'DeadLetterConfig', t.dead_letter_config - 'Queue',
               'Config', nullif(t.config, '{}'),
               'HttpParameters', t.http_parameters,
               'SqsParameters', t.sqs_parameters))
             ORDER BY t.target_id), '[]')
      INTO result
      FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _list_targets_by_rule_impl.rule;
    RETURN jsonb_build_object('Targets', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_targets_by_rule_impl(text, text) IS
'Internal: implementation of list_targets_by_rule.';
REVOKE ALL ON FUNCTION eventbus._list_targets_by_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_rule_names_by_target(target_arn text,
                                                   event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_rule_names_by_target(text, text) IS
'EventBridge''s ListRuleNamesByTarget: {"RuleNames": [...]} of the rules of a bus with a target designating target_arn (queue:x and arn:aws:sqs:...:x are the same queue), among those the caller may change (it owns them or the bus, or is an eventbus_admin). Raises 42704 when the bus does not exist.';

CREATE FUNCTION eventbus._list_rule_names_by_target_impl(target_arn text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_list_rule_names_by_target_impl.event_bus_name);
    t_kind text;
    t_dest text;
    result jsonb;
    caller regrole := eventbus._caller();
BEGIN
    PERFORM eventbus._check_bus(v_bus);
    SELECT p.kind, p.destination INTO t_kind, t_dest FROM eventbus._parse_target_arn(target_arn) p;
    -- Arns that designate the same destination (queue:x, arn:aws:sqs:...:x)
    -- are the same target.
    SELECT coalesce(jsonb_agg(n ORDER BY n), '[]') INTO result
      FROM (SELECT DISTINCT t.rule AS n
              FROM eventbus.targets t
              JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule
             WHERE t.bus = v_bus
               AND CASE WHEN t_kind IS NULL THEN t.arn = target_arn
                        ELSE t.kind = t_kind AND t.destination = t_dest END
               AND eventbus._may_manage_rule(r.bus, r.owner, caller)) s;
    RETURN jsonb_build_object('RuleNames', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_rule_names_by_target_impl(text, text) IS
'Internal: implementation of list_rule_names_by_target.';
REVOKE ALL ON FUNCTION eventbus._list_rule_names_by_target_impl(text, text) FROM PUBLIC;
-- Daily partitions of eventbus.events.
--
-- eventbus.events is partitioned by ingestion_time, one partition per UTC
-- day (eventbus.events_pYYYYMMDD, from 00:00 UTC to the next 00:00 UTC),
-- plus the default partition eventbus.events_default for anything else.
-- create_event_partitions makes the coming days' partitions (moving rows the
-- default partition already holds for those days); drop_event_partitions
-- drops old days, except those whose events undelivered messages still
-- reference.  A maintenance job (cron, pg_cron) should call
-- create_event_partitions() once a day.

CREATE FUNCTION eventbus._event_partition_name(day date)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT 'events_p' || pg_catalog.to_char(day::timestamp, 'YYYYMMDD')
$fn$;

COMMENT ON FUNCTION eventbus._event_partition_name(date) IS
'Internal: the name of the daily partition of eventbus.events for a UTC day (events_pYYYYMMDD).';

-- The daily partitions attached to eventbus.events, with their UTC day.
CREATE FUNCTION eventbus._event_partitions()
RETURNS TABLE (partition_name text, day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT c.relname::text, pg_catalog.to_date(substr(c.relname, 9), 'YYYYMMDD')
      FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'eventbus.events'::pg_catalog.regclass
       AND c.relname ~ '^events_p[0-9]{8}$'
     ORDER BY 2
$fn$;

COMMENT ON FUNCTION eventbus._event_partitions() IS
'Internal: the daily partitions attached to eventbus.events and their UTC days.';

CREATE FUNCTION eventbus.create_event_partitions(
    days_ahead integer DEFAULT 7,
    from_day date DEFAULT (pg_catalog.now() AT TIME ZONE 'UTC')::date)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.create_event_partitions(integer, date) IS
'Makes the daily partitions eventbus.events_pYYYYMMDD (UTC days) from from_day (default: today, UTC) to from_day + days_ahead, moving rows the default partition holds for those days; returns the partitions made. Idempotent; call it daily from a maintenance job. For eventbus_admin (42501).';

CREATE FUNCTION eventbus._create_event_partitions_impl(days_ahead integer, from_day date)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    day date;
    part text;
    lo_text text;
    hi_text text;
    existing regclass;
    locked boolean := false;
    moved bigint;
BEGIN
    PERFORM eventbus._require_admin('create event partitions');
    IF days_ahead IS NULL OR days_ahead NOT BETWEEN 0 AND 3660 THEN
        PERFORM eventbus._raise('22023',
            format('invalid days_ahead %s', coalesce(days_ahead::text, 'NULL')),
            'create_event_partitions makes one partition per day from from_day to from_day + days_ahead.',
            'Use a value from 0 to 3660.');
    END IF;
    IF from_day IS NULL OR NOT isfinite(from_day) THEN
        PERFORM eventbus._raise('22023',
            format('invalid from_day %s', coalesce(from_day::text, 'NULL')),
            'from_day is the first UTC day to make a partition for.',
            'Pass a date, or omit it for today (UTC).');
    END IF;

    FOR i IN 0 .. days_ahead LOOP
        day := from_day + i;
        part := eventbus._event_partition_name(day);
        existing := to_regclass(format('eventbus.%I', part));
        IF existing IS NULL AND NOT locked THEN
            -- One maker at a time, and no insert may reach the default
            -- partition between moving its rows for a day and attaching
            -- that day.
            LOCK TABLE ONLY eventbus.events IN SHARE UPDATE EXCLUSIVE MODE;
            LOCK TABLE eventbus.events_default IN ACCESS EXCLUSIVE MODE;
            locked := true;
            existing := to_regclass(format('eventbus.%I', part));
        END IF;
        IF existing IS NOT NULL THEN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_inherits
                            WHERE inhrelid = existing
                              AND inhparent = 'eventbus.events'::pg_catalog.regclass) THEN
                PERFORM eventbus._raise('42P07',
                    format('relation "eventbus.%s" already exists and is not a partition of eventbus.events', part),
                    'create_event_partitions names the partition of each UTC day events_pYYYYMMDD.',
                    format('Rename or drop eventbus.%I, then call create_event_partitions again.', part));
            END IF;
            CONTINUE;
        END IF;

        -- bounds as ISO text in UTC, whatever the session's DateStyle
        lo_text := to_char(day::timestamp, 'YYYY-MM-DD') || ' 00:00:00+00';
        hi_text := to_char((day + 1)::timestamp, 'YYYY-MM-DD') || ' 00:00:00+00';
        -- the primary key is the partition's own (see eventbus.events)
        EXECUTE format('CREATE TABLE eventbus.%I (LIKE eventbus.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION, PRIMARY KEY (id, ingestion_time))', part);
        EXECUTE format($q$
            WITH moved AS (
                DELETE FROM eventbus.events_default
                 WHERE ingestion_time >= $1 AND ingestion_time < $2
                RETURNING *)
            INSERT INTO eventbus.%I SELECT * FROM moved$q$, part)
          USING lo_text::timestamptz, hi_text::timestamptz;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved > 0 THEN
            RAISE NOTICE 'moved % event(s) from eventbus.events_default to eventbus.%', moved, part;
        END IF;
        EXECUTE format('ALTER TABLE eventbus.events ATTACH PARTITION eventbus.%I FOR VALUES FROM (%L) TO (%L)',
                       part, lo_text, hi_text);
        RETURN NEXT 'eventbus.' || part;
    END LOOP;
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_event_partitions_impl(integer, date) IS
'Internal: implementation of create_event_partitions.';
REVOKE ALL ON FUNCTION eventbus._create_event_partitions_impl(integer, date) FROM PUBLIC;

CREATE FUNCTION eventbus.drop_event_partitions(older_than interval)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.drop_event_partitions(interval) IS
'Drops the daily partitions of eventbus.events that ended at least older_than ago, except those whose events undelivered messages (outbox rows, dead letters without a payload) still reference, which it reports with a NOTICE; returns the partitions dropped. Never touches eventbus.events_default. For eventbus_admin (42501).';

CREATE FUNCTION eventbus._drop_event_partitions_impl(older_than interval)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    p record;
    lo timestamptz;
    hi timestamptz;
    cutoff timestamptz;
    outbox regclass;
    referenced boolean;
    referencing text[];
BEGIN
    PERFORM eventbus._require_admin('drop event partitions');
    IF older_than IS NULL OR older_than < interval '0' THEN
        PERFORM eventbus._raise('22023',
            format('invalid older_than %s', coalesce(older_than::text, 'NULL')),
            'drop_event_partitions drops the daily partitions that end at least older_than before now().',
            'Pass a positive interval, such as ''30 days''.');
    END IF;
    cutoff := now() - older_than;

    FOR p IN SELECT * FROM eventbus._event_partitions() LOOP
        lo := (p.day::timestamp AT TIME ZONE 'UTC');
        hi := ((p.day + 1)::timestamp AT TIME ZONE 'UTC');
        CONTINUE WHEN hi > cutoff;

        -- Messages that still reference events of the partition: outbox rows
        -- of every queue and target, and dead letters without a payload of
        -- their own (redriving them reads the event).
        referencing := '{}';
        FOR outbox IN
            SELECT q.outbox FROM eventbus.queues q
            UNION
            SELECT t.outbox FROM eventbus.targets t
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE event_ingestion_time >= $1 AND event_ingestion_time < $2)',
                           outbox)
               INTO referenced USING lo, hi;
            IF referenced THEN
                referencing := referencing || outbox::text;
            END IF;
        END LOOP;
        IF EXISTS (SELECT FROM eventbus.dead_letters d
                    WHERE d.payload IS NULL
                      AND d.event_ingestion_time >= lo AND d.event_ingestion_time < hi) THEN
            referencing := referencing || 'eventbus.dead_letters'::text;
        END IF;

        IF cardinality(referencing) > 0 THEN
            RAISE NOTICE 'kept eventbus.%: undelivered messages reference its events', p.partition_name
                USING DETAIL = format('Referenced from %s.', array_to_string(referencing, ', ')),
                      HINT = 'Deliver, drain or delete those messages; the partition is dropped by a later call.';
            CONTINUE;
        END IF;

        EXECUTE format('DROP TABLE eventbus.%I', p.partition_name);
        RETURN NEXT 'eventbus.' || p.partition_name;
    END LOOP;
END;
$fn$;

COMMENT ON FUNCTION eventbus._drop_event_partitions_impl(interval) IS
'Internal: implementation of drop_event_partitions.';
REVOKE ALL ON FUNCTION eventbus._drop_event_partitions_impl(interval) FROM PUBLIC;
-- Putting events on buses: PutEvents (put_events), its SQL-friendly form
-- (put_event), and events as EventBridge envelopes (event_envelope, the
-- event_envelopes view).  See src/put_events*.c and src/envelope.c.

CREATE FUNCTION eventbus.put_events(entries jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_put_events'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION eventbus.put_events(jsonb) IS
'EventBridge''s PutEvents: takes {"Entries": [...]} (or the bare array) of entries with Source, DetailType, Detail (a JSON object, or a string holding one), and optionally EventBusName (name or ARN), Resources and Time (RFC 3339 text, or a number of seconds since 1970-01-01T00:00:00Z as the AWS SDKs send it); stores the good entries in eventbus.events in the caller''s transaction and returns {"FailedEntryCount": n, "Entries": [{"EventId": ...} | {"ErrorCode": ..., "ErrorMessage": ...}]} in request order. An empty request, or one with more than eventbus.max_entries_per_put entries, raises an error (22023 / 54000).';

CREATE FUNCTION eventbus.put_event(source text,
                                   detail_type text,
                                   detail jsonb,
                                   event_bus_name text DEFAULT 'default',
                                   resources text[] DEFAULT '{}',
                                   "time" timestamptz DEFAULT now())
RETURNS uuid
AS 'MODULE_PATHNAME', 'eventbus_put_event'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION eventbus.put_event(text, text, jsonb, text, text[], timestamptz) IS
'Puts one event on a bus (a name or an event bus ARN) and returns its id; raises an error for a bad event where put_events would answer an ErrorCode: 22023 (missing or invalid argument, detail not a JSON object), 42704 (unknown bus), 54000 (over eventbus.max_entry_size). NULL for event_bus_name, resources or time means the default.';

CREATE FUNCTION eventbus.event_envelope(e eventbus.events)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_event_envelope'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_envelope(eventbus.events) IS
'The event as EventBridge delivers it: {"version": "0", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}.';

CREATE VIEW eventbus.event_envelopes
WITH (security_invoker = true)
AS
SELECT e.id, e.bus, e.ingestion_time, eventbus.event_envelope(e) AS envelope
  FROM eventbus.events e;

COMMENT ON VIEW eventbus.event_envelopes IS
'Every stored event with its EventBridge envelope; filter on bus and ingestion_time to use the partitions.';
-- Routing: the statement trigger that fans events into outboxes, and the
-- triggers that make every backend rebuild its rule indexes when rules or
-- targets change.

CREATE FUNCTION eventbus.route_events()
RETURNS trigger
AS 'MODULE_PATHNAME', 'eventbus_route_events'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.route_events() IS
'Trigger on eventbus.events: writes a message into the outbox of every target of every enabled rule that matches each new event.';

CREATE TRIGGER route_events
    AFTER INSERT ON eventbus.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.route_events();

CREATE FUNCTION eventbus.catalog_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'eventbus_catalog_changed'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.catalog_changed() IS
'Trigger on eventbus.rules and eventbus.targets: makes every session rebuild its rule index after the change commits.';

CREATE TRIGGER rules_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.rules
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

CREATE TRIGGER targets_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.targets
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

CREATE FUNCTION eventbus._rule_index_anchors(bus text,
    OUT rule text, OUT anchor_path text, OUT anchor_values text[], OUT anchor_kind text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_rule_index_anchors'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._rule_index_anchors(text) IS
'Internal: the rule index anchors of a bus, by name.';

CREATE FUNCTION eventbus.rule_index_anchors(event_bus_name text DEFAULT 'default',
    OUT rule text, OUT anchor_path text, OUT anchor_values text[], OUT anchor_kind text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.rule_index_anchors(text) IS
'How routing finds each enabled rule of a bus: the field path and values that anchor it in the rule index (the rule is a candidate only for events with one of these values there), or anchor_kind none when it is tried on every event. Needs manage_rules or read_events on the bus (42501).';

CREATE FUNCTION eventbus._rule_index_anchors_impl(event_bus_name text, OUT rule text, OUT anchor_path text, OUT anchor_values text[], OUT anchor_kind text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(event_bus_name);
BEGIN
    -- (a bus that does not exist has no anchors)
    IF EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = v_bus)
       AND NOT eventbus.has_event_bus_privilege(v_bus, 'read_events', eventbus._caller()) THEN
        PERFORM eventbus._require_privilege('bus', v_bus, 'manage_rules');
    END IF;
    RETURN QUERY SELECT * FROM eventbus._rule_index_anchors(v_bus) ORDER BY 1;
END;
$fn$;

COMMENT ON FUNCTION eventbus._rule_index_anchors_impl(text) IS
'Internal: implementation of rule_index_anchors.';
REVOKE ALL ON FUNCTION eventbus._rule_index_anchors_impl(text) FROM PUBLIC;
-- Owners and privileges: who may put events on a bus, manage its rules and
-- read its events, and who may receive from a queue and send to it.
--
-- Buses, rules and queues have an owner (the role that created them;
-- targets already had one: the role they act as).  Owners and members of
-- eventbus_admin hold every privilege on their objects and grant the
-- others with grant_event_bus_privilege / grant_queue_privilege; grants are
-- rows of eventbus.grants, which only those functions write.  The checks
-- are C functions with a per-session cache (src/privileges.c) that follows
-- changes of these tables at commit.

-- Roles are shared by every database of the cluster: made once, never
-- dropped by DROP EXTENSION (a role may hold privileges elsewhere).
DO $do$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventbus_admin') THEN
        CREATE ROLE eventbus_admin NOLOGIN;
        COMMENT ON ROLE eventbus_admin IS
            'eventbus: manages every bus, rule, target and queue, and every grant, in every database with eventbus.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventbus_user') THEN
        CREATE ROLE eventbus_user NOLOGIN;
        COMMENT ON ROLE eventbus_user IS
            'eventbus: may create event buses and queues of its own.';
    END IF;
END;
$do$;

GRANT USAGE ON SCHEMA eventbus TO PUBLIC;

-- Owners, at the end of each table so that a fresh install and an upgraded
-- one have the same column order.  The default bus belongs to
-- eventbus_admin.  Every function that creates a bus, rule or queue
-- records its caller as the owner, so the columns are NOT NULL (the upgrade
-- from 0.1.0 gives eventbus_admin what 0.1.0 made).
ALTER TABLE eventbus.event_buses ADD COLUMN owner regrole;
UPDATE eventbus.event_buses SET owner = 'eventbus_admin'::regrole;
ALTER TABLE eventbus.rules ADD COLUMN owner regrole;
ALTER TABLE eventbus.queues ADD COLUMN owner regrole;
ALTER TABLE eventbus.event_buses ALTER COLUMN owner SET NOT NULL;
ALTER TABLE eventbus.rules ALTER COLUMN owner SET NOT NULL;
ALTER TABLE eventbus.queues ALTER COLUMN owner SET NOT NULL;
COMMENT ON COLUMN eventbus.event_buses.owner IS 'The role that created the bus (default: eventbus_admin); it holds every privilege on it.';
COMMENT ON COLUMN eventbus.rules.owner IS 'The role that created the rule; it (or the bus owner, or an admin) may change, disable or delete it and its targets.';
COMMENT ON COLUMN eventbus.queues.owner IS 'The role that created the queue; it holds every privilege on it.';

CREATE TABLE eventbus.grants (
    object_kind text NOT NULL,
    object_name text NOT NULL,
    -- 0 stands for PUBLIC
    grantee     oid NOT NULL,
    privilege   text NOT NULL,
    granted_by  regrole NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object_kind, object_name, grantee, privilege),
    CONSTRAINT grants_privilege_valid CHECK (
        (object_kind = 'bus' AND privilege IN ('put_events', 'manage_rules', 'read_events'))
        OR (object_kind = 'queue' AND privilege IN ('receive', 'send'))
        OR (object_kind = 'connection' AND privilege = 'use')
        OR (object_kind = 'api_destination' AND privilege = 'invoke'))
);
COMMENT ON TABLE eventbus.grants IS
'Privileges on event buses (put_events, manage_rules, read_events), queues (receive, send), connections (use) and API destinations (invoke) granted to roles (grantee 0: PUBLIC); written only by the grant and revoke functions.';
SELECT pg_catalog.pg_extension_config_dump('eventbus.grants', '');

-- Every session's privilege cache follows changes at commit.
CREATE TRIGGER event_buses_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.event_buses
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER queues_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.queues
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER grants_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.grants
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

-- The caller of an API function, for its SECURITY DEFINER implementation
-- (src/api.c).
CREATE FUNCTION eventbus._caller() RETURNS regrole
AS 'MODULE_PATHNAME', 'eventbus_caller' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION eventbus._caller() IS
'Internal: the role the current eventbus API call acts for; only eventbus''s own implementations may ask.';

CREATE FUNCTION eventbus.has_event_bus_privilege(bus text, privilege text,
                                                 role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_event_bus_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_event_bus_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege put_events, manage_rules or read_events on an event bus (a name or ARN): as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for a bus that does not exist.';

CREATE FUNCTION eventbus.has_queue_privilege(queue text, privilege text,
                                             role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_queue_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_queue_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege receive or send on a queue: as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for a queue that does not exist.';

CREATE FUNCTION eventbus._is_admin(role regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_is_admin' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus._is_admin(regrole) IS
'Internal: whether role is a superuser or has the privileges of eventbus_admin.';

-- _require_privilege: raise 42501 unless the caller holds it.
CREATE FUNCTION eventbus._require_privilege(object_kind text, object_name text, privilege text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    what text := CASE object_kind WHEN 'bus' THEN 'event bus'
                                  WHEN 'api_destination' THEN 'API destination'
                                  ELSE object_kind END;
BEGIN
    IF (object_kind = 'bus' AND eventbus.has_event_bus_privilege(object_name, privilege, caller))
       OR (object_kind = 'queue' AND eventbus.has_queue_privilege(object_name, privilege, caller))
       OR (object_kind = 'connection' AND eventbus.has_connection_privilege(object_name, privilege, caller))
       OR (object_kind = 'api_destination'
           AND eventbus.has_api_destination_privilege(object_name, privilege, caller)) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied for %s %s', what, pg_catalog.quote_ident(object_name)),
        format('Role %s does not hold privilege %s on %s %s.', caller, privilege, what,
               pg_catalog.quote_ident(object_name)),
        format('Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_%s_privilege(%L, %L, %L).',
               CASE object_kind WHEN 'bus' THEN 'event_bus' ELSE object_kind END,
               object_name, privilege, caller::text));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_privilege(text, text, text) IS
'Internal: raises 42501 unless the caller of the current API function holds privilege on the bus, queue, connection or API destination.';

-- _require_owner: raise 42501 unless the caller owns the object or is an admin.
CREATE FUNCTION eventbus._require_owner(object_kind text, object_name text, owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    what text := CASE object_kind WHEN 'bus' THEN 'event bus'
                                  WHEN 'api_destination' THEN 'API destination'
                                  ELSE object_kind END;
BEGIN
    IF (owner IS NOT NULL AND pg_catalog.pg_has_role(caller, owner, 'USAGE'))
       OR eventbus._is_admin(caller) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('must be owner of %s %s', what, pg_catalog.quote_ident(object_name)),
        format('%s %s belongs to %s; role %s is neither its owner nor an eventbus_admin.',
               pg_catalog.upper(pg_catalog.left(what, 1)) || pg_catalog.substr(what, 2), pg_catalog.quote_ident(object_name), owner, caller),
        'Ask its owner or an eventbus_admin.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_owner(text, text, regrole) IS
'Internal: raises 42501 unless the caller of the current API function owns the object (or has its owner''s privileges) or is an eventbus_admin.';

-- Grant and revoke (API functions: C entry points calling the _impl).
CREATE FUNCTION eventbus._grant_role(grantee text)
RETURNS oid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r oid;
BEGIN
    IF grantee IS NULL THEN
        PERFORM eventbus._raise('22023', 'grantee must not be NULL',
            'Privileges are granted to a role or to PUBLIC.', 'Pass a role name or ''PUBLIC''.');
    END IF;
    IF pg_catalog.upper(grantee) = 'PUBLIC' THEN
        RETURN 0;
    END IF;
    SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = grantee;
    IF r IS NULL THEN
        PERFORM eventbus._raise('42704', format('role "%s" does not exist', grantee),
            'Privileges are granted to an existing role or to PUBLIC.', 'Create the role first (CREATE ROLE).');
    END IF;
    RETURN r;
END;
$fn$;
COMMENT ON FUNCTION eventbus._grant_role(text) IS
'Internal: the OID of a grantee named by role name, or 0 for PUBLIC.';

CREATE FUNCTION eventbus._change_privilege(do_grant boolean, kind text, object_name text,
                                           privilege text, grantee text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := object_name;
    v_owner regrole;
    v_grantee oid;
    valid text[] := CASE kind WHEN 'bus' THEN ARRAY['put_events', 'manage_rules', 'read_events']
                              WHEN 'connection' THEN ARRAY['use']
                              WHEN 'api_destination' THEN ARRAY['invoke']
                              ELSE ARRAY['receive', 'send'] END;
BEGIN
    IF kind = 'connection' THEN
        v_name := eventbus._connection_name(object_name);
        SELECT eventbus._role_of(c.owner) INTO v_owner FROM eventbus.connections c
         WHERE c.name = v_name FOR UPDATE;
    ELSIF kind = 'api_destination' THEN
        v_name := eventbus._api_destination_name(object_name);
        SELECT eventbus._role_of(d.owner) INTO v_owner FROM eventbus.api_destinations d
         WHERE d.name = v_name FOR UPDATE;
    ELSIF kind = 'bus' THEN
        v_name := eventbus._bus_name(object_name);
        SELECT b.owner INTO v_owner FROM eventbus.event_buses b WHERE b.name = v_name FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM eventbus._bus_not_found(v_name);
        END IF;
    ELSE
        SELECT q.owner INTO v_owner FROM eventbus.queues q WHERE q.name = object_name FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM eventbus._raise('42704',
                format('queue %L does not exist', object_name),
                'No queue of that name exists in this database.',
                'Check the name: queue names are case-sensitive.');
        END IF;
    END IF;
    IF privilege IS NULL OR NOT privilege = ANY (valid) THEN
        PERFORM eventbus._raise('22023',
            format('unrecognized privilege "%s" for %s', coalesce(privilege, 'NULL'),
                   CASE kind WHEN 'bus' THEN 'an event bus' WHEN 'connection' THEN 'a connection'
                             WHEN 'api_destination' THEN 'an API destination' ELSE 'a queue' END),
            format('The privileges are %s.', pg_catalog.array_to_string(valid, ', ')),
            'Privilege names are lower case, as listed.');
    END IF;
    PERFORM eventbus._require_owner(kind, v_name, v_owner);
    v_grantee := eventbus._grant_role(grantee);
    IF do_grant THEN
        INSERT INTO eventbus.grants (object_kind, object_name, grantee, privilege, granted_by)
        VALUES (kind, v_name, v_grantee, privilege, eventbus._caller())
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM eventbus.grants g
         WHERE g.object_kind = kind AND g.object_name = v_name
           AND g.grantee = v_grantee AND g.privilege = _change_privilege.privilege;
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._change_privilege(boolean, text, text, text, text) IS
'Internal: grants or revokes a privilege on a bus, queue, connection or API destination for the caller of the current API function, who must own it or be an eventbus_admin.';

CREATE FUNCTION eventbus.grant_event_bus_privilege(event_bus_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_event_bus_privilege_impl(event_bus_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'bus', event_bus_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_event_bus_privilege(text, text, text) IS
'Grants put_events, manage_rules or read_events on an event bus to a role (or ''PUBLIC''); for the bus owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_event_bus_privilege_impl(text, text, text) IS
'Internal: implementation of grant_event_bus_privilege.';

CREATE FUNCTION eventbus.revoke_event_bus_privilege(event_bus_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_event_bus_privilege_impl(event_bus_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'bus', event_bus_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_event_bus_privilege(text, text, text) IS
'Revokes a privilege on an event bus from a role (or ''PUBLIC''); for the bus owner and eventbus_admin. Takes effect for every session at commit.';
COMMENT ON FUNCTION eventbus._revoke_event_bus_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_event_bus_privilege.';

CREATE FUNCTION eventbus.grant_queue_privilege(queue_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_queue_privilege_impl(queue_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'queue', queue_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_queue_privilege(text, text, text) IS
'Grants receive or send on a queue to a role (or ''PUBLIC''); for the queue owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_queue_privilege_impl(text, text, text) IS
'Internal: implementation of grant_queue_privilege.';

CREATE FUNCTION eventbus.revoke_queue_privilege(queue_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_queue_privilege_impl(queue_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'queue', queue_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_queue_privilege(text, text, text) IS
'Revokes a privilege on a queue from a role (or ''PUBLIC''); for the queue owner and eventbus_admin. Takes effect for every session at commit.';
COMMENT ON FUNCTION eventbus._revoke_queue_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_queue_privilege.';

-- Internals are not for PUBLIC (implementations are reached only through
-- their API function, which performs no EXECUTE check on them).
REVOKE ALL ON FUNCTION eventbus._require_privilege(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_owner(text, text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_role(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._change_privilege(boolean, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_event_bus_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_event_bus_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_queue_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_queue_privilege_impl(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- The checks of the API functions' implementations (for the caller of the
-- current API function, eventbus._caller()).
-- ---------------------------------------------------------------------

-- Creating buses and queues: members of eventbus_user, and admins.
CREATE FUNCTION eventbus._require_creator(what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._is_admin(caller) OR pg_catalog.pg_has_role(caller, 'eventbus_user', 'MEMBER') THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied to create %s', what),
        format('Role %s is not a member of eventbus_user or eventbus_admin.', caller),
        format('An eventbus_admin can allow it: GRANT eventbus_user TO %s.', caller));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_creator(text) IS
'Internal: raises 42501 unless the caller of the current API function may create event buses and queues (a member of eventbus_user or eventbus_admin).';

CREATE FUNCTION eventbus._require_admin(action text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._is_admin(caller) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied to %s', action),
        format('Only members of eventbus_admin may; role %s is not one.', caller),
        'Ask an eventbus_admin.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_admin(text) IS
'Internal: raises 42501 unless the caller of the current API function is an eventbus_admin.';

-- A bus is visible to its owner, to admins and to whoever holds a
-- privilege on it.
CREATE FUNCTION eventbus._may_see_bus(bus text, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus.has_event_bus_privilege(bus, 'put_events', role)
        OR eventbus.has_event_bus_privilege(bus, 'manage_rules', role)
        OR eventbus.has_event_bus_privilege(bus, 'read_events', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_bus(text, regrole) IS
'Internal: whether role owns the bus, is an eventbus_admin, or holds a privilege on the bus.';

CREATE FUNCTION eventbus._require_bus_visible(bus text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._may_see_bus(bus, caller) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied for event bus %s', pg_catalog.quote_ident(bus)),
        format('Role %s holds no privilege (put_events, manage_rules, read_events) on event bus %s.',
               caller, pg_catalog.quote_ident(bus)),
        format('Its owner or an eventbus_admin can grant one: SELECT eventbus.grant_event_bus_privilege(%L, %L, %L).',
               bus, 'read_events', caller::text));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_bus_visible(text) IS
'Internal: raises 42501 unless the caller of the current API function may see the bus (owns it, is an eventbus_admin or holds a privilege on it).';

-- A rule is changed (replaced, enabled, disabled, deleted, its targets put
-- and removed) by its owner, the owner of its bus, or an admin.
CREATE FUNCTION eventbus._may_manage_rule(bus text, rule_owner regrole, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._is_admin(role)
        OR coalesce(pg_catalog.pg_has_role(role, rule_owner, 'USAGE'), false)
        OR coalesce((SELECT pg_catalog.pg_has_role(role, b.owner, 'USAGE')
                       FROM eventbus.event_buses b WHERE b.name = _may_manage_rule.bus), false)
$fn$;
COMMENT ON FUNCTION eventbus._may_manage_rule(text, regrole, regrole) IS
'Internal: whether role may change a rule of the bus owned by rule_owner: it has the privileges of the rule''s owner or of the bus''s owner, or is an eventbus_admin.';

CREATE FUNCTION eventbus._require_rule_owner(bus text, rule text, rule_owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._may_manage_rule(bus, rule_owner, caller) THEN
        RETURN;
    END IF;
    -- a role that may not even see the rule learns nothing of it
    IF NOT eventbus._may_see_rule(bus, rule_owner, caller) THEN
        PERFORM eventbus._raise('42501',
            format('permission denied for event bus %s', pg_catalog.quote_ident(bus)),
            format('Role %s does not hold privilege manage_rules on event bus %s.', caller,
                   pg_catalog.quote_ident(bus)),
            format('Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_event_bus_privilege(%L, %L, %L).',
                   bus, 'manage_rules', caller::text));
    END IF;
    PERFORM eventbus._raise('42501',
        format('must be owner of rule %s', pg_catalog.quote_ident(rule)),
        format('Rule %s on event bus %s belongs to %s; role %s is neither its owner, the owner of the bus, nor an eventbus_admin.',
               pg_catalog.quote_ident(rule), pg_catalog.quote_ident(bus), rule_owner, caller),
        'Ask its owner, the owner of the bus, or an eventbus_admin.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_rule_owner(text, text, regrole) IS
'Internal: raises 42501 unless the caller of the current API function may change the rule (its owner, the bus''s owner, an eventbus_admin).';

-- A rule is visible to its owner and to the holders of manage_rules or
-- read_events on its bus (the bus's owner and admins hold both).
CREATE FUNCTION eventbus._may_see_rule(bus text, rule_owner regrole, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT coalesce(pg_catalog.pg_has_role(role, rule_owner, 'USAGE'), false)
        OR eventbus.has_event_bus_privilege(bus, 'read_events', role)
        OR eventbus.has_event_bus_privilege(bus, 'manage_rules', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_rule(text, regrole, regrole) IS
'Internal: whether role may see a rule of the bus owned by rule_owner: it has the privileges of the rule''s owner, or holds manage_rules or read_events on the bus.';

-- ---------------------------------------------------------------------
-- Catalogs are written only by the API functions' implementations, which
-- run as the extension's owner.  Nothing is granted to PUBLIC (revoked
-- explicitly, whatever a default privilege may have given); members of
-- eventbus_admin may read them.  eventbus.events and its default
-- partition are not listed: row-level security decides who reads and
-- writes which events.
-- ---------------------------------------------------------------------
REVOKE ALL ON TABLE eventbus.event_buses, eventbus.rules, eventbus.targets, eventbus.queues,
    eventbus.grants, eventbus.dead_letters, eventbus._restore_sessions FROM PUBLIC;
REVOKE ALL ON SEQUENCE eventbus.rules_rule_id_seq, eventbus.dead_letters_dead_letter_id_seq FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.event_buses, eventbus.rules, eventbus.targets, eventbus.queues,
    eventbus.grants, eventbus.dead_letters TO eventbus_admin;
GRANT SELECT ON SEQUENCE eventbus.rules_rule_id_seq, eventbus.dead_letters_dead_letter_id_seq TO eventbus_admin;
-- Outbox tables belong to the extension's owner and are reached only
-- through the API functions and the delivery workers.
REVOKE ALL ON SCHEMA eventbus_outbox FROM PUBLIC;

-- list_grants: the grants the caller may see: those on the buses and queues
-- it owns (every grant for an admin), and those that reach it.
CREATE FUNCTION eventbus.list_grants()
RETURNS TABLE (object_kind text, object_name text, grantee text, privilege text,
               granted_by regrole, granted_at timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C STABLE;
CREATE FUNCTION eventbus._list_grants_impl()
RETURNS TABLE (object_kind text, object_name text, grantee text, privilege text,
               granted_by regrole, granted_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    admin boolean := eventbus._is_admin(caller);
BEGIN
    RETURN QUERY
    SELECT g.object_kind, g.object_name,
           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
           g.privilege, g.granted_by, g.granted_at
      FROM eventbus.grants g
      LEFT JOIN eventbus.event_buses b ON g.object_kind = 'bus' AND b.name = g.object_name
      LEFT JOIN eventbus.queues q ON g.object_kind = 'queue' AND q.name = g.object_name
      LEFT JOIN eventbus.connections c ON g.object_kind = 'connection' AND c.name = g.object_name
      LEFT JOIN eventbus.api_destinations d ON g.object_kind = 'api_destination' AND d.name = g.object_name
     WHERE admin
        OR pg_catalog.pg_has_role(caller, coalesce(b.owner, q.owner,
                                                   eventbus._role_of(coalesce(c.owner, d.owner))), 'USAGE')
        OR CASE WHEN g.grantee = 0 THEN true
                ELSE pg_catalog.pg_has_role(caller, g.grantee, 'USAGE') END
     ORDER BY 1, 2, 3, 4;
END;
$fn$;
COMMENT ON FUNCTION eventbus.list_grants() IS
'The privileges granted on event buses, queues, connections and API destinations that the current role may see: on the objects it owns (all of them for an eventbus_admin), and those granted to it, to a role it is a member of, or to PUBLIC.';
COMMENT ON FUNCTION eventbus._list_grants_impl() IS
'Internal: implementation of list_grants.';
REVOKE ALL ON FUNCTION eventbus._list_grants_impl() FROM PUBLIC;
-- Reading and writing stored events and dead letters, bus by bus.
--
-- Every role may INSERT into and SELECT from eventbus.events, and row-level
-- security keeps each to its buses: a row goes in only on a bus the role
-- holds put_events on (as put_events checks, src/put_events_store.c), and
-- a role sees only the events of buses it holds read_events on.  Nothing
-- else is granted: events are never updated or deleted by users, and the
-- partitions (eventbus.events_default and the daily ones) grant nothing, so
-- they are reached only through eventbus.events and its policies.  The
-- owner of the tables (the extension's owner: receive(), the delivery
-- worker) is not subject to the policies.
--
-- The view eventbus.event_envelopes reads eventbus.events with the rights
-- and policies of whoever queries it (security_invoker, PostgreSQL 15 and
-- later: on older versions the view would read as its owner, so eventbus
-- needs 15).
--
-- Dead letters are read by the roles that hold read_events on the bus, and
-- by the owner of the rule whose target failed.  Only the extension's
-- functions move or delete them.

CREATE FUNCTION eventbus._owns_rule(bus text, rule text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_owns_rule' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus._owns_rule(text, text) IS
'Internal: whether the current role owns the rule (or has its owner''s privileges); for the policy on eventbus.dead_letters.';

ALTER TABLE eventbus.events ENABLE ROW LEVEL SECURITY;
GRANT INSERT, SELECT ON eventbus.events TO PUBLIC;
CREATE POLICY events_put ON eventbus.events FOR INSERT TO PUBLIC
    WITH CHECK (eventbus.has_event_bus_privilege(bus, 'put_events'));
CREATE POLICY events_read ON eventbus.events FOR SELECT TO PUBLIC
    USING (eventbus.has_event_bus_privilege(bus, 'read_events'));
COMMENT ON POLICY events_put ON eventbus.events IS
'A role inserts events only on buses it holds put_events on.';
COMMENT ON POLICY events_read ON eventbus.events IS
'A role reads the events of the buses it holds read_events on.';
GRANT SELECT ON eventbus.event_envelopes TO PUBLIC;

ALTER TABLE eventbus.dead_letters ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON eventbus.dead_letters TO PUBLIC;
CREATE POLICY dead_letters_read ON eventbus.dead_letters FOR SELECT TO PUBLIC
    USING (eventbus.has_event_bus_privilege(bus, 'read_events')
           OR eventbus._owns_rule(bus, rule));
COMMENT ON POLICY dead_letters_read ON eventbus.dead_letters IS
'A role reads the dead letters of the buses it holds read_events on and of the rules it owns.';
-- Connections and API destinations (EventBridge's CreateConnection ...
-- ListApiDestinations): where HTTP targets send events, and how they
-- authorize.  The delivery workers read these tables (src/target_http.c);
-- no HTTP request is ever made from a user's backend.
--
-- A connection holds the authorization (Basic, API key or OAuth client
-- credentials) and extra header, query-string and body parameters; its
-- secrets (Password, ApiKeyValue, ClientSecret and every parameter with
-- IsValueSecret true) are kept apart in eventbus.connection_secrets, which
-- nobody but the extension's owner reads: no function, view, error or log
-- line of eventbus shows them.  eventbus.connections holds the parameters
-- as DescribeConnection shows them, secrets removed.
--
-- An API destination is an endpoint (http or https, "*" in its path filled
-- per target from HttpParameters.PathParameterValues), an HTTP method, a
-- connection and a rate limit.  Targets name it with Arn
-- "api-destination:<name>" or its ARN.
--
-- Privileges follow the model of 52_privileges.sql: members of
-- eventbus_user (and admins) create them and own what they create; the
-- owner and admins change, delete and grant them; 'use' on a connection
-- lets a role make API destinations on it, 'invoke' on an API destination
-- lets a role put targets that send to it.

CREATE TABLE eventbus.connections (
    name               text PRIMARY KEY,
    -- the last part of the ARN: a connection made again under the same name
    -- has another ARN
    arn_uuid           uuid NOT NULL DEFAULT gen_random_uuid(),
    description        text,
    authorization_type text NOT NULL,
    -- as DescribeConnection shows them: secrets removed
    auth_parameters    jsonb NOT NULL,
    state              text NOT NULL DEFAULT 'AUTHORIZED',
    owner              name NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connections_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,64}$'),
    CONSTRAINT connections_authorization_type_valid
        CHECK (authorization_type IN ('BASIC', 'API_KEY', 'OAUTH_CLIENT_CREDENTIALS')),
    CONSTRAINT connections_state_valid
        CHECK (state IN ('CREATING', 'UPDATING', 'DELETING', 'AUTHORIZED', 'DEAUTHORIZED',
                         'AUTHORIZING', 'DEAUTHORIZING'))
);
COMMENT ON TABLE eventbus.connections IS
'Connections of API destinations (EventBridge''s connections): the authorization type and its parameters, secrets removed (they are in eventbus.connection_secrets); written only by the connection functions.';

CREATE TABLE eventbus.connection_secrets (
    connection      text PRIMARY KEY REFERENCES eventbus.connections (name) ON DELETE CASCADE,
    -- the full AuthParameters, secrets included
    auth_parameters jsonb NOT NULL
);
COMMENT ON TABLE eventbus.connection_secrets IS
'The full AuthParameters of each connection, secrets included; read only by the extension''s owner (the delivery workers), never returned by a function or view.';

CREATE TABLE eventbus.api_destinations (
    name                             text PRIMARY KEY,
    arn_uuid                         uuid NOT NULL DEFAULT gen_random_uuid(),
    description                      text,
    connection                       text NOT NULL REFERENCES eventbus.connections (name),
    invocation_endpoint              text NOT NULL,
    http_method                      text NOT NULL,
    invocation_rate_limit_per_second integer NOT NULL DEFAULT 300,
    -- NULL: the setting eventbus.http_timeout
    timeout_ms                       integer,
    state                            text NOT NULL DEFAULT 'ACTIVE',
    owner                            name NOT NULL,
    created_at                       timestamptz NOT NULL DEFAULT now(),
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_destinations_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,64}$'),
    CONSTRAINT api_destinations_endpoint_valid
        CHECK (invocation_endpoint ~* '^https?://' AND length(invocation_endpoint) <= 2048),
    CONSTRAINT api_destinations_http_method_valid
        CHECK (http_method IN ('POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE')),
    CONSTRAINT api_destinations_rate_limit_valid
        CHECK (invocation_rate_limit_per_second BETWEEN 1 AND 300),
    CONSTRAINT api_destinations_timeout_valid CHECK (timeout_ms BETWEEN 1 AND 300000),
    CONSTRAINT api_destinations_state_valid CHECK (state IN ('ACTIVE', 'INACTIVE'))
);
COMMENT ON TABLE eventbus.api_destinations IS
'API destinations (EventBridge''s): an HTTP endpoint, method, connection and rate limit that targets send events to; written only by the API destination functions.';
CREATE INDEX api_destinations_connection ON eventbus.api_destinations (connection);

-- Targets: the HttpParameters of api_destination targets, at the end of
-- the table (an upgraded installation has the same column order).
ALTER TABLE eventbus.targets ADD COLUMN http_parameters jsonb;
COMMENT ON COLUMN eventbus.targets.http_parameters IS
'HttpParameters of an api_destination target ({"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}; values beginning with "$." are JSON paths into the event); NULL when absent.';

SELECT pg_catalog.pg_extension_config_dump('eventbus.connections', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.connection_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.api_destinations', '');

-- The workers' caches and every session's privilege cache follow changes
-- at commit.
CREATE TRIGGER connections_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.connections
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER connection_secrets_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.connection_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER api_destinations_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.api_destinations
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

-- Nobody reads the secrets but the extension's owner; admins read the rest.
REVOKE ALL ON TABLE eventbus.connections, eventbus.connection_secrets,
    eventbus.api_destinations FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.connections, eventbus.api_destinations TO eventbus_admin;

-- ---------------------------------------------------------------------
-- Privilege checks (C, src/privileges.c, with the session's cache)
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.has_connection_privilege(connection text, privilege text,
                                                  role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_connection_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_connection_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege use on a connection (by name): as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for a connection that does not exist.';

CREATE FUNCTION eventbus.has_api_destination_privilege(api_destination text, privilege text,
                                                       role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_api_destination_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_api_destination_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege invoke on an API destination (by name): as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for an API destination that does not exist.';

-- ---------------------------------------------------------------------
-- Internal helpers
-- ---------------------------------------------------------------------

-- Owners are role names (as targets' are): the role, or NULL once dropped.
CREATE FUNCTION eventbus._role_of(role_name name)
RETURNS regrole
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT r.oid::pg_catalog.regrole FROM pg_catalog.pg_roles r WHERE r.rolname = role_name
$fn$;
COMMENT ON FUNCTION eventbus._role_of(name) IS
'Internal: the role of that name, or NULL when there is none (owners of connections and API destinations are role names).';

CREATE FUNCTION eventbus._connection_arn(name text, arn_uuid uuid)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:connection/%s/%s', eventbus.current_region(),
                  eventbus.current_account(), name, arn_uuid)
$fn$;
COMMENT ON FUNCTION eventbus._connection_arn(text, uuid) IS
'Internal: the ARN of a connection, arn:aws:events:<region>:<account>:connection/<name>/<uuid>.';

CREATE FUNCTION eventbus._api_destination_arn(name text, arn_uuid uuid)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:api-destination/%s/%s', eventbus.current_region(),
                  eventbus.current_account(), name, arn_uuid)
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_arn(text, uuid) IS
'Internal: the ARN of an API destination, arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>.';

-- Names of connections and API destinations, as EventBridge's.
CREATE FUNCTION eventbus._check_http_name(name text, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF name IS NULL OR name !~ '^[.\-_A-Za-z0-9]+$' OR length(name) > 64 THEN
        PERFORM eventbus._raise('22023',
            format('invalid %s name %s', what, coalesce(quote_literal(left(name, 100)), 'NULL')),
            format('A%s %s name has 1 to 64 characters: letters, digits, ".", "-" and "_".',
                   CASE WHEN what ~ '^[aeiouAEIOU]' THEN 'n' ELSE '' END, what),
            'Choose a name such as "orders-webhook".');
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_http_name(text, text) IS
'Internal: raises 22023 unless name is a valid connection or API destination name (1 to 64 letters, digits, ".", "-", "_").';

-- A connection argument: a name, or a connection ARN (whose uuid, when
-- given, must be the connection's).  Returns the name; raises 42704 for a
-- connection that does not exist.
CREATE FUNCTION eventbus._connection_name(connection text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    m text[];
    v_name text := connection;
    v_uuid uuid;
BEGIN
    IF connection ~ '^arn:' THEN
        m := regexp_match(connection,
            '^arn:aws[a-z-]*:events:[^:]*:[^:]*:connection/([.\-_A-Za-z0-9]{1,64})(/([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?$');
        IF m IS NULL THEN
            PERFORM eventbus._raise('22023',
                format('%L is not a connection ARN', left(connection, 200)),
                'A connection ARN has the form arn:aws:events:<region>:<account>:connection/<name>/<uuid>.',
                'Pass the connection''s name or its ConnectionArn.');
        END IF;
        v_name := m[1];
        v_uuid := m[3]::uuid;
    ELSE
        PERFORM eventbus._check_http_name(connection, 'connection');
    END IF;
    IF NOT EXISTS (SELECT FROM eventbus.connections c
                    WHERE c.name = v_name AND (v_uuid IS NULL OR c.arn_uuid = v_uuid)) THEN
        PERFORM eventbus._raise('42704',
            format('connection %L does not exist', v_name),
            CASE WHEN v_uuid IS NULL THEN 'No connection of that name exists in this database.'
                 ELSE format('No connection %L with ARN %L exists in this database.', v_name, connection) END,
            'list_connections() shows the connections; create_connection() creates one.');
    END IF;
    RETURN v_name;
END;
$fn$;
COMMENT ON FUNCTION eventbus._connection_name(text) IS
'Internal: the name of the connection a connection argument (name or ARN) designates; raises 22023 for a malformed one and 42704 for one that does not exist.';

CREATE FUNCTION eventbus._api_destination_not_found(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('API destination %L does not exist', name),
        'No API destination of that name exists in this database.',
        'list_api_destinations() shows the API destinations; create_api_destination() creates one.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_not_found(text) IS
'Internal: raises 42704 "API destination ... does not exist".';

-- A string field of the parameters: never shows the value (it may be a
-- secret), only where it is and what is wrong.
CREATE FUNCTION eventbus._auth_string(params jsonb, key text, path text, required boolean,
                                      max_length integer DEFAULT 512)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v jsonb := params -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM eventbus._raise('22023',
                format('%s.%s is required', path, key),
                format('%s has no %s.', path, key),
                format('Give %s.%s: a string of 1 to %s characters.', path, key, max_length));
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' OR length(v #>> '{}') NOT BETWEEN 1 AND max_length THEN
        PERFORM eventbus._raise('22023',
            format('%s.%s must be a string of 1 to %s characters', path, key, max_length),
            CASE WHEN jsonb_typeof(v) <> 'string' THEN format('It is a JSON %s.', jsonb_typeof(v))
                 ELSE format('It has %s characters.', length(v #>> '{}')) END,
            'Its value is not shown here, as it may be a secret.');
    END IF;
    RETURN v #>> '{}';
END;
$fn$;
COMMENT ON FUNCTION eventbus._auth_string(jsonb, text, text, boolean, integer) IS
'Internal: the string params->key of connection parameters at path, checked (1 to max_length characters); its errors never show the value.';

CREATE FUNCTION eventbus._auth_keys(params jsonb, path text, allowed text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a JSON object', path),
            format('It is %s.', CASE WHEN params IS NULL THEN 'missing' ELSE 'a JSON ' || jsonb_typeof(params) END),
            format('%s takes the keys %s.', path, array_to_string(allowed, ', ')));
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF NOT k = ANY (allowed) THEN
            PERFORM eventbus._raise('22023',
                format('%s has an unknown key %L', path, left(k, 100)),
                format('%s takes the keys %s.', path, array_to_string(allowed, ', ')),
                'Remove the key (key names are case-sensitive).');
        END IF;
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION eventbus._auth_keys(jsonb, text, text[]) IS
'Internal: raises 22023 unless params is a JSON object with only the allowed keys.';

-- ConnectionHttpParameters: {"HeaderParameters": [...], "QueryStringParameters":
-- [...], "BodyParameters": [...]}, each entry {"Key", "Value", "IsValueSecret"}.
CREATE FUNCTION eventbus._check_connection_http_parameters(params jsonb, path text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    list text;
    e jsonb;
    pos bigint;
    epath text;
    k text;
BEGIN
    PERFORM eventbus._auth_keys(params, path,
        ARRAY['HeaderParameters', 'QueryStringParameters', 'BodyParameters']);
    FOREACH list IN ARRAY ARRAY['HeaderParameters', 'QueryStringParameters', 'BodyParameters'] LOOP
        CONTINUE WHEN params -> list IS NULL OR jsonb_typeof(params -> list) = 'null';
        IF jsonb_typeof(params -> list) <> 'array' THEN
            PERFORM eventbus._raise('22023',
                format('%s.%s must be a JSON array', path, list),
                format('It is a JSON %s.', jsonb_typeof(params -> list)),
                'Pass a list of {"Key": ..., "Value": ..., "IsValueSecret": true|false}.');
        END IF;
        IF jsonb_array_length(params -> list) > 100 THEN
            PERFORM eventbus._raise('22023',
                format('%s.%s has %s entries', path, list, jsonb_array_length(params -> list)),
                'A parameter list has at most 100 entries.',
                'Remove entries.');
        END IF;
        FOR e, pos IN SELECT x, o FROM jsonb_array_elements(params -> list) WITH ORDINALITY AS a(x, o) LOOP
            epath := format('%s.%s[%s]', path, list, pos - 1);
            PERFORM eventbus._auth_keys(e, epath, ARRAY['Key', 'Value', 'IsValueSecret']);
            k := eventbus._auth_string(e, 'Key', epath, true);
            PERFORM eventbus._auth_string(e, 'Value', epath, true);
            IF e ? 'IsValueSecret' AND jsonb_typeof(e -> 'IsValueSecret') NOT IN ('boolean', 'null') THEN
                PERFORM eventbus._raise('22023',
                    format('%s.IsValueSecret must be true or false', epath),
                    format('It is a JSON %s.', jsonb_typeof(e -> 'IsValueSecret')),
                    'A secret value is never shown by describe_connection.');
            END IF;
            IF list = 'HeaderParameters' AND k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
                PERFORM eventbus._raise('22023',
                    format('%s.Key %L is not a valid HTTP header name', epath, left(k, 100)),
                    'Header names are tokens: letters, digits and !#$%&''*+-.^_`|~.',
                    'Use a header name such as "X-Custom-Header".');
            END IF;
        END LOOP;
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_connection_http_parameters(jsonb, text) IS
'Internal: raises 22023 unless params is a valid ConnectionHttpParameters object (HeaderParameters, QueryStringParameters, BodyParameters: lists of {Key, Value, IsValueSecret}); never shows a value.';

-- AuthParameters for an authorization type, checked; returns them with
-- defaults filled in.
CREATE FUNCTION eventbus._check_auth_parameters(authorization_type text, params jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    wanted text := CASE authorization_type
                       WHEN 'BASIC' THEN 'BasicAuthParameters'
                       WHEN 'API_KEY' THEN 'ApiKeyAuthParameters'
                       WHEN 'OAUTH_CLIENT_CREDENTIALS' THEN 'OAuthParameters' END;
    other text;
    p jsonb;
    endpoint text;
    method jsonb;
BEGIN
    IF wanted IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('invalid authorization type %s', coalesce(quote_literal(left(authorization_type, 100)), 'NULL')),
            'The authorization types are BASIC, API_KEY and OAUTH_CLIENT_CREDENTIALS.',
            'Pass one of them, in upper case.');
    END IF;
    PERFORM eventbus._auth_keys(params, 'AuthParameters',
        ARRAY['BasicAuthParameters', 'ApiKeyAuthParameters', 'OAuthParameters', 'InvocationHttpParameters']);
    FOREACH other IN ARRAY ARRAY['BasicAuthParameters', 'ApiKeyAuthParameters', 'OAuthParameters'] LOOP
        IF other <> wanted AND params ? other THEN
            PERFORM eventbus._raise('22023',
                format('AuthParameters.%s does not go with authorization type %s', other, authorization_type),
                format('Authorization type %s takes AuthParameters.%s.', authorization_type, wanted),
                format('Remove %s, or pass the authorization type it is for.', other));
        END IF;
    END LOOP;
    IF NOT params ? wanted OR jsonb_typeof(params -> wanted) = 'null' THEN
        PERFORM eventbus._raise('22023',
            format('authorization type %s needs AuthParameters.%s', authorization_type, wanted),
            format('AuthParameters has no %s.', wanted),
            CASE authorization_type
                WHEN 'BASIC' THEN 'Pass {"BasicAuthParameters": {"Username": ..., "Password": ...}}.'
                WHEN 'API_KEY' THEN 'Pass {"ApiKeyAuthParameters": {"ApiKeyName": ..., "ApiKeyValue": ...}}.'
                ELSE 'Pass {"OAuthParameters": {"AuthorizationEndpoint": ..., "HttpMethod": ..., "ClientParameters": {"ClientID": ..., "ClientSecret": ...}}}.' END);
    END IF;
    p := params -> wanted;
    IF authorization_type = 'BASIC' THEN
        PERFORM eventbus._auth_keys(p, 'AuthParameters.BasicAuthParameters', ARRAY['Username', 'Password']);
        PERFORM eventbus._auth_string(p, 'Username', 'AuthParameters.BasicAuthParameters', true);
        PERFORM eventbus._auth_string(p, 'Password', 'AuthParameters.BasicAuthParameters', true);
        IF (p ->> 'Username') LIKE '%:%' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.BasicAuthParameters.Username must not contain ":"',
                'Basic authorization sends "username:password"; a colon would end the user name.',
                'Choose a user name without a colon.');
        END IF;
    ELSIF authorization_type = 'API_KEY' THEN
        PERFORM eventbus._auth_keys(p, 'AuthParameters.ApiKeyAuthParameters', ARRAY['ApiKeyName', 'ApiKeyValue']);
        PERFORM eventbus._auth_string(p, 'ApiKeyName', 'AuthParameters.ApiKeyAuthParameters', true);
        PERFORM eventbus._auth_string(p, 'ApiKeyValue', 'AuthParameters.ApiKeyAuthParameters', true);
        IF (p ->> 'ApiKeyName') !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
            PERFORM eventbus._raise('22023',
                format('AuthParameters.ApiKeyAuthParameters.ApiKeyName %L is not a valid HTTP header name', left(p ->> 'ApiKeyName', 100)),
                'The API key is sent in the header of that name; header names are tokens: letters, digits and !#$%&''*+-.^_`|~.',
                'Use a header name such as "x-api-key".');
        END IF;
    ELSE
        PERFORM eventbus._auth_keys(p, 'AuthParameters.OAuthParameters',
            ARRAY['AuthorizationEndpoint', 'HttpMethod', 'ClientParameters', 'OAuthHttpParameters']);
        endpoint := eventbus._auth_string(p, 'AuthorizationEndpoint', 'AuthParameters.OAuthParameters', true, 2048);
        IF endpoint !~* '^https?://[^/?#@[:space:][:cntrl:]]+([/?#][^[:space:][:cntrl:]]*)?$' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.OAuthParameters.AuthorizationEndpoint must be an http:// or https:// URL',
                'It is where the OAuth token is fetched (client credentials grant); it may not carry a user name or password.',
                'Pass a URL such as "https://auth.example.com/oauth/token".');
        END IF;
        method := p -> 'HttpMethod';
        IF method IS NULL OR jsonb_typeof(method) = 'null' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.OAuthParameters.HttpMethod is required',
                'It is the method of the token request.',
                'Pass "POST", "GET" or "PUT".');
        END IF;
        IF jsonb_typeof(method) <> 'string' OR (method #>> '{}') NOT IN ('GET', 'POST', 'PUT') THEN
            PERFORM eventbus._raise('22023',
                format('AuthParameters.OAuthParameters.HttpMethod %s is not GET, POST or PUT', left(method::text, 100)),
                'It is the method of the token request.',
                'Pass "POST", "GET" or "PUT".');
        END IF;
        IF NOT p ? 'ClientParameters' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.OAuthParameters.ClientParameters is required',
                'OAuth client credentials need a client id and secret.',
                'Pass "ClientParameters": {"ClientID": ..., "ClientSecret": ...}.');
        END IF;
        PERFORM eventbus._auth_keys(p -> 'ClientParameters', 'AuthParameters.OAuthParameters.ClientParameters',
                                    ARRAY['ClientID', 'ClientSecret']);
        PERFORM eventbus._auth_string(p -> 'ClientParameters', 'ClientID', 'AuthParameters.OAuthParameters.ClientParameters', true);
        PERFORM eventbus._auth_string(p -> 'ClientParameters', 'ClientSecret', 'AuthParameters.OAuthParameters.ClientParameters', true);
        IF p ? 'OAuthHttpParameters' AND jsonb_typeof(p -> 'OAuthHttpParameters') <> 'null' THEN
            PERFORM eventbus._check_connection_http_parameters(p -> 'OAuthHttpParameters',
                'AuthParameters.OAuthParameters.OAuthHttpParameters');
        END IF;
    END IF;
    IF params ? 'InvocationHttpParameters' AND jsonb_typeof(params -> 'InvocationHttpParameters') <> 'null' THEN
        PERFORM eventbus._check_connection_http_parameters(params -> 'InvocationHttpParameters',
            'AuthParameters.InvocationHttpParameters');
    END IF;
    RETURN jsonb_strip_nulls(params);
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_auth_parameters(text, jsonb) IS
'Internal: raises 22023 unless params are valid AuthParameters for the authorization type (BASIC, API_KEY, OAUTH_CLIENT_CREDENTIALS); returns them without null members. Its errors never show a value of the parameters.';

-- Parameters as DescribeConnection shows them: Password, ApiKeyValue,
-- ClientSecret and the values of secret parameters removed.
CREATE FUNCTION eventbus._public_http_parameters(params jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN jsonb_typeof(params) = 'object' THEN
        (SELECT coalesce(jsonb_object_agg(l, CASE WHEN jsonb_typeof(params -> l) = 'array' THEN
                    (SELECT coalesce(jsonb_agg(CASE WHEN e -> 'IsValueSecret' = 'true'::jsonb
                                                    THEN e - 'Value' ELSE e END ORDER BY o), '[]')
                       FROM jsonb_array_elements(params -> l) WITH ORDINALITY AS x(e, o))
                    ELSE params -> l END), '{}')
           FROM jsonb_object_keys(params) l)
    ELSE params END
$fn$;
COMMENT ON FUNCTION eventbus._public_http_parameters(jsonb) IS
'Internal: ConnectionHttpParameters without the Value of the parameters whose IsValueSecret is true.';

CREATE FUNCTION eventbus._public_auth_parameters(params jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r jsonb := params #- '{BasicAuthParameters,Password}'
                      #- '{ApiKeyAuthParameters,ApiKeyValue}'
                      #- '{OAuthParameters,ClientParameters,ClientSecret}';
BEGIN
    IF r ? 'InvocationHttpParameters' THEN
        r := jsonb_set(r, '{InvocationHttpParameters}',
                       eventbus._public_http_parameters(r -> 'InvocationHttpParameters'));
    END IF;
    IF r #> '{OAuthParameters,OAuthHttpParameters}' IS NOT NULL THEN
        r := jsonb_set(r, '{OAuthParameters,OAuthHttpParameters}',
                       eventbus._public_http_parameters(r #> '{OAuthParameters,OAuthHttpParameters}'));
    END IF;
    RETURN r;
END;
$fn$;
COMMENT ON FUNCTION eventbus._public_auth_parameters(jsonb) IS
'Internal: AuthParameters as describe_connection shows them: Password, ApiKeyValue, ClientSecret and the Value of every parameter with IsValueSecret true removed.';

-- UpdateConnection's AuthParameters: what is given replaces what is there,
-- object by object (lists are replaced whole).
CREATE FUNCTION eventbus._merge_parameters(old jsonb, new jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE
        WHEN jsonb_typeof(old) = 'object' AND jsonb_typeof(new) = 'object' THEN
            (SELECT coalesce(jsonb_object_agg(k,
                        CASE WHEN new ? k THEN eventbus._merge_parameters(old -> k, new -> k)
                             ELSE old -> k END), '{}')
               FROM (SELECT jsonb_object_keys(old) UNION SELECT jsonb_object_keys(new)) ks(k))
        ELSE new END
$fn$;
COMMENT ON FUNCTION eventbus._merge_parameters(jsonb, jsonb) IS
'Internal: new merged into old, object member by member (anything but an object replaces what was there).';

-- Visibility: what the caller owns, holds a privilege on, or every one for
-- admins.
CREATE FUNCTION eventbus._may_see_connection(connection text, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus.has_connection_privilege(connection, 'use', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_connection(text, regrole) IS
'Internal: whether role owns the connection, is an eventbus_admin, or holds use on it.';

CREATE FUNCTION eventbus._may_see_api_destination(api_destination text, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus.has_api_destination_privilege(api_destination, 'invoke', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_api_destination(text, regrole) IS
'Internal: whether role owns the API destination, is an eventbus_admin, or holds invoke on it.';

CREATE FUNCTION eventbus._require_visible(object_kind text, object_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    priv text := CASE object_kind WHEN 'connection' THEN 'use' ELSE 'invoke' END;
    what text := CASE object_kind WHEN 'connection' THEN 'connection' ELSE 'API destination' END;
BEGIN
    IF (object_kind = 'connection' AND eventbus._may_see_connection(object_name, caller))
       OR (object_kind = 'api_destination' AND eventbus._may_see_api_destination(object_name, caller)) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied for %s %s', what, quote_ident(object_name)),
        format('Role %s neither owns %s %s nor holds privilege %s on it.', caller, what,
               quote_ident(object_name), priv),
        format('Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_%s_privilege(%L, %L, %L).',
               object_kind, object_name, priv, caller::text));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_visible(text, text) IS
'Internal: raises 42501 unless the caller of the current API function may see the connection or API destination (owns it, is an eventbus_admin or holds its privilege).';

-- ---------------------------------------------------------------------
-- Connections
-- ---------------------------------------------------------------------

-- The API functions that take secrets never let PostgreSQL log the
-- statement that called them with an error (log_min_error_statement):
-- the statement's text holds the secrets.
CREATE FUNCTION eventbus.create_connection(name text, authorization_type text,
                                           auth_parameters jsonb, description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.create_connection(text, text, jsonb, text) IS
'EventBridge''s CreateConnection: a connection owned by the caller (a member of eventbus_user or eventbus_admin) with authorization_type BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS and its AuthParameters ({"BasicAuthParameters": {"Username", "Password"}}, {"ApiKeyAuthParameters": {"ApiKeyName", "ApiKeyValue"}} or {"OAuthParameters": {"AuthorizationEndpoint", "HttpMethod", "ClientParameters": {"ClientID", "ClientSecret"}, "OAuthHttpParameters"}}, plus optionally "InvocationHttpParameters"); returns {"ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime"}. Names: 1 to 64 letters, digits, ".", "-", "_". Secrets are never shown again, nor in any error.';

CREATE FUNCTION eventbus._create_connection_impl(name text, authorization_type text,
                                                 auth_parameters jsonb, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic
AS $fn$
DECLARE
    v_name text := _create_connection_impl.name;
    v_params jsonb;
    c eventbus.connections;
BEGIN
    PERFORM eventbus._require_creator('connection');
    PERFORM eventbus._check_http_name(v_name, 'connection');
    PERFORM eventbus._check_description(_create_connection_impl.description, format('connection %L', v_name));
    v_params := eventbus._check_auth_parameters(_create_connection_impl.authorization_type,
                                                _create_connection_impl.auth_parameters);
    INSERT INTO eventbus.connections AS x (name, description, authorization_type, auth_parameters, owner)
    VALUES (v_name, _create_connection_impl.description, _create_connection_impl.authorization_type,
            eventbus._public_auth_parameters(v_params), pg_catalog.pg_get_userbyid(eventbus._caller()))
    ON CONFLICT ON CONSTRAINT connections_pkey DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('connection %L already exists', v_name),
            'Connection names are unique in the database.',
            'Use the existing connection (update_connection), or delete it first with delete_connection().');
    END IF;
    INSERT INTO eventbus.connection_secrets (connection, auth_parameters) VALUES (v_name, v_params);
    RETURN jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'ConnectionState', c.state,
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._create_connection_impl(text, text, jsonb, text) IS
'Internal: implementation of create_connection.';

CREATE FUNCTION eventbus.describe_connection(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.describe_connection(text) IS
'EventBridge''s DescribeConnection: {"ConnectionArn", "Name", "Description", "ConnectionState", "AuthorizationType", "AuthParameters" (secrets removed: no Password, ApiKeyValue, ClientSecret, nor the Value of a parameter with IsValueSecret true), "CreationTime", "LastModifiedTime", "LastAuthorizedTime"} of a connection (a name or ARN). For its owner, the holders of use on it and eventbus_admin (42501).';

CREATE FUNCTION eventbus._describe_connection_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c eventbus.connections;
BEGIN
    SELECT * INTO c FROM eventbus.connections x
     WHERE x.name = eventbus._connection_name(_describe_connection_impl.name);
    PERFORM eventbus._require_visible('connection', c.name);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'Name', c.name,
        'Description', c.description,
        'ConnectionState', c.state,
        'AuthorizationType', c.authorization_type,
        'AuthParameters', c.auth_parameters,
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at,
        'LastAuthorizedTime', c.updated_at));
END;
$fn$;
COMMENT ON FUNCTION eventbus._describe_connection_impl(text) IS
'Internal: implementation of describe_connection.';

CREATE FUNCTION eventbus.update_connection(name text, authorization_type text DEFAULT NULL,
                                           auth_parameters jsonb DEFAULT NULL,
                                           description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.update_connection(text, text, jsonb, text) IS
'EventBridge''s UpdateConnection: changes what is given (NULL: unchanged) of a connection, for its owner and eventbus_admin (42501). auth_parameters are merged into the current ones object by object (lists are replaced whole), so a new Password alone can be given; a new authorization_type needs its full AuthParameters. Returns {"ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}. The delivery workers use the new parameters from the next delivery on.';

CREATE FUNCTION eventbus._update_connection_impl(name text, authorization_type text,
                                                 auth_parameters jsonb, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic
AS $fn$
DECLARE
    v_name text := eventbus._connection_name(_update_connection_impl.name);
    c eventbus.connections;
    v_type text;
    v_params jsonb;
BEGIN
    SELECT * INTO c FROM eventbus.connections x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('connection', v_name);
    PERFORM eventbus._require_owner('connection', v_name, eventbus._role_of(c.owner));
    PERFORM eventbus._check_description(_update_connection_impl.description, format('connection %L', v_name));
    v_type := coalesce(_update_connection_impl.authorization_type, c.authorization_type);
    IF v_type IS DISTINCT FROM c.authorization_type AND _update_connection_impl.auth_parameters IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('changing the authorization type of connection %L needs its AuthParameters', v_name),
            format('The connection''s authorization type is %s; %s needs parameters of its own.',
                   c.authorization_type, left(v_type, 100)),
            'Pass auth_parameters for the new authorization type.');
    END IF;
    SELECT s.auth_parameters INTO v_params FROM eventbus.connection_secrets s
     WHERE s.connection = v_name FOR UPDATE;
    IF _update_connection_impl.auth_parameters IS NOT NULL THEN
        IF jsonb_typeof(_update_connection_impl.auth_parameters) <> 'object' THEN
            PERFORM eventbus._check_auth_parameters(v_type, _update_connection_impl.auth_parameters);
        END IF;
        IF v_type IS DISTINCT FROM c.authorization_type THEN
            -- another authorization: its parameters, and the invocation
            -- parameters given or kept
            v_params := jsonb_strip_nulls(jsonb_build_object(
                'InvocationHttpParameters', v_params -> 'InvocationHttpParameters'))
                || _update_connection_impl.auth_parameters;
        ELSE
            v_params := eventbus._merge_parameters(v_params, _update_connection_impl.auth_parameters);
        END IF;
    END IF;
    v_params := eventbus._check_auth_parameters(v_type, v_params);
    UPDATE eventbus.connection_secrets s SET auth_parameters = v_params WHERE s.connection = v_name;
    UPDATE eventbus.connections x
       SET authorization_type = v_type,
           auth_parameters = eventbus._public_auth_parameters(v_params),
           description = coalesce(_update_connection_impl.description, x.description),
           state = 'AUTHORIZED',
           updated_at = now()
     WHERE x.name = v_name
    RETURNING * INTO c;
    RETURN jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'ConnectionState', c.state,
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at,
        'LastAuthorizedTime', c.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._update_connection_impl(text, text, jsonb, text) IS
'Internal: implementation of update_connection.';

CREATE FUNCTION eventbus.delete_connection(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.delete_connection(text) IS
'EventBridge''s DeleteConnection: deletes a connection (a name or ARN) and its secrets, for its owner and eventbus_admin (42501); refused (2BP01) while API destinations use it. Returns {"ConnectionArn", "ConnectionState": "DELETING", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}; raises 42704 for a connection that does not exist.';

CREATE FUNCTION eventbus._delete_connection_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._connection_name(_delete_connection_impl.name);
    c eventbus.connections;
    n_used bigint;
BEGIN
    SELECT * INTO c FROM eventbus.connections x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('connection', v_name);
    PERFORM eventbus._require_owner('connection', v_name, eventbus._role_of(c.owner));
    SELECT count(*) INTO n_used FROM eventbus.api_destinations d WHERE d.connection = v_name;
    IF n_used > 0 THEN
        PERFORM eventbus._raise('2BP01',
            format('connection %L is used by %s API destination(s)', v_name, n_used),
            'A connection cannot be deleted while API destinations use it.',
            'Delete those API destinations (delete_api_destination) or move them to another connection (update_api_destination) first.');
    END IF;
    -- a later connection of the same name starts with no grants
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'connection' AND g.object_name = v_name;
    DELETE FROM eventbus.connections x WHERE x.name = v_name;
    RETURN jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'ConnectionState', 'DELETING',
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at,
        'LastAuthorizedTime', c.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._delete_connection_impl(text) IS
'Internal: implementation of delete_connection.';

CREATE FUNCTION eventbus.list_connections(name_prefix text DEFAULT NULL,
                                          connection_state text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.list_connections(text, text) IS
'EventBridge''s ListConnections: {"Connections": [{"ConnectionArn", "Name", "ConnectionState", "AuthorizationType", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}]} by name, of the connections the caller may see (it owns them, holds use on them, or is an eventbus_admin), optionally those whose name begins with name_prefix and in connection_state.';

CREATE FUNCTION eventbus._list_connections_impl(name_prefix text, connection_state text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    result jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
               'Name', c.name,
               'ConnectionState', c.state,
               'AuthorizationType', c.authorization_type,
               'CreationTime', c.created_at,
               'LastModifiedTime', c.updated_at,
               'LastAuthorizedTime', c.updated_at) ORDER BY c.name), '[]')
      INTO result
      FROM eventbus.connections c
     WHERE (_list_connections_impl.name_prefix IS NULL OR starts_with(c.name, _list_connections_impl.name_prefix))
       AND (_list_connections_impl.connection_state IS NULL OR c.state = _list_connections_impl.connection_state)
       AND eventbus._may_see_connection(c.name, caller);
    RETURN jsonb_build_object('Connections', result);
END;
$fn$;
COMMENT ON FUNCTION eventbus._list_connections_impl(text, text) IS
'Internal: implementation of list_connections.';

-- ---------------------------------------------------------------------
-- API destinations
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus._check_api_destination_settings(name text, invocation_endpoint text,
                                                         http_method text,
                                                         invocation_rate_limit_per_second integer,
                                                         timeout_seconds numeric)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF invocation_endpoint IS NULL OR length(invocation_endpoint) > 2048
       OR invocation_endpoint !~* '^https?://[^/?#@[:space:][:cntrl:]]+([/?#][^[:space:][:cntrl:]]*)?$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid invocation endpoint for API destination %L', name),
            CASE WHEN invocation_endpoint IS NULL THEN 'The invocation endpoint is required.'
                 WHEN length(invocation_endpoint) > 2048
                 THEN format('It has %s characters; at most 2048 are allowed.', length(invocation_endpoint))
                 WHEN invocation_endpoint ~ '^[^/?#]*//[^/?#]*@'
                 THEN 'An endpoint may not carry a user name or password: they belong in its connection.'
                 ELSE format('%L is not an http:// or https:// URL without spaces.', left(invocation_endpoint, 200)) END,
            'Pass a URL such as "https://api.example.com/orders/*" ("*" is filled by the target''s HttpParameters.PathParameterValues).');
    END IF;
    IF http_method IS NULL OR http_method NOT IN ('POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE') THEN
        PERFORM eventbus._raise('22023',
            format('invalid HTTP method %s for API destination %L', coalesce(quote_literal(left(http_method, 100)), 'NULL'), name),
            CASE WHEN upper(http_method) IN ('CONNECT', 'TRACE')
                 THEN format('%s cannot be the method of an API destination.', upper(http_method))
                 ELSE 'The methods are POST, GET, HEAD, OPTIONS, PUT, PATCH and DELETE.' END,
            'Pass one of POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE, in upper case.');
    END IF;
    IF invocation_rate_limit_per_second IS NULL OR invocation_rate_limit_per_second NOT BETWEEN 1 AND 300 THEN
        PERFORM eventbus._raise('22023',
            format('invalid invocation rate limit %s for API destination %L',
                   coalesce(invocation_rate_limit_per_second::text, 'NULL'), name),
            'InvocationRateLimitPerSecond is an integer from 1 to 300.',
            'The default is 300 invocations per second.');
    END IF;
    IF timeout_seconds IS NOT NULL AND timeout_seconds NOT BETWEEN 0.001 AND 300 THEN
        PERFORM eventbus._raise('22023',
            format('invalid timeout %s for API destination %L', timeout_seconds, name),
            'timeout_seconds is from 0.001 to 300 (seconds, milliseconds precision).',
            'Pass NULL to use the setting eventbus.http_timeout.');
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_api_destination_settings(text, text, text, integer, numeric) IS
'Internal: raises 22023 unless the endpoint (http:// or https://, at most 2048 characters, no user name or password), HTTP method (POST GET HEAD OPTIONS PUT PATCH DELETE), rate limit (1 to 300) and timeout (0.001 to 300 seconds, or NULL) of an API destination are valid.';

CREATE FUNCTION eventbus._timeout_ms(timeout_seconds numeric)
RETURNS integer
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN timeout_seconds IS NOT NULL
                THEN greatest(round(timeout_seconds * 1000), 1)::integer END
$fn$;
COMMENT ON FUNCTION eventbus._timeout_ms(numeric) IS
'Internal: an API destination''s timeout_seconds in milliseconds (at least 1); NULL for NULL.';

-- An API destination's connection: the caller needs use on it.
CREATE FUNCTION eventbus._api_destination_connection(connection_name text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_conn text;
BEGIN
    IF connection_name IS NULL THEN
        PERFORM eventbus._raise('22023', 'an API destination needs a connection',
            'connection_name is NULL.',
            'Pass the name or ARN of a connection (create_connection makes one).');
    END IF;
    v_conn := eventbus._connection_name(connection_name);
    -- the destination sends with the connection's authorization
    PERFORM eventbus._require_privilege('connection', v_conn, 'use');
    -- the connection stays while the destination is made
    PERFORM FROM eventbus.connections c WHERE c.name = v_conn FOR KEY SHARE;
    RETURN v_conn;
END;
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_connection(text) IS
'Internal: the name of the connection (name or ARN) an API destination is to use, locked; raises 42704 when it does not exist and 42501 unless the caller holds use on it.';

CREATE FUNCTION eventbus._api_destination_json(d eventbus.api_destinations)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'ApiDestinationArn', eventbus._api_destination_arn(d.name, d.arn_uuid),
        'Name', d.name,
        'Description', d.description,
        'ApiDestinationState', d.state,
        'ConnectionArn', (SELECT eventbus._connection_arn(c.name, c.arn_uuid)
                            FROM eventbus.connections c WHERE c.name = d.connection),
        'InvocationEndpoint', d.invocation_endpoint,
        'HttpMethod', d.http_method,
        'InvocationRateLimitPerSecond', d.invocation_rate_limit_per_second,
        'TimeoutSeconds', trim_scale(d.timeout_ms / 1000.0),
        'CreationTime', d.created_at,
        'LastModifiedTime', d.updated_at))
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_json(eventbus.api_destinations) IS
'Internal: an API destination as DescribeApiDestination shows it (TimeoutSeconds is eventbus''s own, absent when eventbus.http_timeout applies).';

CREATE FUNCTION eventbus.create_api_destination(name text, connection_name text,
                                                invocation_endpoint text, http_method text,
                                                invocation_rate_limit_per_second integer DEFAULT 300,
                                                description text DEFAULT NULL,
                                                timeout_seconds numeric DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.create_api_destination(text, text, text, text, integer, text, numeric) IS
'EventBridge''s CreateApiDestination: an API destination owned by the caller (a member of eventbus_user or eventbus_admin holding use on the connection, a name or ARN): invocation_endpoint an http:// or https:// URL (at most 2048 characters; each "*" is filled by a target''s HttpParameters.PathParameterValues), http_method POST, GET, HEAD, OPTIONS, PUT, PATCH or DELETE, invocation_rate_limit_per_second 1 to 300 (default 300), timeout_seconds 0.001 to 300 (NULL: eventbus.http_timeout). Returns {"ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime"}.';

CREATE FUNCTION eventbus._create_api_destination_impl(name text, connection_name text,
                                                      invocation_endpoint text, http_method text,
                                                      invocation_rate_limit_per_second integer,
                                                      description text, timeout_seconds numeric)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := _create_api_destination_impl.name;
    v_conn text;
    d eventbus.api_destinations;
BEGIN
    PERFORM eventbus._require_creator('API destination');
    PERFORM eventbus._check_http_name(v_name, 'API destination');
    PERFORM eventbus._check_description(_create_api_destination_impl.description,
                                        format('API destination %L', v_name));
    PERFORM eventbus._check_api_destination_settings(v_name,
        _create_api_destination_impl.invocation_endpoint, _create_api_destination_impl.http_method,
        coalesce(_create_api_destination_impl.invocation_rate_limit_per_second, 300),
        _create_api_destination_impl.timeout_seconds);
    v_conn := eventbus._api_destination_connection(_create_api_destination_impl.connection_name);
    INSERT INTO eventbus.api_destinations AS x
        (name, description, connection, invocation_endpoint, http_method,
         invocation_rate_limit_per_second, timeout_ms, owner)
    VALUES (v_name, _create_api_destination_impl.description, v_conn,
            _create_api_destination_impl.invocation_endpoint, _create_api_destination_impl.http_method,
            coalesce(_create_api_destination_impl.invocation_rate_limit_per_second, 300),
            eventbus._timeout_ms(_create_api_destination_impl.timeout_seconds),
            pg_catalog.pg_get_userbyid(eventbus._caller()))
    ON CONFLICT ON CONSTRAINT api_destinations_pkey DO NOTHING
    RETURNING * INTO d;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('API destination %L already exists', v_name),
            'API destination names are unique in the database.',
            'Use the existing API destination (update_api_destination), or delete it first with delete_api_destination().');
    END IF;
    RETURN jsonb_build_object(
        'ApiDestinationArn', eventbus._api_destination_arn(d.name, d.arn_uuid),
        'ApiDestinationState', d.state,
        'CreationTime', d.created_at,
        'LastModifiedTime', d.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._create_api_destination_impl(text, text, text, text, integer, text, numeric) IS
'Internal: implementation of create_api_destination.';

-- An API destination argument: a name or an API destination ARN.
CREATE FUNCTION eventbus._api_destination_name(api_destination text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
    v_name text;
    m text[];
BEGIN
    IF api_destination ~ '^arn:' THEN
        SELECT p.kind, p.destination INTO k, v_name FROM eventbus._parse_target_arn(api_destination) p;
        IF k IS DISTINCT FROM 'api_destination' THEN
            PERFORM eventbus._raise('22023',
                format('%L is not an API destination ARN', left(api_destination, 200)),
                'An API destination ARN has the form arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>.',
                'Pass the API destination''s name or its ApiDestinationArn.');
        END IF;
        m := regexp_match(api_destination, '/([0-9A-Fa-f-]{36})$');
        IF m IS NOT NULL AND NOT EXISTS (SELECT FROM eventbus.api_destinations d
                                          WHERE d.name = v_name AND d.arn_uuid = m[1]::uuid) THEN
            PERFORM eventbus._api_destination_not_found(v_name);
        END IF;
    ELSE
        PERFORM eventbus._check_http_name(api_destination, 'API destination');
        v_name := api_destination;
    END IF;
    IF NOT EXISTS (SELECT FROM eventbus.api_destinations d WHERE d.name = v_name) THEN
        PERFORM eventbus._api_destination_not_found(v_name);
    END IF;
    RETURN v_name;
END;
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_name(text) IS
'Internal: the name of the API destination an argument (name or ARN) designates; raises 22023 for a malformed one and 42704 for one that does not exist.';

CREATE FUNCTION eventbus.describe_api_destination(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.describe_api_destination(text) IS
'EventBridge''s DescribeApiDestination: {"ApiDestinationArn", "Name", "Description", "ApiDestinationState", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "TimeoutSeconds" (eventbus''s own; absent when eventbus.http_timeout applies), "CreationTime", "LastModifiedTime"} of an API destination (a name or ARN). For its owner, the holders of invoke on it and eventbus_admin (42501).';

CREATE FUNCTION eventbus._describe_api_destination_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d eventbus.api_destinations;
BEGIN
    SELECT * INTO d FROM eventbus.api_destinations x
     WHERE x.name = eventbus._api_destination_name(_describe_api_destination_impl.name);
    PERFORM eventbus._require_visible('api_destination', d.name);
    RETURN eventbus._api_destination_json(d);
END;
$fn$;
COMMENT ON FUNCTION eventbus._describe_api_destination_impl(text) IS
'Internal: implementation of describe_api_destination.';

CREATE FUNCTION eventbus.update_api_destination(name text, connection_name text DEFAULT NULL,
                                                invocation_endpoint text DEFAULT NULL,
                                                http_method text DEFAULT NULL,
                                                invocation_rate_limit_per_second integer DEFAULT NULL,
                                                description text DEFAULT NULL,
                                                timeout_seconds numeric DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.update_api_destination(text, text, text, text, integer, text, numeric) IS
'EventBridge''s UpdateApiDestination: changes what is given (NULL: unchanged) of an API destination, for its owner and eventbus_admin (42501); a new connection needs use on it. Returns {"ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime"}. The delivery workers use the new settings from the next delivery on.';

CREATE FUNCTION eventbus._update_api_destination_impl(name text, connection_name text,
                                                      invocation_endpoint text, http_method text,
                                                      invocation_rate_limit_per_second integer,
                                                      description text, timeout_seconds numeric)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._api_destination_name(_update_api_destination_impl.name);
    d eventbus.api_destinations;
    v_conn text;
BEGIN
    SELECT * INTO d FROM eventbus.api_destinations x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('api_destination', v_name);
    PERFORM eventbus._require_owner('api_destination', v_name, eventbus._role_of(d.owner));
    PERFORM eventbus._check_description(_update_api_destination_impl.description,
                                        format('API destination %L', v_name));
    PERFORM eventbus._check_api_destination_settings(v_name,
        coalesce(_update_api_destination_impl.invocation_endpoint, d.invocation_endpoint),
        coalesce(_update_api_destination_impl.http_method, d.http_method),
        coalesce(_update_api_destination_impl.invocation_rate_limit_per_second, d.invocation_rate_limit_per_second),
        _update_api_destination_impl.timeout_seconds);
    v_conn := d.connection;
    IF _update_api_destination_impl.connection_name IS NOT NULL THEN
        v_conn := eventbus._api_destination_connection(_update_api_destination_impl.connection_name);
    END IF;
    UPDATE eventbus.api_destinations x
       SET connection = v_conn,
           invocation_endpoint = coalesce(_update_api_destination_impl.invocation_endpoint, x.invocation_endpoint),
           http_method = coalesce(_update_api_destination_impl.http_method, x.http_method),
           invocation_rate_limit_per_second = coalesce(_update_api_destination_impl.invocation_rate_limit_per_second,
                                                       x.invocation_rate_limit_per_second),
           description = coalesce(_update_api_destination_impl.description, x.description),
           timeout_ms = coalesce(eventbus._timeout_ms(_update_api_destination_impl.timeout_seconds), x.timeout_ms),
           updated_at = now()
     WHERE x.name = v_name
    RETURNING * INTO d;
    RETURN jsonb_build_object(
        'ApiDestinationArn', eventbus._api_destination_arn(d.name, d.arn_uuid),
        'ApiDestinationState', d.state,
        'CreationTime', d.created_at,
        'LastModifiedTime', d.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._update_api_destination_impl(text, text, text, text, integer, text, numeric) IS
'Internal: implementation of update_api_destination.';

CREATE FUNCTION eventbus.delete_api_destination(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.delete_api_destination(text) IS
'EventBridge''s DeleteApiDestination: deletes an API destination (a name or ARN), for its owner and eventbus_admin (42501); refused (2BP01) while targets send to it. Returns {}; raises 42704 for an API destination that does not exist.';

CREATE FUNCTION eventbus._delete_api_destination_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._api_destination_name(_delete_api_destination_impl.name);
    d eventbus.api_destinations;
    n_used bigint;
BEGIN
    SELECT * INTO d FROM eventbus.api_destinations x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('api_destination', v_name);
    PERFORM eventbus._require_owner('api_destination', v_name, eventbus._role_of(d.owner));
    -- put_targets locks the destination (KEY SHARE) before adding a target
    SELECT count(*) INTO n_used FROM eventbus.targets t
     WHERE t.kind = 'api_destination' AND t.destination = v_name;
    IF n_used > 0 THEN
        PERFORM eventbus._raise('2BP01',
            format('API destination %L is used by %s target(s)', v_name, n_used),
            'An API destination cannot be deleted while targets send to it.',
            format('Remove those targets first (remove_targets); list_rule_names_by_target(%L, <bus>) finds their rules.',
                   'api-destination:' || v_name));
    END IF;
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'api_destination' AND g.object_name = v_name;
    DELETE FROM eventbus.api_destinations x WHERE x.name = v_name;
    RETURN '{}'::jsonb;
END;
$fn$;
COMMENT ON FUNCTION eventbus._delete_api_destination_impl(text) IS
'Internal: implementation of delete_api_destination.';

CREATE FUNCTION eventbus.list_api_destinations(name_prefix text DEFAULT NULL,
                                               connection_name text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.list_api_destinations(text, text) IS
'EventBridge''s ListApiDestinations: {"ApiDestinations": [{"ApiDestinationArn", "Name", "ApiDestinationState", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "CreationTime", "LastModifiedTime"}]} by name, of the API destinations the caller may see (it owns them, holds invoke on them, or is an eventbus_admin), optionally those whose name begins with name_prefix and those of one connection (a name or ARN).';

CREATE FUNCTION eventbus._list_api_destinations_impl(name_prefix text, connection_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    v_conn text;
    result jsonb;
BEGIN
    IF _list_api_destinations_impl.connection_name IS NOT NULL THEN
        v_conn := eventbus._connection_name(_list_api_destinations_impl.connection_name);
    END IF;
    SELECT coalesce(jsonb_agg(eventbus._api_destination_json(d) - 'Description' - 'TimeoutSeconds'
                              ORDER BY d.name), '[]')
      INTO result
      FROM eventbus.api_destinations d
     WHERE (_list_api_destinations_impl.name_prefix IS NULL
            OR starts_with(d.name, _list_api_destinations_impl.name_prefix))
       AND (v_conn IS NULL OR d.connection = v_conn)
       AND eventbus._may_see_api_destination(d.name, caller);
    RETURN jsonb_build_object('ApiDestinations', result);
END;
$fn$;
COMMENT ON FUNCTION eventbus._list_api_destinations_impl(text, text) IS
'Internal: implementation of list_api_destinations.';

-- ---------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.grant_connection_privilege(connection_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_connection_privilege_impl(connection_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'connection', connection_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_connection_privilege(text, text, text) IS
'Grants use on a connection (a name or ARN) to a role (or ''PUBLIC''): it may then create API destinations that send with it. For the connection''s owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_connection_privilege_impl(text, text, text) IS
'Internal: implementation of grant_connection_privilege.';

CREATE FUNCTION eventbus.revoke_connection_privilege(connection_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_connection_privilege_impl(connection_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'connection', connection_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_connection_privilege(text, text, text) IS
'Revokes use on a connection from a role (or ''PUBLIC''); for the connection''s owner and eventbus_admin. API destinations already made keep their connection; the delivery workers check that a destination''s owner holds use on its connection before each delivery.';
COMMENT ON FUNCTION eventbus._revoke_connection_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_connection_privilege.';

CREATE FUNCTION eventbus.grant_api_destination_privilege(api_destination_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_api_destination_privilege_impl(api_destination_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'api_destination', api_destination_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_api_destination_privilege(text, text, text) IS
'Grants invoke on an API destination (a name or ARN) to a role (or ''PUBLIC''): it may then put targets that send to it. For the API destination''s owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_api_destination_privilege_impl(text, text, text) IS
'Internal: implementation of grant_api_destination_privilege.';

CREATE FUNCTION eventbus.revoke_api_destination_privilege(api_destination_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_api_destination_privilege_impl(api_destination_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'api_destination', api_destination_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_api_destination_privilege(text, text, text) IS
'Revokes invoke on an API destination from a role (or ''PUBLIC''); for the API destination''s owner and eventbus_admin. Targets already put stay; the delivery workers check that a target''s owner holds invoke before each delivery (a denial is a dead letter with error code 42501).';
COMMENT ON FUNCTION eventbus._revoke_api_destination_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_api_destination_privilege.';

-- ---------------------------------------------------------------------
-- Targets' HttpParameters (put_targets)
-- ---------------------------------------------------------------------

-- A value of HttpParameters: static text, or (beginning with "$.") a JSON
-- path into the event, checked as an InputPath is.
CREATE FUNCTION eventbus._check_http_parameter_value(value jsonb, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    reason text;
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a string', what),
            format('It is %s.', left(coalesce(value::text, 'missing'), 200)),
            'Values are static text, or JSON paths into the event beginning with "$." such as "$.detail.id".');
    END IF;
    IF length(value #>> '{}') > 512 THEN
        PERFORM eventbus._raise('22023',
            format('%s is longer than 512 characters', what),
            format('It has %s characters.', length(value #>> '{}')),
            'Shorten the value.');
    END IF;
    IF (value #>> '{}') ~ '[[:cntrl:]]' THEN
        PERFORM eventbus._raise('22023',
            format('%s contains a control character', what),
            'HTTP parameter values are sent in request lines and headers.',
            'Remove line breaks, tabs and other control characters.');
    END IF;
    IF starts_with(value #>> '{}', '$.') THEN
        BEGIN
            PERFORM eventbus.validate_target_input(NULL, value #>> '{}', NULL);
        EXCEPTION WHEN invalid_parameter_value THEN
            GET STACKED DIAGNOSTICS reason = MESSAGE_TEXT;
            PERFORM eventbus._raise('22023',
                format('%s is not a valid JSON path', what),
                format('%s: %s', left(value #>> '{}', 200), reason),
                'A value beginning with "$." is a JSON path into the event, such as "$.detail.id".');
        END;
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_http_parameter_value(jsonb, text) IS
'Internal: raises 22023 unless value is a valid HttpParameters value: a string of at most 512 characters without control characters, a valid JSON path when it begins with "$.".';

CREATE FUNCTION eventbus._check_http_parameters(params jsonb, target_id text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    what text := format('HttpParameters of target %L', target_id);
    k text;
    v jsonb;
    pos bigint;
    list text;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a JSON object', what),
            format('It is a JSON %s.', jsonb_typeof(params)),
            'Pass {"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF k NOT IN ('PathParameterValues', 'HeaderParameters', 'QueryStringParameters') THEN
            PERFORM eventbus._raise('22023',
                format('%s has an unknown key %L', what, left(k, 100)),
                'HttpParameters has the keys PathParameterValues, HeaderParameters and QueryStringParameters.',
                'Remove the key.');
        END IF;
    END LOOP;
    params := jsonb_strip_nulls(params);
    IF params ? 'PathParameterValues' THEN
        IF jsonb_typeof(params -> 'PathParameterValues') <> 'array' THEN
            PERFORM eventbus._raise('22023',
                format('%s: PathParameterValues must be a JSON array of strings', what),
                format('It is a JSON %s.', jsonb_typeof(params -> 'PathParameterValues')),
                'Pass one value per "*" of the API destination''s endpoint, e.g. ["$.detail.id"].');
        END IF;
        FOR v, pos IN SELECT x, o FROM jsonb_array_elements(params -> 'PathParameterValues') WITH ORDINALITY AS a(x, o) LOOP
            PERFORM eventbus._check_http_parameter_value(v, format('%s: PathParameterValues[%s]', what, pos - 1));
        END LOOP;
    END IF;
    FOREACH list IN ARRAY ARRAY['HeaderParameters', 'QueryStringParameters'] LOOP
        CONTINUE WHEN NOT params ? list;
        IF jsonb_typeof(params -> list) <> 'object' THEN
            PERFORM eventbus._raise('22023',
                format('%s: %s must be a JSON object of strings', what, list),
                format('It is a JSON %s.', jsonb_typeof(params -> list)),
                format('Pass e.g. {"%s": "$.detail.id"}.', CASE list WHEN 'HeaderParameters' THEN 'X-Order-Id' ELSE 'order' END));
        END IF;
        FOR k, v IN SELECT key, value FROM jsonb_each(params -> list) LOOP
            IF list = 'HeaderParameters' THEN
                IF k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
                    PERFORM eventbus._raise('22023',
                        format('%s: %L is not a valid HTTP header name', what, left(k, 100)),
                        'Header names are tokens: letters, digits and !#$%&''*+-.^_`|~.',
                        'Use a header name such as "X-Order-Id".');
                END IF;
                IF lower(k) IN ('host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive',
                                'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization',
                                'x-eventbus-event-id') THEN
                    PERFORM eventbus._raise('22023',
                        format('%s: header %s cannot be set', what, k),
                        'The delivery workers set it themselves.',
                        'Remove the header.');
                END IF;
            ELSIF k = '' OR length(k) > 512 THEN
                PERFORM eventbus._raise('22023',
                    format('%s: a QueryStringParameters key must have 1 to 512 characters', what),
                    format('It has %s.', length(k)),
                    'Use a parameter name such as "order".');
            END IF;
            PERFORM eventbus._check_http_parameter_value(v, format('%s: %s.%s', what, list, left(k, 100)));
        END LOOP;
    END LOOP;
    RETURN nullif(params, '{}');
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_http_parameters(jsonb, text) IS
'Internal: checks a target''s HttpParameters (PathParameterValues: an array of strings; HeaderParameters and QueryStringParameters: objects of strings; values beginning with "$." are JSON paths into the event) and returns them without null members, NULL when empty.';

-- ---------------------------------------------------------------------
-- Metrics
-- ---------------------------------------------------------------------

-- Counters of every API destination of this database, kept in shared
-- memory by the delivery workers (src/target_http.c).
CREATE FUNCTION eventbus._api_destination_stats(OUT name text, OUT requests bigint,
    OUT responses_2xx bigint, OUT responses_3xx bigint, OUT responses_4xx bigint,
    OUT responses_5xx bigint, OUT timeouts bigint, OUT network_errors bigint,
    OUT rate_limited_waits bigint, OUT in_flight integer, OUT latency_p50_ms float8,
    OUT latency_p95_ms float8, OUT latency_p99_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_api_destination_stats'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION eventbus._api_destination_stats() IS
'Internal: the delivery workers'' counters of this database''s API destinations (shared memory): requests, responses by status class, timeouts, network errors, rate-limited waits, requests in flight and the latency p50/p95/p99 in milliseconds.';

CREATE FUNCTION eventbus._visible_api_destination_stats()
RETURNS TABLE (api_destination text, connection text, requests bigint, responses_2xx bigint,
               responses_3xx bigint, responses_4xx bigint, responses_5xx bigint, timeouts bigint,
               network_errors bigint, rate_limited_waits bigint, in_flight integer,
               latency_p50_ms float8, latency_p95_ms float8, latency_p99_ms float8,
               stats_reset timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION eventbus._visible_api_destination_stats() IS
'Internal: the rows of view api_destination_metrics that its reader may see.';

CREATE FUNCTION eventbus.__visible_api_destination_stats_impl()
RETURNS TABLE (api_destination text, connection text, requests bigint, responses_2xx bigint,
               responses_3xx bigint, responses_4xx bigint, responses_5xx bigint, timeouts bigint,
               network_errors bigint, rate_limited_waits bigint, in_flight integer,
               latency_p50_ms float8, latency_p95_ms float8, latency_p99_ms float8,
               stats_reset timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT d.name, d.connection,
           coalesce(s.requests, 0), coalesce(s.responses_2xx, 0), coalesce(s.responses_3xx, 0),
           coalesce(s.responses_4xx, 0), coalesce(s.responses_5xx, 0), coalesce(s.timeouts, 0),
           coalesce(s.network_errors, 0), coalesce(s.rate_limited_waits, 0), coalesce(s.in_flight, 0),
           s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms,
           eventbus._stats_reset_time()
      FROM eventbus.api_destinations d
      LEFT JOIN eventbus._api_destination_stats() s ON s.name = d.name
     WHERE eventbus._may_see_api_destination(d.name, eventbus._caller())
$fn$;
COMMENT ON FUNCTION eventbus.__visible_api_destination_stats_impl() IS
'Internal: implementation of _visible_api_destination_stats.';

CREATE VIEW eventbus.api_destination_metrics AS
SELECT s.api_destination, s.connection, s.requests, s.responses_2xx, s.responses_3xx,
       s.responses_4xx, s.responses_5xx, s.timeouts, s.network_errors, s.rate_limited_waits,
       s.in_flight, s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms, s.stats_reset
  FROM eventbus._visible_api_destination_stats() s;
GRANT SELECT ON eventbus.api_destination_metrics TO PUBLIC;
COMMENT ON VIEW eventbus.api_destination_metrics IS
'Per API destination: HTTP requests sent by the delivery workers, responses by status class (2xx, 3xx, 4xx, 5xx), timeouts, network errors, waits for the rate limit (InvocationRateLimitPerSecond), requests in flight now, and the latency (request to response) p50/p95/p99 in milliseconds; counters since the server''s start (stats_reset). Shows the API destinations the reader may see (it owns them, holds invoke on them, or is an eventbus_admin).';

-- Implementations are reached only through their API function.
REVOKE ALL ON FUNCTION eventbus._create_connection_impl(text, text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._describe_connection_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._update_connection_impl(text, text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._delete_connection_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._list_connections_impl(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._create_api_destination_impl(text, text, text, text, integer, text, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._describe_api_destination_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._update_api_destination_impl(text, text, text, text, integer, text, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._delete_api_destination_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._list_api_destinations_impl(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_connection_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_connection_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_api_destination_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_api_destination_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus.__visible_api_destination_stats_impl() FROM PUBLIC;
-- FIFO queues, deduplication and sending single messages (SQS's
-- SendMessage).
--
-- A FIFO queue (create_queue(..., fifo => true)) keeps the order of the
-- messages of each message group: its receive (src/outbox.c,
-- OUTBOX_RECEIVE_FIFO) hands out a group's messages only from the group's
-- oldest message on, and none while an older message of the group is
-- hidden (received and not acknowledged).  Every message of a FIFO queue
-- has a message group id and a deduplication id; a message whose
-- deduplication id was enqueued in the same queue less than
-- eventbus.deduplication_window seconds ago (and committed) is not enqueued
-- again.  The ids of the window live in eventbus.deduplication, one row per
-- (outbox, id), which the enqueueing statement writes with
-- INSERT .. ON CONFLICT: a concurrent producer of the same id waits for the
-- first one's commit (then enqueues nothing) or abort (then enqueues).

-- A FIFO queue (order kept per message group, deduplication) and SQS's
-- DelaySeconds: every message of the queue becomes visible this long after
-- it is enqueued.
ALTER TABLE eventbus.queues
    ADD COLUMN fifo boolean NOT NULL DEFAULT false,
    ADD COLUMN delay_seconds integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT queues_delay_seconds_valid CHECK (delay_seconds BETWEEN 0 AND 900);
COMMENT ON COLUMN eventbus.queues.fifo IS
'An SQS FIFO queue: messages are received in order within each message group, one group''s messages by one consumer at a time, and duplicates within eventbus.deduplication_window are dropped.';
COMMENT ON COLUMN eventbus.queues.delay_seconds IS
'SQS''s DelaySeconds (0-900): messages become visible this many seconds after they are enqueued.';

-- A target's SqsParameters: {"MessageGroupId": ..., "MessageDeduplicationId": ...}
ALTER TABLE eventbus.targets ADD COLUMN sqs_parameters jsonb;
COMMENT ON COLUMN eventbus.targets.sqs_parameters IS
'A FIFO queue target''s SqsParameters: MessageGroupId (static, or a JSON path "$...." into the event) and MessageDeduplicationId (a JSON path; default: the event id). NULL for other targets.';

-- The deduplication ids of the window.  Not dumped: a restored database
-- starts a new window (the OIDs of the outboxes change too).
CREATE TABLE eventbus.deduplication (
    outbox           oid NOT NULL,
    deduplication_id text NOT NULL,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (outbox, deduplication_id)
) WITH (fillfactor = 80);
CREATE INDEX deduplication_expires_at ON eventbus.deduplication (expires_at);
COMMENT ON TABLE eventbus.deduplication IS
'Deduplication ids of FIFO queues'' messages enqueued within eventbus.deduplication_window; an expired row is reused by the next message with its id and deleted now and then by the enqueueing backends.';

-- SqsParameters of a target entry of put_targets, checked against the
-- queue it names: the normalised object, or NULL for none.
CREATE FUNCTION eventbus._check_sqs_parameters(params jsonb, target_id text,
                                               kind text, queue text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    what text := format('SqsParameters of target %L', target_id);
    fifo boolean;
    k text;
    v text;
BEGIN
    params := nullif(params, 'null');
    IF kind = 'queue' THEN
        SELECT q.fifo INTO fifo FROM eventbus.queues q WHERE q.name = queue;
    END IF;
    IF params IS NULL THEN
        IF fifo THEN
            PERFORM eventbus._raise('22023',
                format('target %L names FIFO queue %L without SqsParameters.MessageGroupId', target_id, queue),
                'Messages of a FIFO queue belong to a message group, as in EventBridge.',
                'Add "SqsParameters": {"MessageGroupId": "<group>"} or {"MessageGroupId": "$.detail.<field>"}.');
        END IF;
        RETURN NULL;
    END IF;
    IF NOT coalesce(fifo, false) THEN
        PERFORM eventbus._raise('22023',
            format('target %L cannot take SqsParameters', target_id),
            CASE WHEN kind = 'queue'
                 THEN format('Queue %L is a standard queue; SqsParameters are for FIFO queues only, as in EventBridge.', queue)
                 ELSE format('Target %L is a %s target; SqsParameters are for FIFO queue targets only.', target_id, kind) END,
            'Remove SqsParameters, or name a queue created with fifo => true.');
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a JSON object', what),
            format('It is a JSON %s.', jsonb_typeof(params)),
            'Pass {"MessageGroupId": "<group>"}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF k NOT IN ('MessageGroupId', 'MessageDeduplicationId') THEN
            PERFORM eventbus._raise('22023',
                format('%s has an unknown key %L', what, left(k, 100)),
                'SqsParameters has the keys MessageGroupId and MessageDeduplicationId.',
                'Remove the key.');
        END IF;
    END LOOP;
    params := jsonb_strip_nulls(params);
    FOREACH k IN ARRAY ARRAY['MessageGroupId', 'MessageDeduplicationId'] LOOP
        CONTINUE WHEN NOT params ? k;
        IF jsonb_typeof(params -> k) <> 'string' THEN
            PERFORM eventbus._raise('22023',
                format('%s: %s must be a string', what, k),
                format('It is a JSON %s.', jsonb_typeof(params -> k)),
                'Pass a string, or a JSON path such as "$.detail.customer".');
        END IF;
        v := params ->> k;
        IF v LIKE '$.%' OR v = '$' THEN
            -- the same paths as InputPath
            BEGIN
                PERFORM eventbus.validate_target_input(NULL, v, NULL);
            EXCEPTION WHEN invalid_parameter_value THEN
                PERFORM eventbus._raise('22023',
                    format('%s: %s %L is not a valid JSON path', what, k, left(v, 100)),
                    replace(SQLERRM, 'InputPath', 'The path'),
                    'Use a path such as "$.detail.customer", as in InputPath.');
            END;
        ELSIF k = 'MessageDeduplicationId' THEN
            PERFORM eventbus._raise('22023',
                format('%s: MessageDeduplicationId must be a JSON path', what),
                format('It is %L; a static id would make every message after the first a duplicate.', left(v, 100)),
                'Pass a path such as "$.detail.order_id", or leave it out to deduplicate by event id.');
        ELSIF length(v) NOT BETWEEN 1 AND 128 THEN
            PERFORM eventbus._raise('22023',
                format('%s: MessageGroupId must have 1 to 128 characters', what),
                format('It has %s.', length(v)),
                'Use a shorter group id, as in SQS.');
        END IF;
    END LOOP;
    IF NOT params ? 'MessageGroupId' THEN
        PERFORM eventbus._raise('22023',
            format('target %L names FIFO queue %L without SqsParameters.MessageGroupId', target_id, queue),
            'Messages of a FIFO queue belong to a message group, as in EventBridge.',
            'Add "MessageGroupId": "<group>" or "MessageGroupId": "$.detail.<field>".');
    END IF;
    RETURN params;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_sqs_parameters(jsonb, text, text, text) IS
'Internal: checks a target''s SqsParameters against the queue it names (required with a MessageGroupId for a FIFO queue, refused otherwise) and returns them without null members.';
REVOKE ALL ON FUNCTION eventbus._check_sqs_parameters(jsonb, text, text, text) FROM PUBLIC;

-- The one statement that writes a sent message (src/outbox.c, OUTBOX_SEND).
CREATE FUNCTION eventbus._send(outbox regclass, queue text, payload jsonb, message_group_id text,
                               deduplication_id text, delay_seconds integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_send'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._send(regclass, text, jsonb, text, text, integer) IS
'Internal: writes one message with its own payload to a queue''s outbox, visible after delay_seconds, counts it and notifies the queue''s consumers at commit; returns its message id, or NULL when deduplication_id was enqueued within eventbus.deduplication_window.';
REVOKE ALL ON FUNCTION eventbus._send(regclass, text, jsonb, text, text, integer) FROM PUBLIC;

CREATE FUNCTION eventbus.send_message(queue text, message_body jsonb,
                                      delay_seconds integer DEFAULT NULL,
                                      message_group_id text DEFAULT NULL,
                                      message_deduplication_id text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.send_message(text, jsonb, integer, text, text) IS
'Sends one message to a queue, as SQS''s SendMessage: receive() returns message_body as the payload, with a new event_id and empty rule and target_id. delay_seconds (0-900; default: the queue''s) delays it, on standard queues only (FIFO queues have only the queue''s delay, as in SQS). A FIFO queue needs message_group_id (1-128 characters); its message_deduplication_id defaults to the SHA-256 of the body (SQS''s content-based deduplication). Returns the message id, or NULL when a message with the same deduplication id was enqueued in the queue within eventbus.deduplication_window. Standard queues take neither id (22023). Needs send on the queue (42501).';

CREATE FUNCTION eventbus._send_message_impl(queue text, message_body jsonb, delay_seconds integer,
                                            message_group_id text, message_deduplication_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
BEGIN
    IF queue IS NULL THEN
        PERFORM eventbus._raise('22023',
            'queue name must not be NULL',
            'send_message takes the name of a queue made by create_queue or by a target.',
            'Pass a queue name; SELECT name FROM eventbus.queues shows the queues.');
    END IF;
    SELECT * INTO q FROM eventbus.queues qq WHERE qq.name = _send_message_impl.queue;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42704',
            format('queue %L does not exist', queue),
            'No queue of that name exists in this database.',
            'create_queue() makes a queue; SELECT name FROM eventbus.queues shows the queues.');
    END IF;
    PERFORM eventbus._require_privilege('queue', q.name, 'send');
    IF message_body IS NULL THEN
        PERFORM eventbus._raise('22023',
            'message_body must not be NULL',
            'A message has a JSON body, which receive() returns as its payload.',
            'Pass a jsonb value, such as ''{"order": 1}''.');
    END IF;
    IF delay_seconds IS NOT NULL AND delay_seconds NOT BETWEEN 0 AND 900 THEN
        PERFORM eventbus._raise('22023',
            format('invalid delay_seconds %s', delay_seconds),
            'delay_seconds is a number of seconds from 0 to 900 (15 minutes), as SQS''s DelaySeconds.',
            'Pass a delay_seconds from 0 to 900, or NULL for the queue''s.');
    END IF;
    IF q.fifo THEN
        IF message_group_id IS NULL OR length(message_group_id) NOT BETWEEN 1 AND 128 THEN
            PERFORM eventbus._raise('22023',
                format('invalid message_group_id %s for FIFO queue %L',
                       coalesce(quote_literal(left(message_group_id, 100)), 'NULL'), q.name),
                'Every message of a FIFO queue belongs to a message group of 1 to 128 characters, as in SQS.',
                'Pass a message_group_id, such as a customer id.');
        END IF;
        IF delay_seconds IS NOT NULL THEN
            PERFORM eventbus._raise('22023',
                format('FIFO queue %L takes no per-message delay_seconds', q.name),
                'A FIFO queue delays messages only by its own delay_seconds, as in SQS.',
                'Leave delay_seconds NULL, or create the queue with a delay_seconds.');
        END IF;
        IF message_deduplication_id IS NOT NULL AND length(message_deduplication_id) NOT BETWEEN 1 AND 128 THEN
            PERFORM eventbus._raise('22023',
                format('invalid message_deduplication_id for FIFO queue %L', q.name),
                format('A deduplication id has 1 to 128 characters, as in SQS; this one has %s.', length(message_deduplication_id)),
                'Pass a shorter id, or NULL for the SHA-256 of the body.');
        END IF;
        message_deduplication_id := coalesce(message_deduplication_id,
            encode(sha256(convert_to(message_body::text, 'UTF8')), 'hex'));
    ELSIF message_group_id IS NOT NULL OR message_deduplication_id IS NOT NULL THEN
        PERFORM eventbus._raise('22023',
            format('queue %L is a standard queue', q.name),
            'message_group_id and message_deduplication_id apply to FIFO queues only, as in SQS.',
            'Leave them NULL, or send to a queue created with fifo => true.');
    END IF;
    RETURN eventbus._send(q.outbox, q.name, message_body, message_group_id, message_deduplication_id,
                          coalesce(delay_seconds, q.delay_seconds));
END;
$fn$;

COMMENT ON FUNCTION eventbus._send_message_impl(text, jsonb, integer, text, text) IS
'Internal: implementation of send_message.';
REVOKE ALL ON FUNCTION eventbus._send_message_impl(text, jsonb, integer, text, text) FROM PUBLIC;
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
-- Delivery to push targets: the workers' status, waking them, and
-- redriving dead letters.  The workers themselves are C (src/worker.c,
-- src/delivery.c, src/target_*.c).

CREATE FUNCTION eventbus._wake_launcher()
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_wake_launcher'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._wake_launcher() IS
'Internal: asks the delivery launcher to start this database''s workers (CREATE EXTENSION calls it). false when eventbus is not preloaded.';

CREATE FUNCTION eventbus._wake_delivery()
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_wake_delivery'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._wake_delivery() IS
'Internal: wakes this database''s delivery workers when the current transaction commits.';

CREATE FUNCTION eventbus._delivery_workers(
    OUT database_oid oid, OUT worker integer, OUT state text, OUT pid integer,
    OUT started_at timestamptz, OUT last_wake timestamptz,
    OUT delivered bigint, OUT failed bigint, OUT state_since timestamptz,
    OUT activity text, OUT target text, OUT activity_since timestamptz,
    OUT last_progress timestamptz, OUT heartbeat timestamptz, OUT on_demand boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_delivery_workers_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._delivery_workers() IS
'Internal: the delivery worker slots of every database (shared memory).';

-- The backlog column of delivery_workers, for admins only (it counts the
-- messages of every push target): an API function, as the view's
-- functions run as its reader.
CREATE FUNCTION eventbus._push_backlog()
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus._push_backlog() IS
'Internal: messages waiting in the outboxes of this database''s push targets; NULL unless the caller is an eventbus_admin.';

CREATE FUNCTION eventbus.__push_backlog_impl()
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    outbox regclass;
    n bigint;
    total bigint := 0;
BEGIN
    IF NOT eventbus._is_admin(eventbus._caller()) THEN
        RETURN NULL;
    END IF;
    FOR outbox IN SELECT DISTINCT t.outbox FROM eventbus.targets t
                   WHERE t.kind <> 'queue'
                     AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.outbox) LOOP
        EXECUTE format('SELECT count(*) FROM %s', outbox) INTO n;
        total := total + n;
    END LOOP;
    RETURN total;
END;
$fn$;

COMMENT ON FUNCTION eventbus.__push_backlog_impl() IS
'Internal: implementation of _push_backlog.';
REVOKE ALL ON FUNCTION eventbus.__push_backlog_impl() FROM PUBLIC;

CREATE VIEW eventbus.delivery_workers AS
SELECT d.datname AS database,
       w.worker,
       w.state,
       w.pid,
       w.started_at,
       w.last_wake,
       w.delivered,
       w.failed,
       CASE WHEN w.database_oid = (SELECT oid FROM pg_catalog.pg_database
                                    WHERE datname = pg_catalog.current_database())
            THEN eventbus._push_backlog() END AS backlog,
       w.activity,
       w.target,
       w.activity_since,
       w.last_progress,
       w.heartbeat,
       w.on_demand
  FROM eventbus._delivery_workers() w
  JOIN pg_catalog.pg_database d ON d.oid = w.database_oid;

GRANT SELECT ON eventbus.delivery_workers TO PUBLIC;

COMMENT ON VIEW eventbus.delivery_workers IS
'Delivery workers of every database: state (starting, running, absent = no extension there, stopping), pid, last wake-up, messages delivered and failed since start; backlog (messages waiting for push targets) for the current database, shown to eventbus_admin only (NULL for others); activity (idle, delivering, invoking, or stalled: no sign of life for longer than an idle worker sleeps, or inside one invocation well past its timeout), since when, the target it works on (eventbus_admin only), when a visit of a target last ended (last_progress), the last sign of life (heartbeat), and whether the launcher started it on demand.';

CREATE FUNCTION eventbus.redrive_dead_letters(dead_letter_ids bigint[] DEFAULT NULL,
                                              bus text DEFAULT NULL,
                                              rule text DEFAULT NULL,
                                              target_id text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.redrive_dead_letters(bigint[], text, text, text) IS
'Moves dead letters back into their target''s outbox (or their queue) for another delivery, all of them or those selected by ids, bus, rule and target; returns how many. Only the dead letters of rules the caller owns, or of buses it owns (all for eventbus_admin), are selected; others are left alone. Dead letters whose target is gone stay, with a NOTICE.';

CREATE FUNCTION eventbus._redrive_dead_letters_impl(dead_letter_ids bigint[], bus text, rule text, target_id text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d eventbus.dead_letters;
    t eventbus.targets;
    q eventbus.queues;
    dest regclass;
    payload jsonb;
    redriven integer := 0;
    skipped integer := 0;
    push boolean := false;
    caller regrole := eventbus._caller();
BEGIN
    FOR d IN
        SELECT * FROM eventbus.dead_letters x
         WHERE (dead_letter_ids IS NULL OR x.dead_letter_id = ANY (dead_letter_ids))
           AND (_redrive_dead_letters_impl.bus IS NULL OR x.bus = _redrive_dead_letters_impl.bus)
           AND (_redrive_dead_letters_impl.rule IS NULL OR x.rule = _redrive_dead_letters_impl.rule)
           AND (_redrive_dead_letters_impl.target_id IS NULL OR x.target_id = _redrive_dead_letters_impl.target_id)
           -- the dead letters of the caller's rules (and buses) only
           AND eventbus._may_manage_rule(x.bus, (SELECT r.owner FROM eventbus.rules r
                                                   WHERE r.bus = x.bus AND r.name = x.rule), caller)
         ORDER BY x.dead_letter_id
           FOR UPDATE
    LOOP
        dest := NULL;
        payload := d.payload;
        IF d.queue IS NOT NULL THEN
            SELECT * INTO q FROM eventbus.queues WHERE name = d.queue;
            IF FOUND THEN
                dest := q.outbox;
            END IF;
        ELSE
            SELECT * INTO t FROM eventbus.targets x
             WHERE x.bus = d.bus AND x.rule = d.rule AND x.target_id = d.target_id;
            IF FOUND THEN
                dest := t.outbox;
                IF t.kind <> 'queue' THEN
                    push := true;
                END IF;
                -- an untransformed event is referenced again, not copied
                IF t.input IS NULL AND t.input_path IS NULL AND t.input_transformer IS NULL
                   AND EXISTS (SELECT FROM eventbus.events e
                                WHERE e.id = d.event_id AND e.ingestion_time = d.event_ingestion_time) THEN
                    payload := NULL;
                END IF;
                IF t.kind = 'queue' THEN
                    PERFORM eventbus._notify_queue(t.destination);
                END IF;
            END IF;
        END IF;
        IF dest IS NULL THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        PERFORM eventbus._enqueue(dest, d.event_id, d.event_ingestion_time,
                                  d.bus, d.rule, d.target_id, payload);
        IF d.queue IS NOT NULL THEN
            PERFORM eventbus._notify_queue(d.queue);
        END IF;
        DELETE FROM eventbus.dead_letters WHERE dead_letter_id = d.dead_letter_id;
        redriven := redriven + 1;
    END LOOP;
    IF push THEN
        PERFORM eventbus._wake_delivery();
    END IF;
    IF skipped > 0 THEN
        RAISE NOTICE '% dead letter(s) not redriven: their target or queue no longer exists', skipped;
    END IF;
    RETURN redriven;
END;
$fn$;

COMMENT ON FUNCTION eventbus._redrive_dead_letters_impl(bigint[], text, text, text) IS
'Internal: implementation of redrive_dead_letters.';
REVOKE ALL ON FUNCTION eventbus._redrive_dead_letters_impl(bigint[], text, text, text) FROM PUBLIC;
-- HTTP targets (API destinations), worker side: see src/target_http.c and
-- src/http_*.c.  The delivery workers make every request; no function here
-- makes one.

CREATE FUNCTION eventbus._http_guard_check(address text, host text, allowed_networks text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_http_guard_check'
LANGUAGE C IMMUTABLE;

COMMENT ON FUNCTION eventbus._http_guard_check(text, text, text) IS
'Internal: NULL when a request to host may connect to address with eventbus.http_allowed_networks set to allowed_networks, else the class of address that is refused (the check the delivery workers make on every connection).';

REVOKE ALL ON FUNCTION eventbus._http_guard_check(text, text, text) FROM PUBLIC;
-- Internal functions are not for PUBLIC.  The API functions' implementations
-- and the delivery workers run as the extension's owner (or a superuser),
-- which may call all of them; an ordinary role reaches them only through the
-- API functions, whose implementations check its rights.  Trigger functions
-- need no EXECUTE where their trigger fires.
--
-- Left to PUBLIC on purpose:
--   _check_stored_event_pattern  the CHECK of domain event_pattern, which
--                                PostgreSQL runs as whoever casts a value
--                                to the domain (a pure function);
--   _owns_rule                   called by the row-level security policy
--                                of eventbus.dead_letters as the reader
--                                (whether the reader owns a rule);
--   _delivery_workers            read by view delivery_workers as its
--                                reader (the workers' shared-memory status,
--                                as pg_stat_activity shows it);
--   _visible_rule_stats, _visible_queue_stats, _visible_target_stats,
--   _visible_api_destination_stats,
--   _push_backlog                API functions read by the metrics views
--                                and delivery_workers as their reader;
--                                their implementations keep what the
--                                reader may see.
-- (The _impl functions and the privilege helpers of 52_privileges.sql are
-- revoked where they are made.)
REVOKE ALL ON FUNCTION eventbus._raise(text,text,text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._max_targets_per_rule() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._restoring() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._restore_pending(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._create_outbox(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._enqueue(regclass,uuid,timestamp with time zone,text,text,text,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._dead_letter(regclass,bigint[],text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._notify_queue(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._outbox_plans() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._outbox_floor(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._push_outbox(text,text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._target_removed() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._target_queue(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._bus_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._bus_arn_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._bus_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._rule_not_found(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_bus(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_rule(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._lock_bus(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._lock_rule(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_description(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._parse_target_arn(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._entry_error_code(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._is_entry_error(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._set_rule_state(text,text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._retry_policy(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._event_partition_name(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._event_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus.route_events() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus.catalog_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._rule_index_anchors(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._caller() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._is_admin(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_creator(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_admin(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_bus(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_bus_visible(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_manage_rule(text,regrole,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_rule_owner(text,text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_rule(text,regrole,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._queue(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_seconds(text,integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_message_ids(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._receive_pass(regclass,timestamp with time zone,integer,integer,integer,text,bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._delete_messages(regclass,bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._set_visibility(text,bigint[],integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._outbox_depth(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._count_queue(text,bigint,bigint,bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._stats_reset_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._wake_launcher() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._wake_delivery() FROM PUBLIC;
-- connections and API destinations (56_api_destinations.sql)
REVOKE ALL ON FUNCTION eventbus._role_of(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._connection_arn(text,uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_arn(text,uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_name(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._connection_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._auth_string(jsonb,text,text,boolean,integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._auth_keys(jsonb,text,text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_connection_http_parameters(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_auth_parameters(text,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._public_http_parameters(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._public_auth_parameters(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._merge_parameters(jsonb,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_connection(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_api_destination(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_visible(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_api_destination_settings(text,text,text,integer,numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._timeout_ms(numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_connection(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_json(eventbus.api_destinations) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_parameter_value(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_parameters(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_stats() FROM PUBLIC;
-- Today's and the next days' partitions.  The partitions are data, not
-- part of the extension: a table made while CREATE EXTENSION runs would be
-- a member of the extension, which drop_event_partitions could not drop and
-- pg_dump would not dump, so each is taken out of the extension again.  In
-- a restore (see eventbus._restoring) none are made: the dump brings the
-- partitions it had, and making today's here would collide with its CREATE
-- TABLE.  Events of days without a partition go to the default partition
-- until create_event_partitions (the daily maintenance call) moves them.
DO $do$
DECLARE
    p record;
BEGIN
    IF eventbus._restoring() THEN
        RETURN;
    END IF;
    PERFORM eventbus.create_event_partitions();
    FOR p IN SELECT partition_name FROM eventbus._event_partitions() LOOP
        EXECUTE format('ALTER EXTENSION eventbus DROP TABLE eventbus.%I', p.partition_name);
    END LOOP;
END;
$do$;

-- Last step of CREATE EXTENSION: start this database's delivery workers.
SELECT eventbus._wake_launcher();
