-- Daily partitions of eventbus.events.
--
-- eventbus.events is partitioned by ingestion_time, one partition per UTC
-- day (eventbus.events_pYYYYMMDD, from 00:00 UTC to the next 00:00 UTC),
-- plus the default partition eventbus.events_default for anything else.
-- create_event_partitions makes the coming days' partitions (moving rows the
-- default partition already holds for those days); drop_event_partitions
-- drops old days, except those whose events undelivered messages or an
-- unfinished replay still need.  The database's first delivery worker does
-- both (_maintain_event_partitions, every
-- eventbus.partition_maintenance_interval): it makes the partitions of the
-- next eventbus.partition_days_ahead days and drops those past every
-- retention (eventbus.event_retention and each archive's).
--
-- Neither ever holds up puts for long: making a partition takes no lock
-- that a put into an existing partition waits for, and dropping one needs
-- an ACCESS EXCLUSIVE lock on eventbus.events for a moment, asked for with
-- a lock_timeout of 50 ms (a put queued behind the request waits at most
-- that long); a partition that could not be locked in time is dropped at
-- a later pass.

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
'Makes the daily partitions eventbus.events_pYYYYMMDD (UTC days) from from_day (default: today, UTC) to from_day + days_ahead, moving rows the default partition holds for those days; returns the partitions made. Gives the partitions of days that are over (UTC) the GIN index on detail that queries by event pattern use. Idempotent; call it daily from a maintenance job. For eventbus_admin (42501).';

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

    -- The partitions of days that are over get the GIN index on detail
    -- that queries by event pattern use (see src/pattern_support.c),
    -- built in one go; today's and the coming days' have none, so that
    -- ingest does not pay for it.
    FOR part IN
        SELECT p.partition_name FROM eventbus._event_partitions() p
         WHERE p.day < (pg_catalog.now() AT TIME ZONE 'UTC')::date
           AND to_regclass(format('eventbus.%I', p.partition_name || '_detail_idx')) IS NULL
         ORDER BY p.day
    LOOP
        EXECUTE format('CREATE INDEX %I ON eventbus.%I USING gin (detail jsonb_path_ops)',
                       part || '_detail_idx', part);
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
'Drops the daily partitions of eventbus.events that ended at least older_than ago, except those whose events undelivered messages (outbox rows, dead letters without a payload) still reference, those an unfinished replay reads, and those it cannot lock within 50 ms, which it reports with a NOTICE; returns the partitions dropped. Never touches eventbus.events_default. For eventbus_admin (42501).';

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
    v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
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
        -- an unfinished replay reads the archive's events of its window
        IF EXISTS (SELECT FROM eventbus.replays r
                    WHERE r.state IN ('STARTING', 'RUNNING', 'CANCELLING')
                      AND r.event_start_time < hi AND r.event_end_time >= lo) THEN
            RAISE NOTICE 'kept eventbus.%: an unfinished replay reads its events', p.partition_name
                USING HINT = 'The partition is dropped by a later call, once the replay is over.';
            CONTINUE;
        END IF;

        -- a moment of ACCESS EXCLUSIVE on eventbus.events: never waited
        -- for long, so puts queued behind the request are not held up
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '50ms', true);
            EXECUTE format('DROP TABLE eventbus.%I', p.partition_name);
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
            RAISE NOTICE 'kept eventbus.%: it is in use', p.partition_name
                USING DETAIL = 'Dropping it needs a moment of ACCESS EXCLUSIVE lock on eventbus.events, which was not granted within 50 ms.',
                      HINT = 'The partition is dropped by a later call.';
            CONTINUE;
        END;
        RETURN NEXT 'eventbus.' || p.partition_name;
    END LOOP;
END;
$fn$;

COMMENT ON FUNCTION eventbus._drop_event_partitions_impl(interval) IS
'Internal: implementation of drop_event_partitions.';
REVOKE ALL ON FUNCTION eventbus._drop_event_partitions_impl(interval) FROM PUBLIC;

-- The retention of stored events: the longest of eventbus.event_retention
-- and every archive's RetentionDays; NULL (forever) when either is 0.
CREATE FUNCTION eventbus.event_retention_period()
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    -- in minutes, the setting's unit (current_setting shows "30d")
    v_global integer := (SELECT s.setting::integer FROM pg_catalog.pg_settings s
                          WHERE s.name = 'eventbus.event_retention');
    v_forever boolean;
    v_days integer;
BEGIN
    SELECT bool_or(a.retention_days = 0), max(a.retention_days)
      INTO v_forever, v_days
      FROM eventbus.archives a;
    IF v_global = 0 OR coalesce(v_forever, false) THEN
        RETURN NULL;
    END IF;
    RETURN greatest(pg_catalog.make_interval(mins => v_global),
                    pg_catalog.make_interval(days => coalesce(v_days, 0)));
END;
$fn$;

COMMENT ON FUNCTION eventbus.event_retention_period() IS
'How long stored events are kept: the longest of eventbus.event_retention and every archive''s RetentionDays; NULL (forever) when eventbus.event_retention is 0 or an archive keeps its events forever.';

CREATE FUNCTION eventbus.maintain_event_partitions()
RETURNS TABLE (action text, partition_name text)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.maintain_event_partitions() IS
'What the first delivery worker of the database does every eventbus.partition_maintenance_interval, done now: makes the daily partitions of the next eventbus.partition_days_ahead days (unless 0) and drops those past event_retention_period() (see drop_event_partitions); returns each partition made (action "created") or dropped ("dropped"), or "busy" when making them had to wait over 50 ms for a lock (tried again at the next pass). For eventbus_admin (42501).';

CREATE FUNCTION eventbus._maintain_event_partitions_impl()
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_days_ahead integer := pg_catalog.current_setting('eventbus.partition_days_ahead')::integer;
    v_keep interval := eventbus.event_retention_period();
    v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
    p text;
BEGIN
    PERFORM eventbus._require_admin('maintain event partitions');
    IF v_days_ahead > 0 THEN
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '50ms', true);
            FOR p IN SELECT * FROM eventbus._create_event_partitions_impl(
                         v_days_ahead, (pg_catalog.now() AT TIME ZONE 'UTC')::date)
            LOOP
                action := 'created';
                partition_name := p;
                RETURN NEXT;
            END LOOP;
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
            action := 'busy';
            partition_name := NULL;
            RETURN NEXT;
        END;
    END IF;
    IF v_keep IS NOT NULL THEN
        FOR p IN SELECT * FROM eventbus._drop_event_partitions_impl(v_keep) LOOP
            action := 'dropped';
            partition_name := p;
            RETURN NEXT;
        END LOOP;
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._maintain_event_partitions_impl() IS
'Internal: implementation of maintain_event_partitions.';
REVOKE ALL ON FUNCTION eventbus._maintain_event_partitions_impl() FROM PUBLIC;

-- What the worker calls: the same, for the worker (it is no API caller).
CREATE FUNCTION eventbus._maintain_event_partitions()
RETURNS TABLE (action text, partition_name text)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM eventbus._maintain_event_partitions_impl()
$fn$;

COMMENT ON FUNCTION eventbus._maintain_event_partitions() IS
'Internal: the partition maintenance the first delivery worker of each database runs every eventbus.partition_maintenance_interval (see maintain_event_partitions).';
REVOKE ALL ON FUNCTION eventbus._maintain_event_partitions() FROM PUBLIC;
