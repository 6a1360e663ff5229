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
-- Event patterns: EventBridge's answers.
--
-- TestEventPattern no longer requires resources; the domain event_pattern
-- checks with the loader's rules, so that rules stored by 0.1.0 survive
-- dump and restore under 0.2.0's stricter validation; put_rule applies
-- eventbus.max_pattern_size (the compiler no longer does).
COMMENT ON FUNCTION eventbus.test_event_pattern(jsonb, jsonb) IS
'EventBridge''s TestEventPattern: the event must be an object with the fields id, account, source, time, region and detail-type (of any type); an incomplete event or an invalid pattern raises SQLSTATE 22023.';

CREATE FUNCTION eventbus._check_stored_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_check_stored_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._check_stored_event_pattern(jsonb) IS
'Internal: the check of domain event_pattern. Returns true, or raises the pattern''s reason (SQLSTATE 22023); accepts the patterns that earlier versions stored, which validate_event_pattern may refuse.';

ALTER DOMAIN eventbus.event_pattern DROP CONSTRAINT event_pattern_check;
ALTER DOMAIN eventbus.event_pattern
    ADD CONSTRAINT event_pattern_check CHECK (eventbus._check_stored_event_pattern(VALUE));

CREATE OR REPLACE FUNCTION eventbus.put_rule(name text, event_pattern jsonb,
                                  event_bus_name text DEFAULT 'default',
                                  state text DEFAULT 'ENABLED',
                                  description text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(put_rule.event_bus_name);
BEGIN
    IF put_rule.name IS NULL OR put_rule.name !~ '^[A-Za-z0-9._-]{1,64}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule name %L', put_rule.name),
            'A rule name has 1 to 64 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "approved-applications".');
    END IF;
    IF put_rule.event_pattern IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('rule %L has no event pattern', put_rule.name),
            'A rule routes the events that match its event pattern.',
            'Pass an event pattern such as ''{"source": ["my.app"]}''.');
    END IF;
    PERFORM eventbus.validate_event_pattern(put_rule.event_pattern);
    -- The size quota applies where patterns are defined, never where stored
    -- rules are loaded: lowering it leaves existing rules routing.
    IF length(put_rule.event_pattern::text) > current_setting('eventbus.max_pattern_size')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event pattern of rule %L is %s characters long, over the limit of %s',
                   put_rule.name, length(put_rule.event_pattern::text),
                   current_setting('eventbus.max_pattern_size')),
            'eventbus.max_pattern_size bounds the patterns put_rule accepts, counted in characters of the pattern as jsonb prints it (EventBridge''s quota is 2048); rules already stored keep routing.',
            'Shorten the pattern, or raise eventbus.max_pattern_size.');
    END IF;
    IF put_rule.state IS NULL OR put_rule.state NOT IN ('ENABLED', 'DISABLED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule state %L', put_rule.state),
            'A rule''s state is ENABLED or DISABLED.',
            'Pass state => ''ENABLED'' or state => ''DISABLED''.');
    END IF;
    PERFORM eventbus._check_description(put_rule.description, format('rule %L', put_rule.name));
    PERFORM eventbus._lock_bus(v_bus);
    -- As EventBridge's PutRule: an update replaces the pattern, state and
    -- description with what is given.
    INSERT INTO eventbus.rules AS r (bus, name, event_pattern, state, description)
    VALUES (v_bus, put_rule.name, put_rule.event_pattern, put_rule.state, put_rule.description)
    ON CONFLICT ON CONSTRAINT rules_pkey DO UPDATE
       SET event_pattern = excluded.event_pattern,
           state = excluded.state,
           description = excluded.description,
           updated_at = now();
    RETURN jsonb_build_object('RuleArn', eventbus.rule_arn(put_rule.name, v_bus));
END;
$fn$;

COMMENT ON FUNCTION eventbus.put_rule(text, jsonb, text, text, text) IS
'EventBridge''s PutRule: creates or replaces a rule (event pattern, ENABLED/DISABLED, description) on a bus and returns {"RuleArn": ...}. An invalid pattern raises its reason (SQLSTATE 22023); a pattern longer than eventbus.max_pattern_size raises SQLSTATE 54000.';
