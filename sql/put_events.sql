-- PutEvents: eventbus.put_events (every request shape, every per-entry
-- failure, request-level errors, limits, transactions), eventbus.put_event,
-- and envelopes (event_envelope, the event_envelopes view).  Every event
-- here has a source beginning with "pe." so that counts ignore other tests.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';

-- Event ids are random: show them as <uuid v4> once their form is checked.
CREATE FUNCTION pg_temp.masked(r jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_set(r, '{Entries}',
        (SELECT coalesce(jsonb_agg(CASE
                    WHEN e ? 'EventId'
                     AND e->>'EventId' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
                    THEN '{"EventId": "<uuid v4>"}'::jsonb
                    ELSE e END ORDER BY n), '[]')
           FROM jsonb_array_elements(r->'Entries') WITH ORDINALITY AS x(e, n)))
$$;

-- The SQLSTATE and message of a statement's error, or "ok".
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

-- One entry's answer, masked.
CREATE FUNCTION pg_temp.put1(entry jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_temp.masked(eventbus.put_events(jsonb_build_array(entry)))->'Entries'->0
$$;

SELECT eventbus.create_event_bus('pe-orders') IS NOT NULL AS created;

-- ---------------------------------------------------------------------
-- Request shapes: {"Entries": [...]} and the bare array
-- ---------------------------------------------------------------------
CREATE TEMP TABLE answers (n serial, answer jsonb);

BEGIN;
INSERT INTO answers (answer)
SELECT eventbus.put_events('{"Entries": [{"Source": "pe.shape", "DetailType": "Wrapped", "Detail": "{\"n\": 1}"}]}');
INSERT INTO answers (answer)
SELECT eventbus.put_events('[{"Source": "pe.shape", "DetailType": "Bare", "Detail": "{\"n\": 2}"}]');
SELECT n, pg_temp.masked(answer) FROM answers ORDER BY n;

-- The ids answered are the ids stored, on the default bus, at now().
SELECT e.detail_type, e.bus, e.detail, e.resources, e."time" = now() AS time_is_now,
       e.ingestion_time = now() AS ingested_now,
       e.account = current_setting('eventbus.account') AS account_ok,
       e.region = current_setting('eventbus.region') AS region_ok
  FROM answers a
  JOIN eventbus.events e ON e.id = (a.answer->'Entries'->0->>'EventId')::uuid
 ORDER BY a.n;
COMMIT;
TRUNCATE answers;

-- ---------------------------------------------------------------------
-- Detail as a string and as an object
-- ---------------------------------------------------------------------
INSERT INTO answers (answer)
SELECT eventbus.put_events($$[
  {"Source": "pe.detail", "DetailType": "AsString", "Detail": "{\"order\": {\"id\": 7, \"items\": [1, 2.50]}, \"ok\": true}"},
  {"Source": "pe.detail", "DetailType": "AsObject", "Detail": {"order": {"id": 7, "items": [1, 2.50]}, "ok": true}},
  {"Source": "pe.detail", "DetailType": "Padded", "Detail": " \n\t{\"a\": null, \"b\": \"\\u00e9\\n\"} \r\n"},
  {"Source": "pe.detail", "DetailType": "Empty", "Detail": "{}"},
  {"Source": "pe.detail", "DetailType": "EmptyObject", "Detail": {}}
]$$);
SELECT pg_temp.masked(answer) FROM answers;
SELECT e.detail_type, e.detail
  FROM answers a,
       jsonb_array_elements(a.answer->'Entries') WITH ORDINALITY AS x(entry, n)
  JOIN eventbus.events e ON e.id = (x.entry->>'EventId')::uuid
 ORDER BY x.n;
TRUNCATE answers;

-- ---------------------------------------------------------------------
-- Every per-entry failure (EventBridge's ErrorCode and ErrorMessage)
-- ---------------------------------------------------------------------
-- an entry that is not an object
SELECT pg_temp.put1('"pe.not-an-object"');
SELECT pg_temp.put1('[1]');
-- Source: missing, null, empty, not a string
SELECT pg_temp.put1('{"DetailType": "T", "Detail": "{}"}');
SELECT pg_temp.put1('{"Source": null, "DetailType": "T", "Detail": "{}"}');
SELECT pg_temp.put1('{"Source": "", "DetailType": "T", "Detail": "{}"}');
SELECT pg_temp.put1('{"Source": 42, "DetailType": "T", "Detail": "{}"}');
-- Source is checked first: an empty entry answers for Source
SELECT pg_temp.put1('{}');
-- DetailType: missing, empty, not a string, longer than 128 characters
SELECT pg_temp.put1('{"Source": "pe.fail", "Detail": "{}"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "", "Detail": "{}"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": ["T"], "Detail": "{}"}');
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', repeat('é', 129), 'Detail', '{}'));
-- ... 128 characters (256 bytes) is fine
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', repeat('é', 128), 'Detail', '{}'));
-- Detail: missing, null, empty string
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": null}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": ""}');
-- Detail not a JSON object: MalformedDetail
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "not json"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "[1, 2]"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "\"a string\""}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "42"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{} {}"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{\"a\": 1,}"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{\"a\": 1"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": [1, 2]}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": 42}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": true}');
-- ... text jsonb cannot store (\u0000, a lone surrogate)
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{\"a\": \"\\u0000\"}"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{\"a\": \"\\ud800\"}"}');
-- ... nested up to 1000 levels is fine, 1001 is not
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'Deep',
       'Detail', '{"a": ' || repeat('[', 999) || repeat(']', 999) || '}'));
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'Deep',
       'Detail', '{"a": ' || repeat('[', 1000) || repeat(']', 1000) || '}'));
