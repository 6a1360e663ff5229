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
    -- the replay that re-sent this event (StartReplay), NULL for a put
    replay_name    text,
    CONSTRAINT events_detail_is_object CHECK (jsonb_typeof(detail) = 'object')
) PARTITION BY RANGE (ingestion_time);
COMMENT ON TABLE eventbus.events IS
'Every event put on any bus, partitioned by ingestion_time. Inserting here (put_events, INSERT or COPY) routes the event.';

CREATE TABLE eventbus.events_default PARTITION OF eventbus.events (
    PRIMARY KEY (id, ingestion_time)
) DEFAULT;

-- Queries by event pattern (event_envelope(e) =~ pattern) gain conditions on
-- detail (jsonpath, see src/pattern_support.c) that this index answers.
-- Each partition has its own (a partitioned index cannot be had, see the
-- primary key above): create_event_partitions makes it for the days that
-- are over, so that ingest into the current day's partition does not pay
-- for it; the default partition, which ingest reaches only for days without
-- a partition, has it from the start.
CREATE INDEX events_default_detail_idx ON eventbus.events_default
    USING gin (detail jsonb_path_ops);

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
