-- Catalog management: event buses, rules and targets, with EventBridge's
-- API names (CreateEventBus -> create_event_bus, PutRule -> put_rule, ...)
-- and its response shapes as jsonb.
--
-- Every function takes an event bus by name or by ARN
-- (arn:aws:events:<region>:<account>:event-bus/<name>); NULL means the
-- default bus.  ARNs are made from eventbus.region and eventbus.account:
--   bus   arn:aws:events:<region>:<account>:event-bus/<name>
--   rule  arn:aws:events:<region>:<account>:rule/<name>        (default bus)
--         arn:aws:events:<region>:<account>:rule/<bus>/<name>  (other buses)
--
-- Locking: a change to a bus's rules takes a KEY SHARE lock on the bus row
-- (delete_event_bus locks it FOR UPDATE); a change to a rule's targets
-- locks the rule row, so concurrent put_targets calls on one rule are
-- serialised and the targets-per-rule limit holds.

-- ---------------------------------------------------------------------
-- Internal helpers
-- ---------------------------------------------------------------------

-- EventBusName arguments are read by the same C parser as put_events'
-- (src/arn.c).
CREATE FUNCTION eventbus._bus_name(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_name(text) IS
'Internal: the bus name in an EventBusName argument (a name or an event-bus ARN); NULL means "default". Raises 22023 for an empty name or an ARN that is not an event bus ARN.';

CREATE FUNCTION eventbus._bus_arn_name(arn text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_arn_name'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_arn_name(text) IS
'Internal: the bus name in an event bus ARN; NULL when arn is not a well-formed event bus ARN.';

-- Raise 42704 for a bus or rule that does not exist.
CREATE FUNCTION eventbus._bus_not_found(bus text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('event bus %L does not exist', bus),
        'No event bus of that name exists in this database.',
        'list_event_buses() shows the buses; create_event_bus() creates one.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._bus_not_found(text) IS
'Internal: raises 42704 "event bus ... does not exist".';

CREATE FUNCTION eventbus._rule_not_found(bus text, rule text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = _rule_not_found.bus) THEN
        PERFORM eventbus._bus_not_found(bus);
    END IF;
    PERFORM eventbus._raise('42704',
        format('rule %L does not exist on event bus %L', rule, bus),
        'No rule of that name exists on that bus.',
        format('list_rules(%L) shows the rules of the bus; put_rule() creates one.', bus));
END;
$fn$;

COMMENT ON FUNCTION eventbus._rule_not_found(text, text) IS
'Internal: raises 42704 for a missing bus, or else for a missing rule on the bus.';

-- Checks without locking (for the read-only functions).
CREATE FUNCTION eventbus._check_bus(bus text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = _check_bus.bus) THEN
        PERFORM eventbus._bus_not_found(bus);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_bus(text) IS
'Internal: raises 42704 when the event bus does not exist.';

CREATE FUNCTION eventbus._check_rule(bus text, rule text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.rules r
                    WHERE r.bus = _check_rule.bus AND r.name = _check_rule.rule) THEN
        PERFORM eventbus._rule_not_found(bus, rule);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_rule(text, text) IS
'Internal: raises 42704 when the event bus or the rule does not exist.';

-- Locks the bus row (KEY SHARE: the bus cannot be deleted meanwhile) and
-- raises 42704 when it does not exist.
CREATE FUNCTION eventbus._lock_bus(bus text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM FROM eventbus.event_buses b WHERE b.name = _lock_bus.bus FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM eventbus._bus_not_found(bus);
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._lock_bus(text) IS
'Internal: locks an event bus row (KEY SHARE) and raises 42704 when the bus does not exist.';

-- Locks the bus (KEY SHARE) and the rule row (NO KEY UPDATE: target
-- changes of one rule are serialised) and raises 42704 when either does
-- not exist.
CREATE FUNCTION eventbus._lock_rule(bus text, rule text)
RETURNS regrole
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_owner regrole;
BEGIN
    PERFORM eventbus._lock_bus(bus);
    SELECT r.owner INTO v_owner FROM eventbus.rules r
     WHERE r.bus = _lock_rule.bus AND r.name = _lock_rule.rule FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._rule_not_found(bus, rule);
    END IF;
    RETURN v_owner;
END;
$fn$;

COMMENT ON FUNCTION eventbus._lock_rule(text, text) IS
'Internal: locks a rule row (and its bus) and returns the rule''s owner; raises 42704 when the bus or the rule does not exist.';

CREATE FUNCTION eventbus._check_description(description text, what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF length(description) > 512 THEN
        PERFORM eventbus._raise('22023',
            format('description of %s is too long (%s characters)', what, length(description)),
            'A description has at most 512 characters, as in EventBridge.',
            'Shorten the description.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_description(text, text) IS
'Internal: raises 22023 when a bus or rule description is longer than 512 characters.';

-- What a target's Arn designates.  Queue targets are pulled by consumers;
-- the other kinds are pushed by the delivery worker.  kind and
-- destination are NULL when the Arn is not one of the recognised forms.
-- An API destination is named "api-destination:<name>" or by its ARN,
-- with or without the trailing /<uuid> (the C parser of the worker,
-- target kind api_destination, reads the same forms).
CREATE FUNCTION eventbus._parse_target_arn(arn text, OUT kind text, OUT destination text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF arn ~ '^queue:.' THEN
        kind := 'queue';
        destination := substr(arn, 7);
    ELSIF arn ~ '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:[^:/]+$' THEN
        kind := 'queue';
        destination := substring(arn FROM '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:([^:/]+)$');
    ELSIF arn ~ '^function:.' THEN
        kind := 'function';
        destination := substr(arn, 10);
    ELSIF arn ~ '^bus:.' THEN
        kind := 'bus';
        destination := substr(arn, 5);
    ELSIF arn ~ '^api-destination:.' THEN
        kind := 'api_destination';
        destination := substr(arn, 17);
    ELSIF arn ~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:api-destination/[.\-_A-Za-z0-9]{1,64}(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$' THEN
        kind := 'api_destination';
        destination := substring(arn FROM ':api-destination/([^/]+)');
    ELSIF eventbus._bus_arn_name(arn) IS NOT NULL THEN
        kind := 'bus';
        destination := eventbus._bus_arn_name(arn);
    ELSIF arn ~ '^notify:.' THEN
        kind := 'notify';
        destination := substr(arn, 8);
    ELSIF arn ~* '^https?://.' THEN
        kind := 'http';
        destination := arn;
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._parse_target_arn(text) IS
'Internal: the kind (queue, function, bus, notify, api_destination, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

-- The EventBridge error code reported for a per-entry failure.
CREATE FUNCTION eventbus._entry_error_code(sqlstate text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE
        WHEN sqlstate = '42704' THEN 'ResourceNotFoundException'
        WHEN sqlstate = '54000' THEN 'LimitExceededException'
        ELSE 'ValidationException'
    END;
$fn$;

COMMENT ON FUNCTION eventbus._entry_error_code(text) IS
'Internal: the EventBridge ErrorCode of a per-entry failure with this SQLSTATE.';

-- Whether an error raised while handling one entry of put_targets is that
-- entry's failure (true): the SQLSTATEs raised on purpose for a bad entry.
-- Anything else (serialization failures, deadlocks, lack of privileges,
-- resources, bugs) fails the whole call.
CREATE FUNCTION eventbus._is_entry_error(sqlstate text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT sqlstate IN ('22023', '0A000', '42704', '54000');
$fn$;

COMMENT ON FUNCTION eventbus._is_entry_error(text) IS
'Internal: true for the SQLSTATEs that fail one entry of put_targets rather than the whole call.';

-- ---------------------------------------------------------------------
-- ARNs
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.event_bus_arn(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_event_bus_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_bus_arn(text) IS
'The ARN of an event bus: arn:aws:events:<region>:<account>:event-bus/<name> (eventbus.region, eventbus.account). Does not check that the bus exists.';

CREATE FUNCTION eventbus.rule_arn(rule text, event_bus_name text DEFAULT 'default')
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_rule_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.rule_arn(text, text) IS
'The ARN of a rule, as EventBridge forms it: arn:aws:events:<region>:<account>:rule/<name> on the default bus, .../rule/<bus>/<name> on other buses. Does not check that the rule exists.';

-- ---------------------------------------------------------------------
-- Event buses
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.create_event_bus(name text, description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.create_event_bus(text, text) IS
'EventBridge''s CreateEventBus: creates a custom event bus owned by the caller (a member of eventbus_user or eventbus_admin) and returns {"EventBusArn": ...}. Names: 1 to 256 letters, digits, ".", "_", "-", "/"; "aws." prefixes are reserved. At most eventbus.max_event_buses buses (54000).';

CREATE FUNCTION eventbus._create_event_bus_impl(name text, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._require_creator('event bus');
    IF _create_event_bus_impl.name IS NULL OR _create_event_bus_impl.name !~ '^[A-Za-z0-9._/-]+$'
       OR length(_create_event_bus_impl.name) > 256 THEN
        PERFORM eventbus._raise('22023',
            format('invalid event bus name %L', _create_event_bus_impl.name),
            'An event bus name has 1 to 256 characters: letters, digits, ".", "_", "-" and "/".',
            'Choose a name such as "orders" or "banking-demo-events".');
    END IF;
    IF _create_event_bus_impl.name LIKE 'aws.%' THEN
        PERFORM eventbus._raise('22023',
            format('invalid event bus name %L', _create_event_bus_impl.name),
            'Event bus names beginning with "aws." are reserved for AWS (partner event buses).',
            'Choose a name that does not begin with "aws.".');
    END IF;
    PERFORM eventbus._check_description(_create_event_bus_impl.description,
                                        format('event bus %L', _create_event_bus_impl.name));
    -- the quota counts every bus, the default one included; creators of
    -- buses count one at a time
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('eventbus.create_event_bus'));
    IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = _create_event_bus_impl.name)
       AND (SELECT count(*) FROM eventbus.event_buses) >= current_setting('eventbus.max_event_buses')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event bus %L cannot be created: the database has %s event buses, the limit',
                   _create_event_bus_impl.name, (SELECT count(*) FROM eventbus.event_buses)),
            format('A database has at most eventbus.max_event_buses (%s) event buses, the default bus included.',
                   current_setting('eventbus.max_event_buses')),
            'Delete a bus (delete_event_bus), or ask a superuser to raise eventbus.max_event_buses.');
    END IF;
    INSERT INTO eventbus.event_buses AS b (name, description, owner)
    VALUES (_create_event_bus_impl.name, _create_event_bus_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT event_buses_pkey DO NOTHING;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('event bus %L already exists', _create_event_bus_impl.name),
            CASE WHEN _create_event_bus_impl.name = 'default'
                 THEN 'The default event bus always exists.'
                 ELSE 'Event bus names are unique in the database.' END,
            'Use the existing bus, or delete it first with delete_event_bus().');
    END IF;
    RETURN jsonb_build_object('EventBusArn', eventbus.event_bus_arn(_create_event_bus_impl.name));
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_event_bus_impl(text, text) IS
'Internal: implementation of create_event_bus.';
REVOKE ALL ON FUNCTION eventbus._create_event_bus_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_event_bus(name text, force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_event_bus(text, boolean) IS
'EventBridge''s DeleteEventBus: deletes a custom event bus (for its owner and eventbus_admin); refused while it has rules or archives unless force is true, which deletes its rules and their targets (never queues) and its archives; refused while a replay to it is active (55006). The default bus cannot be deleted; a bus that does not exist is skipped with a notice.';

CREATE FUNCTION eventbus._delete_event_bus_impl(name text, force boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_delete_event_bus_impl.name);
    n_rules bigint;
    n_archives bigint;
    v_replay text;
    v_owner regrole;
BEGIN
    IF v_bus = 'default' THEN
        PERFORM eventbus._raise('2BP01',
            'the default event bus cannot be deleted',
            'Every database has a default event bus; events and rules without an event bus name use it.',
            'Delete its rules instead (delete_rule).');
    END IF;
    SELECT b.owner INTO v_owner FROM eventbus.event_buses b WHERE b.name = v_bus FOR UPDATE;
    IF NOT FOUND THEN
        -- As EventBridge's DeleteEventBus: deleting what is not there succeeds.
        RAISE NOTICE '%', format('event bus %L does not exist, skipping', v_bus);
        RETURN;
    END IF;
    PERFORM eventbus._require_owner('bus', v_bus, v_owner);
    SELECT count(*) INTO n_rules FROM eventbus.rules r WHERE r.bus = v_bus;
    IF n_rules > 0 AND NOT coalesce(force, false) THEN
        PERFORM eventbus._raise('2BP01',
            format('event bus %L still has %s rule(s)', v_bus, n_rules),
            'An event bus with rules cannot be deleted.',
            'Delete its rules first (delete_rule), or pass force => true to delete them with their targets.');
    END IF;
    SELECT count(*) INTO n_archives FROM eventbus.archives a WHERE a.bus = v_bus;
    IF n_archives > 0 AND NOT coalesce(force, false) THEN
        PERFORM eventbus._raise('2BP01',
            format('event bus %L still has %s archive(s)', v_bus, n_archives),
            'An event bus with archives cannot be deleted.',
            'Delete its archives first (delete_archive), or pass force => true to delete them with its rules.');
    END IF;
    SELECT r.name INTO v_replay FROM eventbus.replays r
     WHERE r.bus = v_bus AND r.state IN ('STARTING', 'RUNNING', 'CANCELLING')
     ORDER BY r.name LIMIT 1;
    IF FOUND THEN
        PERFORM eventbus._raise('55006',
            format('event bus %L is in use by replay %L', v_bus, v_replay),
            'An event bus cannot be deleted while a replay to it is starting, running or cancelling.',
            format('Wait for the replay to end, or cancel it: SELECT eventbus.cancel_replay(%L).', v_replay));
    END IF;
    -- Forced: the rules go with their targets, and the archives (views:
    -- the events stay); queues (and the messages already in them) stay.
    DELETE FROM eventbus.archives a WHERE a.bus = v_bus;
    DELETE FROM eventbus.targets t WHERE t.bus = v_bus;
    DELETE FROM eventbus.rules r WHERE r.bus = v_bus;
    -- a later bus of the same name starts with no grants
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'bus' AND g.object_name = v_bus;
    DELETE FROM eventbus.event_buses b WHERE b.name = v_bus;
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_event_bus_impl(text, boolean) IS
'Internal: implementation of delete_event_bus.';
REVOKE ALL ON FUNCTION eventbus._delete_event_bus_impl(text, boolean) FROM PUBLIC;

CREATE FUNCTION eventbus.describe_event_bus(name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_event_bus(text) IS
'EventBridge''s DescribeEventBus: {"Name", "Arn", "Description", "CreationTime"} of a bus (Description omitted when there is none). Raises 42501 unless the caller owns the bus, holds a privilege on it, or is an eventbus_admin.';

CREATE FUNCTION eventbus._describe_event_bus_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    b eventbus.event_buses;
BEGIN
    SELECT * INTO b FROM eventbus.event_buses x
     WHERE x.name = eventbus._bus_name(_describe_event_bus_impl.name);
    IF NOT FOUND THEN
        PERFORM eventbus._bus_not_found(eventbus._bus_name(_describe_event_bus_impl.name));
    END IF;
    PERFORM eventbus._require_bus_visible(b.name);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'Name', b.name,
        'Arn', eventbus.event_bus_arn(b.name),
        'Description', b.description,
        'CreationTime', b.created_at));
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_event_bus_impl(text) IS
'Internal: implementation of describe_event_bus.';
REVOKE ALL ON FUNCTION eventbus._describe_event_bus_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_event_buses(name_prefix text DEFAULT NULL)
RETURNS TABLE (name text, arn text, description text, created_at timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_event_buses(text) IS
'EventBridge''s ListEventBuses: the event buses the caller may see (it owns them, holds a privilege on them, or is an eventbus_admin), optionally those whose name begins with name_prefix, by name.';

CREATE FUNCTION eventbus._list_event_buses_impl(name_prefix text)
RETURNS TABLE (name text, arn text, description text, created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    RETURN QUERY
    SELECT b.name, eventbus.event_bus_arn(b.name), b.description, b.created_at
      FROM eventbus.event_buses b
     WHERE (_list_event_buses_impl.name_prefix IS NULL
            OR starts_with(b.name, _list_event_buses_impl.name_prefix))
       AND eventbus._may_see_bus(b.name, caller)
     ORDER BY b.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_event_buses_impl(text) IS
'Internal: implementation of list_event_buses.';
REVOKE ALL ON FUNCTION eventbus._list_event_buses_impl(text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Rules
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.put_rule(name text, event_pattern jsonb,
                                  event_bus_name text DEFAULT 'default',
                                  state text DEFAULT 'ENABLED',
                                  description text DEFAULT NULL,
                                  schedule_expression text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.put_rule(text, jsonb, text, text, text, text) IS
'EventBridge''s PutRule: creates or replaces a rule (event pattern and/or schedule expression, ENABLED/DISABLED, description) on a bus and returns {"RuleArn": ...}. A schedule expression (rate(...) or cron(...), UTC) is for the default bus only, as in EventBridge; the rule''s targets then get a "Scheduled Event" at each tick. Creating a rule needs manage_rules on the bus (the caller owns the new rule); replacing one needs being its owner, the bus''s owner or an eventbus_admin (42501). An invalid pattern or schedule expression, neither of them, or a schedule on another bus raises SQLSTATE 22023 with the reason; a pattern longer than eventbus.max_pattern_size, or a rule over eventbus.max_rules_per_bus, raises SQLSTATE 54000.';

CREATE FUNCTION eventbus._put_rule_impl(name text, event_pattern jsonb, event_bus_name text, state text, description text, schedule_expression text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_put_rule_impl.event_bus_name);
    v_owner regrole;
    n_rules bigint;
BEGIN
    IF _put_rule_impl.name IS NULL OR _put_rule_impl.name !~ '^[A-Za-z0-9._-]{1,64}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule name %L', _put_rule_impl.name),
            'A rule name has 1 to 64 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "approved-applications".');
    END IF;
    IF _put_rule_impl.event_pattern IS NULL AND _put_rule_impl.schedule_expression IS NULL THEN
        PERFORM eventbus._raise('22023',
            'Parameter(s) EventPattern or ScheduleExpression must be specified.',
            format('Rule %L has neither: a rule routes the events that match its event pattern, or fires on its schedule, or both.', _put_rule_impl.name),
            'Pass an event pattern such as ''{"source": ["my.app"]}'', or schedule_expression => ''rate(5 minutes)''.');
    END IF;
    IF _put_rule_impl.schedule_expression IS NOT NULL THEN
        IF v_bus <> 'default' THEN
            PERFORM eventbus._raise('22023',
                'ScheduleExpression is supported only on the default event bus.',
                format('Rule %L is on event bus %L; as in EventBridge, scheduled rules live on the default bus.', _put_rule_impl.name, v_bus),
                'Put the scheduled rule on the default bus; a target of kind bus can forward its ticks to another bus.');
        END IF;
        IF length(_put_rule_impl.schedule_expression) > 256 THEN
            PERFORM eventbus._raise('22023',
                'Parameter ScheduleExpression is not valid.',
                format('The schedule expression is %s characters long; at most 256 are allowed.', length(_put_rule_impl.schedule_expression)),
                'Use rate(value unit) or cron(minutes hours day-of-month month day-of-week year).');
        END IF;
        PERFORM eventbus.validate_schedule_expression(_put_rule_impl.schedule_expression);
    END IF;
    IF _put_rule_impl.event_pattern IS NOT NULL THEN
        PERFORM eventbus.validate_event_pattern(_put_rule_impl.event_pattern);
    END IF;
    -- The size quota applies where patterns are defined, never where stored
    -- rules are loaded: lowering it leaves existing rules routing.
    IF length(_put_rule_impl.event_pattern::text) > current_setting('eventbus.max_pattern_size')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event pattern of rule %L is %s characters long, over the limit of %s',
                   _put_rule_impl.name, length(_put_rule_impl.event_pattern::text),
                   current_setting('eventbus.max_pattern_size')),
            'eventbus.max_pattern_size bounds the patterns put_rule accepts, counted in characters of the pattern as jsonb prints it (EventBridge''s quota is 2048); rules already stored keep routing.',
            'Shorten the pattern, or raise eventbus.max_pattern_size.');
    END IF;
    IF _put_rule_impl.state IS NULL OR _put_rule_impl.state NOT IN ('ENABLED', 'DISABLED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid rule state %L', _put_rule_impl.state),
            'A rule''s state is ENABLED or DISABLED.',
            'Pass state => ''ENABLED'' or state => ''DISABLED''.');
    END IF;
    PERFORM eventbus._check_description(_put_rule_impl.description, format('rule %L', _put_rule_impl.name));
    PERFORM eventbus._lock_bus(v_bus);
    -- One creator of a bus's rules at a time, so that the rights checked,
    -- the quota counted and the row written are those of the same rules.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('eventbus.put_rule:' || v_bus));
    SELECT r.owner INTO v_owner FROM eventbus.rules r
     WHERE r.bus = v_bus AND r.name = _put_rule_impl.name FOR NO KEY UPDATE;
    IF FOUND THEN
        -- replacing: the rule's owner, the bus's owner or an admin
        PERFORM eventbus._require_rule_owner(v_bus, _put_rule_impl.name, v_owner);
    ELSE
        PERFORM eventbus._require_privilege('bus', v_bus, 'manage_rules');
        SELECT count(*) INTO n_rules FROM eventbus.rules r WHERE r.bus = v_bus;
        IF n_rules >= current_setting('eventbus.max_rules_per_bus')::integer THEN
            PERFORM eventbus._raise('54000',
                format('rule %L cannot be created: event bus %L has %s rules, the limit',
                       _put_rule_impl.name, v_bus, n_rules),
                format('An event bus has at most eventbus.max_rules_per_bus (%s) rules.',
                       current_setting('eventbus.max_rules_per_bus')),
                'Delete a rule (delete_rule), or ask a superuser to raise eventbus.max_rules_per_bus.');
        END IF;
    END IF;
    -- As EventBridge's PutRule: an update replaces the pattern, state and
    -- description with what is given; the rule keeps its owner.
    INSERT INTO eventbus.rules AS r (bus, name, event_pattern, schedule_expression, state, description, owner)
    VALUES (v_bus, _put_rule_impl.name, _put_rule_impl.event_pattern, _put_rule_impl.schedule_expression,
            _put_rule_impl.state, _put_rule_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT rules_pkey DO UPDATE
       SET event_pattern = excluded.event_pattern,
           schedule_expression = excluded.schedule_expression,
           state = excluded.state,
           description = excluded.description,
           updated_at = now();
    RETURN jsonb_build_object('RuleArn', eventbus.rule_arn(_put_rule_impl.name, v_bus));
END;
$fn$;

COMMENT ON FUNCTION eventbus._put_rule_impl(text, jsonb, text, text, text, text) IS
'Internal: implementation of put_rule.';
REVOKE ALL ON FUNCTION eventbus._put_rule_impl(text, jsonb, text, text, text, text) FROM PUBLIC;

CREATE FUNCTION eventbus._set_rule_state(rule text, event_bus_name text, new_state text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(event_bus_name);
BEGIN
    PERFORM eventbus._require_rule_owner(v_bus, _set_rule_state.rule,
                                         eventbus._lock_rule(v_bus, _set_rule_state.rule));
    UPDATE eventbus.rules r
       SET state = new_state, updated_at = now()
     WHERE r.bus = v_bus AND r.name = _set_rule_state.rule;
END;
$fn$;

COMMENT ON FUNCTION eventbus._set_rule_state(text, text, text) IS
'Internal: sets the state of a rule (enable_rule, disable_rule) for the caller of the current API function, who must own the rule or its bus or be an eventbus_admin.';

CREATE FUNCTION eventbus.enable_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.enable_rule(text, text) IS
'EventBridge''s EnableRule: the rule routes matching events again. For the rule''s owner, the bus''s owner and eventbus_admin (42501); raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus._enable_rule_impl(name text, event_bus_name text)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._set_rule_state(name, event_bus_name, 'ENABLED');
$fn$;

COMMENT ON FUNCTION eventbus._enable_rule_impl(text, text) IS
'Internal: implementation of enable_rule.';
REVOKE ALL ON FUNCTION eventbus._enable_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.disable_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.disable_rule(text, text) IS
'EventBridge''s DisableRule: the rule stops routing events (its targets stay). For the rule''s owner, the bus''s owner and eventbus_admin (42501); raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus._disable_rule_impl(name text, event_bus_name text)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._set_rule_state(name, event_bus_name, 'DISABLED');
$fn$;

COMMENT ON FUNCTION eventbus._disable_rule_impl(text, text) IS
'Internal: implementation of disable_rule.';
REVOKE ALL ON FUNCTION eventbus._disable_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_rule(name text, event_bus_name text DEFAULT 'default',
                                     force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_rule(text, text, boolean) IS
'EventBridge''s DeleteRule: deletes a rule (for its owner, the bus''s owner and eventbus_admin); refused while it has targets unless force is true, which removes them (queues stay). A rule that does not exist is skipped with a notice; a bus that does not exist raises 42704.';

CREATE FUNCTION eventbus._delete_rule_impl(name text, event_bus_name text, force boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_delete_rule_impl.event_bus_name);
    n_targets bigint;
    v_owner regrole;
BEGIN
    PERFORM eventbus._lock_bus(v_bus);
    SELECT r.owner INTO v_owner FROM eventbus.rules r
     WHERE r.bus = v_bus AND r.name = _delete_rule_impl.name FOR UPDATE;
    IF NOT FOUND THEN
        -- As EventBridge's DeleteRule: deleting what is not there succeeds.
        RAISE NOTICE '%', format('rule %L does not exist on event bus %L, skipping',
                                 _delete_rule_impl.name, v_bus);
        RETURN;
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _delete_rule_impl.name, v_owner);
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _delete_rule_impl.name;
    IF n_targets > 0 AND NOT coalesce(force, false) THEN
        PERFORM eventbus._raise('2BP01',
            format('rule %L on event bus %L still has %s target(s)', _delete_rule_impl.name, v_bus, n_targets),
            'A rule with targets cannot be deleted.',
            'Remove its targets first (remove_targets), or pass force => true to remove them with the rule.');
    END IF;
    DELETE FROM eventbus.targets t WHERE t.bus = v_bus AND t.rule = _delete_rule_impl.name;
    DELETE FROM eventbus.rules r WHERE r.bus = v_bus AND r.name = _delete_rule_impl.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_rule_impl(text, text, boolean) IS
'Internal: implementation of delete_rule.';
REVOKE ALL ON FUNCTION eventbus._delete_rule_impl(text, text, boolean) FROM PUBLIC;

CREATE FUNCTION eventbus.describe_rule(name text, event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_rule(text, text) IS
'EventBridge''s DescribeRule: {"Name", "Arn", "EventPattern" (JSON text), "ScheduleExpression", "State", "Description", "EventBusName", "CreatedBy"}; EventPattern, ScheduleExpression and Description are omitted when the rule has none. For the rule''s owner and the holders of manage_rules or read_events on its bus (42501).';

CREATE FUNCTION eventbus._describe_rule_impl(name text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_describe_rule_impl.event_bus_name);
    r eventbus.rules;
BEGIN
    SELECT * INTO r FROM eventbus.rules x
     WHERE x.bus = v_bus AND x.name = _describe_rule_impl.name;
    IF NOT FOUND THEN
        PERFORM eventbus._rule_not_found(v_bus, _describe_rule_impl.name);
    END IF;
    IF NOT eventbus._may_see_rule(r.bus, r.owner, eventbus._caller()) THEN
        PERFORM eventbus._require_privilege('bus', r.bus, 'read_events');
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'Name', r.name,
        'Arn', eventbus.rule_arn(r.name, r.bus),
        'EventPattern', r.event_pattern::text,
        'ScheduleExpression', r.schedule_expression,
        'State', r.state,
        'Description', r.description,
        'EventBusName', r.bus,
        'CreatedBy', eventbus.current_account()));
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_rule_impl(text, text) IS
'Internal: implementation of describe_rule.';
REVOKE ALL ON FUNCTION eventbus._describe_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_rules(event_bus_name text DEFAULT 'default',
                                    name_prefix text DEFAULT NULL)
RETURNS TABLE (name text, arn text, event_pattern jsonb, state text,
               description text, event_bus_name text, schedule_expression text)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_rules(text, text) IS
'EventBridge''s ListRules: the rules of a bus that the caller may see (it owns them, or holds manage_rules or read_events on the bus), optionally those whose name begins with name_prefix, by name. Raises 42704 when the bus does not exist.';

-- (The arguments are named apart from the result columns: the argument
-- event_bus_name shares its name with one, which PL/pgSQL refuses.)
CREATE FUNCTION eventbus._list_rules_impl(bus_arg text, prefix_arg text)
RETURNS TABLE (name text, arn text, event_pattern jsonb, state text,
               description text, event_bus_name text, schedule_expression text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(bus_arg);
    caller regrole := eventbus._caller();
BEGIN
    PERFORM eventbus._check_bus(v_bus);
    PERFORM eventbus._require_bus_visible(v_bus);
    RETURN QUERY
    SELECT r.name, eventbus.rule_arn(r.name, r.bus), r.event_pattern::jsonb,
           r.state, r.description, r.bus, r.schedule_expression
      FROM eventbus.rules r
     WHERE r.bus = v_bus
       AND (prefix_arg IS NULL OR starts_with(r.name, prefix_arg))
       AND eventbus._may_see_rule(r.bus, r.owner, caller)
     ORDER BY r.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_rules_impl(text, text) IS
'Internal: implementation of list_rules.';
REVOKE ALL ON FUNCTION eventbus._list_rules_impl(text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Targets
-- ---------------------------------------------------------------------

-- The stored RetryPolicy: both fields, defaults filled in.
CREATE FUNCTION eventbus._retry_policy(policy jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
    attempts jsonb;
    age jsonb;
BEGIN
    IF policy IS NULL OR jsonb_typeof(policy) = 'null' THEN
        RETURN '{"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}';
    END IF;
    IF jsonb_typeof(policy) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            'RetryPolicy must be a JSON object',
            format('RetryPolicy is %s.', policy),
            'Pass {"MaximumRetryAttempts": 0-185, "MaximumEventAgeInSeconds": 60-86400}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(policy) LOOP
        IF k NOT IN ('MaximumRetryAttempts', 'MaximumEventAgeInSeconds') THEN
            PERFORM eventbus._raise('22023',
                format('RetryPolicy has an unknown key %L', k),
                'A RetryPolicy has the keys MaximumRetryAttempts and MaximumEventAgeInSeconds.',
                'Remove the key.');
        END IF;
    END LOOP;
    attempts := coalesce(nullif(policy -> 'MaximumRetryAttempts', 'null'), '185');
    age := coalesce(nullif(policy -> 'MaximumEventAgeInSeconds', 'null'), '86400');
    IF jsonb_typeof(attempts) <> 'number' OR attempts::text::numeric <> trunc(attempts::text::numeric)
       OR attempts::text::numeric NOT BETWEEN 0 AND 185 THEN
        PERFORM eventbus._raise('22023',
            format('RetryPolicy.MaximumRetryAttempts must be an integer from 0 to 185, not %s', attempts),
            'It is how many times a failed delivery is retried.',
            'The default is 185.');
    END IF;
    IF jsonb_typeof(age) <> 'number' OR age::text::numeric <> trunc(age::text::numeric)
       OR age::text::numeric NOT BETWEEN 60 AND 86400 THEN
        PERFORM eventbus._raise('22023',
            format('RetryPolicy.MaximumEventAgeInSeconds must be an integer from 60 to 86400, not %s', age),
            'It is how long, in seconds, a failed delivery keeps being retried.',
            'The default is 86400 (24 hours).');
    END IF;
    RETURN jsonb_build_object('MaximumRetryAttempts', attempts::text::numeric::int,
                              'MaximumEventAgeInSeconds', age::text::numeric::int);
END;
$fn$;

COMMENT ON FUNCTION eventbus._retry_policy(jsonb) IS
'Internal: validates a PutTargets RetryPolicy and returns it with defaults filled in (185 attempts, 86400 seconds).';

CREATE FUNCTION eventbus.put_targets(rule text, targets jsonb,
                                     event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.put_targets(text, jsonb, text) IS
'EventBridge''s PutTargets: adds or updates targets of a rule from PutTargets'' Targets array (or {"Targets": [...]}); returns {"FailedEntryCount", "FailedEntries": [{"TargetId", "ErrorCode", "ErrorMessage"}]}. A bad entry fails alone; a missing rule raises 42704. For the rule''s owner, the bus''s owner and eventbus_admin; the caller becomes the targets'' owner, the role they act as, and needs send on a target''s queue and DeadLetterConfig queue, EXECUTE on a target''s function, put_events on a target''s bus and invoke on a target''s API destination (42501 fails the call). API destination targets ("api-destination:<name>" or the API destination''s ARN) take HttpParameters ({"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}, values static or JSON paths "$...." into the event); other targets refuse them. Queue targets ("queue:<name>", "arn:aws:sqs:...:<name>") create a missing queue, owned by the caller, when the caller may create queues. A FIFO queue''s targets need SqsParameters {"MessageGroupId": "<group>" or "$.<path>", "MessageDeduplicationId": "$.<path>" (optional; default: the event id)}; other targets refuse them.';

CREATE FUNCTION eventbus._put_targets_impl(rule text, targets jsonb, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_put_targets_impl.event_bus_name);
    entries jsonb := _put_targets_impl.targets;
    max_targets int := eventbus._max_targets_per_rule();
    n_targets int;
    failed jsonb := '[]';
    seen text[] := '{}';
    entry jsonb;
    pos bigint;
    k text;
    tid text;
    t_arn text;
    t_kind text;
    t_dest text;
    t_input jsonb;
    t_input_path text;
    t_transformer jsonb;
    t_retry jsonb;
    t_dlc jsonb;
    t_config jsonb;
    t_http jsonb;
    t_sqs jsonb;
    t_uuid text;
    dlq_kind text;
    dlq_name text;
    t_outbox regclass;
    t_func regprocedure;
    is_update boolean;
    err_state text;
    err_message text;
    caller regrole := eventbus._caller();
BEGIN
    IF jsonb_typeof(entries) = 'object' AND entries ? 'Targets' THEN
        entries := entries -> 'Targets';
    END IF;
    IF entries IS NULL OR jsonb_typeof(entries) <> 'array' THEN
        PERFORM eventbus._raise('22023',
            'targets must be a JSON array of targets',
            format('targets is %s.', coalesce(_put_targets_impl.targets::text, 'NULL')),
            'Pass PutTargets'' Targets array, e.g. ''[{"Id": "t1", "Arn": "queue:orders"}]'', or {"Targets": [...]}.');
    END IF;
    IF jsonb_array_length(entries) = 0 THEN
        PERFORM eventbus._raise('22023',
            'targets is empty',
            'PutTargets takes at least one target.',
            'Pass a non-empty array.');
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _put_targets_impl.rule,
                                         eventbus._lock_rule(v_bus, _put_targets_impl.rule));
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _put_targets_impl.rule;

    FOR entry, pos IN SELECT e, o FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(e, o) LOOP
        tid := NULL;
        BEGIN
            IF jsonb_typeof(entry) <> 'object' THEN
                PERFORM eventbus._raise('22023',
                    format('entry %s of targets is not a JSON object', pos),
                    format('It is %s.', entry),
                    'Each target is an object such as {"Id": "t1", "Arn": "queue:orders"}.');
            END IF;
            IF jsonb_typeof(entry -> 'Id') = 'string' THEN
                tid := entry ->> 'Id';
            END IF;
            IF tid IS NULL OR tid !~ '^[A-Za-z0-9._-]{1,64}$' THEN
                PERFORM eventbus._raise('22023',
                    CASE WHEN entry ? 'Id'
                         THEN format('entry %s of targets has an invalid Id %s', pos, entry -> 'Id')
                         ELSE format('entry %s of targets has no Id', pos) END,
                    'A target Id is a string of 1 to 64 characters: letters, digits, ".", "_" and "-".',
                    'Give each target an Id such as "audit-queue".');
            END IF;
            FOR k IN SELECT jsonb_object_keys(entry) LOOP
                IF k NOT IN ('Id', 'Arn', 'Input', 'InputPath', 'InputTransformer',
                             'RetryPolicy', 'DeadLetterConfig', 'Config', 'HttpParameters',
                             'SqsParameters') THEN
                    PERFORM eventbus._raise('22023',
                        format('target %L has an unsupported key %L', tid, k),
                        'A target has the keys Id, Arn, Input, InputPath, InputTransformer, RetryPolicy, DeadLetterConfig, Config, HttpParameters and SqsParameters.',
                        'Remove the key.');
                END IF;
            END LOOP;
            IF tid = ANY (seen) THEN
                PERFORM eventbus._raise('22023',
                    format('target Id %L appears more than once in the request', tid),
                    'Each target of a PutTargets request has its own Id.',
                    'Put one entry per Id.');
            END IF;
            seen := seen || tid;

            -- Arn: what the target designates
            IF jsonb_typeof(entry -> 'Arn') IS DISTINCT FROM 'string' THEN
                PERFORM eventbus._raise('22023',
                    CASE WHEN entry ? 'Arn'
                         THEN format('target %L has an invalid Arn %s', tid, entry -> 'Arn')
                         ELSE format('target %L has no Arn', tid) END,
                    'Every target has an Arn naming where matching events go.',
                    'Use "queue:<name>" or "arn:aws:sqs:<region>:<account>:<name>".');
            END IF;
            t_arn := entry ->> 'Arn';
            SELECT p.kind, p.destination INTO t_kind, t_dest FROM eventbus._parse_target_arn(t_arn) p;
            IF length(t_arn) > 1600 OR t_kind IS NULL THEN
                PERFORM eventbus._raise('22023',
                    format('target %L has an unrecognised Arn %L', tid, left(t_arn, 100)),
                    'Recognised Arns: queue:<name>, arn:aws:sqs:<region>:<account>:<name>, function:<schema.name>, bus:<name>, arn:aws:events:<region>:<account>:event-bus/<name>, notify:<channel>, api-destination:<name>, arn:aws:events:<region>:<account>:api-destination/<name>[/<uuid>].',
                    'Use "queue:<name>" for a queue read with receive().');
            END IF;
            IF t_kind = 'http' THEN
                PERFORM eventbus._raise('0A000',
                    format('target %L has a URL as its Arn', tid),
                    format('Target %L has Arn %L; HTTP endpoints are reached through API destinations, as in EventBridge.', tid, left(t_arn, 200)),
                    'Create a connection (create_connection) and an API destination for the URL (create_api_destination), then use Arn "api-destination:<name>".');
            ELSIF t_kind = 'api_destination' THEN
                t_uuid := substring(t_arn FROM '/([0-9A-Fa-f-]{36})$');
                -- locked, so that it is not deleted while the target is put
                IF NOT EXISTS (SELECT FROM eventbus.api_destinations d
                                WHERE d.name = t_dest AND (t_uuid IS NULL OR d.arn_uuid = t_uuid::uuid)
                                  FOR KEY SHARE) THEN
                    PERFORM eventbus._raise('42704',
                        format('API destination %L does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create the API destination first (create_api_destination).');
                END IF;
                -- the target sends to it as its owner
                PERFORM eventbus._require_privilege('api_destination', t_dest, 'invoke');
            ELSIF t_kind = 'function' THEN
                -- the function takes the payload as its one jsonb argument
                t_func := to_regprocedure(t_dest || '(jsonb)');
                IF t_func IS NULL THEN
                    PERFORM eventbus._raise('42704',
                        format('function %s(jsonb) does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create a function taking one jsonb argument, e.g. CREATE FUNCTION app.on_event(event jsonb) RETURNS void ...');
                END IF;
                -- the worker calls it as the target's owner: who puts the
                -- target must be able to call it
                IF NOT has_function_privilege(caller, t_func, 'EXECUTE') THEN
                    PERFORM eventbus._raise('42501',
                        format('permission denied for function %s', t_func),
                        format('Target %L would run %s as role %s, which lacks EXECUTE on it.', tid, t_func, caller),
                        format('The function''s owner can grant it: GRANT EXECUTE ON FUNCTION %s TO %s.', t_func, caller));
                END IF;
                -- qualified, as search_path is pinned here
                t_dest := t_func::text;
            ELSIF t_kind = 'bus' THEN
                IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = t_dest) THEN
                    PERFORM eventbus._raise('42704',
                        format('event bus %L does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create the bus first (create_event_bus).');
                END IF;
                -- the target forwards events as its owner
                PERFORM eventbus._require_privilege('bus', t_dest, 'put_events');
            ELSIF t_kind = 'notify' THEN
                IF length(t_dest) > 63 THEN
                    PERFORM eventbus._raise('22023',
                        format('notify channel %L is longer than 63 characters', left(t_dest, 100)),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Use a channel name of at most 63 characters.');
                END IF;
            END IF;

            -- Input, InputPath, InputTransformer
            t_input := nullif(entry -> 'Input', 'null');
            IF jsonb_typeof(t_input) = 'string' THEN
                -- AWS passes Input as JSON text
                BEGIN
                    t_input := (t_input #>> '{}')::jsonb;
                EXCEPTION WHEN invalid_text_representation THEN
                    PERFORM eventbus._raise('22023',
                        format('Input of target %L is not valid JSON text', tid),
                        format('Input is %s.', entry -> 'Input'),
                        'Input is JSON text (as in AWS, e.g. "{\"a\": 1}") or a JSON value.');
                END;
            END IF;
            t_input_path := NULL;
            IF nullif(entry -> 'InputPath', 'null') IS NOT NULL THEN
                IF jsonb_typeof(entry -> 'InputPath') <> 'string' THEN
                    PERFORM eventbus._raise('22023',
                        format('InputPath of target %L must be a string', tid),
                        format('InputPath is %s.', entry -> 'InputPath'),
                        'Pass a JSONPath such as "$.detail".');
                END IF;
                t_input_path := entry ->> 'InputPath';
            END IF;
            t_transformer := nullif(entry -> 'InputTransformer', 'null');
            PERFORM eventbus.validate_target_input(t_input, t_input_path, t_transformer);
            IF t_kind = 'bus' AND num_nonnulls(t_input, t_input_path, t_transformer) > 0 THEN
                PERFORM eventbus._raise('22023',
                    format('target %L forwards events to a bus and cannot transform them', tid),
                    'A bus target puts the event itself on the other bus, as in EventBridge.',
                    'Remove Input, InputPath and InputTransformer from this target.');
            END IF;

            t_retry := eventbus._retry_policy(entry -> 'RetryPolicy');

            -- HttpParameters: for API destinations only
            t_http := eventbus._check_http_parameters(entry -> 'HttpParameters', tid);
            IF t_http IS NOT NULL AND t_kind <> 'api_destination' THEN
                PERFORM eventbus._raise('22023',
                    format('target %L cannot take HttpParameters', tid),
                    format('Target %L is a %s target; only API destination targets send HTTP requests.', tid, t_kind),
                    'Remove HttpParameters, or use an API destination ("api-destination:<name>").');
            END IF;

            -- Config (eventbus's own): {"TimeoutSeconds": 1-3600} for function targets
            t_config := coalesce(nullif(entry -> 'Config', 'null'), '{}');
            IF jsonb_typeof(t_config) <> 'object'
               OR EXISTS (SELECT FROM jsonb_object_keys(t_config) ck WHERE ck <> 'TimeoutSeconds')
               OR (t_config ? 'TimeoutSeconds'
                   AND (jsonb_typeof(t_config -> 'TimeoutSeconds') <> 'number'
                        OR (t_config ->> 'TimeoutSeconds')::numeric NOT BETWEEN 0.001 AND 3600)) THEN
                PERFORM eventbus._raise('22023',
                    format('Config of target %L is not valid', tid),
                    format('Config is %s; it takes {"TimeoutSeconds": <0.001 to 3600>}.', entry -> 'Config'),
                    'TimeoutSeconds is the statement timeout of a function target''s call.');
            END IF;

            -- DeadLetterConfig: a queue for the events that could not be delivered
            t_dlc := nullif(entry -> 'DeadLetterConfig', 'null');
            dlq_name := NULL;
            IF t_dlc IS NOT NULL THEN
                IF jsonb_typeof(t_dlc) <> 'object' OR jsonb_typeof(t_dlc -> 'Arn') IS DISTINCT FROM 'string'
                   OR (SELECT count(*) FROM jsonb_object_keys(t_dlc)) <> 1 THEN
                    PERFORM eventbus._raise('22023',
                        format('DeadLetterConfig of target %L must be {"Arn": "<queue>"}', tid),
                        format('DeadLetterConfig is %s.', t_dlc),
                        'Name a queue: {"Arn": "queue:<name>"} or {"Arn": "arn:aws:sqs:<region>:<account>:<name>"}.');
                END IF;
                SELECT p.kind, p.destination INTO dlq_kind, dlq_name
                  FROM eventbus._parse_target_arn(t_dlc ->> 'Arn') p;
                IF dlq_kind IS DISTINCT FROM 'queue' THEN
                    PERFORM eventbus._raise('22023',
                        format('DeadLetterConfig of target %L does not name a queue', tid),
                        format('Its Arn is %L.', t_dlc ->> 'Arn'),
                        'Name a queue: {"Arn": "queue:<name>"} or {"Arn": "arn:aws:sqs:<region>:<account>:<name>"}.');
                END IF;
                -- the Arn as given, and the queue it designates
                t_dlc := jsonb_build_object('Arn', t_dlc ->> 'Arn', 'Queue', dlq_name);
            END IF;

            is_update := EXISTS (SELECT FROM eventbus.targets t
                                  WHERE t.bus = v_bus AND t.rule = _put_targets_impl.rule
                                    AND t.target_id = tid);
            IF NOT is_update AND n_targets >= max_targets THEN
                PERFORM eventbus._raise('54000',
                    format('rule %L on event bus %L already has %s target(s), the limit', _put_targets_impl.rule, v_bus, n_targets),
                    format('A rule has at most eventbus.max_targets_per_rule (%s) targets; target %L was not added.', max_targets, tid),
                    'Remove a target (remove_targets), or raise eventbus.max_targets_per_rule.');
            END IF;

            -- The queues come into being with the first target that names
            -- them (for roles that may create queues; others need send on
            -- an existing one); a push target has an outbox of its own.
            IF t_kind = 'queue' THEN
                t_outbox := eventbus._target_queue(t_dest);
            ELSE
                t_outbox := eventbus._push_outbox(v_bus, _put_targets_impl.rule, tid);
            END IF;

            IF dlq_name IS NOT NULL THEN
                PERFORM eventbus._target_queue(dlq_name);
            END IF;

            -- SqsParameters: required by FIFO queues, refused by the others
            t_sqs := eventbus._check_sqs_parameters(entry -> 'SqsParameters', tid, t_kind, t_dest);

            INSERT INTO eventbus.targets AS t
                (bus, rule, target_id, arn, kind, destination, outbox, input, input_path,
                 input_transformer, retry_policy, dead_letter_config, config, owner, http_parameters,
                 sqs_parameters)
            VALUES (v_bus, _put_targets_impl.rule, tid, t_arn, t_kind, t_dest, t_outbox, t_input,
                    t_input_path, t_transformer, t_retry, t_dlc, t_config,
                    pg_catalog.pg_get_userbyid(caller), t_http, t_sqs)
            ON CONFLICT ON CONSTRAINT targets_pkey DO UPDATE
               SET arn = excluded.arn,
                   kind = excluded.kind,
                   destination = excluded.destination,
                   outbox = excluded.outbox,
                   input = excluded.input,
                   input_path = excluded.input_path,
                   input_transformer = excluded.input_transformer,
                   retry_policy = excluded.retry_policy,
                   dead_letter_config = excluded.dead_letter_config,
                   config = excluded.config,
                   http_parameters = excluded.http_parameters,
                   sqs_parameters = excluded.sqs_parameters,
                   -- whoever last put the target is the role it acts as
                   owner = excluded.owner,
                   updated_at = now();
            IF NOT is_update THEN
                n_targets := n_targets + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
            IF NOT eventbus._is_entry_error(err_state) THEN
                RAISE;
            END IF;
            failed := failed || jsonb_build_array(jsonb_build_object(
                'TargetId', tid,
                'ErrorCode', eventbus._entry_error_code(err_state),
                'ErrorMessage', err_message));
        END;
    END LOOP;
    RETURN jsonb_build_object('FailedEntryCount', jsonb_array_length(failed),
                              'FailedEntries', failed);
END;
$fn$;

COMMENT ON FUNCTION eventbus._put_targets_impl(text, jsonb, text) IS
'Internal: implementation of put_targets.';
REVOKE ALL ON FUNCTION eventbus._put_targets_impl(text, jsonb, text) FROM PUBLIC;

CREATE FUNCTION eventbus.remove_targets(rule text, ids text[],
                                        event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.remove_targets(text, text[], text) IS
'EventBridge''s RemoveTargets: removes targets of a rule by Id (for the rule''s owner, the bus''s owner and eventbus_admin); returns {"FailedEntryCount", "FailedEntries"} (an unknown Id is a per-entry failure). Queues and their messages stay.';

CREATE FUNCTION eventbus._remove_targets_impl(rule text, ids text[], event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_remove_targets_impl.event_bus_name);
    failed jsonb := '[]';
    seen text[] := '{}';
    tid text;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        PERFORM eventbus._raise('22023',
            'no target Ids given',
            'RemoveTargets takes the Ids of at least one target.',
            format('list_targets_by_rule(%L, %L) shows the targets of the rule.', _remove_targets_impl.rule, v_bus));
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _remove_targets_impl.rule,
                                         eventbus._lock_rule(v_bus, _remove_targets_impl.rule));
    FOREACH tid IN ARRAY ids LOOP
        IF tid = ANY (seen) THEN
            CONTINUE;			-- a repeated Id is removed once
        END IF;
        seen := seen || tid;
        -- Queues stay: their messages are never dropped by removing a target.
        DELETE FROM eventbus.targets t
         WHERE t.bus = v_bus AND t.rule = _remove_targets_impl.rule AND t.target_id = tid;
        IF NOT FOUND THEN
            failed := failed || jsonb_build_array(CASE
                WHEN tid IS NULL THEN jsonb_build_object(
                    'TargetId', tid,
                    'ErrorCode', 'ValidationException',
                    'ErrorMessage', 'target Id is NULL')
                ELSE jsonb_build_object(
                    'TargetId', tid,
                    'ErrorCode', 'ResourceNotFoundException',
                    'ErrorMessage', format('rule %L on event bus %L has no target %L',
                                           _remove_targets_impl.rule, v_bus, tid)) END);
        END IF;
    END LOOP;
    RETURN jsonb_build_object('FailedEntryCount', jsonb_array_length(failed),
                              'FailedEntries', failed);
END;
$fn$;

COMMENT ON FUNCTION eventbus._remove_targets_impl(text, text[], text) IS
'Internal: implementation of remove_targets.';
REVOKE ALL ON FUNCTION eventbus._remove_targets_impl(text, text[], text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_targets_by_rule(rule text, event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_targets_by_rule(text, text) IS
'EventBridge''s ListTargetsByRule: {"Targets": [...]} in PutTargets'' shape (Input as JSON text), by Id; for the rule''s owner, the bus''s owner and eventbus_admin (42501). Raises 42704 when the bus or rule does not exist.';

CREATE FUNCTION eventbus._list_targets_by_rule_impl(rule text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_list_targets_by_rule_impl.event_bus_name);
    result jsonb;
BEGIN
    PERFORM eventbus._check_rule(v_bus, _list_targets_by_rule_impl.rule);
    PERFORM eventbus._require_rule_owner(v_bus, _list_targets_by_rule_impl.rule,
        (SELECT r.owner FROM eventbus.rules r
          WHERE r.bus = v_bus AND r.name = _list_targets_by_rule_impl.rule));
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'Id', t.target_id,
               'Arn', t.arn,
               'Input', t.input::text,
               'InputPath', t.input_path,
               'InputTransformer', t.input_transformer,
               'RetryPolicy', t.retry_policy,
               'DeadLetterConfig', t.dead_letter_config - 'Queue',
               'Config', nullif(t.config, '{}'),
               'HttpParameters', t.http_parameters,
               'SqsParameters', t.sqs_parameters))
             ORDER BY t.target_id), '[]')
      INTO result
      FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _list_targets_by_rule_impl.rule;
    RETURN jsonb_build_object('Targets', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_targets_by_rule_impl(text, text) IS
'Internal: implementation of list_targets_by_rule.';
REVOKE ALL ON FUNCTION eventbus._list_targets_by_rule_impl(text, text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_rule_names_by_target(target_arn text,
                                                   event_bus_name text DEFAULT 'default')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_rule_names_by_target(text, text) IS
'EventBridge''s ListRuleNamesByTarget: {"RuleNames": [...]} of the rules of a bus with a target designating target_arn (queue:x and arn:aws:sqs:...:x are the same queue), among those the caller may change (it owns them or the bus, or is an eventbus_admin). Raises 42704 when the bus does not exist.';

CREATE FUNCTION eventbus._list_rule_names_by_target_impl(target_arn text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_list_rule_names_by_target_impl.event_bus_name);
    t_kind text;
    t_dest text;
    result jsonb;
    caller regrole := eventbus._caller();
BEGIN
    PERFORM eventbus._check_bus(v_bus);
    SELECT p.kind, p.destination INTO t_kind, t_dest FROM eventbus._parse_target_arn(target_arn) p;
    -- Arns that designate the same destination (queue:x, arn:aws:sqs:...:x)
    -- are the same target.
    SELECT coalesce(jsonb_agg(n ORDER BY n), '[]') INTO result
      FROM (SELECT DISTINCT t.rule AS n
              FROM eventbus.targets t
              JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule
             WHERE t.bus = v_bus
               AND CASE WHEN t_kind IS NULL THEN t.arn = target_arn
                        ELSE t.kind = t_kind AND t.destination = t_dest END
               AND eventbus._may_manage_rule(r.bus, r.owner, caller)) s;
    RETURN jsonb_build_object('RuleNames', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_rule_names_by_target_impl(text, text) IS
'Internal: implementation of list_rule_names_by_target.';
REVOKE ALL ON FUNCTION eventbus._list_rule_names_by_target_impl(text, text) FROM PUBLIC;
