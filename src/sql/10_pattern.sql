-- The event pattern language: the pattern-match operator, TestEventPattern,
-- validation, and a domain for columns that hold patterns.

-- The planner support function of event_matches: when the event is
-- eventbus.event_envelope(e) of a row of eventbus.events and the pattern a
-- constant, it adds conditions on e's columns that indexes can use (see
-- src/pattern_support.c and eventbus.pattern_index_conditions).
CREATE FUNCTION eventbus._event_matches_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'eventbus_event_matches_support'
LANGUAGE C STRICT;

COMMENT ON FUNCTION eventbus._event_matches_support(internal) IS
'Internal: planner support function of event_matches; derives index conditions on eventbus.events from the exact values of a constant pattern matched against eventbus.event_envelope(e).';

CREATE FUNCTION eventbus.event_matches(event jsonb, pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_event_matches'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SUPPORT eventbus._event_matches_support;

COMMENT ON FUNCTION eventbus.event_matches(jsonb, jsonb) IS
'true when the event matches the EventBridge event pattern; the function behind the =~ operator. An invalid pattern raises SQLSTATE 22023.';

CREATE OPERATOR eventbus.=~ (
    LEFTARG = jsonb,
    RIGHTARG = jsonb,
    FUNCTION = eventbus.event_matches,
    RESTRICT = matchingsel,
    JOIN = matchingjoinsel
);

COMMENT ON OPERATOR eventbus.=~ (jsonb, jsonb) IS
'event =~ pattern: does the event match the EventBridge event pattern?';

CREATE FUNCTION eventbus.test_event_pattern(event jsonb, pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_test_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.test_event_pattern(jsonb, jsonb) IS
'EventBridge''s TestEventPattern: the event must be an object with the fields id, account, source, time, region and detail-type (of any type); an incomplete event or an invalid pattern raises SQLSTATE 22023.';

CREATE FUNCTION eventbus.validate_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_event_pattern(jsonb) IS
'Returns true for a valid event pattern; raises "Event pattern is not valid. Reason: ..." (SQLSTATE 22023) otherwise.';

CREATE FUNCTION eventbus.is_valid_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_is_valid_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.is_valid_event_pattern(jsonb) IS
'true for a valid event pattern, false otherwise; never raises.';

CREATE FUNCTION eventbus._check_stored_event_pattern(pattern jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_check_stored_event_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._check_stored_event_pattern(jsonb) IS
'Internal: the check of domain event_pattern. Returns true, or raises the pattern''s reason (SQLSTATE 22023); accepts the patterns that earlier versions stored, which validate_event_pattern may refuse.';

CREATE DOMAIN eventbus.event_pattern AS jsonb
    CONSTRAINT event_pattern_check CHECK (eventbus._check_stored_event_pattern(VALUE));

COMMENT ON DOMAIN eventbus.event_pattern IS
'A jsonb value that is a valid EventBridge event pattern; a cast of an invalid pattern raises the pattern''s reason.';
