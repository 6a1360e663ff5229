-- Replays: EventBridge's StartReplay, DescribeReplay, CancelReplay and
-- ListReplays.
--
-- A replay re-sends the events of an archive whose ingestion_time is in
-- [EventStartTime, EventEndTime) to the archive's bus (EventBridge replays
-- only to the bus the archive is of), optionally only to some of its rules
-- (Destination.FilterArns, rule ARNs).  Unlike EventBridge, which replays
-- by the events' "time" field in one-minute slices, the window and the
-- order are the archive's: ingestion_time, then id.  EventEndTime may not
-- be in the future (the window must be complete when the replay starts).
--
-- The replay runs in the background (src/replay.c): the first delivery
-- worker of the database re-inserts the events into eventbus.events in
-- batches of eventbus.replay_batch_size, in archive order, each carrying
-- the replay's name in replay_name ("replay-name" in the envelope, so
-- rules can match it), with their original id and time.  It acts as the
-- replay's owner (the role that started it): row-level security and the
-- owner's rights apply, and a right lost meanwhile ends the replay FAILED.
-- Each batch commits together with the replay's cursor (the last event's
-- ingestion_time and id), so a crash resumes where the last batch ended:
-- every event of the window is replayed exactly once.  Routing sends a
-- replayed event only to the replay's FilterArns rules (src/route.c).
-- Replayed events are in no archive.
--
-- States: STARTING (made, no batch yet), RUNNING, CANCELLING (cancel_replay;
-- the worker stops at its next batch boundary), CANCELLED, COMPLETED,
-- FAILED (StateReason says why).
--
-- Rights: start_replay needs read_events on the archive's bus and
-- put_events on the destination bus; describe_replay and list_replays
-- need read_events on the replay's bus; cancel_replay needs being the
-- replay's owner, the bus's owner or an eventbus_admin.
--
-- ARNs: arn:aws:events:<region>:<account>:replay/<name>.

CREATE TABLE eventbus.replays (
    name                     text PRIMARY KEY,
    -- the archive's name (an archive with an active replay is not deleted)
    archive                  text NOT NULL,
    -- the destination bus: the archive's
    bus                      text NOT NULL,
    -- rule ARNs (Destination.FilterArns); NULL: every rule of the bus
    filter_rules             text[],
    event_start_time         timestamptz NOT NULL,
    event_end_time           timestamptz NOT NULL,
    state                    text NOT NULL DEFAULT 'STARTING',
    state_reason             text,
    description              text,
    event_last_replayed_time timestamptz,
    -- the last event replayed, in archive order (ingestion_time, id)
    cursor_ingestion_time    timestamptz NOT NULL DEFAULT '-infinity',
    cursor_id                uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    replayed_count           bigint NOT NULL DEFAULT 0,
    replay_start_time        timestamptz NOT NULL DEFAULT now(),
    replay_end_time          timestamptz,
    -- the role the replay acts as: whoever started it
    owner                    regrole NOT NULL,
    CONSTRAINT replays_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,64}$'),
    CONSTRAINT replays_state_valid CHECK (
        state IN ('STARTING', 'RUNNING', 'CANCELLING', 'CANCELLED', 'COMPLETED', 'FAILED')),
    CONSTRAINT replays_window_valid CHECK (event_start_time < event_end_time)
);
COMMENT ON TABLE eventbus.replays IS
'Replays (StartReplay): an archive''s events of a time window re-sent to its bus by the delivery worker, with their progress (cursor, replayed_count) and state.';
CREATE INDEX replays_active ON eventbus.replays (replay_start_time)
    WHERE state IN ('STARTING', 'RUNNING', 'CANCELLING');
SELECT pg_catalog.pg_extension_config_dump('eventbus.replays', '');
REVOKE ALL ON TABLE eventbus.replays FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.replays TO eventbus_admin;

CREATE FUNCTION eventbus.replay_arn(replay_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:replay/%s', eventbus.current_region(),
                  eventbus.current_account(), replay_name)
$fn$;

