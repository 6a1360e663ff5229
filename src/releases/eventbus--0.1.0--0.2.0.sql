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
