-- Daily partitions of eventbus.events: create_event_partitions (UTC days,
-- idempotent, moving rows out of the default partition) and
-- drop_event_partitions (never a partition that undelivered messages still
-- reference).  Test partitions are in January 2001; test events have
-- source "pt.part".
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';

-- ---------------------------------------------------------------------
-- CREATE EXTENSION made today's partition (UTC) and the next seven days'
-- ---------------------------------------------------------------------
-- (at most one more if the date changed since the extension was created)
SELECT count(*) <= 1 AS nothing_to_make FROM eventbus.create_event_partitions();
SELECT count(*) AS coming_days
  FROM eventbus._event_partitions()
 WHERE day BETWEEN (now() AT TIME ZONE 'UTC')::date AND (now() AT TIME ZONE 'UTC')::date + 7;
-- partitions are data, not members of the extension
SELECT count(*) AS extension_members
  FROM eventbus._event_partitions() p
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass
                  AND d.objid = ('eventbus.' || p.partition_name)::regclass
 WHERE d.deptype = 'e';

-- ---------------------------------------------------------------------
-- create_event_partitions: UTC days, whatever the session's settings
-- ---------------------------------------------------------------------
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
-- Events for days without a partition land in the default partition.
INSERT INTO eventbus.events (id, source, detail_type, ingestion_time) VALUES
    ('00000000-0000-4000-8000-0000000000a1', 'pt.part', 'Before', '2001-01-01 23:59:59.999999+00'),
    ('00000000-0000-4000-8000-0000000000a2', 'pt.part', 'First',  '2001-01-02 00:00:00+00'),
    ('00000000-0000-4000-8000-0000000000a3', 'pt.part', 'Last',   '2001-01-02 23:59:59.999999+00'),
    ('00000000-0000-4000-8000-0000000000a4', 'pt.part', 'Next',   '2001-01-03 00:00:00+00'),
    ('00000000-0000-4000-8000-0000000000a5', 'pt.part', 'Later',  '2001-01-05 12:00:00+00');
SELECT detail_type, tableoid::regclass FROM eventbus.events WHERE source = 'pt.part' ORDER BY ingestion_time;

-- Two days from 2 January: their rows move out of the default partition.
SELECT * FROM eventbus.create_event_partitions(1, '2001-01-02');
SELECT detail_type, tableoid::regclass FROM eventbus.events WHERE source = 'pt.part' ORDER BY ingestion_time;
RESET DateStyle;
SET TimeZone = 'UTC';
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bounds
  FROM pg_class c
 WHERE c.relname IN ('events_p20010102', 'events_p20010103') AND c.relnamespace = 'eventbus'::regnamespace
 ORDER BY 1;
-- each partition has the primary key's index and the detail check, and
-- one of a day that is over the GIN index on detail (pattern queries)
SELECT indexrelid::regclass AS index FROM pg_index
 WHERE indrelid = 'eventbus.events_p20010102'::regclass ORDER BY 1;
\set VERBOSITY terse
INSERT INTO eventbus.events (source, detail_type, detail, ingestion_time)
VALUES ('pt.part', 'NotAnObject', '[1]', '2001-01-02 12:00:00+00');
\set VERBOSITY default
-- the same id may not be stored twice for the same ingestion time
INSERT INTO eventbus.events (id, source, detail_type, ingestion_time)
VALUES ('00000000-0000-4000-8000-0000000000a2', 'pt.part', 'Again', '2001-01-02 00:00:00+00');

-- Idempotent: nothing to make the second time; a wider range makes the rest.
SELECT * FROM eventbus.create_event_partitions(1, '2001-01-02');
SELECT * FROM eventbus.create_event_partitions(3, '2001-01-02');
SELECT detail_type, tableoid::regclass FROM eventbus.events WHERE source = 'pt.part' ORDER BY ingestion_time;
SELECT partition_name, day FROM eventbus._event_partitions() WHERE day < '2002-01-01' ORDER BY day;

-- In a transaction that rolls back, nothing is made.
BEGIN;
SELECT * FROM eventbus.create_event_partitions(0, '2001-02-01');
ROLLBACK;
SELECT to_regclass('eventbus.events_p20010201') AS rolled_back;

-- A table in the way is an error, not silently adopted.
CREATE TABLE eventbus.events_p20010110 (x integer);
SELECT * FROM eventbus.create_event_partitions(0, '2001-01-10');
DROP TABLE eventbus.events_p20010110;