COMMENT ON FUNCTION eventbus.replay_arn(text) IS
'The ARN of a replay: arn:aws:events:<region>:<account>:replay/<name> (eventbus.region, eventbus.account). Does not check that the replay exists.';

CREATE FUNCTION eventbus._wake_replay()
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_wake_replay'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._wake_replay() IS
'Internal: at commit, wake the delivery worker of this database that runs replays.';

CREATE FUNCTION eventbus._replay_not_found(replay text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('Replay %s does not exist.', replay),
        'No replay of that name exists in this database.',
        'list_replays() shows the replays; start_replay() starts one.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._replay_not_found(text) IS
'Internal: raises 42704 "Replay ... does not exist." (EventBridge''s ResourceNotFoundException).';

CREATE FUNCTION eventbus._replay_json(r eventbus.replays)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'ReplayName', r.name,
        'ReplayArn', eventbus.replay_arn(r.name),
        'Description', r.description,
        'State', r.state,
        'StateReason', r.state_reason,
        'EventSourceArn', eventbus.archive_arn(r.archive),
        'Destination', jsonb_strip_nulls(jsonb_build_object(
            'Arn', eventbus.event_bus_arn(r.bus),
            'FilterArns', to_jsonb(r.filter_rules))),
        'EventStartTime', r.event_start_time,
        'EventEndTime', r.event_end_time,
        'EventLastReplayedTime', r.event_last_replayed_time,
        'ReplayStartTime', r.replay_start_time,
        'ReplayEndTime', r.replay_end_time))
$fn$;

COMMENT ON FUNCTION eventbus._replay_json(eventbus.replays) IS
'Internal: DescribeReplay''s answer for a replay (fields without a value omitted).';