-- ... numbers: 1000 digits and exponents up to 1000 are fine, beyond is malformed
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'Number',
       'Detail', '{"a": -' || repeat('9', 1000) || '.' || repeat('1', 1000) || 'E+1000, "b": 1e-1000}'));
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'Number',
       'Detail', '{"a": ' || repeat('9', 1001) || '}'));
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "Number", "Detail": "{\"a\": 1e1001}"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "Number", "Detail": "{\"a\": 1e-99999999999999999999}"}');
-- ... digits inside strings are not numbers
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'Number',
       'Detail', '{"a": "' || repeat('9', 2000) || '"}'));
-- Resources: not an array, or an element that is not a string
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Resources": "arn:x"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Resources": ["a", 2]}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Resources": ["a", null]}');
-- Time: a string that is not RFC 3339
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "yesterday"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "now"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2024-01-01"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2024-13-01T00:00:00Z"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2023-02-29T00:00:00Z"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2024-01-01T24:00:00Z"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2024-01-01T00:00:00+24:00"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2024-01-01T00:00:00Zulu"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "2024-01-01T00:00:00."}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "0000-01-01T00:00:00Z"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": "1700000000"}');
-- Time: neither a string nor a number
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": true}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": [1700000000]}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": {"seconds": 1700000000}}');
-- Time: epoch seconds outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z
-- (milliseconds, the end of year 9999, before year 1, far beyond numeric ranges)
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": 1714566600123}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": 253402300800}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": -62135596800.000001}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": 1e300}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": -1e300}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "Time": 9e131071}');
-- JSON has no NaN or Infinity: numeric's become strings in jsonb, not RFC 3339
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'T', 'Detail', '{}',
       'Time', 'NaN'::numeric));
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.fail', 'DetailType', 'T', 'Detail', '{}',
       'Time', '-Infinity'::numeric));
-- EventBusName: unknown name or ARN, malformed ARN, empty, not a string
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": "pe-nope"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": "arn:aws:events:local:000000000000:event-bus/pe-nope"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": "arn:aws:sqs:local:000000000000:pe-orders"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": "arn:aws:events:local:000000000000:event-bus/"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": "arn:aws:events:local:event-bus/pe-orders"}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": ""}');
SELECT pg_temp.put1('{"Source": "pe.fail", "DetailType": "T", "Detail": "{}", "EventBusName": {"Name": "default"}}');
-- None of the refused entries was stored; the two fine ones were.
SELECT left(detail_type, 12) AS detail_type, count(*) FROM eventbus.events WHERE source = 'pe.fail' GROUP BY 1 ORDER BY 1;

