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
-- One home for logic that existed twice: EventBusName parsing and bus and
-- rule ARNs in C (src/arn.c); writing messages, moving them to the dead
-- letters and the queue channel in C (src/outbox.c), called from SQL.

CREATE OR REPLACE FUNCTION eventbus._bus_name(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_name(text) IS
'Internal: the bus name in an EventBusName argument (a name or an event-bus ARN); NULL means "default". Raises 22023 for an empty name or an ARN that is not an event bus ARN.';

CREATE OR REPLACE FUNCTION eventbus._bus_arn_name(arn text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_arn_name'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_arn_name(text) IS
'Internal: the bus name in an event bus ARN; NULL when arn is not a well-formed event bus ARN.';

CREATE OR REPLACE FUNCTION eventbus._parse_target_arn(arn text, OUT kind text, OUT destination text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF arn ~ '^queue:.' THEN
        kind := 'queue';
        destination := substr(arn, 7);
    ELSIF arn ~ '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:[^:/]+$' THEN
        kind := 'queue';
        destination := substring(arn FROM '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:([^:/]+)$');
    ELSIF arn ~ '^function:.' THEN
        kind := 'function';
        destination := substr(arn, 10);
    ELSIF arn ~ '^bus:.' THEN
        kind := 'bus';
        destination := substr(arn, 5);
    ELSIF eventbus._bus_arn_name(arn) IS NOT NULL THEN
        kind := 'bus';
        destination := eventbus._bus_arn_name(arn);
    ELSIF arn ~ '^notify:.' THEN
        kind := 'notify';
        destination := substr(arn, 8);
    ELSIF arn ~* '^https?://.' THEN
        kind := 'http';
        destination := arn;
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._parse_target_arn(text) IS
'Internal: the kind (queue, function, bus, notify, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

CREATE OR REPLACE FUNCTION eventbus.event_bus_arn(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_event_bus_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_bus_arn(text) IS
'The ARN of an event bus: arn:aws:events:<region>:<account>:event-bus/<name> (eventbus.region, eventbus.account). Does not check that the bus exists.';

CREATE OR REPLACE FUNCTION eventbus.rule_arn(rule text, event_bus_name text DEFAULT 'default')
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_rule_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.rule_arn(text, text) IS
'The ARN of a rule, as EventBridge forms it: arn:aws:events:<region>:<account>:rule/<name> on the default bus, .../rule/<bus>/<name> on other buses. Does not check that the rule exists.';
