-- Archives (CreateArchive, DescribeArchive, UpdateArchive, DeleteArchive,
-- ListArchives, archive_events): answers, validation, which events an
-- archive holds (a view over eventbus.events), and who may do what.
\set SHOW_CONTEXT never
CREATE ROLE ar_owner IN ROLE eventbus_user;
CREATE ROLE ar_reader;
CREATE ROLE ar_stranger;

SET ROLE ar_owner;
SELECT eventbus.create_event_bus('ar-bus') ->> 'EventBusArn' AS arn;
SELECT eventbus.create_event_bus('ar-other') ->> 'EventBusArn' AS arn;
SELECT eventbus.grant_event_bus_privilege('ar-bus', 'read_events', 'ar_reader');
-- put before any archive exists: in none
SELECT eventbus.put_event('ar.src', 'e', '{"n": 0}', 'ar-bus') IS NOT NULL AS put;

-- CreateArchive's answer: ArchiveArn, State, CreationTime
SELECT eventbus.create_archive('ar-all', 'ar-bus') - 'CreationTime' AS created;
SELECT eventbus.create_archive('ar-big', eventbus.event_bus_arn('ar-bus'),
                               '{"detail": {"n": [{"numeric": [">", 1]}]}}', 7, 'the big ones') - 'CreationTime' AS created;
SELECT (eventbus.create_archive('ar-other', 'ar-other') ->> 'CreationTime')::timestamptz = now() AS created_now;

SELECT eventbus.put_event('ar.src', 'e', '{"n": 1}', 'ar-bus') IS NOT NULL AS put;
SELECT eventbus.put_event('ar.src', 'e', '{"n": 2}', 'ar-bus') IS NOT NULL AS put;
SELECT eventbus.put_event('ar.src', 'e', '{"n": 3}', 'ar-bus') IS NOT NULL AS put;
SELECT eventbus.put_event('ar.src', 'e', '{"n": 9}', 'ar-other') IS NOT NULL AS put;
-- a replayed event and a scheduled rule's tick are in no archive (only a
-- replay's owner puts replayed events: here a superuser stands in for one)
RESET ROLE;
INSERT INTO eventbus.events (bus, source, detail_type, detail, replay_name)
VALUES ('ar-bus', 'ar.src', 'e', '{"n": 4}', 'some-replay');
SET ROLE ar_owner;
INSERT INTO eventbus.events (bus, source, detail_type, detail)
VALUES ('ar-bus', 'aws.events', 'Scheduled Event', '{"n": 5}');

-- membership: the bus's events since the archive was made, matching its pattern
SELECT detail FROM eventbus.archive_events('ar-all');
SELECT detail FROM eventbus.archive_events('ar-big');
SELECT bus, detail FROM eventbus.archive_events('ar-other');
-- by ARN, and a window of ingestion times [start, end)
SELECT count(*) FROM eventbus.archive_events(eventbus.archive_arn('ar-all'), now() - interval '1 hour', now());
SELECT count(*) FROM eventbus.archive_events('ar-all', now());
SELECT count(*) FROM eventbus.archive_events('ar-all', '-infinity', '-infinity');

-- DescribeArchive: counted from the rows
SELECT eventbus.describe_archive('ar-all') - 'CreationTime' - 'SizeBytes' AS described;
SELECT (eventbus.describe_archive('ar-big') ->> 'SizeBytes')::bigint > 0 AS has_size,
       eventbus.describe_archive('ar-big') - 'CreationTime' - 'SizeBytes' AS described;
SELECT eventbus.describe_archive(eventbus.archive_arn('ar-big')) ->> 'ArchiveName' AS by_arn;

-- ListArchives: one filter at most
SELECT archive_name, event_source_arn, state, state_reason, retention_days, event_count,
       size_bytes > 0 AS has_size, creation_time <= now() AS created
  FROM eventbus.list_archives();
SELECT archive_name FROM eventbus.list_archives(name_prefix => 'ar-b');
SELECT archive_name FROM eventbus.list_archives(event_source_arn => eventbus.event_bus_arn('ar-other'));
SELECT archive_name FROM eventbus.list_archives(state => 'ENABLED');
SELECT archive_name FROM eventbus.list_archives(state => 'DISABLED');
SELECT archive_name FROM eventbus.list_archives('ar', 'ar-bus');
SELECT archive_name FROM eventbus.list_archives(state => 'ON');

-- UpdateArchive: a new pattern applies to past events too
SELECT eventbus.update_archive('ar-big', '{"detail": {"n": [1]}}') - 'CreationTime' AS updated;
SELECT detail FROM eventbus.archive_events('ar-big');
SELECT eventbus.describe_archive('ar-big') ->> 'EventPattern' AS pattern,
       eventbus.describe_archive('ar-big') ->> 'RetentionDays' AS retention,
       eventbus.describe_archive('ar-big') ->> 'Description' AS description;
-- NULL leaves a field alone; 'null' removes the pattern, '' the description
SELECT eventbus.update_archive('ar-big', 'null'::jsonb, description => '') ->> 'State' AS state;
SELECT eventbus.describe_archive('ar-big') - 'CreationTime' - 'SizeBytes' AS described;
SELECT eventbus.update_archive('ar-big', retention_days => 0) ->> 'State' AS state;
SELECT eventbus.describe_archive('ar-big') ->> 'RetentionDays' AS retention;
RESET ROLE;

