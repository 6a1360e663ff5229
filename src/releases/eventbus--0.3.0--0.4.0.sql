-- eventbus 0.3.0 -> 0.4.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.4.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Outbox scan floors (src/outbox_floor.c): claims walk the primary key from
-- the lowest id an outbox can still hold.

CREATE FUNCTION eventbus._outbox_floor(outbox regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_outbox_floor'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._outbox_floor(regclass) IS
'Internal: the scan floor of an outbox (no message has a lower or equal id; claims walk its primary key from there), kept in shared memory by the database''s first delivery worker; 0 when not known.';
REVOKE ALL ON FUNCTION eventbus._outbox_floor(regclass) FROM PUBLIC;
