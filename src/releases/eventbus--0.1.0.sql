-- eventbus: EventBridge-style event routing inside PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION eventbus" to load this file. \quit
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
'EventBridge''s TestEventPattern: the event must carry id, account, source, time, region, resources and detail-type; an incomplete event or an invalid pattern raises SQLSTATE 22023.';

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

CREATE DOMAIN eventbus.event_pattern AS jsonb
    CHECK (eventbus.validate_event_pattern(VALUE));

COMMENT ON DOMAIN eventbus.event_pattern IS
'A jsonb value that is a valid EventBridge event pattern; a cast of an invalid pattern raises the pattern''s reason.';
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
-- Target input transformation (EventBridge's Input, InputPath and
-- InputTransformer): validation when a target is put, and an ad-hoc
-- transformation function.  The C code is in src/transform.c.

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
            last_error_message   text
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
                                      if_not_exists boolean DEFAULT false)
RETURNS eventbus.queues
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result eventbus.queues;
BEGIN
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
    INSERT INTO eventbus.queues (name, outbox, max_receive_count)
    VALUES (queue_name, eventbus._create_outbox('queue_' || queue_name), max_receive_count)
    RETURNING * INTO result;
    RETURN result;
END;
$fn$;

COMMENT ON FUNCTION eventbus.create_queue(text, integer, boolean) IS
'Creates a queue (and its outbox table eventbus_outbox.queue_<name>) for pull consumers. Queues are also created by the first target that names them.';