-- ---------------------------------------------------------------------
-- A mixed request: bad entries fail alone, answers in request order
-- ---------------------------------------------------------------------
INSERT INTO answers (answer)
SELECT eventbus.put_events($${"Entries": [
  {"Source": "pe.mixed", "DetailType": "First", "Detail": "{\"i\": 1}"},
  {"Source": "pe.mixed", "Detail": "{\"i\": 2}"},
  {"Source": "pe.mixed", "DetailType": "Third", "Detail": "{\"i\": 3}", "EventBusName": "pe-orders"},
  {"Source": "pe.mixed", "DetailType": "Fourth", "Detail": "oops"},
  {"Source": "pe.mixed", "DetailType": "Fifth", "Detail": "{\"i\": 5}", "EventBusName": "pe-nope"},
  {"Source": "pe.mixed", "DetailType": "Sixth", "Detail": {"i": 6}, "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793", "Unknown": 1}
]}$$);
SELECT jsonb_pretty(pg_temp.masked(answer)) FROM answers;
SELECT x.n, e.detail_type, e.bus, e.detail
  FROM answers a,
       jsonb_array_elements(a.answer->'Entries') WITH ORDINALITY AS x(entry, n)
  JOIN eventbus.events e ON e.id = (x.entry->>'EventId')::uuid
 ORDER BY x.n;
SELECT count(*) FROM eventbus.events WHERE source = 'pe.mixed';
TRUNCATE answers;

-- An answer with every entry refused stores nothing.
SELECT pg_temp.masked(eventbus.put_events('[{"Source": "pe.allbad"}, {"Source": "pe.allbad", "DetailType": "T"}]'));
SELECT count(*) FROM eventbus.events WHERE source = 'pe.allbad';

