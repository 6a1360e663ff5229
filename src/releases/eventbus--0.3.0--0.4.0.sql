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
-- FIFO queues, deduplication, delays and send_message (issue 10).
-- Queues gain fifo and delay_seconds; outbox tables gain message_group_id
-- and deduplication_id (every existing one is altered here); targets gain
-- sqs_parameters; create_queue gains fifo and delay_seconds (dropped and
-- made again: its signature changes).
DO $upgrade$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'eventbus_outbox'::regnamespace AND c.relkind = 'r'
              ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %s ADD COLUMN message_group_id text, ADD COLUMN deduplication_id text', t);
    END LOOP;
END;
$upgrade$;

CREATE OR REPLACE FUNCTION eventbus._create_outbox(table_name text)
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

DROP FUNCTION eventbus.create_queue(text, integer, boolean);
DROP FUNCTION eventbus._create_queue_impl(text, integer, boolean);

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

CREATE OR REPLACE FUNCTION eventbus._delete_queue_impl(queue_name text, force boolean)
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

CREATE OR REPLACE FUNCTION eventbus._put_targets_impl(rule text, targets jsonb, event_bus_name text)
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

CREATE OR REPLACE FUNCTION eventbus._list_targets_by_rule_impl(rule text, event_bus_name text)
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

COMMENT ON FUNCTION eventbus.put_targets(text, jsonb, text) IS
'EventBridge''s PutTargets: adds or updates targets of a rule from PutTargets'' Targets array (or {"Targets": [...]}); returns {"FailedEntryCount", "FailedEntries": [{"TargetId", "ErrorCode", "ErrorMessage"}]}. A bad entry fails alone; a missing rule raises 42704. For the rule''s owner, the bus''s owner and eventbus_admin; the caller becomes the targets'' owner, the role they act as, and needs send on a target''s queue and DeadLetterConfig queue, EXECUTE on a target''s function, put_events on a target''s bus and invoke on a target''s API destination (42501 fails the call). API destination targets ("api-destination:<name>" or the API destination''s ARN) take HttpParameters ({"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}, values static or JSON paths "$...." into the event); other targets refuse them. Queue targets ("queue:<name>", "arn:aws:sqs:...:<name>") create a missing queue, owned by the caller, when the caller may create queues. A FIFO queue''s targets need SqsParameters {"MessageGroupId": "<group>" or "$.<path>", "MessageDeduplicationId": "$.<path>" (optional; default: the event id)}; other targets refuse them.';

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

-- An ack of a FIFO queue frees the next message of its groups: it wakes
-- long-polling receive()s too.
CREATE OR REPLACE FUNCTION eventbus._ack_impl(queue text, message_ids bigint[])
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