-- Invalid arguments.
SELECT * FROM eventbus.create_event_partitions(-1);
SELECT * FROM eventbus.create_event_partitions(NULL);
SELECT * FROM eventbus.create_event_partitions(3661);
SELECT * FROM eventbus.create_event_partitions(1, NULL);
SELECT * FROM eventbus.create_event_partitions(1, 'infinity');

-- ---------------------------------------------------------------------
-- drop_event_partitions: never a partition undelivered messages reference
-- ---------------------------------------------------------------------
SELECT * FROM eventbus.drop_event_partitions(NULL);
SELECT * FROM eventbus.drop_event_partitions('-1 day');

-- An undelivered message in a queue references the "Last" event (2 January).
SELECT name FROM eventbus.create_queue('pt_q');
INSERT INTO eventbus_outbox.queue_pt_q (event_id, event_ingestion_time, bus, rule, target_id)
VALUES ('00000000-0000-4000-8000-0000000000a3', '2001-01-02 23:59:59.999999+00', 'default', 'pt-rule', 'pt-target');
-- A dead letter without a payload of its own references the "Next" event
-- (3 January); one with a payload references nothing that must stay.
INSERT INTO eventbus.dead_letters (bus, rule, target_id, event_id, event_ingestion_time, payload)
VALUES ('default', 'pt-rule', 'pt-target', '00000000-0000-4000-8000-0000000000a4', '2001-01-03 00:00:00+00', NULL),
       ('default', 'pt-rule', 'pt-target', '00000000-0000-4000-8000-0000000000a5', '2001-01-05 12:00:00+00', '{"kept": "payload"}');
-- A target's outbox (one that is not a queue's) references 4 January.  The
-- target row is written directly, as a queue-kind target whose outbox no
-- queue lists, so that the delivery worker leaves its message alone.
SELECT eventbus.put_rule('pt-rule', '{"source": ["pt.never"]}') IS NOT NULL AS rule_created;
INSERT INTO eventbus.targets (bus, rule, target_id, arn, kind, destination, outbox, owner)
VALUES ('default', 'pt-rule', 'pt-target', 'queue:pt_orphan', 'queue', 'pt_orphan',
        eventbus._create_outbox('push_000000000000_pt_orphan'), current_user);
INSERT INTO eventbus_outbox.push_000000000000_pt_orphan (event_id, event_ingestion_time, bus, rule, target_id)
VALUES ('00000000-0000-4000-8000-0000000000ff', '2001-01-04 06:00:00+00', 'default', 'pt-rule', 'pt-target');

-- Only 5 January goes; the others are kept and reported.
SELECT * FROM eventbus.drop_event_partitions('1 day');
SELECT detail_type, tableoid::regclass FROM eventbus.events WHERE source = 'pt.part' ORDER BY ingestion_time;

-- Once the queue's message is gone (received and acknowledged), 2 January goes.
DELETE FROM eventbus_outbox.queue_pt_q;
SELECT * FROM eventbus.drop_event_partitions('1 day');
-- ... then 3 and 4 January.
DELETE FROM eventbus.dead_letters WHERE rule = 'pt-rule';
DELETE FROM eventbus_outbox.push_000000000000_pt_orphan;
SELECT * FROM eventbus.drop_event_partitions('1 day');
SELECT * FROM eventbus.drop_event_partitions('1 day');
SELECT partition_name FROM eventbus._event_partitions() WHERE day < '2002-01-01';
-- rows of the default partition are never dropped
SELECT detail_type, tableoid::regclass FROM eventbus.events WHERE source = 'pt.part' ORDER BY ingestion_time;
-- partitions newer than older_than stay: today's and the coming days'
SELECT count(*) AS coming_days
  FROM eventbus._event_partitions()
 WHERE day BETWEEN (now() AT TIME ZONE 'UTC')::date AND (now() AT TIME ZONE 'UTC')::date + 7;

-- ---------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------
DELETE FROM eventbus.targets WHERE rule = 'pt-rule';
DO $$
BEGIN
    -- removing a target retires its outbox; drop it if that ever changes
    IF to_regclass('eventbus_outbox.push_000000000000_pt_orphan') IS NOT NULL THEN
        DROP TABLE eventbus_outbox.push_000000000000_pt_orphan;
    END IF;
END;
$$;
SELECT eventbus.delete_rule('pt-rule');
SELECT eventbus.delete_queue('pt_q');
DELETE FROM eventbus.events WHERE source = 'pt.part';

-- Partitions are for eventbus_admin only.
CREATE ROLE regress_pt_user;
SET ROLE regress_pt_user;
SELECT * FROM eventbus.create_event_partitions(0);
SELECT * FROM eventbus.drop_event_partitions('1 day');
RESET ROLE;
DROP ROLE regress_pt_user;