-- ---------------------------------------------------------------------
-- EventBusName, Resources, Time
-- ---------------------------------------------------------------------
INSERT INTO answers (answer)
SELECT eventbus.put_events($$[
  {"Source": "pe.fields", "DetailType": "ByName", "Detail": "{}", "EventBusName": "pe-orders"},
  {"Source": "pe.fields", "DetailType": "ByArn", "Detail": "{}", "EventBusName": "arn:aws:events:local:000000000000:event-bus/pe-orders"},
  {"Source": "pe.fields", "DetailType": "ByOtherArn", "Detail": "{}", "EventBusName": "arn:aws-cn:events:cn-north-1:123456789012:event-bus/pe-orders"},
  {"Source": "pe.fields", "DetailType": "DefaultArn", "Detail": "{}", "EventBusName": "arn:aws:events:local:000000000000:event-bus/default"},
  {"Source": "pe.fields", "DetailType": "NullFields", "Detail": "{}", "EventBusName": null, "Resources": null, "Time": null},
  {"Source": "pe.fields", "DetailType": "Resources", "Detail": "{}", "Resources": ["arn:aws:s3:::bucket", "with \"quotes\", commas and {braces}", "back\\slash", "NULL", "", "ünï"]},
  {"Source": "pe.fields", "DetailType": "NoResources", "Detail": "{}", "Resources": []},
  {"Source": "pe.fields", "DetailType": "TimeZ", "Detail": "{}", "Time": "2024-02-29T23:59:59Z"},
  {"Source": "pe.fields", "DetailType": "TimeFraction", "Detail": "{}", "Time": "2024-02-29T23:59:59.123456789Z"},
  {"Source": "pe.fields", "DetailType": "TimeOffset", "Detail": "{}", "Time": "2024-01-01T05:30:00+05:30"}
]$$);
SELECT pg_temp.masked(answer)->'FailedEntryCount' AS failed FROM answers;
INSERT INTO answers (answer)
SELECT eventbus.put_events($$[
  {"Source": "pe.fields", "DetailType": "TimeNegative", "Detail": "{}", "Time": "2023-12-31t19:00:00-0500"},
  {"Source": "pe.fields", "DetailType": "TimeShortOffset", "Detail": "{}", "Time": "2024-01-01 00:00:00-08"},
  {"Source": "pe.fields", "DetailType": "TimeNoOffset", "Detail": "{}", "Time": "2024-07-01T12:00:00"},
  {"Source": "pe.fields", "DetailType": "TimeNoSeconds", "Detail": "{}", "Time": "2024-07-01T12:00z"},
  {"Source": "pe.fields", "DetailType": "TimeComma", "Detail": "{}", "Time": "2024-07-01T12:00:00,5Z"},
  {"Source": "pe.fields", "DetailType": "TimeLeapSecond", "Detail": "{}", "Time": "2016-12-31T23:59:60Z"},
  {"Source": "pe.fields", "DetailType": "TimeOld", "Detail": "{}", "Time": "0001-01-01T00:00:00Z"}
]$$);
-- Time as epoch seconds (a JSON number), as the AWS SDKs and CLI send it:
-- fractions below the microsecond are dropped (rounded down, as in the text
-- form); the range is that of RFC 3339's four-digit years
INSERT INTO answers (answer)
SELECT eventbus.put_events($$[
  {"Source": "pe.fields", "DetailType": "TimeEpoch", "Detail": "{}", "Time": 1714566600},
  {"Source": "pe.fields", "DetailType": "TimeEpochFraction", "Detail": "{}", "Time": 1714566600.123},
  {"Source": "pe.fields", "DetailType": "TimeEpochSubMicro", "Detail": "{}", "Time": 1714566600.1234569},
  {"Source": "pe.fields", "DetailType": "TimeEpochExponent", "Detail": "{}", "Time": 1.7145666E9},
  {"Source": "pe.fields", "DetailType": "TimeEpochZero", "Detail": "{}", "Time": 0},
  {"Source": "pe.fields", "DetailType": "TimeEpochTiny", "Detail": "{}", "Time": 1e-400}
]$$);
INSERT INTO answers (answer)
SELECT eventbus.put_events($$[
  {"Source": "pe.fields", "DetailType": "TimeEpochNegative", "Detail": "{}", "Time": -1.5},
  {"Source": "pe.fields", "DetailType": "TimeEpochNegativeSubMicro", "Detail": "{}", "Time": -0.0000001},
  {"Source": "pe.fields", "DetailType": "TimeEpochMin", "Detail": "{}", "Time": -62135596800},
  {"Source": "pe.fields", "DetailType": "TimeEpochMax", "Detail": "{}", "Time": 253402300799.999999},
  {"Source": "pe.fields", "DetailType": "TimeEpochMaxSubMicro", "Detail": "{}", "Time": 253402300799.9999999}
]$$);
SELECT pg_temp.masked(answer)->'FailedEntryCount' AS failed FROM answers ORDER BY n;
-- (without a Time, the time is now(), the ingestion time)
SELECT e.detail_type, e.bus, e.resources, cardinality(e.resources) AS n_resources,
       CASE WHEN e."time" = e.ingestion_time THEN 'now()' ELSE e."time"::text END AS "time"
  FROM answers a,
       jsonb_array_elements(a.answer->'Entries') WITH ORDINALITY AS x(entry, n)
  JOIN eventbus.events e ON e.id = (x.entry->>'EventId')::uuid
 ORDER BY a.n, x.n;
-- a fractional epoch is stored to the millisecond given, equal to the same
-- time as text; the envelope shows it to the second, as EventBridge does
SELECT e."time", e."time" = '2024-05-01T12:30:00.123Z'::timestamptz AS same_as_text,
       extract(epoch FROM e."time") AS epoch, eventbus.event_envelope(e)->>'time' AS envelope_time
  FROM eventbus.events e
 WHERE e.source = 'pe.fields' AND e.detail_type = 'TimeEpochFraction';
-- "NULL" is a string, not a NULL
SELECT r IS NULL AS is_null, r FROM eventbus.events e, unnest(e.resources) r
 WHERE e.source = 'pe.fields' AND e.detail_type = 'Resources';
TRUNCATE answers;

