-- Putting events on buses: PutEvents (put_events), its SQL-friendly form
-- (put_event), and events as EventBridge envelopes (event_envelope, the
-- event_envelopes view).  See src/put_events*.c and src/envelope.c.

CREATE FUNCTION eventbus.put_events(entries jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_put_events'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION eventbus.put_events(jsonb) IS
'EventBridge''s PutEvents: takes {"Entries": [...]} (or the bare array) of entries with Source, DetailType, Detail (a JSON object, or a string holding one), and optionally EventBusName (name or ARN), Resources and Time (RFC 3339 text, or a number of seconds since 1970-01-01T00:00:00Z as the AWS SDKs send it); stores the good entries in eventbus.events in the caller''s transaction and returns {"FailedEntryCount": n, "Entries": [{"EventId": ...} | {"ErrorCode": ..., "ErrorMessage": ...}]} in request order. An empty request, or one with more than eventbus.max_entries_per_put entries, raises an error (22023 / 54000).';

CREATE FUNCTION eventbus.put_event(source text,
                                   detail_type text,
                                   detail jsonb,
                                   event_bus_name text DEFAULT 'default',
                                   resources text[] DEFAULT '{}',
                                   "time" timestamptz DEFAULT now())
RETURNS uuid
AS 'MODULE_PATHNAME', 'eventbus_put_event'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION eventbus.put_event(text, text, jsonb, text, text[], timestamptz) IS
'Puts one event on a bus (a name or an event bus ARN) and returns its id; raises an error for a bad event where put_events would answer an ErrorCode: 22023 (missing or invalid argument, detail not a JSON object), 42704 (unknown bus), 54000 (over eventbus.max_entry_size). NULL for event_bus_name, resources or time means the default.';

CREATE FUNCTION eventbus.event_envelope(e eventbus.events)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_event_envelope'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_envelope(eventbus.events) IS
'The event as EventBridge delivers it: {"version": "0", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}.';

CREATE VIEW eventbus.event_envelopes
WITH (security_invoker = true)
AS
SELECT e.id, e.bus, e.ingestion_time, eventbus.event_envelope(e) AS envelope
  FROM eventbus.events e;

COMMENT ON VIEW eventbus.event_envelopes IS
'Every stored event with its EventBridge envelope; filter on bus and ingestion_time to use the partitions.';