CREATE FUNCTION eventbus.delete_queue(queue_name text, force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
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
    EXECUTE format('DROP TABLE %s', q.outbox);
END;
$fn$;

COMMENT ON FUNCTION eventbus.delete_queue(text, boolean) IS
'Deletes a queue and its outbox table; refused while targets name it, and while it holds messages unless force is true.';

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
    EXECUTE format($sql$
        INSERT INTO eventbus.dead_letters
               (bus, rule, target_id, message_id, event_id, event_ingestion_time, payload,
                error_code, error_message, retry_attempts, first_attempt_at, last_attempt_at)
        SELECT o.bus, o.rule, o.target_id, o.message_id, o.event_id, o.event_ingestion_time,
               o.payload, 'TargetRemoved',
               'The target was removed before the message was delivered.',
               o.receive_count, o.first_attempt_at, o.last_attempt_at
          FROM %s o$sql$, OLD.outbox);
    GET DIAGNOSTICS n = ROW_COUNT;
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

-- The role a target acts as is the role that last put it, whatever the
-- statement says: nobody can make a target run as someone else.
CREATE FUNCTION eventbus._target_owner()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    NEW.owner := current_user;
    RETURN NEW;
END;
$fn$;

COMMENT ON FUNCTION eventbus._target_owner() IS
'Internal: trigger on eventbus.targets that records the current role as the target''s owner on every insert and update.';

CREATE TRIGGER target_owner
    BEFORE INSERT OR UPDATE ON eventbus.targets
    FOR EACH ROW EXECUTE FUNCTION eventbus._target_owner();
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

CREATE FUNCTION eventbus._bus_name(event_bus_name text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE
        WHEN event_bus_name IS NULL THEN 'default'
        WHEN event_bus_name ~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:event-bus/.'
            THEN substring(event_bus_name FROM '^arn:aws[a-z-]*:events:[^:]*:[^:]*:event-bus/(.+)$')
        ELSE event_bus_name
    END;
$fn$;

COMMENT ON FUNCTION eventbus._bus_name(text) IS
'Internal: the bus name in an EventBusName argument (a name or an event-bus ARN); NULL means "default".';

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
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._lock_bus(bus);
    PERFORM FROM eventbus.rules r
     WHERE r.bus = _lock_rule.bus AND r.name = _lock_rule.rule FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._rule_not_found(bus, rule);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._lock_rule(text, text) IS
'Internal: locks a rule row (and its bus) and raises 42704 when the bus or the rule does not exist.';

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
-- the other kinds will be pushed by the delivery worker.  kind and
-- destination are NULL when the Arn is not one of the recognised forms.
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
    ELSIF arn ~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:event-bus/.' THEN
        kind := 'bus';
        destination := eventbus._bus_name(arn);
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
'Internal: the kind (queue, function, bus, notify, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

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
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:event-bus/%s',
                  eventbus.current_region(), eventbus.current_account(),
                  eventbus._bus_name(event_bus_name));
$fn$;

COMMENT ON FUNCTION eventbus.event_bus_arn(text) IS
'The ARN of an event bus: arn:aws:events:<region>:<account>:event-bus/<name> (eventbus.region, eventbus.account). Does not check that the bus exists.';

CREATE FUNCTION eventbus.rule_arn(rule text, event_bus_name text DEFAULT 'default')
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE eventbus._bus_name(event_bus_name)
        WHEN 'default' THEN
            format('arn:aws:events:%s:%s:rule/%s',
                   eventbus.current_region(), eventbus.current_account(), rule)
        ELSE
            format('arn:aws:events:%s:%s:rule/%s/%s',
                   eventbus.current_region(), eventbus.current_account(),
                   eventbus._bus_name(event_bus_name), rule)
    END;
$fn$;

COMMENT ON FUNCTION eventbus.rule_arn(text, text) IS
'The ARN of a rule, as EventBridge forms it: arn:aws:events:<region>:<account>:rule/<name> on the default bus, .../rule/<bus>/<name> on other buses. Does not check that the rule exists.';

-- ---------------------------------------------------------------------
-- Event buses
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.create_event_bus(name text, description text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF create_event_bus.name IS NULL OR create_event_bus.name !~ '^[A-Za-z0-9._/-]+$'
       OR length(create_event_bus.name) > 256 THEN
        PERFORM eventbus._raise('22023',
            format('invalid event bus name %L', create_event_bus.name),
            'An event bus name has 1 to 256 characters: letters, digits, ".", "_", "-" and "/".',
            'Choose a name such as "orders" or "banking-demo-events".');
    END IF;
    IF create_event_bus.name LIKE 'aws.%' THEN
        PERFORM eventbus._raise('22023',
            format('invalid event bus name %L', create_event_bus.name),
            'Event bus names beginning with "aws." are reserved for AWS (partner event buses).',
            'Choose a name that does not begin with "aws.".');
    END IF;
    PERFORM eventbus._check_description(create_event_bus.description,
                                        format('event bus %L', create_event_bus.name));
    INSERT INTO eventbus.event_buses AS b (name, description)
    VALUES (create_event_bus.name, create_event_bus.description)
    ON CONFLICT ON CONSTRAINT event_buses_pkey DO NOTHING;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('event bus %L already exists', create_event_bus.name),
            CASE WHEN create_event_bus.name = 'default'
                 THEN 'The default event bus always exists.'
                 ELSE 'Event bus names are unique in the database.' END,
            'Use the existing bus, or delete it first with delete_event_bus().');
    END IF;
    RETURN jsonb_build_object('EventBusArn', eventbus.event_bus_arn(create_event_bus.name));
END;
$fn$;

COMMENT ON FUNCTION eventbus.create_event_bus(text, text) IS
'EventBridge''s CreateEventBus: creates a custom event bus and returns {"EventBusArn": ...}. Names: 1 to 256 letters, digits, ".", "_", "-", "/"; "aws." prefixes are reserved.';

CREATE FUNCTION eventbus.delete_event_bus(name text, force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(delete_event_bus.name);
    n_rules bigint;
BEGIN
    IF v_bus = 'default' THEN
        PERFORM eventbus._raise('2BP01',
            'the default event bus cannot be deleted',
            'Every database has a default event bus; events and rules without an event bus name use it.',
            'Delete its rules instead (delete_rule).');
    END IF;
    PERFORM FROM eventbus.event_buses b WHERE b.name = v_bus FOR UPDATE;
    IF NOT FOUND THEN
        -- As EventBridge's DeleteEventBus: deleting what is not there succeeds.
        RAISE NOTICE '%', format('event bus %L does not exist, skipping', v_bus);
        RETURN;
    END IF;
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
    DELETE FROM eventbus.event_buses b WHERE b.name = v_bus;
END;
$fn$;

COMMENT ON FUNCTION eventbus.delete_event_bus(text, boolean) IS
'EventBridge''s DeleteEventBus: deletes a custom event bus; refused while it has rules unless force is true, which deletes its rules and their targets (never queues). The default bus cannot be deleted; a bus that does not exist is skipped with a notice.';

CREATE FUNCTION eventbus.describe_event_bus(name text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    b eventbus.event_buses;
BEGIN
    SELECT * INTO b FROM eventbus.event_buses x
     WHERE x.name = eventbus._bus_name(describe_event_bus.name);
    IF NOT FOUND THEN
        PERFORM eventbus._bus_not_found(eventbus._bus_name(describe_event_bus.name));
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'Name', b.name,
        'Arn', eventbus.event_bus_arn(b.name),
        'Description', b.description,
        'CreationTime', b.created_at));
END;
$fn$;

COMMENT ON FUNCTION eventbus.describe_event_bus(text) IS
'EventBridge''s DescribeEventBus: {"Name", "Arn", "Description", "CreationTime"} of a bus (Description omitted when there is none).';

CREATE FUNCTION eventbus.list_event_buses(name_prefix text DEFAULT NULL)
RETURNS TABLE (name text, arn text, description text, created_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT b.name, eventbus.event_bus_arn(b.name), b.description, b.created_at
      FROM eventbus.event_buses b
     WHERE name_prefix IS NULL OR starts_with(b.name, name_prefix)
     ORDER BY b.name;
$fn$;

COMMENT ON FUNCTION eventbus.list_event_buses(text) IS
'EventBridge''s ListEventBuses: the event buses (optionally those whose name begins with name_prefix), by name.';

-- ---------------------------------------------------------------------
-- Rules
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.put_rule(name text, event_pattern jsonb,
                                  event_bus_name text DEFAULT 'default',
                                  state text DEFAULT 'ENABLED',
                                  description text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(put_rule.event_bus_name);
BEGIN
    IF put_rule.name IS NULL OR put_rule.name !~ '^[A-Za-z0-9._-]{1,64}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule name %L', put_rule.name),
            'A rule name has 1 to 64 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "approved-applications".');
    END IF;
    IF put_rule.event_pattern IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('rule %L has no event pattern', put_rule.name),
            'A rule routes the events that match its event pattern.',
            'Pass an event pattern such as ''{"source": ["my.app"]}''.');
    END IF;
    PERFORM eventbus.validate_event_pattern(put_rule.event_pattern);
    IF put_rule.state IS NULL OR put_rule.state NOT IN ('ENABLED', 'DISABLED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule state %L', put_rule.state),
            'A rule''s state is ENABLED or DISABLED.',
            'Pass state => ''ENABLED'' or state => ''DISABLED''.');
    END IF;
    PERFORM eventbus._check_description(put_rule.description, format('rule %L', put_rule.name));
    PERFORM eventbus._lock_bus(v_bus);
    -- As EventBridge's PutRule: an update replaces the pattern, state and
    -- description with what is given.
    INSERT INTO eventbus.rules AS r (bus, name, event_pattern, state, description)
    VALUES (v_bus, put_rule.name, put_rule.event_pattern, put_rule.state, put_rule.description)
    ON CONFLICT ON CONSTRAINT rules_pkey DO UPDATE
       SET event_pattern = excluded.event_pattern,
           state = excluded.state,
           description = excluded.description,
           updated_at = now();
    RETURN jsonb_build_object('RuleArn', eventbus.rule_arn(put_rule.name, v_bus));
