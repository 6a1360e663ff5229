-- Retention and partition maintenance: event_retention_period() (the
-- longest of eventbus.event_retention and every archive's RetentionDays;
-- forever when either is 0), maintain_event_partitions() (partitions made
-- ahead, partitions past the retention dropped, except those an unfinished
-- replay or an undelivered message needs), its rights, and the delivery
-- worker doing the same on its own.  Old events are simulated with
-- partitions of January 2002; test events have source "rt.test".
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';

CREATE FUNCTION pg_temp.wait_for(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
    FOR i IN 1 .. 150 LOOP
        EXECUTE cond INTO ok;
        IF ok THEN RETURN true; END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
CREATE FUNCTION pg_temp.old_partitions() RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(partition_name ORDER BY day), '{}')
      FROM eventbus._event_partitions() WHERE day < '2003-01-01'
$$;

-- three old days with an event each
SELECT * FROM eventbus.create_event_partitions(2, '2002-01-10');
INSERT INTO eventbus.events (source, detail_type, ingestion_time)
SELECT 'rt.test', 'Old', timestamptz '2002-01-10 12:00:00+00' + n * interval '1 day'
  FROM generate_series(0, 2) n;

-- the retention: forever by default
SHOW eventbus.event_retention;
SELECT eventbus.event_retention_period() AS period;
SELECT action, partition_name FROM eventbus.maintain_event_partitions() WHERE partition_name IS NULL OR partition_name < 'eventbus.events_p2003';
SELECT pg_temp.old_partitions();

-- 30 days, and archives: the longest one wins; one kept forever keeps all
SET eventbus.event_retention = '30d';
SELECT eventbus.event_retention_period() AS period;
SELECT eventbus.create_archive('rt_year', 'default', retention_days => 365) ->> 'State' AS state;
SELECT eventbus.event_retention_period() AS period;
SELECT eventbus.create_archive('rt_forever', 'default') ->> 'State' AS state;
SELECT eventbus.event_retention_period() AS period;
SELECT action, partition_name FROM eventbus.maintain_event_partitions() WHERE partition_name IS NULL OR partition_name < 'eventbus.events_p2003';
SELECT pg_temp.old_partitions();
SELECT eventbus.delete_archive('rt_forever');
SELECT eventbus.event_retention_period() AS period;

-- an unfinished replay reads its window: that day is kept (the replay row
-- is not committed, so the delivery worker never runs it)
BEGIN;
INSERT INTO eventbus.replays (name, archive, bus, event_start_time, event_end_time, state, owner)
VALUES ('rt_replay', 'rt_year', 'default', '2002-01-10 00:00:00+00', '2002-01-10 18:00:00+00', 'RUNNING', current_user::regrole);
SELECT action, partition_name FROM eventbus.maintain_event_partitions() WHERE partition_name IS NULL OR partition_name < 'eventbus.events_p2003';
ROLLBACK;
-- an undelivered message references the 11th: kept, the 10th and 12th go
SELECT name FROM eventbus.create_queue('rt_q');
INSERT INTO eventbus_outbox.queue_rt_q (event_id, event_ingestion_time, bus, rule, target_id)
SELECT id, ingestion_time, 'default', 'rt-rule', 'rt-target' FROM eventbus.events
 WHERE source = 'rt.test' AND ingestion_time::date = '2002-01-11';
SELECT eventbus.delete_archive('rt_year');
SELECT eventbus.event_retention_period() AS period;
SELECT action, partition_name FROM eventbus.maintain_event_partitions() WHERE partition_name IS NULL OR partition_name < 'eventbus.events_p2003';
SELECT pg_temp.old_partitions();
SELECT count(*) AS old_events FROM eventbus.events WHERE source = 'rt.test';
DELETE FROM eventbus_outbox.queue_rt_q;
SELECT eventbus.delete_queue('rt_q');

-- partitions made ahead: eventbus.partition_days_ahead days (0: none)
SET eventbus.partition_days_ahead = 0;
SELECT count(*) AS made FROM eventbus.maintain_event_partitions() WHERE action = 'created';
SET eventbus.partition_days_ahead = 9;
SELECT action, partition_name = 'eventbus.' || eventbus._event_partition_name((now() AT TIME ZONE 'UTC')::date + d) AS expected
  FROM eventbus.maintain_event_partitions(), generate_series(8, 9) d
 WHERE action = 'created' AND partition_name = 'eventbus.' || eventbus._event_partition_name((now() AT TIME ZONE 'UTC')::date + d);
SELECT count(*) AS made_again FROM eventbus.maintain_event_partitions() WHERE action = 'created';
RESET eventbus.partition_days_ahead;

-- the worker does it on its own: retention from the server's settings
ALTER SYSTEM SET eventbus.event_retention = '30d';
ALTER SYSTEM SET eventbus.partition_maintenance_interval = '1s';
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT cardinality(pg_temp.old_partitions()) = 0$$) AS worker_dropped;
SELECT count(*) AS old_events FROM eventbus.events WHERE source = 'rt.test';
ALTER SYSTEM RESET eventbus.event_retention;
ALTER SYSTEM RESET eventbus.partition_maintenance_interval;
SELECT pg_reload_conf();
-- the days made ahead above go again (no longer wanted, and empty)
DO $$
DECLARE p text;
BEGIN
    FOR p IN SELECT partition_name FROM eventbus._event_partitions()
              WHERE day > (now() AT TIME ZONE 'UTC')::date + 7 LOOP
        EXECUTE format('DROP TABLE eventbus.%I', p);
    END LOOP;
END $$;

-- invalid settings, and the rights: maintenance is for eventbus_admin
SET eventbus.event_retention = -1;
SET eventbus.partition_days_ahead = 400;
CREATE ROLE regress_rt_user;
SET ROLE regress_rt_user;
SELECT * FROM eventbus.maintain_event_partitions();
SET eventbus.event_retention = '1d';
RESET ROLE;
DROP ROLE regress_rt_user;
RESET eventbus.event_retention;