-- The bus is looked up on every call: a dropped bus refuses events, a new
-- one takes them at once.
SELECT eventbus.create_event_bus('pe-short-lived') IS NOT NULL AS created;
SELECT pg_temp.put1('{"Source": "pe.bus", "DetailType": "T", "Detail": "{}", "EventBusName": "pe-short-lived"}');
SELECT eventbus.delete_event_bus('pe-short-lived');
SELECT pg_temp.put1('{"Source": "pe.bus", "DetailType": "T", "Detail": "{}", "EventBusName": "pe-short-lived"}');
SELECT eventbus.create_event_bus('pe-short-lived') IS NOT NULL AS created;
SELECT pg_temp.put1('{"Source": "pe.bus", "DetailType": "T", "Detail": "{}", "EventBusName": "pe-short-lived"}');
SELECT eventbus.delete_event_bus('pe-short-lived');
SELECT bus, count(*) FROM eventbus.events WHERE source = 'pe.bus' GROUP BY bus;

-- ---------------------------------------------------------------------
-- Request-level errors: nothing is stored
-- ---------------------------------------------------------------------
SELECT eventbus.put_events('"Entries"');
SELECT eventbus.put_events('null');
SELECT eventbus.put_events('{"entries": []}');
SELECT eventbus.put_events('{"Entries": {"Source": "pe.request"}}');
SELECT eventbus.put_events('{"Entries": null}');
SELECT eventbus.put_events('[]');
SELECT eventbus.put_events('{"Entries": []}');
SELECT eventbus.put_events(NULL) IS NULL AS null_in_null_out;
-- eleven good entries: more than the ten of eventbus.max_entries_per_put
SELECT eventbus.put_events(jsonb_agg(jsonb_build_object('Source', 'pe.request', 'DetailType', 'T', 'Detail', '{}')))
  FROM generate_series(1, 11);
SELECT pg_temp.sqlstate_of($$SELECT eventbus.put_events('"x"')$$);
SELECT pg_temp.sqlstate_of($$SELECT eventbus.put_events('[]')$$);
SELECT pg_temp.sqlstate_of($$SELECT eventbus.put_events(jsonb_agg('{}'::jsonb)) FROM generate_series(1, 11)$$);
-- ten is fine
SELECT pg_temp.masked(eventbus.put_events(jsonb_agg(jsonb_build_object('Source', 'pe.request', 'DetailType', 'T', 'Detail', '{}'))))->'FailedEntryCount' AS failed
  FROM generate_series(1, 10);
SELECT count(*) FROM eventbus.events WHERE source = 'pe.request';

-- ---------------------------------------------------------------------
-- Limits, through the settings (superuser)
-- ---------------------------------------------------------------------
SET eventbus.max_entries_per_put = 2;
SELECT eventbus.put_events('[{"Source": "pe.limit", "DetailType": "T", "Detail": "{}"}, {"Source": "pe.limit", "DetailType": "T", "Detail": "{}"}, {"Source": "pe.limit", "DetailType": "T", "Detail": "{}"}]');
SELECT pg_temp.masked(eventbus.put_events('[{"Source": "pe.limit", "DetailType": "T", "Detail": "{}"}, {"Source": "pe.limit", "DetailType": "T", "Detail": "{}"}]'));
RESET eventbus.max_entries_per_put;

-- Entry size, as EventBridge counts it: 14 bytes for a Time, then the UTF-8
-- bytes of Source, DetailType, Detail and each of the Resources.
SET eventbus.max_entry_size = 1024;
-- "pe.size" 7 + "Big" 3 + Detail 8 + n + Time 14 + Resources "r" 1 = 33 + n
SELECT n, pg_temp.put1(jsonb_build_object('Source', 'pe.size', 'DetailType', 'Big',
          'Detail', '{"k":"' || repeat('x', n) || '"}', 'Time', '2024-01-01T00:00:00Z',
          'Resources', jsonb_build_array('r')))
  FROM (VALUES (991), (992)) AS v(n);
-- a Time given as epoch seconds counts the same 14 bytes
SELECT n, pg_temp.put1(jsonb_build_object('Source', 'pe.size', 'DetailType', 'Big',
          'Detail', '{"k":"' || repeat('x', n) || '"}', 'Time', 1704067200.5,
          'Resources', jsonb_build_array('r')))
  FROM (VALUES (991), (992)) AS v(n);
-- bytes, not characters: "é" is 2 bytes; 7 + 3 + 8 + 2n
SELECT n, pg_temp.put1(jsonb_build_object('Source', 'pe.size', 'DetailType', 'Big',
          'Detail', '{"k":"' || repeat('é', n) || '"}'))
  FROM (VALUES (503), (504)) AS v(n);
