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