-- retention: events older than retention_days are out of the archive
SET ROLE ar_owner;
SELECT eventbus.create_archive('ar-kept', 'ar-bus', retention_days => 7) ->> 'State' AS state;
RESET ROLE;
UPDATE eventbus.archives SET created_at = created_at - interval '30 days' WHERE name = 'ar-kept';
SET ROLE ar_owner;
INSERT INTO eventbus.events (bus, source, detail_type, detail, ingestion_time)
VALUES ('ar-bus', 'ar.src', 'old', '{"n": 10}', now() - interval '10 days'),
       ('ar-bus', 'ar.src', 'old', '{"n": 11}', now() - interval '3 days');
SELECT detail FROM eventbus.archive_events('ar-kept') WHERE detail_type = 'old';
SELECT eventbus.update_archive('ar-kept', retention_days => 0) ->> 'State' AS state;
SELECT detail FROM eventbus.archive_events('ar-kept') WHERE detail_type = 'old';

-- validation
SELECT eventbus.create_archive('bad name', 'ar-bus');
SELECT eventbus.create_archive(repeat('a', 49), 'ar-bus');
SELECT eventbus.create_archive('ar-all', 'ar-bus');
SELECT eventbus.create_archive('ar-new', 'no-such-bus');
SELECT eventbus.create_archive('ar-new', 'arn:aws:events:local:000000000000:rule/x');
SELECT eventbus.create_archive('ar-new', NULL);
SELECT eventbus.create_archive('ar-new', 'ar-bus', '{"source": "x"}');
SELECT eventbus.create_archive('ar-new', 'ar-bus', retention_days => -1);
SELECT eventbus.create_archive('ar-new', 'ar-bus', description => repeat('d', 513));
SELECT eventbus.describe_archive('no-such-archive');
SELECT eventbus.describe_archive('arn:aws:events:local:000000000000:rule/ar-all');
SELECT eventbus.archive_events('no-such-archive');
SELECT eventbus.update_archive('no-such-archive', retention_days => 1);
SELECT eventbus.update_archive('ar-all', '{"detail": 1}');
SELECT eventbus.delete_archive('no-such-archive');
SELECT name FROM eventbus.archives;
RESET ROLE;

-- a role without rights on the bus: denied everything, sees nothing
SET ROLE ar_stranger;
SELECT eventbus.create_archive('ar-s', 'ar-bus');
SELECT eventbus.describe_archive('ar-all');
SELECT count(*) FROM eventbus.archive_events('ar-all');
SELECT eventbus.update_archive('ar-all', retention_days => 1);
SELECT eventbus.delete_archive('ar-all');
SELECT count(*) AS visible FROM eventbus.list_archives();
SELECT count(*) FROM eventbus.archives;
RESET ROLE;

-- read_events: describe, list and read, but neither create nor change
SET ROLE ar_reader;
SELECT eventbus.describe_archive('ar-all') ->> 'EventCount' AS event_count;
SELECT detail FROM eventbus.archive_events('ar-all');
SELECT archive_name FROM eventbus.list_archives();
SELECT eventbus.create_archive('ar-r', 'ar-bus');
SELECT eventbus.update_archive('ar-all', retention_days => 1);
SELECT eventbus.delete_archive('ar-all');
RESET ROLE;
-- a reader who loses read_events is refused at once
SET ROLE ar_owner;
SELECT eventbus.revoke_event_bus_privilege('ar-bus', 'read_events', 'ar_reader');
RESET ROLE;
SET ROLE ar_reader;
SELECT count(*) FROM eventbus.archive_events('ar-all');
RESET ROLE;

-- manage_rules: may create archives (and owns them), change its own only
SET ROLE ar_owner;
SELECT eventbus.grant_event_bus_privilege('ar-bus', 'manage_rules', 'ar_stranger');
RESET ROLE;
SET ROLE ar_stranger;
SELECT eventbus.create_archive('ar-s', 'ar-bus') ->> 'ArchiveArn' AS arn;
SELECT eventbus.update_archive('ar-all', retention_days => 1);
SELECT eventbus.update_archive('ar-s', retention_days => 1) ->> 'State' AS state;
SELECT eventbus.delete_archive('ar-s');
RESET ROLE;
SELECT name, owner FROM eventbus.archives ORDER BY 1;

-- a bus with archives is deleted only with force, which deletes them
SET ROLE ar_owner;
SELECT eventbus.delete_event_bus('ar-other');
SELECT eventbus.delete_event_bus('ar-other', force => true);
SELECT count(*) AS archives_of_ar_other FROM eventbus.list_archives(event_source_arn => 'ar-other');
SELECT eventbus.delete_archive('ar-all');
SELECT eventbus.delete_archive('ar-big');
SELECT eventbus.delete_archive('ar-kept');
SELECT eventbus.delete_event_bus('ar-bus', force => true);
RESET ROLE;
SELECT count(*) AS archives_left FROM eventbus.archives;
DROP ROLE ar_owner, ar_reader, ar_stranger;