END;
$fn$;

COMMENT ON FUNCTION eventbus.put_rule(text, jsonb, text, text, text) IS
'EventBridge''s PutRule: creates or replaces a rule (event pattern, ENABLED/DISABLED, description) on a bus and returns {"RuleArn": ...}. An invalid pattern raises its reason (SQLSTATE 22023).';

CREATE FUNCTION eventbus._set_rule_state(rule text, event_bus_name text, new_state text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(event_bus_name);
BEGIN
    PERFORM eventbus._lock_rule(v_bus, _set_rule_state.rule);
    UPDATE eventbus.rules r
       SET state = new_state, updated_at = now()
     WHERE r.bus = v_bus AND r.name = _set_rule_state.rule;
END;
$fn$;

COMMENT ON FUNCTION eventbus._set_rule_state(text, text, text) IS
'Internal: sets the state of a rule (enable_rule, disable_rule).';

CREATE FUNCTION eventbus.enable_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._set_rule_state(name, event_bus_name, 'ENABLED');
$fn$;

COMMENT ON FUNCTION eventbus.enable_rule(text, text) IS
'EventBridge''s EnableRule: the rule routes matching events again. Raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus.disable_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._set_rule_state(name, event_bus_name, 'DISABLED');
$fn$;

COMMENT ON FUNCTION eventbus.disable_rule(text, text) IS
'EventBridge''s DisableRule: the rule stops routing events (its targets stay). Raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus.delete_rule(name text, event_bus_name text DEFAULT 'default',
                                     force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(delete_rule.event_bus_name);
    n_targets bigint;
BEGIN
    PERFORM eventbus._lock_bus(v_bus);
    PERFORM FROM eventbus.rules r
     WHERE r.bus = v_bus AND r.name = delete_rule.name FOR UPDATE;
    IF NOT FOUND THEN
        -- As EventBridge's DeleteRule: deleting what is not there succeeds.
        RAISE NOTICE '%', format('rule %L does not exist on event bus %L, skipping',
                                 delete_rule.name, v_bus);
        RETURN;
    END IF;
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = delete_rule.name;
    IF n_targets > 0 AND NOT coalesce(force, false) THEN
        PERFORM eventbus._raise('2BP01',
            format('rule %L on event bus %L still has %s target(s)', delete_rule.name, v_bus, n_targets),
            'A rule with targets cannot be deleted.',
            'Remove its targets first (remove_targets), or pass force => true to remove them with the rule.');
    END IF;
    DELETE FROM eventbus.targets t WHERE t.bus = v_bus AND t.rule = delete_rule.name;
    DELETE FROM eventbus.rules r WHERE r.bus = v_bus AND r.name = delete_rule.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus.delete_rule(text, text, boolean) IS
'EventBridge''s DeleteRule: deletes a rule; refused while it has targets unless force is true, which removes them (queues stay). A rule that does not exist is skipped with a notice; a bus that does not exist raises 42704.';

CREATE FUNCTION eventbus.describe_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(describe_rule.event_bus_name);
    r eventbus.rules;
BEGIN
    SELECT * INTO r FROM eventbus.rules x
     WHERE x.bus = v_bus AND x.name = describe_rule.name;
    IF NOT FOUND THEN
        PERFORM eventbus._rule_not_found(v_bus, describe_rule.name);
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

COMMENT ON FUNCTION eventbus.describe_rule(text, text) IS
'EventBridge''s DescribeRule: {"Name", "Arn", "EventPattern" (JSON text), "State", "Description", "EventBusName", "CreatedBy"}; Description is omitted when there is none.';

CREATE FUNCTION eventbus.list_rules(event_bus_name text DEFAULT 'default',
                                    name_prefix text DEFAULT NULL)
RETURNS TABLE (name text, arn text, event_pattern jsonb, state text,
               description text, event_bus_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    -- (SQL, not PL/pgSQL: the argument event_bus_name shares its name with
    -- a result column, which PL/pgSQL refuses.)
    SELECT eventbus._check_bus(eventbus._bus_name(event_bus_name));
    SELECT r.name, eventbus.rule_arn(r.name, r.bus), r.event_pattern::jsonb,
           r.state, r.description, r.bus
      FROM eventbus.rules r
     WHERE r.bus = eventbus._bus_name(event_bus_name)
       AND (name_prefix IS NULL OR starts_with(r.name, name_prefix))
     ORDER BY r.name;
$fn$;

COMMENT ON FUNCTION eventbus.list_rules(text, text) IS
'EventBridge''s ListRules: the rules of a bus (optionally those whose name begins with name_prefix), by name. Raises 42704 when the bus does not exist.';

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
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(put_targets.event_bus_name);
    entries jsonb := put_targets.targets;
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
    dlq_kind text;
    dlq_name text;
    t_outbox regclass;
    t_func regprocedure;
    is_update boolean;
    err_state text;
    err_message text;
BEGIN
    IF jsonb_typeof(entries) = 'object' AND entries ? 'Targets' THEN
        entries := entries -> 'Targets';
    END IF;
    IF entries IS NULL OR jsonb_typeof(entries) <> 'array' THEN
        PERFORM eventbus._raise('22023',
            'targets must be a JSON array of targets',
            format('targets is %s.', coalesce(put_targets.targets::text, 'NULL')),
            'Pass PutTargets'' Targets array, e.g. ''[{"Id": "t1", "Arn": "queue:orders"}]'', or {"Targets": [...]}.');
    END IF;
    IF jsonb_array_length(entries) = 0 THEN
        PERFORM eventbus._raise('22023',
            'targets is empty',
            'PutTargets takes at least one target.',
            'Pass a non-empty array.');
    END IF;
    PERFORM eventbus._lock_rule(v_bus, put_targets.rule);
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = put_targets.rule;

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
                             'RetryPolicy', 'DeadLetterConfig', 'Config') THEN
                    PERFORM eventbus._raise('22023',
                        format('target %L has an unsupported key %L', tid, k),
                        'A target has the keys Id, Arn, Input, InputPath, InputTransformer, RetryPolicy, DeadLetterConfig and Config.',
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
                    'Recognised Arns: queue:<name>, arn:aws:sqs:<region>:<account>:<name>, function:<schema.name>, bus:<name>, arn:aws:events:<region>:<account>:event-bus/<name>, notify:<channel>, http(s)://<url>.',
                    'Use "queue:<name>" for a queue read with receive().');
            END IF;
            IF t_kind = 'http' THEN
                PERFORM eventbus._raise('0A000',
                    format('target kind %s is not supported yet', t_kind),
                    format('Target %L has Arn %L; HTTP targets are not delivered by this version.', tid, t_arn),
                    'Use a queue, function, bus or notify target.');
            ELSIF t_kind = 'function' THEN
                -- the function takes the payload as its one jsonb argument
                t_func := to_regprocedure(t_dest || '(jsonb)');
                IF t_func IS NULL THEN
                    PERFORM eventbus._raise('42704',
                        format('function %s(jsonb) does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create a function taking one jsonb argument, e.g. CREATE FUNCTION app.on_event(event jsonb) RETURNS void ...');
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
                                  WHERE t.bus = v_bus AND t.rule = put_targets.rule
                                    AND t.target_id = tid);
            IF NOT is_update AND n_targets >= max_targets THEN
                PERFORM eventbus._raise('54000',
                    format('rule %L on event bus %L already has %s target(s), the limit', put_targets.rule, v_bus, n_targets),
                    format('A rule has at most eventbus.max_targets_per_rule (%s) targets; target %L was not added.', max_targets, tid),
                    'Remove a target (remove_targets), or raise eventbus.max_targets_per_rule.');
            END IF;

            -- The queues come into being with the first target that names
            -- them; a push target has an outbox of its own.
            IF t_kind = 'queue' THEN
                t_outbox := (eventbus.create_queue(t_dest, if_not_exists => true)).outbox;
            ELSE
                t_outbox := eventbus._push_outbox(v_bus, put_targets.rule, tid);
            END IF;

            IF dlq_name IS NOT NULL THEN
                PERFORM eventbus.create_queue(dlq_name, if_not_exists => true);
            END IF;

            INSERT INTO eventbus.targets AS t
                (bus, rule, target_id, arn, kind, destination, outbox, input, input_path,
                 input_transformer, retry_policy, dead_letter_config, config)
            VALUES (v_bus, put_targets.rule, tid, t_arn, t_kind, t_dest, t_outbox, t_input,
                    t_input_path, t_transformer, t_retry, t_dlc, t_config)
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

COMMENT ON FUNCTION eventbus.put_targets(text, jsonb, text) IS
'EventBridge''s PutTargets: adds or updates targets of a rule from PutTargets'' Targets array (or {"Targets": [...]}); returns {"FailedEntryCount", "FailedEntries": [{"TargetId", "ErrorCode", "ErrorMessage"}]}. A bad entry fails alone; a missing rule raises 42704. Queue targets ("queue:<name>", "arn:aws:sqs:...:<name>") create their queue.';

CREATE FUNCTION eventbus.remove_targets(rule text, ids text[],
                                        event_bus_name text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(remove_targets.event_bus_name);
    failed jsonb := '[]';
    seen text[] := '{}';
    tid text;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        PERFORM eventbus._raise('22023',
            'no target Ids given',
            'RemoveTargets takes the Ids of at least one target.',
            format('list_targets_by_rule(%L, %L) shows the targets of the rule.', remove_targets.rule, v_bus));
    END IF;
    PERFORM eventbus._lock_rule(v_bus, remove_targets.rule);
    FOREACH tid IN ARRAY ids LOOP
        IF tid = ANY (seen) THEN
            CONTINUE;			-- a repeated Id is removed once
        END IF;
        seen := seen || tid;
        -- Queues stay: their messages are never dropped by removing a target.
        DELETE FROM eventbus.targets t
         WHERE t.bus = v_bus AND t.rule = remove_targets.rule AND t.target_id = tid;
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
                                           remove_targets.rule, v_bus, tid)) END);
        END IF;
    END LOOP;
    RETURN jsonb_build_object('FailedEntryCount', jsonb_array_length(failed),
                              'FailedEntries', failed);
