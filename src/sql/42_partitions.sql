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
