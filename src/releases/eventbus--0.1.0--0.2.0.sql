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