-- a Detail given as an object counts as its text: {"k": "..."} is 9 + n
SELECT n, pg_temp.put1(jsonb_build_object('Source', 'pe.size', 'DetailType', 'Big',
          'Detail', jsonb_build_object('k', repeat('x', n))))
  FROM (VALUES (1005), (1006)) AS v(n);
-- EventBusName does not count
SELECT pg_temp.put1(jsonb_build_object('Source', 'pe.size', 'DetailType', 'Big',
          'Detail', '{"k":"' || repeat('x', 1006) || '"}',
          'EventBusName', 'arn:aws:events:local:000000000000:event-bus/default'));
SELECT pg_temp.sqlstate_of($$SELECT eventbus.put_event('pe.size', 'Big', jsonb_build_object('k', repeat('x', 2000)))$$);
RESET eventbus.max_entry_size;
SELECT length(detail::text) AS detail_length FROM eventbus.events WHERE source = 'pe.size' ORDER BY 1;
-- a non-superuser cannot raise the limits
CREATE ROLE pe_user;
SET ROLE pe_user;
SET eventbus.max_entries_per_put = 100;
SET eventbus.max_entry_size = 4096;
RESET ROLE;
DROP ROLE pe_user;

-- ---------------------------------------------------------------------
-- Transactions: a rollback removes what was put
-- ---------------------------------------------------------------------
BEGIN;
SELECT pg_temp.masked(eventbus.put_events('[{"Source": "pe.tx", "DetailType": "T", "Detail": "{}"}, {"Source": "pe.tx", "DetailType": "T", "Detail": "{}"}]'));
SELECT eventbus.put_event('pe.tx', 'T', '{}') IS NOT NULL AS put;
SELECT count(*) FROM eventbus.events WHERE source = 'pe.tx';
ROLLBACK;
SELECT count(*) FROM eventbus.events WHERE source = 'pe.tx';
-- ... and an error later in the transaction too
BEGIN;
SELECT pg_temp.masked(eventbus.put_events('[{"Source": "pe.tx", "DetailType": "T", "Detail": "{}"}]'));
SELECT eventbus.put_events('[]');
COMMIT;
SELECT count(*) FROM eventbus.events WHERE source = 'pe.tx';
-- ... while a committed one stays
BEGIN;
SELECT pg_temp.masked(eventbus.put_events('[{"Source": "pe.tx", "DetailType": "T", "Detail": "{}"}]'));
COMMIT;
SELECT count(*) FROM eventbus.events WHERE source = 'pe.tx';

-- ---------------------------------------------------------------------
-- put_event: the SQL form, with errors instead of per-entry answers
-- ---------------------------------------------------------------------
CREATE TEMP TABLE put_ids (label text, id uuid);
INSERT INTO put_ids SELECT 'minimal', eventbus.put_event('pe.one', 'Minimal', '{"a": 1}');
INSERT INTO put_ids SELECT 'full', eventbus.put_event('pe.one', 'Full', '{"b": [true, null]}',
    event_bus_name => 'pe-orders', resources => ARRAY['arn:aws:s3:::b', 'x"y'],
    "time" => '2024-03-04 05:06:07.5+01');
INSERT INTO put_ids SELECT 'arn', eventbus.put_event('pe.one', 'Arn', '{}',
    'arn:aws:events:local:000000000000:event-bus/pe-orders');
INSERT INTO put_ids SELECT 'nulls', eventbus.put_event('pe.one', 'Nulls', '{}', NULL, NULL, NULL);
SELECT p.label, e.bus, e.detail_type, e.detail, e.resources,
       CASE WHEN e."time" = e.ingestion_time THEN 'now()' ELSE e."time"::text END AS "time",
       p.id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS uuid_v4
  FROM put_ids p JOIN eventbus.events e ON e.id = p.id
 ORDER BY p.label;
