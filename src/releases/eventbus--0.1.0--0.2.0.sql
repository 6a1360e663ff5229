-- eventbus 0.1.0 -> 0.2.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Schema eventbus becomes a member of the extension.
--
-- 0.1.0 named it in the control file ("schema = eventbus"), so CREATE
-- EXTENSION made it outside the extension and DROP EXTENSION left it behind.
-- 0.2.0 records pg_catalog as the extension's schema (as a fresh install
-- does) and adopts schema eventbus, which PostgreSQL allows only once the
-- extension no longer lives in it.
UPDATE pg_catalog.pg_extension
   SET extnamespace = 'pg_catalog'::pg_catalog.regnamespace
 WHERE extname = 'eventbus';
-- pg_catalog is pinned: a fresh install records no dependency on it.
DELETE FROM pg_catalog.pg_depend
 WHERE classid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND objid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'eventbus')
   AND refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
   AND deptype = 'n';
ALTER EXTENSION eventbus ADD SCHEMA eventbus;
COMMENT ON SCHEMA eventbus IS 'eventbus: event buses, rules, targets, queues and events.';

-- ---------------------------------------------------------------------------
-- put_events: an entry's Time may also be a number of epoch seconds.
COMMENT ON FUNCTION eventbus.put_events(jsonb) IS
'EventBridge''s PutEvents: takes {"Entries": [...]} (or the bare array) of entries with Source, DetailType, Detail (a JSON object, or a string holding one), and optionally EventBusName (name or ARN), Resources and Time (RFC 3339 text, or a number of seconds since 1970-01-01T00:00:00Z as the AWS SDKs send it); stores the good entries in eventbus.events in the caller''s transaction and returns {"FailedEntryCount": n, "Entries": [{"EventId": ...} | {"ErrorCode": ..., "ErrorMessage": ...}]} in request order. An empty request, or one with more than eventbus.max_entries_per_put entries, raises an error (22023 / 54000).';

-- ---------------------------------------------------------------------------
-- Metrics: eventbus.reset_stats() and a stats_reset column in rule_stats,
-- queue_stats and target_stats (added at the end of each view).
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
'Resets every counter of the metrics views (rule_stats, target_stats, queue_stats) of the current database to zero and sets their stats_reset to now, as pg_stat_reset() does; not transactional. Superusers only unless EXECUTE is granted.';

-- As pg_stat_reset(): nobody but superusers, unless granted.
REVOKE EXECUTE ON FUNCTION eventbus.reset_stats() FROM PUBLIC;

CREATE OR REPLACE VIEW eventbus.rule_stats AS
SELECT r.bus,
       r.name AS rule,
       r.state,
       coalesce(s.matched, 0) AS matched_events,
       coalesce(s.matched, 0) AS triggered_rules,
       eventbus._stats_reset_time() AS stats_reset
  FROM eventbus.rules r
  LEFT JOIN eventbus._stats() s ON s.kind = 'rule' AND s.id = r.rule_id;

COMMENT ON VIEW eventbus.rule_stats IS
'Per rule: MatchedEvents (events that matched the rule since stats_reset) and TriggeredRules (times the rule was triggered; one per matched event, as in EventBridge); stats_reset is the last eventbus.reset_stats() in this database, or the server''s start.';

CREATE OR REPLACE VIEW eventbus.queue_stats AS
SELECT q.name AS queue,
       coalesce(s.enqueued, 0) AS enqueued,
       coalesce(s.received, 0) AS received,
       coalesce(s.acked, 0) AS acked,
       coalesce(s.dead_lettered, 0) AS dead_lettered,
       d.visible + d.in_flight AS backlog,
       d.visible,
       d.in_flight,
       d.oldest_message_age,
       eventbus._stats_reset_time() AS stats_reset
  FROM eventbus.queues q
  LEFT JOIN eventbus._stats() s ON s.kind = 'queue' AND s.name = q.name
 CROSS JOIN LATERAL eventbus.queue_depth(q.name) d;

COMMENT ON VIEW eventbus.queue_stats IS
'Per queue: messages enqueued, received, acknowledged and dead-lettered since stats_reset (the last eventbus.reset_stats() in this database, or the server''s start), and the current backlog (visible + in flight) with the age of the oldest message.';

CREATE OR REPLACE VIEW eventbus.target_stats AS
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
       qs.oldest_message_age AS queue_oldest_message_age,
       eventbus._stats_reset_time() AS stats_reset
  FROM eventbus.targets t
  JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule
  LEFT JOIN eventbus._stats() s
         ON s.kind = 'target' AND s.id = r.rule_id AND s.name = t.target_id
  LEFT JOIN eventbus.queue_stats qs ON t.kind = 'queue' AND qs.queue = t.destination;

COMMENT ON VIEW eventbus.target_stats IS
'Per target: messages enqueued for it and, for push targets, Invocations, FailedInvocations, RetryInvocationAttempts, DeadLetterInvocations and the delivery latency (ingestion to invocation start) over the last one to two minutes as p50/p95/p99 in milliseconds (histogram buckets, within 19%); for queue targets, the queue''s consumption and backlog (shared by every target of the queue). Counters count since stats_reset (the last eventbus.reset_stats() in this database, or the server''s start).';

