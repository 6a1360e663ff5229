-- Reading and writing stored events and dead letters, bus by bus.
--
-- Every role may INSERT into and SELECT from eventbus.events, and row-level
-- security keeps each to its buses: a row goes in only on a bus the role
-- holds put_events on (as put_events checks, src/put_events_store.c), and
-- a role sees only the events of buses it holds read_events on.  Nothing
-- else is granted: events are never updated or deleted by users, and the
-- partitions (eventbus.events_default and the daily ones) grant nothing, so
-- they are reached only through eventbus.events and its policies.  The
-- owner of the tables (the extension's owner: receive(), the delivery
-- worker) is not subject to the policies.
--
-- The view eventbus.event_envelopes reads eventbus.events with the rights
-- and policies of whoever queries it (security_invoker, PostgreSQL 15 and
-- later: on older versions the view would read as its owner, so eventbus
-- needs 15).
--
-- Dead letters are read by the roles that hold read_events on the bus, and
-- by the owner of the rule whose target failed.  Only the extension's
-- functions move or delete them.

CREATE FUNCTION eventbus._owns_rule(bus text, rule text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_owns_rule' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus._owns_rule(text, text) IS
'Internal: whether the current role owns the rule (or has its owner''s privileges); for the policy on eventbus.dead_letters.';

-- A replayed event (replay_name set) is never archived and may go to some
-- rules only: only the replay itself, acting as its owner, puts those.
CREATE FUNCTION eventbus._replaying_as(replay_name text, role name)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN EXISTS (SELECT FROM eventbus.replays r
                    WHERE r.name = _replaying_as.replay_name
                      AND r.state IN ('STARTING', 'RUNNING', 'CANCELLING')
                      AND r.owner::oid = (SELECT o.oid FROM pg_catalog.pg_roles o
                                            WHERE o.rolname = _replaying_as.role));
END;
$fn$;
COMMENT ON FUNCTION eventbus._replaying_as(text, name) IS
'Internal: whether a role runs the active replay of that name (it may put events that carry the replay''s name); for the policy on eventbus.events.';

ALTER TABLE eventbus.events ENABLE ROW LEVEL SECURITY;
GRANT INSERT, SELECT ON eventbus.events TO PUBLIC;
CREATE POLICY events_put ON eventbus.events FOR INSERT TO PUBLIC
    WITH CHECK (eventbus.has_event_bus_privilege(bus, 'put_events')
                AND (replay_name IS NULL OR eventbus._replaying_as(replay_name, current_user)));
CREATE POLICY events_read ON eventbus.events FOR SELECT TO PUBLIC
    USING (eventbus.has_event_bus_privilege(bus, 'read_events'));
COMMENT ON POLICY events_put ON eventbus.events IS
'A role inserts events only on buses it holds put_events on, and events with a replay_name only as the owner of that active replay.';
COMMENT ON POLICY events_read ON eventbus.events IS
'A role reads the events of the buses it holds read_events on.';
GRANT SELECT ON eventbus.event_envelopes TO PUBLIC;

ALTER TABLE eventbus.dead_letters ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON eventbus.dead_letters TO PUBLIC;
CREATE POLICY dead_letters_read ON eventbus.dead_letters FOR SELECT TO PUBLIC
    USING (eventbus.has_event_bus_privilege(bus, 'read_events')
           OR eventbus._owns_rule(bus, rule));
COMMENT ON POLICY dead_letters_read ON eventbus.dead_letters IS
'A role reads the dead letters of the buses it holds read_events on and of the rules it owns.';
