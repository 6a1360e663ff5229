-- eventbus: EventBridge-style event routing inside PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION eventbus" to load this file. \quit

-- The extension's own schema, created here (not by the control file's
-- "schema" setting) so that it is a member of the extension and DROP
-- EXTENSION leaves nothing behind.
CREATE SCHEMA eventbus;
COMMENT ON SCHEMA eventbus IS 'eventbus: event buses, rules, targets, queues and events.';