CREATE FUNCTION eventbus.start_replay(replay_name text, event_source_arn text,
                                      event_start_time timestamptz, event_end_time timestamptz,
                                      destination jsonb, description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.start_replay(text, text, timestamptz, timestamptz, jsonb, text) IS
'EventBridge''s StartReplay: re-sends the events of an archive (event_source_arn: its ARN or name) ingested in [event_start_time, event_end_time) to destination {"Arn": the archive''s bus ARN, "FilterArns": [rule ARNs]} (without FilterArns: every rule of the bus), in the background; returns {"ReplayArn", "State": "STARTING", "ReplayStartTime"}. Needs read_events on the archive''s bus and put_events on the destination (42501); the replay acts as the caller. 22023 for a bad window (start not before end, end in the future) or destination; 42710 when a replay of that name exists; 42704 for a missing archive or filter rule.';

CREATE FUNCTION eventbus._start_replay_impl(replay_name text, event_source_arn text,
                                            event_start_time timestamptz, event_end_time timestamptz,
                                            destination jsonb, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := _start_replay_impl.replay_name;
    v_archive text;
    a eventbus.archives;
    v_dest text;
    v_filters text[];
    k text;
    f jsonb;
    v_started timestamptz;
BEGIN
    IF v_name IS NULL OR v_name !~ '^[.\-_A-Za-z0-9]{1,64}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid replay name %L', v_name),
            'A replay name has 1 to 64 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "orders-replay-1".');
    END IF;
    v_archive := eventbus._archive_name(_start_replay_impl.event_source_arn);
    IF _start_replay_impl.event_start_time IS NULL OR _start_replay_impl.event_end_time IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('Parameter %s is not valid. Reason: it is required.',
                   CASE WHEN _start_replay_impl.event_start_time IS NULL THEN 'EventStartTime'
                        ELSE 'EventEndTime' END),
            'A replay re-sends the events ingested from EventStartTime (included) to EventEndTime (excluded).',
            'Pass both times.');
    END IF;
    IF _start_replay_impl.event_start_time >= _start_replay_impl.event_end_time THEN
        PERFORM eventbus._raise('22023',
            'Parameter EventStartTime is not valid. Reason: EventStartTime must be before EventEndTime.',
            'A replay re-sends the events ingested from EventStartTime (included) to EventEndTime (excluded).',
            'Pass a start time before the end time.');
    END IF;
    IF _start_replay_impl.event_end_time > now() THEN
        PERFORM eventbus._raise('22023',
            'Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.',
            'A replay''s window must be over when it starts: EventEndTime is later than now().',
            'Pass now() or an earlier time.');
    END IF;
    IF _start_replay_impl.destination IS NULL OR jsonb_typeof(_start_replay_impl.destination) <> 'object'
       OR jsonb_typeof(_start_replay_impl.destination -> 'Arn') IS DISTINCT FROM 'string' THEN
        PERFORM eventbus._raise('22023',
            'Parameter Destination is not valid. Reason: it must be an object with an Arn.',
            format('Destination is %s.', coalesce(_start_replay_impl.destination::text, 'NULL')),
            format('Pass {"Arn": %s}, optionally with "FilterArns": [rule ARNs].',
                   to_jsonb(eventbus.event_bus_arn('default'))));
    END IF;
    FOR k IN SELECT jsonb_object_keys(_start_replay_impl.destination) LOOP
        IF k NOT IN ('Arn', 'FilterArns') THEN
            PERFORM eventbus._raise('22023',
                format('Parameter Destination is not valid. Reason: unknown key %L.', k),
                'A replay''s Destination has the keys Arn and FilterArns.',
                'Remove the key.');
        END IF;
    END LOOP;
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_archive FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_archive);
    END IF;
    PERFORM eventbus._require_privilege('bus', a.bus, 'read_events');
    v_dest := eventbus._bus_name(_start_replay_impl.destination ->> 'Arn');
    IF v_dest <> a.bus THEN
        PERFORM eventbus._raise('22023',
            'Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.',
            format('Archive %s holds events of event bus %s; Destination.Arn names event bus %s.',
                   a.name, a.bus, v_dest),
            format('Replay to the archive''s bus: {"Arn": %s}.', to_jsonb(eventbus.event_bus_arn(a.bus))));
    END IF;
    PERFORM eventbus._lock_bus(v_dest);
    PERFORM eventbus._require_privilege('bus', v_dest, 'put_events');
    IF _start_replay_impl.destination ? 'FilterArns'
       AND jsonb_typeof(_start_replay_impl.destination -> 'FilterArns') <> 'null' THEN
        IF jsonb_typeof(_start_replay_impl.destination -> 'FilterArns') <> 'array' THEN
            PERFORM eventbus._raise('22023',
                'Parameter Destination.FilterArns is not valid. Reason: it must be an array of rule ARNs.',
                format('FilterArns is %s.', _start_replay_impl.destination -> 'FilterArns'),
                format('Pass e.g. [%s].', to_jsonb(eventbus.rule_arn('my-rule', a.bus))));
        END IF;
        v_filters := '{}';
        FOR f IN SELECT jsonb_array_elements(_start_replay_impl.destination -> 'FilterArns') LOOP
            IF jsonb_typeof(f) <> 'string' THEN
                PERFORM eventbus._raise('22023',
                    'Parameter Destination.FilterArns is not valid. Reason: it must be an array of rule ARNs.',
                    format('FilterArns has %s.', f),
                    format('Pass e.g. [%s].', to_jsonb(eventbus.rule_arn('my-rule', a.bus))));
            END IF;
            IF NOT EXISTS (SELECT FROM eventbus.rules r
                            WHERE r.bus = v_dest AND eventbus.rule_arn(r.name, r.bus) = f #>> '{}') THEN
                PERFORM eventbus._raise('42704',
                    format('Rule %s does not exist on event bus %s.', f #>> '{}', v_dest),
                    'Destination.FilterArns names rules of the destination bus by their ARNs.',
                    format('list_rules(%L) shows the rules and their ARNs.', v_dest));
            END IF;
            IF NOT (f #>> '{}') = ANY (v_filters) THEN
                v_filters := v_filters || (f #>> '{}');
            END IF;
        END LOOP;
        -- an empty list is no filter, as when FilterArns is absent
        IF cardinality(v_filters) = 0 THEN
            v_filters := NULL;
        END IF;
    END IF;
    PERFORM eventbus._check_description(_start_replay_impl.description, format('replay %L', v_name));
    INSERT INTO eventbus.replays AS r (name, archive, bus, filter_rules, event_start_time,
                                       event_end_time, description, owner)
    VALUES (v_name, a.name, v_dest, v_filters, _start_replay_impl.event_start_time,
            _start_replay_impl.event_end_time, _start_replay_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT replays_pkey DO NOTHING
    RETURNING r.replay_start_time INTO v_started;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('Replay %s already exists.', v_name),
            'Replay names are unique in the database, finished replays included.',
            'Choose another name.');
    END IF;
    PERFORM eventbus._wake_replay();
    RETURN jsonb_build_object(
        'ReplayArn', eventbus.replay_arn(v_name),
        'State', 'STARTING',
        'ReplayStartTime', v_started);
END;
$fn$;

COMMENT ON FUNCTION eventbus._start_replay_impl(text, text, timestamptz, timestamptz, jsonb, text) IS
'Internal: implementation of start_replay.';
REVOKE ALL ON FUNCTION eventbus._start_replay_impl(text, text, timestamptz, timestamptz, jsonb, text) FROM PUBLIC;

CREATE FUNCTION eventbus.describe_replay(replay_name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_replay(text) IS
'EventBridge''s DescribeReplay: {"ReplayName", "ReplayArn", "Description", "State", "StateReason", "EventSourceArn", "Destination": {"Arn", "FilterArns"}, "EventStartTime", "EventEndTime", "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime"} (fields without a value omitted). EventLastReplayedTime is the ingestion_time of the last event replayed. Needs read_events on the replay''s bus (42501); 42704 when it does not exist.';

CREATE FUNCTION eventbus._describe_replay_impl(replay_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r eventbus.replays;
BEGIN
    SELECT * INTO r FROM eventbus.replays x WHERE x.name = _describe_replay_impl.replay_name;
    IF NOT FOUND THEN
        PERFORM eventbus._replay_not_found(_describe_replay_impl.replay_name);
    END IF;
    PERFORM eventbus._require_privilege('bus', r.bus, 'read_events');
    RETURN eventbus._replay_json(r);
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_replay_impl(text) IS
'Internal: implementation of describe_replay.';
REVOKE ALL ON FUNCTION eventbus._describe_replay_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.cancel_replay(replay_name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.cancel_replay(text) IS
'EventBridge''s CancelReplay: a STARTING or RUNNING replay becomes CANCELLING, and CANCELLED when the worker reaches its next batch boundary (no event is replayed after that); returns {"ReplayArn", "State": "CANCELLING"}. 55000 (EventBridge''s IllegalStatusException) in any other state. For the replay''s owner, the bus''s owner and eventbus_admin (42501); 42704 when it does not exist.';

CREATE FUNCTION eventbus._cancel_replay_impl(replay_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r eventbus.replays;
    caller regrole := eventbus._caller();
BEGIN
    -- waits for the batch under way, if any
    SELECT * INTO r FROM eventbus.replays x WHERE x.name = _cancel_replay_impl.replay_name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._replay_not_found(_cancel_replay_impl.replay_name);
    END IF;
    IF NOT eventbus._may_manage_rule(r.bus, r.owner, caller) THEN
        PERFORM eventbus._require_privilege('bus', r.bus, 'read_events');
        PERFORM eventbus._raise('42501',
            format('must be owner of replay %s', pg_catalog.quote_ident(r.name)),
            format('Replay %s belongs to %s; role %s is neither its owner, the owner of event bus %s, nor an eventbus_admin.',
                   pg_catalog.quote_ident(r.name), r.owner, caller, pg_catalog.quote_ident(r.bus)),
            'Ask its owner, the owner of the bus, or an eventbus_admin.');
    END IF;
    IF r.state NOT IN ('STARTING', 'RUNNING') THEN
        PERFORM eventbus._raise('55000',
            format('Replay %s is %s: a replay can be cancelled only when it is STARTING or RUNNING.',
                   r.name, r.state),
            'EventBridge answers IllegalStatusException.',
            'describe_replay() shows its state.');
    END IF;
    UPDATE eventbus.replays x SET state = 'CANCELLING', state_reason = 'Cancelled by ' || caller::text
     WHERE x.name = r.name;
    PERFORM eventbus._wake_replay();
    RETURN jsonb_build_object(
        'ReplayArn', eventbus.replay_arn(r.name),
        'State', 'CANCELLING',
        'StateReason', 'Cancelled by ' || caller::text);
END;
$fn$;

COMMENT ON FUNCTION eventbus._cancel_replay_impl(text) IS
'Internal: implementation of cancel_replay.';
REVOKE ALL ON FUNCTION eventbus._cancel_replay_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_replays(name_prefix text DEFAULT NULL, state text DEFAULT NULL,
                                      event_source_arn text DEFAULT NULL)
RETURNS TABLE (replay_name text, event_source_arn text, state text, state_reason text,
               event_start_time timestamptz, event_end_time timestamptz,
               event_last_replayed_time timestamptz, replay_start_time timestamptz,
               replay_end_time timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_replays(text, text, text) IS
'EventBridge''s ListReplays: the replays of the buses the caller holds read_events on, by name; at most one filter (as in EventBridge, the filters are exclusive): a name prefix, a state, or the archive (name or ARN).';

CREATE FUNCTION eventbus._list_replays_impl(prefix_arg text, state_arg text, source_arg text)
RETURNS TABLE (replay_name text, event_source_arn text, state text, state_reason text,
               event_start_time timestamptz, event_end_time timestamptz,
               event_last_replayed_time timestamptz, replay_start_time timestamptz,
               replay_end_time timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    v_archive text;
BEGIN
    IF num_nonnulls(prefix_arg, state_arg, source_arg) > 1 THEN
        PERFORM eventbus._raise('22023',
            'at most one of name_prefix, state and event_source_arn may be given',
            'ListReplays'' filter parameters are exclusive.',
            'Pass one filter, and filter the rows further in SQL.');
    END IF;
    IF state_arg IS NOT NULL
       AND state_arg NOT IN ('STARTING', 'RUNNING', 'CANCELLING', 'COMPLETED', 'CANCELLED', 'FAILED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid replay state %L', state_arg),
            'A replay''s state is STARTING, RUNNING, CANCELLING, COMPLETED, CANCELLED or FAILED.',
            'Pass one of them.');
    END IF;
    IF source_arg IS NOT NULL THEN
        v_archive := eventbus._archive_name(source_arg);
    END IF;
    RETURN QUERY
    SELECT r.name, eventbus.archive_arn(r.archive), r.state, r.state_reason,
           r.event_start_time, r.event_end_time, r.event_last_replayed_time,
           r.replay_start_time, r.replay_end_time
      FROM eventbus.replays r
     WHERE (prefix_arg IS NULL OR starts_with(r.name, prefix_arg))
       AND (state_arg IS NULL OR r.state = state_arg)
       AND (v_archive IS NULL OR r.archive = v_archive)
       AND eventbus.has_event_bus_privilege(r.bus, 'read_events', caller)
     ORDER BY r.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_replays_impl(text, text, text) IS
'Internal: implementation of list_replays.';
REVOKE ALL ON FUNCTION eventbus._list_replays_impl(text, text, text) FROM PUBLIC;

-- Internal functions of archives and replays are not for PUBLIC (as in
-- 96_internal_privileges.sql; _archive_scope is an API function, whose
-- implementation checks its caller).
REVOKE ALL ON FUNCTION eventbus._archive_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._archive_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_archive_pattern(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_retention_days(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_archive_owner(eventbus.archives) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._archive_counts(eventbus.archives) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._wake_replay() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._replay_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._replay_json(eventbus.replays) FROM PUBLIC;