-- errors
SELECT eventbus.put_event(NULL, 'T', '{}');
SELECT eventbus.put_event('', 'T', '{}');
SELECT eventbus.put_event('pe.one', NULL, '{}');
SELECT eventbus.put_event('pe.one', repeat('x', 129), '{}');
SELECT eventbus.put_event('pe.one', 'T', NULL);
SELECT eventbus.put_event('pe.one', 'T', '[1]');
SELECT eventbus.put_event('pe.one', 'T', '"text"');
SELECT eventbus.put_event('pe.one', 'T', '{}', 'pe-nope');
SELECT eventbus.put_event('pe.one', 'T', '{}', 'arn:aws:events:local:000000000000:event-bus/pe-nope');
SELECT eventbus.put_event('pe.one', 'T', '{}', 'arn:aws:events:local:000000000000:rule/x');
SELECT eventbus.put_event('pe.one', 'T', '{}', '');
SELECT eventbus.put_event('pe.one', 'T', '{}', resources => ARRAY['a', NULL]);
SELECT eventbus.put_event('pe.one', 'T', '{}', resources => ARRAY[['a'], ['b']]);
SELECT eventbus.put_event('pe.one', 'T', '{}', "time" => 'infinity');
SELECT pg_temp.sqlstate_of(stmt)
  FROM (VALUES ($$SELECT eventbus.put_event(NULL, 'T', '{}')$$),
               ($$SELECT eventbus.put_event('pe.one', 'T', '[1]')$$),
               ($$SELECT eventbus.put_event('pe.one', 'T', '{}', 'pe-nope')$$),
               ($$SELECT eventbus.put_event('pe.one', 'T', '{}', resources => ARRAY[NULL::text])$$)) AS s(stmt);
SELECT count(*) FROM eventbus.events WHERE source = 'pe.one';

-- ---------------------------------------------------------------------
-- Envelopes
-- ---------------------------------------------------------------------
SET eventbus.region = 'eu-test-1';
SET eventbus.account = '123456789012';
INSERT INTO put_ids SELECT 'envelope', eventbus.put_event('pe.envelope', 'Order Placed',
    '{"order": {"id": 42, "total": 12.50}, "tags": ["a", "b"]}',
    resources => ARRAY['arn:aws:s3:::orders/42'], "time" => '2024-05-06 07:08:09.987654+02');
RESET eventbus.region;
RESET eventbus.account;
SELECT jsonb_pretty(eventbus.event_envelope(e) - 'id')
  FROM eventbus.events e JOIN put_ids p ON p.id = e.id WHERE p.label = 'envelope';
-- the id is the event's, the time is the event's time in UTC, to the second
SELECT v.envelope->>'id' = v.id::text AS id_ok, v.envelope->>'time' AS "time",
       v.bus, v.ingestion_time = e.ingestion_time AS ingestion_time_ok
  FROM eventbus.event_envelopes v JOIN eventbus.events e USING (id)
 WHERE e.source = 'pe.envelope';
-- the envelope of a put_events entry, and of events without resources
SELECT envelope - 'id' - 'time'
  FROM eventbus.event_envelopes v JOIN eventbus.events e USING (id)
 WHERE e.source = 'pe.one' AND e.detail_type IN ('Minimal', 'Full')
 ORDER BY e.detail_type;
SELECT envelope->>'time' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$' AS time_format_ok, count(*)
  FROM eventbus.event_envelopes v JOIN eventbus.events e USING (id)
 WHERE e.source LIKE 'pe.%' GROUP BY 1;
-- a row value built by hand
SELECT eventbus.event_envelope(jsonb_populate_record(NULL::eventbus.events,
       '{"id": "00000000-0000-4000-8000-000000000042", "bus": "b", "time": "2024-01-01T00:00:00.999+00",
         "source": "s", "detail_type": "dt", "account": "acct", "region": "rgn",
         "resources": ["r1", "r2"], "detail": {"x": {}}, "ingestion_time": "2024-01-01T00:00:01+00"}'));
SELECT eventbus.event_envelope(NULL::eventbus.events) IS NULL AS null_in_null_out;

-- ---------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------
DELETE FROM eventbus.events WHERE source LIKE 'pe.%';
SELECT eventbus.delete_event_bus('pe-orders');
SELECT count(*) FROM eventbus.event_buses WHERE name LIKE 'pe-%';
