-- Today's and the next days' partitions.  The partitions are data, not
-- part of the extension: a table made while CREATE EXTENSION runs would be
-- a member of the extension, which drop_event_partitions could not drop and
-- pg_dump would not dump, so each is taken out of the extension again.  In
-- a restore (see eventbus._restoring) none are made: the dump brings the
-- partitions it had, and making today's here would collide with its CREATE
-- TABLE.  Events of days without a partition go to the default partition
-- until create_event_partitions (the daily maintenance call) moves them.
DO $do$
DECLARE
    p record;
BEGIN
    IF eventbus._restoring() THEN
        RETURN;
    END IF;
    PERFORM eventbus.create_event_partitions();
    FOR p IN SELECT partition_name FROM eventbus._event_partitions() LOOP
        EXECUTE format('ALTER EXTENSION eventbus DROP TABLE eventbus.%I', p.partition_name);
    END LOOP;
END;
$do$;

-- Last step of CREATE EXTENSION: start this database's delivery workers.
SELECT eventbus._wake_launcher();
