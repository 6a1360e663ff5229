-- Routing: the statement trigger that fans events into outboxes, and the
-- triggers that make every backend rebuild its rule indexes when rules or
-- targets change.

CREATE FUNCTION eventbus.route_events()
RETURNS trigger
AS 'MODULE_PATHNAME', 'eventbus_route_events'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.route_events() IS
'Trigger on eventbus.events: writes a message into the outbox of every target of every enabled rule that matches each new event.';

CREATE TRIGGER route_events
    AFTER INSERT ON eventbus.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.route_events();

CREATE FUNCTION eventbus.catalog_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'eventbus_catalog_changed'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.catalog_changed() IS
'Trigger on eventbus.rules and eventbus.targets: makes every session rebuild its rule index after the change commits.';

CREATE TRIGGER rules_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.rules
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

CREATE TRIGGER targets_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.targets
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

CREATE FUNCTION eventbus._rule_index_anchors(bus text,
    OUT rule text, OUT anchor_path text, OUT anchor_values text[], OUT anchor_kind text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_rule_index_anchors'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._rule_index_anchors(text) IS
'Internal: the rule index anchors of a bus, by name.';

CREATE FUNCTION eventbus.rule_index_anchors(event_bus_name text DEFAULT 'default',
    OUT rule text, OUT anchor_path text, OUT anchor_values text[], OUT anchor_kind text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.rule_index_anchors(text) IS
'How routing finds each enabled rule of a bus: the field path and values that anchor it in the rule index (the rule is a candidate only for events with one of these values there), or anchor_kind none when it is tried on every event (schedule: a rule with a schedule only, never tried on events). Needs manage_rules or read_events on the bus (42501).';

CREATE FUNCTION eventbus._rule_index_anchors_impl(event_bus_name text, OUT rule text, OUT anchor_path text, OUT anchor_values text[], OUT anchor_kind text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(event_bus_name);
BEGIN
    -- (a bus that does not exist has no anchors)
    IF EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = v_bus)
       AND NOT eventbus.has_event_bus_privilege(v_bus, 'read_events', eventbus._caller()) THEN
        PERFORM eventbus._require_privilege('bus', v_bus, 'manage_rules');
    END IF;
    RETURN QUERY SELECT * FROM eventbus._rule_index_anchors(v_bus) ORDER BY 1;
END;
$fn$;

COMMENT ON FUNCTION eventbus._rule_index_anchors_impl(text) IS
'Internal: implementation of rule_index_anchors.';
REVOKE ALL ON FUNCTION eventbus._rule_index_anchors_impl(text) FROM PUBLIC;
