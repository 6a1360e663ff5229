-- Catalog and data tables: buses, rules, targets, queues, events, dead letters.
--
-- Catalog tables are configuration: pg_dump keeps their rows
-- (pg_extension_config_dump).  Outbox tables live in schema eventbus_outbox,
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
    -- kind: queue (pull), and for the delivery worker: function, bus, notify, http
    kind               text NOT NULL,
    -- queue name, function signature, bus name, channel or URL, by kind
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
    owner              name NOT NULL DEFAULT current_user,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bus, rule, target_id),
    FOREIGN KEY (bus, rule) REFERENCES eventbus.rules (bus, name),
    CONSTRAINT targets_id_valid CHECK (target_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    CONSTRAINT targets_kind_valid CHECK (kind IN ('queue', 'function', 'bus', 'notify', 'http')),
    CONSTRAINT targets_one_input CHECK (num_nonnulls(input, input_path, input_transformer) <= 1)
);
COMMENT ON TABLE eventbus.targets IS
'Targets of rules: where a matching event goes (a queue, or a push destination), with its input transformation, retry policy and dead-letter config.';

CREATE INDEX targets_destination ON eventbus.targets (kind, destination);

-- Events, partitioned by ingestion time (daily partitions, see
-- eventbus.create_event_partitions), with a default partition so that a
-- plain INSERT or COPY can never fail for lack of a partition.
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
    PRIMARY KEY (id, ingestion_time),
    CONSTRAINT events_detail_is_object CHECK (jsonb_typeof(detail) = 'object')
) PARTITION BY RANGE (ingestion_time);
COMMENT ON TABLE eventbus.events IS
'Every event put on any bus, partitioned by ingestion_time. Inserting here (put_events, INSERT or COPY) routes the event.';

CREATE TABLE eventbus.events_default PARTITION OF eventbus.events DEFAULT;

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