END;
$fn$;

COMMENT ON FUNCTION eventbus.remove_targets(text, text[], text) IS
'EventBridge''s RemoveTargets: removes targets of a rule by Id; returns {"FailedEntryCount", "FailedEntries"} (an unknown Id is a per-entry failure). Queues and their messages stay.';

CREATE FUNCTION eventbus.list_targets_by_rule(rule text, event_bus_name text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(list_targets_by_rule.event_bus_name);
    result jsonb;
BEGIN
    PERFORM eventbus._check_rule(v_bus, list_targets_by_rule.rule);
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'Id', t.target_id,
               'Arn', t.arn,
               'Input', t.input::text,
               'InputPath', t.input_path,
               'InputTransformer', t.input_transformer,
               'RetryPolicy', t.retry_policy,
               'DeadLetterConfig', t.dead_letter_config - 'Queue',
               'Config', nullif(t.config, '{}')))
             ORDER BY t.target_id), '[]')
      INTO result
      FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = list_targets_by_rule.rule;
    RETURN jsonb_build_object('Targets', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus.list_targets_by_rule(text, text) IS
'EventBridge''s ListTargetsByRule: {"Targets": [...]} in PutTargets'' shape (Input as JSON text), by Id. Raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus.list_rule_names_by_target(target_arn text,
                                                   event_bus_name text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(list_rule_names_by_target.event_bus_name);
    t_kind text;
    t_dest text;
    result jsonb;
BEGIN
    PERFORM eventbus._check_bus(v_bus);
    SELECT p.kind, p.destination INTO t_kind, t_dest FROM eventbus._parse_target_arn(target_arn) p;
    -- Arns that designate the same destination (queue:x, arn:aws:sqs:...:x)
    -- are the same target.
    SELECT coalesce(jsonb_agg(n ORDER BY n), '[]') INTO result
      FROM (SELECT DISTINCT t.rule AS n
              FROM eventbus.targets t
             WHERE t.bus = v_bus
               AND CASE WHEN t_kind IS NULL THEN t.arn = target_arn
                        ELSE t.kind = t_kind AND t.destination = t_dest END) s;
    RETURN jsonb_build_object('RuleNames', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus.list_rule_names_by_target(text, text) IS
'EventBridge''s ListRuleNamesByTarget: {"RuleNames": [...]} of the rules of a bus with a target designating target_arn (queue:x and arn:aws:sqs:...:x are the same queue). Raises 42704 when the bus does not exist.';
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
LANGUAGE plpgsql
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
        EXECUTE format('CREATE TABLE eventbus.%I (LIKE eventbus.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)', part);
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

COMMENT ON FUNCTION eventbus.create_event_partitions(integer, date) IS
'Makes the daily partitions eventbus.events_pYYYYMMDD (UTC days) from from_day (default: today, UTC) to from_day + days_ahead, moving rows the default partition holds for those days; returns the partitions made. Idempotent; call it daily from a maintenance job.';

CREATE FUNCTION eventbus.drop_event_partitions(older_than interval)
RETURNS SETOF text
LANGUAGE plpgsql
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

COMMENT ON FUNCTION eventbus.drop_event_partitions(interval) IS
'Drops the daily partitions of eventbus.events that ended at least older_than ago, except those whose events undelivered messages (outbox rows, dead letters without a payload) still reference, which it reports with a NOTICE; returns the partitions dropped. Never touches eventbus.events_default.';

SELECT eventbus.create_event_partitions();

-- The partitions are data, not part of the extension: a table made while
-- CREATE EXTENSION runs would be a member of the extension, which
-- drop_event_partitions could not drop and pg_dump would not dump.
DO $do$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT partition_name FROM eventbus._event_partitions() LOOP
        EXECUTE format('ALTER EXTENSION eventbus DROP TABLE eventbus.%I', p.partition_name);
    END LOOP;
END;
$do$;
-- Putting events on buses: PutEvents (put_events), its SQL-friendly form
-- (put_event), and events as EventBridge envelopes (event_envelope, the
-- event_envelopes view).  See src/put_events.c.

CREATE FUNCTION eventbus.put_events(entries jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_put_events'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION eventbus.put_events(jsonb) IS
'EventBridge''s PutEvents: takes {"Entries": [...]} (or the bare array) of entries with Source, DetailType, Detail (a JSON object, or a string holding one), and optionally EventBusName (name or ARN), Resources and Time (RFC 3339); stores the good entries in eventbus.events in the caller''s transaction and returns {"FailedEntryCount": n, "Entries": [{"EventId": ...} | {"ErrorCode": ..., "ErrorMessage": ...}]} in request order. An empty request, or one with more than eventbus.max_entries_per_put entries, raises an error (22023 / 54000).';

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
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM eventbus._rule_index_anchors(eventbus._bus_name(event_bus_name)) ORDER BY 1;
$fn$;

COMMENT ON FUNCTION eventbus.rule_index_anchors(text) IS
'How routing finds each enabled rule of a bus: the field path and values that anchor it in the rule index (the rule is a candidate only for events with one of these values there), or anchor_kind none when it is tried on every event.';
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
-- The clock is clock_timestamp(), read once per call: a consumer that
-- receives inside a long transaction still hides messages for
-- visibility_timeout seconds from the moment it called receive().
-- A dead letter keeps the outbox row's payload as it was: NULL still means
-- "the envelope of event (event_id, event_ingestion_time)".
-- receive() is meant for READ COMMITTED: under REPEATABLE READ or
-- SERIALIZABLE, FOR UPDATE fails with 40001 on a message that a concurrent
-- transaction changed since the snapshot.

-- The queue of that name, or error 42704.
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
    RETURN result;
END;
$fn$;

COMMENT ON FUNCTION eventbus._queue(text) IS
'Internal: the eventbus.queues row of a queue; raises 42704 when it does not exist.';

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

CREATE FUNCTION eventbus.receive(queue text,
                                 max_messages integer DEFAULT 1,
                                 visibility_timeout integer DEFAULT 30)
RETURNS TABLE (message_id bigint,
               event_id uuid,
               payload jsonb,
               receive_count integer,
               enqueued_at timestamptz,
               rule text,
               target_id text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q           eventbus.queues;
    clock       timestamptz := clock_timestamp();
    r           record;
    got         integer := 0;
    moved       bigint;
    dead_total  bigint := 0;
    last_id     bigint := 0;
BEGIN
    IF max_messages IS NULL OR max_messages NOT BETWEEN 1 AND 10000 THEN
        PERFORM eventbus._raise('22023',
            format('invalid max_messages %s', coalesce(max_messages::text, 'NULL')),
            'receive() returns from 1 to 10000 messages per call.',
            'Pass a max_messages from 1 to 10000.');
    END IF;
    PERFORM eventbus._check_seconds('visibility_timeout', visibility_timeout);
    q := eventbus._queue(queue);

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
    -- metrics (shared memory, published at commit)
    PERFORM eventbus._count_queue(q.name, got, 0, dead_total);
END;
$fn$;

COMMENT ON FUNCTION eventbus.receive(text, integer, integer) IS
'Receives up to max_messages (1-10000) visible messages of a queue in message_id order, skipping messages locked by concurrent transactions, and hides them for visibility_timeout seconds (0-43200). Messages already received max_receive_count times move to eventbus.dead_letters instead. payload is the event''s EventBridge envelope unless the target transformed it.';

CREATE FUNCTION eventbus.ack(queue text, message_ids bigint[])
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
    n integer;
BEGIN
    q := eventbus._queue(queue);
    PERFORM eventbus._check_message_ids(message_ids);
    n := eventbus._delete_messages(q.outbox, message_ids);
    PERFORM eventbus._count_queue(q.name, 0, n, 0);
    RETURN n;
END;
$fn$;

COMMENT ON FUNCTION eventbus.ack(text, bigint[]) IS
'Acknowledges messages of a queue: deletes them (SQS''s DeleteMessage). Returns how many were deleted; ids no longer in the queue are ignored.';

-- Shared by change_visibility and nack.
CREATE FUNCTION eventbus._set_visibility(queue text, message_ids bigint[], seconds integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
    n integer;
BEGIN
    q := eventbus._queue(queue);
    PERFORM eventbus._check_message_ids(message_ids);
    EXECUTE format('UPDATE %s SET visible_at = $2 WHERE message_id = ANY ($1)', q.outbox)
      USING message_ids, clock_timestamp() + make_interval(secs => seconds);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$fn$;

COMMENT ON FUNCTION eventbus._set_visibility(text, bigint[], integer) IS
'Internal: makes messages of a queue visible again after that many seconds; returns how many messages it changed.';

CREATE FUNCTION eventbus.change_visibility(queue text, message_ids bigint[],
                                           visibility_timeout integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._check_seconds('visibility_timeout', visibility_timeout);
    RETURN eventbus._set_visibility(queue, message_ids, visibility_timeout);
END;
$fn$;

COMMENT ON FUNCTION eventbus.change_visibility(text, bigint[], integer) IS
'Sets the visibility timeout of messages of a queue to visibility_timeout seconds (0-43200) from now, as SQS''s ChangeMessageVisibility: extends a consumer''s hold, or with 0 releases it. Returns how many messages it changed.';

CREATE FUNCTION eventbus.nack(queue text, message_ids bigint[], delay integer DEFAULT 0)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._check_seconds('delay', delay);
    RETURN eventbus._set_visibility(queue, message_ids, delay);
END;
$fn$;

COMMENT ON FUNCTION eventbus.nack(text, bigint[], integer) IS
'Gives messages of a queue back unprocessed: they become visible again after delay seconds (0-43200, default 0). Their receive count is kept, so max_receive_count still applies. Returns how many messages it changed.';

CREATE FUNCTION eventbus.queue_depth(queue text)
RETURNS TABLE (visible bigint, in_flight bigint, oldest_message_age interval)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
BEGIN
    q := eventbus._queue(queue);
    RETURN QUERY EXECUTE format($sql$
        SELECT count(*) FILTER (WHERE o.visible_at <= $1),
               count(*) FILTER (WHERE o.visible_at > $1),
               $1 - min(o.enqueued_at)
          FROM %s o
        $sql$, q.outbox)
      USING clock_timestamp();
END;
$fn$;

COMMENT ON FUNCTION eventbus.queue_depth(text) IS
'Metrics of a queue: visible messages, hidden (in-flight) messages, and the age of the oldest message (NULL when the queue is empty). Counts every row: meant for monitoring, not for each receive.';
-- Metrics: shared-memory counters (see src/stats.c) joined with the
-- catalog and with each queue's current depth.  Counters count what
-- committed since the server started; they need eventbus in
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

CREATE VIEW eventbus.rule_stats AS
SELECT r.bus,
       r.name AS rule,
       r.state,
       coalesce(s.matched, 0) AS matched_events,
       coalesce(s.matched, 0) AS triggered_rules
  FROM eventbus.rules r
  LEFT JOIN eventbus._stats() s ON s.kind = 'rule' AND s.id = r.rule_id;

COMMENT ON VIEW eventbus.rule_stats IS
'Per rule: MatchedEvents (events that matched the rule since the server started) and TriggeredRules (times the rule was triggered; one per matched event, as in EventBridge).';

CREATE VIEW eventbus.queue_stats AS
SELECT q.name AS queue,
       coalesce(s.enqueued, 0) AS enqueued,
       coalesce(s.received, 0) AS received,
       coalesce(s.acked, 0) AS acked,
       coalesce(s.dead_lettered, 0) AS dead_lettered,
       d.visible + d.in_flight AS backlog,
       d.visible,
       d.in_flight,
       d.oldest_message_age
  FROM eventbus.queues q
  LEFT JOIN eventbus._stats() s ON s.kind = 'queue' AND s.name = q.name
 CROSS JOIN LATERAL eventbus.queue_depth(q.name) d;

COMMENT ON VIEW eventbus.queue_stats IS
'Per queue: messages enqueued, received, acknowledged and dead-lettered since the server started, and the current backlog (visible + in flight) with the age of the oldest message.';

CREATE VIEW eventbus.target_stats AS
SELECT t.bus,
       t.rule,
       t.target_id,
       t.kind,
       t.destination,
       coalesce(s.enqueued, 0) AS enqueued,
       coalesce(s.invocations, 0) AS invocations,
       coalesce(s.failed_invocations, 0) AS failed_invocations,
       coalesce(s.retry_invocation_attempts, 0) AS retry_invocation_attempts,
       coalesce(s.dead_lettered, 0) AS dead_lettered,
       coalesce(s.latency_samples, 0) AS latency_samples,
       round(s.latency_p50_ms::numeric, 3) AS latency_p50_ms,
       round(s.latency_p95_ms::numeric, 3) AS latency_p95_ms,
       round(s.latency_p99_ms::numeric, 3) AS latency_p99_ms,
       qs.received AS queue_received,
       qs.acked AS queue_acked,
       qs.dead_lettered AS queue_dead_lettered,
       qs.backlog AS queue_backlog,
       qs.oldest_message_age AS queue_oldest_message_age
  FROM eventbus.targets t
  JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule
  LEFT JOIN eventbus._stats() s
         ON s.kind = 'target' AND s.id = r.rule_id AND s.name = t.target_id
  LEFT JOIN eventbus.queue_stats qs ON t.kind = 'queue' AND qs.queue = t.destination;

COMMENT ON VIEW eventbus.target_stats IS
'Per target: messages enqueued for it and, for push targets, Invocations, FailedInvocations, RetryInvocationAttempts, DeadLetterInvocations and the delivery latency (ingestion to invocation start) over the last one to two minutes as p50/p95/p99 in milliseconds (histogram buckets, within 19%); for queue targets, the queue''s consumption and backlog (shared by every target of the queue).';
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
    OUT delivered bigint, OUT failed bigint, OUT state_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_delivery_workers_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._delivery_workers() IS
'Internal: the delivery worker slots of every database (shared memory).';

CREATE FUNCTION eventbus._push_backlog()
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    outbox regclass;
    n bigint;
    total bigint := 0;
BEGIN
    FOR outbox IN SELECT DISTINCT t.outbox FROM eventbus.targets t
                   WHERE t.kind <> 'queue'
                     AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.outbox) LOOP
        EXECUTE format('SELECT count(*) FROM %s', outbox) INTO n;
        total := total + n;
    END LOOP;
    RETURN total;
END;
$fn$;

COMMENT ON FUNCTION eventbus._push_backlog() IS
'Internal: messages waiting in the outboxes of this database''s push targets.';

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
            THEN eventbus._push_backlog() END AS backlog
  FROM eventbus._delivery_workers() w
  JOIN pg_catalog.pg_database d ON d.oid = w.database_oid;

COMMENT ON VIEW eventbus.delivery_workers IS
'Delivery workers of every database: state (starting, running, absent = no extension there, stopping), pid, last wake-up, messages delivered and failed since start; backlog (messages waiting for push targets) for the current database.';

CREATE FUNCTION eventbus.redrive_dead_letters(dead_letter_ids bigint[] DEFAULT NULL,
                                              bus text DEFAULT NULL,
                                              rule text DEFAULT NULL,
                                              target_id text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
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
BEGIN
    FOR d IN
        SELECT * FROM eventbus.dead_letters x
         WHERE (dead_letter_ids IS NULL OR x.dead_letter_id = ANY (dead_letter_ids))
           AND (redrive_dead_letters.bus IS NULL OR x.bus = redrive_dead_letters.bus)
           AND (redrive_dead_letters.rule IS NULL OR x.rule = redrive_dead_letters.rule)
           AND (redrive_dead_letters.target_id IS NULL OR x.target_id = redrive_dead_letters.target_id)
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
                    PERFORM pg_catalog.pg_notify('eventbus.' || t.destination, '');
                END IF;
            END IF;
        END IF;
        IF dest IS NULL THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        EXECUTE format('INSERT INTO %s (event_id, event_ingestion_time, bus, rule, target_id, payload)
                        VALUES ($1, $2, $3, $4, $5, $6)', dest)
          USING d.event_id, d.event_ingestion_time, d.bus, d.rule, d.target_id, payload;
        IF d.queue IS NOT NULL THEN
            PERFORM pg_catalog.pg_notify('eventbus.' || d.queue, '');
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

COMMENT ON FUNCTION eventbus.redrive_dead_letters(bigint[], text, text, text) IS
'Moves dead letters back into their target''s outbox (or their queue) for another delivery, all of them or those selected by ids, bus, rule and target; returns how many. Dead letters whose target is gone stay, with a NOTICE.';
-- Last step of CREATE EXTENSION: start this database's delivery workers.
SELECT eventbus._wake_launcher();
