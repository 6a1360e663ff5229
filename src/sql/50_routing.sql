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
