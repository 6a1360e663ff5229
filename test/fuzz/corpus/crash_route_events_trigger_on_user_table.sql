-- Crash: eventbus.route_events() attached by a user to a table of their own
-- (PUBLIC may execute it, so CREATE TRIGGER is allowed) that has as many
-- columns as eventbus.events but other types: the trigger reads the
-- transition table's columns as eventbus.events' and the backend
-- segfaulted.  Expected: an error.
CREATE TEMP TABLE not_events (c0 jsonb, c1 boolean, c2 boolean, c3 bigint,
    c4 bytea, c5 text, c6 timestamptz, c7 name, c8 real, c9 json, c10 bigint, c11 uuid);
CREATE TRIGGER route AFTER INSERT ON not_events REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.route_events();
INSERT INTO not_events DEFAULT VALUES;
-- the same with 13 columns (found by the harness, seed 1)
CREATE TEMP TABLE not_events2 (c0 json, c1 text[], c2 integer, c3 int[], c4 real, c5 int[],
    c6 text, c7 text[], c8 real, c9 jsonb, c10 bytea, c11 numeric, c12 name);
CREATE TRIGGER route AFTER INSERT ON not_events2 REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.route_events();
INSERT INTO not_events2 DEFAULT VALUES;
