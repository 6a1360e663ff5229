-- eventbus 0.4.0 -> 0.5.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.5.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Replays (issue 11): a replayed event carries the replay's name, which its
-- envelope shows as "replay-name".  At the end of eventbus.events, so of
-- every partition.
ALTER TABLE eventbus.events ADD COLUMN replay_name text;

-- ---------------------------------------------------------------------------
-- Schedule expressions (src/sql/62_schedule_expressions.sql): validation and
-- fire times of rate(...) and cron(...), in UTC.
CREATE FUNCTION eventbus.validate_schedule_expression(expression text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_schedule_expression'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_schedule_expression(text) IS
'Returns true for a valid EventBridge schedule expression, rate(value unit) or cron(minutes hours day-of-month month day-of-week year); raises "Parameter ScheduleExpression is not valid." (SQLSTATE 22023) with the reason as DETAIL otherwise.';

CREATE FUNCTION eventbus.schedule_fire_times(expression text, after timestamptz,
                                             count integer DEFAULT 1,
                                             anchor timestamptz DEFAULT NULL)
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'eventbus_schedule_fire_times'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION eventbus.schedule_fire_times(text, timestamptz, integer, timestamptz) IS
'The next count (1-1000) times, strictly after after, at which the schedule expression fires, computed in UTC: a cron on whole minutes up to 2199, a rate at anchor + k * period (k >= 1; anchor defaults to after). Fewer rows when the schedule ends; none when expression, after or count is NULL. An invalid expression or count raises SQLSTATE 22023.';

-- ---------------------------------------------------------------------------
-- Pattern queries over stored events use indexes: event_matches gains a
-- planner support function (src/pattern_support.c) that adds conditions on
-- the columns of eventbus.events to event_envelope(e) =~ pattern, and the
-- default partition and those of days that are over a GIN index on detail
-- (jsonb_path_ops) for the jsonpath ones (the current day's has none: ingest
-- does not pay for it).
CREATE FUNCTION eventbus._event_matches_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'eventbus_event_matches_support'
LANGUAGE C STRICT;

COMMENT ON FUNCTION eventbus._event_matches_support(internal) IS
'Internal: planner support function of event_matches; derives index conditions on eventbus.events from the exact values of a constant pattern matched against eventbus.event_envelope(e).';
REVOKE ALL ON FUNCTION eventbus._event_matches_support(internal) FROM PUBLIC;

ALTER FUNCTION eventbus.event_matches(jsonb, jsonb) SUPPORT eventbus._event_matches_support;

CREATE INDEX events_default_detail_idx ON eventbus.events_default
    USING gin (detail jsonb_path_ops);

-- the partitions of days that are over, as create_event_partitions does
DO $do$
DECLARE
    part text;
BEGIN
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
$do$;

CREATE OR REPLACE FUNCTION eventbus._create_event_partitions_impl(days_ahead integer, from_day date)
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

COMMENT ON FUNCTION eventbus.create_event_partitions(integer, date) IS
'Makes the daily partitions eventbus.events_pYYYYMMDD (UTC days) from from_day (default: today, UTC) to from_day + days_ahead, moving rows the default partition holds for those days; returns the partitions made. Gives the partitions of days that are over (UTC) the GIN index on detail that queries by event pattern use. Idempotent; call it daily from a maintenance job. For eventbus_admin (42501).';