-- ---------------------------------------------------------------------------
-- One home for logic that existed twice: EventBusName parsing and bus and
-- rule ARNs in C (src/arn.c); writing messages, moving them to the dead
-- letters and the queue channel in C (src/outbox.c), called from SQL.

CREATE OR REPLACE FUNCTION eventbus._bus_name(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_name(text) IS
'Internal: the bus name in an EventBusName argument (a name or an event-bus ARN); NULL means "default". Raises 22023 for an empty name or an ARN that is not an event bus ARN.';

CREATE OR REPLACE FUNCTION eventbus._bus_arn_name(arn text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_arn_name'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_arn_name(text) IS
'Internal: the bus name in an event bus ARN; NULL when arn is not a well-formed event bus ARN.';

CREATE OR REPLACE FUNCTION eventbus._parse_target_arn(arn text, OUT kind text, OUT destination text)
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
'Internal: the kind (queue, function, bus, notify, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

CREATE OR REPLACE FUNCTION eventbus.event_bus_arn(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_event_bus_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_bus_arn(text) IS
'The ARN of an event bus: arn:aws:events:<region>:<account>:event-bus/<name> (eventbus.region, eventbus.account). Does not check that the bus exists.';

CREATE OR REPLACE FUNCTION eventbus.rule_arn(rule text, event_bus_name text DEFAULT 'default')
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_rule_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.rule_arn(text, text) IS
'The ARN of a rule, as EventBridge forms it: arn:aws:events:<region>:<account>:rule/<name> on the default bus, .../rule/<bus>/<name> on other buses. Does not check that the rule exists.';

CREATE OR REPLACE FUNCTION eventbus._enqueue(outbox regclass, event_id uuid,
                                  event_ingestion_time timestamptz, bus text,
                                  rule text, target_id text, payload jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_enqueue'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._enqueue(regclass, uuid, timestamptz, text, text, text, jsonb) IS
'Internal: writes one message to an outbox table; a NULL payload references the event.';

CREATE OR REPLACE FUNCTION eventbus._dead_letter(outbox regclass, message_ids bigint[],
                                      error_code text, error_message text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_dead_letter'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._dead_letter(regclass, bigint[], text, text) IS
'Internal: moves messages of an outbox table to eventbus.dead_letters with that error; returns how many.';

CREATE OR REPLACE FUNCTION eventbus._notify_queue(queue text)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_notify_queue'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._notify_queue(text) IS
'Internal: notifies the consumers of a queue (channel eventbus.<queue>) when the transaction commits.';

CREATE OR REPLACE FUNCTION eventbus._outbox_plans(OUT outbox oid, OUT statement text, OUT "limit" integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_outbox_plans'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._outbox_plans() IS
'Internal: the statements this session keeps prepared for outbox tables, with the LIMIT of those that have one.';

CREATE OR REPLACE FUNCTION eventbus._target_removed()
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

CREATE OR REPLACE FUNCTION eventbus.redrive_dead_letters(dead_letter_ids bigint[] DEFAULT NULL,
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

COMMENT ON FUNCTION eventbus.redrive_dead_letters(bigint[], text, text, text) IS
'Moves dead letters back into their target''s outbox (or their queue) for another delivery, all of them or those selected by ids, bus, rule and target; returns how many. Dead letters whose target is gone stay, with a NOTICE.';

-- ---------------------------------------------------------------------------
-- Backup and restore.
--
-- Every row is dumped: the identity sequences of the catalogs and the
-- default partition of eventbus.events are marked for pg_dump as well.
SELECT pg_catalog.pg_extension_config_dump('eventbus.rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.dead_letters_dead_letter_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.events_default', '');

-- The primary key of eventbus.events becomes each partition's own: a key
-- of the partitioned table made a restore attach a second one to every
-- dumped partition.  Dropping it drops the partitions' keys; each partition
-- gets its own again, under the same name.
ALTER TABLE eventbus.events DROP CONSTRAINT events_pkey;
DO $do$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT c.relname
               FROM pg_catalog.pg_inherits i
               JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'eventbus.events'::pg_catalog.regclass
              ORDER BY 1 LOOP
        EXECUTE pg_catalog.format('ALTER TABLE eventbus.%I ADD CONSTRAINT %I PRIMARY KEY (id, ingestion_time)',
                                  p.relname, p.relname || '_pkey');
    END LOOP;
END;
$do$;

CREATE OR REPLACE FUNCTION eventbus.create_event_partitions(
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

COMMENT ON FUNCTION eventbus.create_event_partitions(integer, date) IS
'Makes the daily partitions eventbus.events_pYYYYMMDD (UTC days) from from_day (default: today, UTC) to from_day + days_ahead, moving rows the default partition holds for those days; returns the partitions made. Idempotent; call it daily from a maintenance job.';

-- A restore is recognised, and the delivery workers wait while it loads.
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

-- A superuser restoring a dump keeps the dumped owner of each target.
CREATE OR REPLACE FUNCTION eventbus._target_owner()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF eventbus._restoring()
       AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RETURN NEW;
    END IF;
    NEW.owner := current_user;
    RETURN NEW;
END;
$fn$;

COMMENT ON FUNCTION eventbus._target_owner() IS
'Internal: trigger on eventbus.targets that records the current role as the target''s owner on every insert and update (a superuser restoring a dump keeps the dumped owner).';

-- ---------------------------------------------------------------------------
-- Event patterns: EventBridge's answers.
--
-- TestEventPattern no longer requires resources; the domain event_pattern
-- checks with the loader's rules, so that rules stored by 0.1.0 survive
-- dump and restore under 0.2.0's stricter validation; put_rule applies
-- eventbus.max_pattern_size (the compiler no longer does).
COMMENT ON FUNCTION eventbus.test_event_pattern(jsonb, jsonb) IS
'EventBridge''s TestEventPattern: the event must be an object with the fields id, account, source, time, region and detail-type (of any type); an incomplete event or an invalid pattern raises SQLSTATE 22023.';

CREATE FUNCTION eventbus._check_stored_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_check_stored_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._check_stored_event_pattern(jsonb) IS
'Internal: the check of domain event_pattern. Returns true, or raises the pattern''s reason (SQLSTATE 22023); accepts the patterns that earlier versions stored, which validate_event_pattern may refuse.';

ALTER DOMAIN eventbus.event_pattern DROP CONSTRAINT event_pattern_check;
ALTER DOMAIN eventbus.event_pattern
    ADD CONSTRAINT event_pattern_check CHECK (eventbus._check_stored_event_pattern(VALUE));

CREATE OR REPLACE FUNCTION eventbus.put_rule(name text, event_pattern jsonb,
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
    -- The size quota applies where patterns are defined, never where stored
    -- rules are loaded: lowering it leaves existing rules routing.
    IF length(put_rule.event_pattern::text) > current_setting('eventbus.max_pattern_size')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event pattern of rule %L is %s characters long, over the limit of %s',
                   put_rule.name, length(put_rule.event_pattern::text),
                   current_setting('eventbus.max_pattern_size')),
            'eventbus.max_pattern_size bounds the patterns put_rule accepts, counted in characters of the pattern as jsonb prints it (EventBridge''s quota is 2048); rules already stored keep routing.',
            'Shorten the pattern, or raise eventbus.max_pattern_size.');
    END IF;
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
'EventBridge''s PutRule: creates or replaces a rule (event pattern, ENABLED/DISABLED, description) on a bus and returns {"RuleArn": ...}. An invalid pattern raises its reason (SQLSTATE 22023); a pattern longer than eventbus.max_pattern_size raises SQLSTATE 54000.';

-- ---------------------------------------------------------------------------
-- Privileges: owners of buses, rules and queues; grants; API functions that
-- see their caller (src/api.c, src/privileges.c).  Buses made by 0.1.0
-- belong to eventbus_admin, and its rules and queues to nobody: members of
-- eventbus_admin manage them and grant what others need.
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
-- eventbus_admin.  A NULL owner means nobody but an admin owns the object.
ALTER TABLE eventbus.event_buses ADD COLUMN owner regrole;
UPDATE eventbus.event_buses SET owner = 'eventbus_admin'::regrole;
ALTER TABLE eventbus.rules ADD COLUMN owner regrole;
ALTER TABLE eventbus.queues ADD COLUMN owner regrole;
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
        OR (object_kind = 'queue' AND privilege IN ('receive', 'send')))
);
COMMENT ON TABLE eventbus.grants IS
'Privileges on event buses (put_events, manage_rules, read_events) and queues (receive, send) granted to roles (grantee 0: PUBLIC); written only by the grant and revoke functions.';
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
    what text := CASE object_kind WHEN 'bus' THEN 'event bus' ELSE object_kind END;
BEGIN
    IF (object_kind = 'bus' AND eventbus.has_event_bus_privilege(object_name, privilege, caller))
       OR (object_kind = 'queue' AND eventbus.has_queue_privilege(object_name, privilege, caller)) THEN
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
'Internal: raises 42501 unless the caller of the current API function holds privilege on the bus or queue.';

-- _require_owner: raise 42501 unless the caller owns the object or is an admin.
CREATE FUNCTION eventbus._require_owner(object_kind text, object_name text, owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    what text := CASE object_kind WHEN 'bus' THEN 'event bus' ELSE object_kind END;
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
                              ELSE ARRAY['receive', 'send'] END;
BEGIN
    IF kind = 'bus' THEN
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
                   CASE kind WHEN 'bus' THEN 'an event bus' ELSE 'a queue' END),
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
'Internal: grants or revokes a privilege on a bus or queue for the caller of the current API function, who must own it or be an eventbus_admin.';

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

-- ---------------------------------------------------------------------------
-- Row-level security on eventbus.events and eventbus.dead_letters
-- (src/sql/54_row_security.sql).
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
