-- Searching stored events by event pattern: search_events.
--
-- A pattern query over eventbus.events gets index conditions from the
-- pattern's exact values when the pattern is a constant of the query and
-- the conditions may be used as index conditions (src/pattern_support.c).
-- Neither holds for an ordinary role's own query: row-level security keeps
-- its non-leakproof conditions (jsonb's @@ among them) above the policy's,
-- so out of the indexes.  search_events checks read_events on the bus,
-- then runs the query as the extension's owner with the pattern written
-- into it as a literal: the same rows the role may read, found through the
-- indexes.

CREATE FUNCTION eventbus._search_events_sql(bus text, event_pattern jsonb,
                                            start_time timestamptz, end_time timestamptz,
                                            max_events integer)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.format(
        'SELECT e.* FROM eventbus.events e'
        ' WHERE e.bus = %L AND e.ingestion_time >= %L AND e.ingestion_time < %L'
        '   AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) %L::jsonb'
        ' ORDER BY e.ingestion_time, e.id LIMIT %s',
        bus, start_time, end_time, event_pattern::text, max_events)
$fn$;

COMMENT ON FUNCTION eventbus._search_events_sql(text, jsonb, timestamptz, timestamptz, integer) IS
'Internal: the query search_events runs (the pattern and bounds as literals, so that the planner derives index conditions from the pattern).';
REVOKE ALL ON FUNCTION eventbus._search_events_sql(text, jsonb, timestamptz, timestamptz, integer) FROM PUBLIC;

CREATE FUNCTION eventbus.search_events(event_pattern jsonb,
                                       event_bus_name text DEFAULT 'default',
                                       start_time timestamptz DEFAULT '-infinity',
                                       end_time timestamptz DEFAULT 'infinity',
                                       max_events integer DEFAULT 1000)
RETURNS SETOF eventbus.events
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.search_events(jsonb, text, timestamptz, timestamptz, integer) IS
'The stored events of a bus (a name or ARN) whose ingestion_time is in [start_time, end_time) and that match an event pattern, in order (ingestion_time, id), at most max_events (1 to 1000000) of them; found through the indexes the pattern''s exact values allow (see pattern_index_conditions). Needs read_events on the bus (42501); an invalid pattern raises its reason (22023).';

CREATE FUNCTION eventbus._search_events_impl(event_pattern jsonb, event_bus_name text,
                                             start_time timestamptz, end_time timestamptz,
                                             max_events integer)
RETURNS SETOF eventbus.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_search_events_impl.event_bus_name);
BEGIN
    IF _search_events_impl.event_pattern IS NULL THEN
        PERFORM eventbus._raise('22023', 'search_events needs an event pattern',
            'The events returned are those that match the pattern.',
            'Pass a pattern such as ''{"source": ["my.app"]}''.');
    END IF;
    PERFORM eventbus.validate_event_pattern(_search_events_impl.event_pattern);
    IF max_events IS NULL OR max_events NOT BETWEEN 1 AND 1000000 THEN
        PERFORM eventbus._raise('22023',
            format('invalid max_events %s', coalesce(max_events::text, 'NULL')),
            'search_events returns at most max_events events.',
            'Use a value from 1 to 1000000.');
    END IF;
    IF start_time IS NULL OR end_time IS NULL THEN
        PERFORM eventbus._raise('22023', 'search_events needs start_time and end_time',
            'The events returned are those ingested in [start_time, end_time).',
            'Omit them for every event, or pass ''-infinity'' / ''infinity''.');
    END IF;
    PERFORM eventbus._check_bus(v_bus);
    PERFORM eventbus._require_privilege('bus', v_bus, 'read_events');
    RETURN QUERY EXECUTE eventbus._search_events_sql(v_bus, _search_events_impl.event_pattern,
                                                     start_time, end_time, max_events);
END;
$fn$;

COMMENT ON FUNCTION eventbus._search_events_impl(jsonb, text, timestamptz, timestamptz, integer) IS
'Internal: implementation of search_events.';
REVOKE ALL ON FUNCTION eventbus._search_events_impl(jsonb, text, timestamptz, timestamptz, integer) FROM PUBLIC;
