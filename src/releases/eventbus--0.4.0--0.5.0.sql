-- eventbus 0.4.0 -> 0.5.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.5.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Replays (issue 11): a replayed event carries the replay's name, which its
-- envelope shows as "replay-name".  At the end of eventbus.events, so of
-- every partition.
ALTER TABLE eventbus.events ADD COLUMN replay_name text;

-- ---------------------------------------------------------------------------
-- Schedule expressions (src/sql/62_schedule_expressions.sql): validation and
-- fire times of rate(...) and cron(...), in UTC.
CREATE FUNCTION eventbus.validate_schedule_expression(expression text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_schedule_expression'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_schedule_expression(text) IS
'Returns true for a valid EventBridge schedule expression, rate(value unit) or cron(minutes hours day-of-month month day-of-week year); raises "Parameter ScheduleExpression is not valid." (SQLSTATE 22023) with the reason as DETAIL otherwise.';

CREATE FUNCTION eventbus.schedule_fire_times(expression text, after timestamptz,
                                             count integer DEFAULT 1,
                                             anchor timestamptz DEFAULT NULL)
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'eventbus_schedule_fire_times'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION eventbus.schedule_fire_times(text, timestamptz, integer, timestamptz) IS
'The next count (1-1000) times, strictly after after, at which the schedule expression fires, computed in UTC: a cron on whole minutes up to 2199, a rate at anchor + k * period (k >= 1; anchor defaults to after). Fewer rows when the schedule ends; none when expression, after or count is NULL. An invalid expression or count raises SQLSTATE 22023.';

-- ---------------------------------------------------------------------------
-- Scheduled rules (issue 11): put_rule gains schedule_expression (dropped
-- and made again: its signature changes; calls with the old five
-- arguments still resolve to it), DescribeRule shows ScheduleExpression,
-- list_rules gains a column (dropped and made again: its result changes).
DROP FUNCTION eventbus.put_rule(text, jsonb, text, text, text);
DROP FUNCTION eventbus._put_rule_impl(text, jsonb, text, text, text);
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

COMMENT ON FUNCTION eventbus.describe_rule(text, text) IS
'EventBridge''s DescribeRule: {"Name", "Arn", "EventPattern" (JSON text), "ScheduleExpression", "State", "Description", "EventBusName", "CreatedBy"}; EventPattern, ScheduleExpression and Description are omitted when the rule has none. For the rule''s owner and the holders of manage_rules or read_events on its bus (42501).';

CREATE OR REPLACE FUNCTION eventbus._describe_rule_impl(name text, event_bus_name text)
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

DROP FUNCTION eventbus.list_rules(text, text);
DROP FUNCTION eventbus._list_rules_impl(text, text);
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

-- Scheduled rules: rules with a ScheduleExpression (rate(...) or cron(...),
-- src/schedule_expr.c) instead of, or as well as, an event pattern.
--
-- The database's first delivery worker keeps time (src/maintenance.c): at
-- each tick it calls eventbus._fire_due_schedules(), which puts EventBridge's
-- "Scheduled Event" (source "aws.events", the rule's ARN as its one
-- resource, "time" the tick's due time) on the default bus, and routing
-- sends it to that rule's targets only (src/route.c).  Ticks missed while
-- the server was down, the rule was disabled or the worker was away for
-- more than a minute are not fired afterwards (EventBridge does not
-- backfill either): they are counted in eventbus.rule_schedules and the
-- schedule goes on from its next due time.
--
-- As in EventBridge, schedules are for rules of the default bus.

ALTER TABLE eventbus.rules ALTER COLUMN event_pattern DROP NOT NULL;
ALTER TABLE eventbus.rules ADD COLUMN schedule_expression text;
ALTER TABLE eventbus.rules ADD CONSTRAINT rules_pattern_or_schedule
    CHECK (event_pattern IS NOT NULL OR schedule_expression IS NOT NULL);
ALTER TABLE eventbus.rules ADD CONSTRAINT rules_schedule_on_default_bus
    CHECK (schedule_expression IS NULL OR bus = 'default');
COMMENT ON COLUMN eventbus.rules.schedule_expression IS
'The rule''s ScheduleExpression (rate(...) or cron(...), UTC), or NULL; a rule has an event pattern, a schedule, or both.';

-- The scheduler's state: one row per scheduled rule, made by the scheduler
-- when it first sees the rule's expression.  Not dumped: a restored
-- database's schedules start again from the time it is restored.
CREATE TABLE eventbus.rule_schedules (
    rule_id             bigint PRIMARY KEY REFERENCES eventbus.rules (rule_id) ON DELETE CASCADE,
    -- the expression the row was made for (a changed one starts afresh)
    schedule_expression text NOT NULL,
    -- a rate's ticks are anchor + k * period
    anchor              timestamptz NOT NULL,
    -- NULL: the schedule never fires again (a cron whose years are over)
    next_fire_at        timestamptz,
    last_fired_at       timestamptz,
    ticks_fired         bigint NOT NULL DEFAULT 0,
    ticks_missed        bigint NOT NULL DEFAULT 0,
    last_missed_at      timestamptz
);
COMMENT ON TABLE eventbus.rule_schedules IS
'Internal: the scheduler''s state of each scheduled rule (next tick, ticks fired and missed); see the view eventbus.scheduled_rules.';

-- How late a tick may still be fired.
CREATE FUNCTION eventbus._schedule_tick_grace()
RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT interval '60 seconds' $fn$;

COMMENT ON FUNCTION eventbus._schedule_tick_grace() IS
'Internal: how late a scheduled tick may be and still fire (60 seconds); a later one counts as missed and is not fired.';

-- The first tick of a schedule strictly after a time.
CREATE FUNCTION eventbus._schedule_next(expression text, after timestamptz, anchor timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT t FROM eventbus.schedule_fire_times(expression, after, 1, anchor) t
$fn$;

COMMENT ON FUNCTION eventbus._schedule_next(text, timestamptz, timestamptz) IS
'Internal: the first tick of a schedule expression after a time (NULL when there is none).';

CREATE FUNCTION eventbus._fire_due_schedules()
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s record;
    v_now timestamptz := pg_catalog.clock_timestamp();
    missed bigint;
BEGIN
    -- rules whose expression changed start afresh; new ones get a row
    DELETE FROM eventbus.rule_schedules x
     USING eventbus.rules r
     WHERE r.rule_id = x.rule_id
       AND r.schedule_expression IS DISTINCT FROM x.schedule_expression;
    INSERT INTO eventbus.rule_schedules (rule_id, schedule_expression, anchor, next_fire_at)
    SELECT r.rule_id, r.schedule_expression, pg_catalog.date_trunc('second', v_now),
           eventbus._schedule_next(r.schedule_expression, v_now, pg_catalog.date_trunc('second', v_now))
      FROM eventbus.rules r
     WHERE r.schedule_expression IS NOT NULL
       AND NOT EXISTS (SELECT FROM eventbus.rule_schedules x WHERE x.rule_id = r.rule_id)
    ON CONFLICT DO NOTHING;

    FOR s IN
        SELECT x.*, r.name, r.bus, r.state
          FROM eventbus.rule_schedules x
          JOIN eventbus.rules r USING (rule_id)
         WHERE x.next_fire_at <= v_now
         ORDER BY x.next_fire_at
           FOR UPDATE OF x SKIP LOCKED
    LOOP
        IF s.state <> 'ENABLED' OR v_now - s.next_fire_at > eventbus._schedule_tick_grace() THEN
            -- not fired now, nor later: count what was missed (up to 1000)
            SELECT count(*) INTO missed
              FROM eventbus.schedule_fire_times(s.schedule_expression,
                                                s.next_fire_at - interval '1 microsecond',
                                                1000, s.anchor) t
             WHERE t <= v_now;
            UPDATE eventbus.rule_schedules x
               SET next_fire_at = eventbus._schedule_next(s.schedule_expression, v_now, s.anchor),
                   ticks_missed = x.ticks_missed + CASE WHEN s.state = 'ENABLED' THEN missed ELSE 0 END,
                   last_missed_at = CASE WHEN s.state = 'ENABLED' THEN v_now ELSE x.last_missed_at END
             WHERE x.rule_id = s.rule_id;
            CONTINUE;
        END IF;
        INSERT INTO eventbus.events (bus, "time", source, detail_type, resources, detail)
        VALUES (s.bus, s.next_fire_at, 'aws.events', 'Scheduled Event',
                ARRAY[eventbus.rule_arn(s.name, s.bus)], '{}');
        UPDATE eventbus.rule_schedules x
           SET next_fire_at = eventbus._schedule_next(s.schedule_expression, s.next_fire_at, s.anchor),
               last_fired_at = v_now,
               ticks_fired = x.ticks_fired + 1
         WHERE x.rule_id = s.rule_id;
    END LOOP;

    RETURN (SELECT min(x.next_fire_at) FROM eventbus.rule_schedules x);
END;
$fn$;

COMMENT ON FUNCTION eventbus._fire_due_schedules() IS
'Internal: the scheduler''s pass (called by the database''s first delivery worker): puts a "Scheduled Event" for each due tick of an enabled scheduled rule (at most eventbus._schedule_tick_grace() late; later ones are counted as missed), and returns when the next tick is due (NULL: none).';
REVOKE ALL ON FUNCTION eventbus._fire_due_schedules() FROM PUBLIC;

CREATE FUNCTION eventbus._visible_scheduled_rules()
RETURNS TABLE (name text, arn text, schedule_expression text, state text,
               next_fire_at timestamptz, last_fired_at timestamptz,
               ticks_fired bigint, ticks_missed bigint, last_missed_at timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus._visible_scheduled_rules() IS
'Internal: the rows of view scheduled_rules that its reader may see.';

CREATE FUNCTION eventbus.__visible_scheduled_rules_impl()
RETURNS TABLE (name text, arn text, schedule_expression text, state text,
               next_fire_at timestamptz, last_fired_at timestamptz,
               ticks_fired bigint, ticks_missed bigint, last_missed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT r.name, eventbus.rule_arn(r.name, r.bus), r.schedule_expression, r.state,
           s.next_fire_at, s.last_fired_at, coalesce(s.ticks_fired, 0),
           coalesce(s.ticks_missed, 0), s.last_missed_at
      FROM eventbus.rules r
      LEFT JOIN eventbus.rule_schedules s USING (rule_id)
     WHERE r.schedule_expression IS NOT NULL
       AND eventbus._may_see_rule(r.bus, r.owner, eventbus._caller())
     ORDER BY r.name
$fn$;

COMMENT ON FUNCTION eventbus.__visible_scheduled_rules_impl() IS
'Internal: implementation of _visible_scheduled_rules.';
REVOKE ALL ON FUNCTION eventbus.__visible_scheduled_rules_impl() FROM PUBLIC;

CREATE VIEW eventbus.scheduled_rules AS
SELECT s.name, s.arn, s.schedule_expression, s.state, s.next_fire_at, s.last_fired_at,
       s.ticks_fired, s.ticks_missed, s.last_missed_at
  FROM eventbus._visible_scheduled_rules() s;

COMMENT ON VIEW eventbus.scheduled_rules IS
'The scheduled rules the reader may see (it owns them, or holds manage_rules or read_events on the default bus), with their next tick, last tick, and ticks fired and missed (missed: due while the server was down, the rule was disabled or the scheduler was away over a minute; never fired afterwards).';
GRANT SELECT ON eventbus.scheduled_rules TO PUBLIC;

REVOKE ALL ON FUNCTION eventbus._schedule_tick_grace() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._schedule_next(text,timestamp with time zone,timestamp with time zone) FROM PUBLIC;

-- the rule index shows a rule with a schedule only as such
COMMENT ON FUNCTION eventbus.rule_index_anchors(text) IS
'How routing finds each enabled rule of a bus: the field path and values that anchor it in the rule index (the rule is a candidate only for events with one of these values there), or anchor_kind none when it is tried on every event (schedule: a rule with a schedule only, never tried on events). Needs manage_rules or read_events on the bus (42501).';

-- ---------------------------------------------------------------------------
-- Partition maintenance by the first delivery worker (issue 11): retention
-- (eventbus.event_retention and archives), partitions made ahead, drops that
-- spare unfinished replays and never wait long for their lock.
COMMENT ON FUNCTION eventbus.drop_event_partitions(interval) IS
'Drops the daily partitions of eventbus.events that ended at least older_than ago, except those whose events undelivered messages (outbox rows, dead letters without a payload) still reference, those an unfinished replay reads, and those it cannot lock within 50 ms, which it reports with a NOTICE; returns the partitions dropped. Never touches eventbus.events_default. For eventbus_admin (42501).';

CREATE OR REPLACE FUNCTION eventbus._drop_event_partitions_impl(older_than interval)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    p record;
    lo timestamptz;
    hi timestamptz;
    cutoff timestamptz;
    outbox regclass;
    referenced boolean;
    referencing text[];
    v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
BEGIN
    PERFORM eventbus._require_admin('drop event partitions');
    IF older_than IS NULL OR older_than < interval '0' THEN
        PERFORM eventbus._raise('22023',
            format('invalid older_than %s', coalesce(older_than::text, 'NULL')),
            'drop_event_partitions drops the daily partitions that end at least older_than before now().',
            'Pass a positive interval, such as ''30 days''.');
    END IF;
    cutoff := now() - older_than;

    FOR p IN SELECT * FROM eventbus._event_partitions() LOOP
        lo := (p.day::timestamp AT TIME ZONE 'UTC');
        hi := ((p.day + 1)::timestamp AT TIME ZONE 'UTC');
        CONTINUE WHEN hi > cutoff;

        -- Messages that still reference events of the partition: outbox rows
        -- of every queue and target, and dead letters without a payload of
        -- their own (redriving them reads the event).
        referencing := '{}';
        FOR outbox IN
            SELECT q.outbox FROM eventbus.queues q
            UNION
            SELECT t.outbox FROM eventbus.targets t
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE event_ingestion_time >= $1 AND event_ingestion_time < $2)',
                           outbox)
               INTO referenced USING lo, hi;
            IF referenced THEN
                referencing := referencing || outbox::text;
            END IF;
        END LOOP;
        IF EXISTS (SELECT FROM eventbus.dead_letters d
                    WHERE d.payload IS NULL
                      AND d.event_ingestion_time >= lo AND d.event_ingestion_time < hi) THEN
            referencing := referencing || 'eventbus.dead_letters'::text;
        END IF;

        IF cardinality(referencing) > 0 THEN
            RAISE NOTICE 'kept eventbus.%: undelivered messages reference its events', p.partition_name
                USING DETAIL = format('Referenced from %s.', array_to_string(referencing, ', ')),
                      HINT = 'Deliver, drain or delete those messages; the partition is dropped by a later call.';
            CONTINUE;
        END IF;
        -- an unfinished replay reads the archive's events of its window
        IF EXISTS (SELECT FROM eventbus.replays r
                    WHERE r.state IN ('STARTING', 'RUNNING', 'CANCELLING')
                      AND r.event_start_time < hi AND r.event_end_time >= lo) THEN
            RAISE NOTICE 'kept eventbus.%: an unfinished replay reads its events', p.partition_name
                USING HINT = 'The partition is dropped by a later call, once the replay is over.';
            CONTINUE;
        END IF;

        -- a moment of ACCESS EXCLUSIVE on eventbus.events: never waited
        -- for long, so puts queued behind the request are not held up
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '50ms', true);
            EXECUTE format('DROP TABLE eventbus.%I', p.partition_name);
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
            RAISE NOTICE 'kept eventbus.%: it is in use', p.partition_name
                USING DETAIL = 'Dropping it needs a moment of ACCESS EXCLUSIVE lock on eventbus.events, which was not granted within 50 ms.',
                      HINT = 'The partition is dropped by a later call.';
            CONTINUE;
        END;
        RETURN NEXT 'eventbus.' || p.partition_name;
    END LOOP;
END;
$fn$;

-- The retention of stored events: the longest of eventbus.event_retention
-- and every archive's RetentionDays; NULL (forever) when either is 0.
CREATE FUNCTION eventbus.event_retention_period()
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    -- in minutes, the setting's unit (current_setting shows "30d")
    v_global integer := (SELECT s.setting::integer FROM pg_catalog.pg_settings s
                          WHERE s.name = 'eventbus.event_retention');
    v_forever boolean;
    v_days integer;
BEGIN
    SELECT bool_or(a.retention_days = 0), max(a.retention_days)
      INTO v_forever, v_days
      FROM eventbus.archives a;
    IF v_global = 0 OR coalesce(v_forever, false) THEN
        RETURN NULL;
    END IF;
    RETURN greatest(pg_catalog.make_interval(mins => v_global),
                    pg_catalog.make_interval(days => coalesce(v_days, 0)));
END;
$fn$;

COMMENT ON FUNCTION eventbus.event_retention_period() IS
'How long stored events are kept: the longest of eventbus.event_retention and every archive''s RetentionDays; NULL (forever) when eventbus.event_retention is 0 or an archive keeps its events forever.';

CREATE FUNCTION eventbus.maintain_event_partitions()
RETURNS TABLE (action text, partition_name text)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.maintain_event_partitions() IS
'What the first delivery worker of the database does every eventbus.partition_maintenance_interval, done now: makes the daily partitions of the next eventbus.partition_days_ahead days (unless 0) and drops those past event_retention_period() (see drop_event_partitions); returns each partition made (action "created") or dropped ("dropped"), or "busy" when making them had to wait over 50 ms for a lock (tried again at the next pass). For eventbus_admin (42501).';

CREATE FUNCTION eventbus._maintain_event_partitions_impl()
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_days_ahead integer := pg_catalog.current_setting('eventbus.partition_days_ahead')::integer;
    v_keep interval := eventbus.event_retention_period();
    v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
    p text;
BEGIN
    PERFORM eventbus._require_admin('maintain event partitions');
    IF v_days_ahead > 0 THEN
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '50ms', true);
            FOR p IN SELECT * FROM eventbus._create_event_partitions_impl(
                         v_days_ahead, (pg_catalog.now() AT TIME ZONE 'UTC')::date)
            LOOP
                action := 'created';
                partition_name := p;
                RETURN NEXT;
            END LOOP;
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
            action := 'busy';
            partition_name := NULL;
            RETURN NEXT;
        END;
    END IF;
    IF v_keep IS NOT NULL THEN
        FOR p IN SELECT * FROM eventbus._drop_event_partitions_impl(v_keep) LOOP
            action := 'dropped';
            partition_name := p;
            RETURN NEXT;
        END LOOP;
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._maintain_event_partitions_impl() IS
'Internal: implementation of maintain_event_partitions.';
REVOKE ALL ON FUNCTION eventbus._maintain_event_partitions_impl() FROM PUBLIC;

-- What the worker calls: the same, for the worker (it is no API caller).
CREATE FUNCTION eventbus._maintain_event_partitions()
RETURNS TABLE (action text, partition_name text)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM eventbus._maintain_event_partitions_impl()
$fn$;

COMMENT ON FUNCTION eventbus._maintain_event_partitions() IS
'Internal: the partition maintenance the first delivery worker of each database runs every eventbus.partition_maintenance_interval (see maintain_event_partitions).';
REVOKE ALL ON FUNCTION eventbus._maintain_event_partitions() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Archives and replays (src/sql/64_archives.sql, src/sql/66_replays.sql).

-- Archives: EventBridge's CreateArchive, DescribeArchive, UpdateArchive,
-- DeleteArchive and ListArchives, and archive_events() to read one.
--
-- An archive is a view over eventbus.events, not a copy: events stay in
-- their daily partitions for as long as partition retention keeps them,
-- and an archive names which of them it holds.  An event is in archive A
-- when
--   e.bus = A.bus                         (the archive's source bus)
--   e.ingestion_time >= A.created_at      (put after the archive was made)
--   e.replay_name IS NULL                 (replayed events are never archived)
--   NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')
--                                         (scheduled rules' ticks are not archived)
--   A.retention_days = 0 OR e.ingestion_time >= now() - A.retention_days days
--   A.event_pattern IS NULL
--     OR eventbus.event_envelope(e) OPERATOR(eventbus.=~) A.event_pattern
-- The pattern test is written in exactly that form wherever membership is
-- asked (describe_archive, list_archives, archive_events, the replay
-- worker in src/replay.c), so that an index path for it serves them all.
--
-- Costs and consequences of the view design (unlike EventBridge, which
-- copies events into the archive as they arrive):
--   * UpdateArchive's new pattern applies to past events too: membership
--     is computed when asked, so events the old pattern excluded may be in
--     the archive afterwards, and the other way round.
--   * EventCount and SizeBytes (describe_archive, list_archives) are
--     computed from the rows: each costs a scan of the bus's events since
--     the archive was made.  SizeBytes is the stored size of those rows
--     (pg_column_size).
--   * An archive holds nothing that partition retention has dropped:
--     retention_days shorter than the partitions' retention shortens the
--     archive, a longer one cannot lengthen it.
--
-- Rights: creating an archive needs manage_rules on the bus (the caller
-- becomes its owner); updating and deleting one needs being its owner,
-- the bus's owner or an eventbus_admin (as for rules); describing,
-- listing and reading an archive needs read_events on its bus.
--
-- ARNs: arn:aws:events:<region>:<account>:archive/<name>.  Functions that
-- take an archive take its name or its ARN.

CREATE TABLE eventbus.archives (
    name           text PRIMARY KEY,
    bus            text NOT NULL REFERENCES eventbus.event_buses (name),
    event_pattern  eventbus.event_pattern,
    -- 0: kept for as long as the events are
    retention_days integer NOT NULL DEFAULT 0,
    description    text,
    state          text NOT NULL DEFAULT 'ENABLED',
    owner          regrole NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT archives_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,48}$'),
    CONSTRAINT archives_retention_valid CHECK (retention_days >= 0),
    CONSTRAINT archives_state_valid CHECK (state IN ('ENABLED', 'DISABLED'))
);
COMMENT ON TABLE eventbus.archives IS
'Archives (CreateArchive): which events of a bus, put since the archive was made, an archive holds (a view over eventbus.events, see archive_events).';
SELECT pg_catalog.pg_extension_config_dump('eventbus.archives', '');
REVOKE ALL ON TABLE eventbus.archives FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.archives TO eventbus_admin;

-- ---------------------------------------------------------------------
-- ARNs and names
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.archive_arn(archive_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:archive/%s', eventbus.current_region(),
                  eventbus.current_account(), archive_name)
$fn$;

COMMENT ON FUNCTION eventbus.archive_arn(text) IS
'The ARN of an archive: arn:aws:events:<region>:<account>:archive/<name> (eventbus.region, eventbus.account). Does not check that the archive exists.';

CREATE FUNCTION eventbus._archive_name(archive text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF archive IS NULL OR archive = '' THEN
        PERFORM eventbus._raise('22023',
            'archive name must not be empty',
            'An archive is named by its name or its ARN.',
            'Pass a name such as ''orders-archive''.');
    END IF;
    IF starts_with(archive, 'arn:') THEN
        IF archive !~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:archive/[.\-_A-Za-z0-9]{1,48}$' THEN
            PERFORM eventbus._raise('22023',
                format('Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format: %s', archive),
                'An archive ARN is arn:aws:events:<region>:<account>:archive/<name>.',
                format('Use a name, or an ARN such as %s.', eventbus.archive_arn('orders-archive')));
        END IF;
        RETURN substring(archive FROM ':archive/(.*)$');
    END IF;
    RETURN archive;
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_name(text) IS
'Internal: the archive name in an argument that is a name or an archive ARN; raises 22023 for an empty one or a malformed ARN.';

CREATE FUNCTION eventbus._archive_not_found(archive text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('Archive %s does not exist.', archive),
        'No archive of that name exists in this database.',
        'list_archives() shows the archives; create_archive() creates one.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_not_found(text) IS
'Internal: raises 42704 "Archive ... does not exist." (EventBridge''s ResourceNotFoundException).';

CREATE FUNCTION eventbus._check_archive_pattern(event_pattern jsonb, archive text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus.validate_event_pattern(event_pattern);
    IF length(event_pattern::text) > current_setting('eventbus.max_pattern_size')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event pattern of archive %L is %s characters long, over the limit of %s',
                   archive, length(event_pattern::text), current_setting('eventbus.max_pattern_size')),
            'eventbus.max_pattern_size bounds event patterns, counted in characters of the pattern as jsonb prints it.',
            'Shorten the pattern, or raise eventbus.max_pattern_size.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_archive_pattern(jsonb, text) IS
'Internal: raises the reason of an invalid archive event pattern (22023), or 54000 for one over eventbus.max_pattern_size.';

CREATE FUNCTION eventbus._check_retention_days(retention_days integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF retention_days < 0 THEN
        PERFORM eventbus._raise('22023',
            format('Parameter RetentionDays is not valid. Reason: %s is less than 0.', retention_days),
            'RetentionDays is how many days an archive keeps events; 0 keeps them for as long as the events are kept.',
            'Pass 0 or a positive number of days.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_retention_days(integer) IS
'Internal: raises 22023 for a negative RetentionDays.';

-- Changing an archive: its owner, the bus's owner or an admin.
CREATE FUNCTION eventbus._require_archive_owner(a eventbus.archives)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._may_manage_rule(a.bus, a.owner, caller) THEN
        RETURN;
    END IF;
    IF NOT eventbus.has_event_bus_privilege(a.bus, 'read_events', caller)
       AND NOT eventbus.has_event_bus_privilege(a.bus, 'manage_rules', caller) THEN
        PERFORM eventbus._require_privilege('bus', a.bus, 'manage_rules');
    END IF;
    PERFORM eventbus._raise('42501',
        format('must be owner of archive %s', pg_catalog.quote_ident(a.name)),
        format('Archive %s of event bus %s belongs to %s; role %s is neither its owner, the owner of the bus, nor an eventbus_admin.',
               pg_catalog.quote_ident(a.name), pg_catalog.quote_ident(a.bus), a.owner, caller),
        'Ask its owner, the owner of the bus, or an eventbus_admin.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._require_archive_owner(eventbus.archives) IS
'Internal: raises 42501 unless the caller of the current API function may change the archive (its owner, the bus''s owner, an eventbus_admin).';

-- ---------------------------------------------------------------------
-- CreateArchive, DescribeArchive, UpdateArchive, DeleteArchive, ListArchives
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.create_archive(archive_name text, event_source_arn text,
                                        event_pattern jsonb DEFAULT NULL,
                                        retention_days integer DEFAULT 0,
                                        description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.create_archive(text, text, jsonb, integer, text) IS
'EventBridge''s CreateArchive: an archive of the events put on a bus (event_source_arn: its name or ARN) from now on, those matching event_pattern if one is given, kept retention_days days (0: as long as the events are); returns {"ArchiveArn", "State", "CreationTime"}. Needs manage_rules on the bus (42501); the caller owns the archive. Names: 1 to 48 letters, digits, ".", "_", "-". 42710 when the archive exists, 42704 when the bus does not, 22023 for an invalid pattern or retention.';

CREATE FUNCTION eventbus._create_archive_impl(archive_name text, event_source_arn text,
                                              event_pattern jsonb, retention_days integer,
                                              description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := _create_archive_impl.archive_name;
    v_bus text;
    v_created timestamptz;
BEGIN
    IF v_name IS NULL OR v_name !~ '^[.\-_A-Za-z0-9]{1,48}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid archive name %L', v_name),
            'An archive name has 1 to 48 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "orders-archive".');
    END IF;
    IF _create_archive_impl.event_source_arn IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('archive %L has no event source', v_name),
            'EventSourceArn names the event bus whose events the archive holds (a name or an event bus ARN).',
            format('Pass event_source_arn => %L.', eventbus.event_bus_arn('default')));
    END IF;
    v_bus := eventbus._bus_name(_create_archive_impl.event_source_arn);
    IF _create_archive_impl.event_pattern IS NOT NULL THEN
        PERFORM eventbus._check_archive_pattern(_create_archive_impl.event_pattern, v_name);
    END IF;
    PERFORM eventbus._check_retention_days(_create_archive_impl.retention_days);
    PERFORM eventbus._check_description(_create_archive_impl.description, format('archive %L', v_name));
    PERFORM eventbus._lock_bus(v_bus);
    PERFORM eventbus._require_privilege('bus', v_bus, 'manage_rules');
    INSERT INTO eventbus.archives AS a (name, bus, event_pattern, retention_days, description, owner)
    VALUES (v_name, v_bus, _create_archive_impl.event_pattern,
            coalesce(_create_archive_impl.retention_days, 0),
            _create_archive_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT archives_pkey DO NOTHING
    RETURNING a.created_at INTO v_created;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('Archive %s already exists.', v_name),
            'Archive names are unique in the database.',
            'Choose another name, or delete the archive first with delete_archive().');
    END IF;
    RETURN jsonb_build_object(
        'ArchiveArn', eventbus.archive_arn(v_name),
        'State', 'ENABLED',
        'CreationTime', v_created);
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_archive_impl(text, text, jsonb, integer, text) IS
'Internal: implementation of create_archive.';
REVOKE ALL ON FUNCTION eventbus._create_archive_impl(text, text, jsonb, integer, text) FROM PUBLIC;

-- EventCount and SizeBytes of an archive (a scan: see the header).
CREATE FUNCTION eventbus._archive_counts(a eventbus.archives, OUT event_count bigint, OUT size_bytes bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT count(*), coalesce(sum(pg_catalog.pg_column_size(e.*)), 0)
      FROM eventbus.events e
     WHERE e.bus = a.bus
       AND e.ingestion_time >= a.created_at
       AND (a.retention_days = 0
            OR e.ingestion_time >= now() - make_interval(days => a.retention_days))
       AND e.replay_name IS NULL
       AND NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')
       AND (a.event_pattern IS NULL
            OR eventbus.event_envelope(e) OPERATOR(eventbus.=~) a.event_pattern::jsonb)
$fn$;

COMMENT ON FUNCTION eventbus._archive_counts(eventbus.archives) IS
'Internal: the number of events in an archive and their stored size in bytes, counted from eventbus.events (a scan of the bus''s events since the archive was made).';

CREATE FUNCTION eventbus.describe_archive(archive_name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_archive(text) IS
'EventBridge''s DescribeArchive: {"ArchiveArn", "ArchiveName", "EventSourceArn", "Description", "EventPattern" (JSON text), "State", "RetentionDays", "SizeBytes", "EventCount", "CreationTime"} of an archive (by name or ARN); Description and EventPattern are omitted when there is none. EventCount and SizeBytes are counted from the events (a scan of the bus''s events since the archive was made). Needs read_events on the archive''s bus (42501); 42704 when it does not exist.';

CREATE FUNCTION eventbus._describe_archive_impl(archive_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_describe_archive_impl.archive_name);
    a eventbus.archives;
    c record;
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_privilege('bus', a.bus, 'read_events');
    c := eventbus._archive_counts(a);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'ArchiveArn', eventbus.archive_arn(a.name),
        'ArchiveName', a.name,
        'EventSourceArn', eventbus.event_bus_arn(a.bus),
        'Description', a.description,
        'EventPattern', a.event_pattern::text,
        'State', a.state,
        'RetentionDays', a.retention_days,
        'SizeBytes', c.size_bytes,
        'EventCount', c.event_count,
        'CreationTime', a.created_at));
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_archive_impl(text) IS
'Internal: implementation of describe_archive.';
REVOKE ALL ON FUNCTION eventbus._describe_archive_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.update_archive(archive_name text, event_pattern jsonb DEFAULT NULL,
                                        retention_days integer DEFAULT NULL,
                                        description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.update_archive(text, jsonb, integer, text) IS
'EventBridge''s UpdateArchive: changes what is given of an archive''s event pattern, retention and description (NULL: unchanged; event_pattern => ''null''::jsonb removes the pattern, description => '''' the description) and returns {"ArchiveArn", "State", "CreationTime"}. The archive is a view over the stored events, so a new pattern applies to past events too. For the archive''s owner, the bus''s owner and eventbus_admin (42501); 42704 when it does not exist.';

CREATE FUNCTION eventbus._update_archive_impl(archive_name text, event_pattern jsonb,
                                              retention_days integer, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_update_archive_impl.archive_name);
    a eventbus.archives;
    clear_pattern boolean := jsonb_typeof(_update_archive_impl.event_pattern) = 'null';
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_archive_owner(a);
    IF _update_archive_impl.event_pattern IS NOT NULL AND NOT clear_pattern THEN
        PERFORM eventbus._check_archive_pattern(_update_archive_impl.event_pattern, v_name);
    END IF;
    PERFORM eventbus._check_retention_days(_update_archive_impl.retention_days);
    PERFORM eventbus._check_description(_update_archive_impl.description, format('archive %L', v_name));
    UPDATE eventbus.archives x
       SET event_pattern = CASE WHEN clear_pattern THEN NULL
                                ELSE coalesce(_update_archive_impl.event_pattern, x.event_pattern::jsonb) END,
           retention_days = coalesce(_update_archive_impl.retention_days, x.retention_days),
           description = CASE WHEN _update_archive_impl.description IS NULL THEN x.description
                              ELSE nullif(_update_archive_impl.description, '') END,
           updated_at = now()
     WHERE x.name = v_name;
    RETURN jsonb_build_object(
        'ArchiveArn', eventbus.archive_arn(a.name),
        'State', a.state,
        'CreationTime', a.created_at);
END;
$fn$;

COMMENT ON FUNCTION eventbus._update_archive_impl(text, jsonb, integer, text) IS
'Internal: implementation of update_archive.';
REVOKE ALL ON FUNCTION eventbus._update_archive_impl(text, jsonb, integer, text) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_archive(archive_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_archive(text) IS
'EventBridge''s DeleteArchive: deletes an archive (its events stay in eventbus.events: an archive is a view). For the archive''s owner, the bus''s owner and eventbus_admin (42501); 42704 when it does not exist; 55006 while a replay from it is STARTING, RUNNING or CANCELLING.';

CREATE FUNCTION eventbus._delete_archive_impl(archive_name text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_delete_archive_impl.archive_name);
    a eventbus.archives;
    v_replay text;
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_archive_owner(a);
    SELECT r.name INTO v_replay FROM eventbus.replays r
     WHERE r.archive = v_name AND r.state IN ('STARTING', 'RUNNING', 'CANCELLING')
     ORDER BY r.name LIMIT 1;
    IF FOUND THEN
        PERFORM eventbus._raise('55006',
            format('archive %L is in use by replay %L', v_name, v_replay),
            'An archive cannot be deleted while one of its replays is starting, running or cancelling.',
            format('Wait for the replay to end, or cancel it: SELECT eventbus.cancel_replay(%L).', v_replay));
    END IF;
    DELETE FROM eventbus.archives x WHERE x.name = v_name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_archive_impl(text) IS
'Internal: implementation of delete_archive.';
REVOKE ALL ON FUNCTION eventbus._delete_archive_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_archives(name_prefix text DEFAULT NULL,
                                       event_source_arn text DEFAULT NULL,
                                       state text DEFAULT NULL)
RETURNS TABLE (archive_name text, event_source_arn text, state text, state_reason text,
               retention_days integer, size_bytes bigint, event_count bigint,
               creation_time timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_archives(text, text, text) IS
'EventBridge''s ListArchives: the archives of the buses the caller holds read_events on, by name; at most one filter (as in EventBridge, the filters are exclusive): a name prefix, the source bus (name or ARN), or a state. Each row counts its archive''s events (a scan per archive).';

-- (The arguments are named apart from the result columns, which PL/pgSQL
-- requires.)
CREATE FUNCTION eventbus._list_archives_impl(prefix_arg text, source_arg text, state_arg text)
RETURNS TABLE (archive_name text, event_source_arn text, state text, state_reason text,
               retention_days integer, size_bytes bigint, event_count bigint,
               creation_time timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    v_bus text;
BEGIN
    IF num_nonnulls(prefix_arg, source_arg, state_arg) > 1 THEN
        PERFORM eventbus._raise('22023',
            'at most one of name_prefix, event_source_arn and state may be given',
            'ListArchives'' filter parameters are exclusive.',
            'Pass one filter, and filter the rows further in SQL.');
    END IF;
    IF state_arg IS NOT NULL
       AND state_arg NOT IN ('ENABLED', 'DISABLED', 'CREATING', 'UPDATING', 'CREATE_FAILED', 'UPDATE_FAILED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid archive state %L', state_arg),
            'An archive''s state is ENABLED, DISABLED, CREATING, UPDATING, CREATE_FAILED or UPDATE_FAILED.',
            'Archives here are always ENABLED.');
    END IF;
    IF source_arg IS NOT NULL THEN
        v_bus := eventbus._bus_name(source_arg);
    END IF;
    RETURN QUERY
    SELECT a.name, eventbus.event_bus_arn(a.bus), a.state, NULL::text, a.retention_days,
           c.size_bytes, c.event_count, a.created_at
      FROM eventbus.archives a
     CROSS JOIN LATERAL eventbus._archive_counts(a) c
     WHERE (prefix_arg IS NULL OR starts_with(a.name, prefix_arg))
       AND (v_bus IS NULL OR a.bus = v_bus)
       AND (state_arg IS NULL OR a.state = state_arg)
       AND eventbus.has_event_bus_privilege(a.bus, 'read_events', caller)
     ORDER BY a.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_archives_impl(text, text, text) IS
'Internal: implementation of list_archives.';
REVOKE ALL ON FUNCTION eventbus._list_archives_impl(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Reading an archive
-- ---------------------------------------------------------------------

-- What archive_events needs of an archive, for a caller (eventbus._caller())
-- that holds read_events on its bus.
CREATE FUNCTION eventbus._archive_scope(archive_name text,
    OUT bus text, OUT event_pattern jsonb, OUT retention_days integer, OUT created_at timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_archive_scope.archive_name);
    a eventbus.archives;
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_privilege('bus', a.bus, 'read_events');
    bus := a.bus;
    event_pattern := a.event_pattern;
    retention_days := a.retention_days;
    created_at := a.created_at;
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_scope(text) IS
'Internal: the bus, event pattern, retention and creation time of an archive, for archive_events; its caller must hold read_events on the archive''s bus (42501); 42704 when it does not exist.';
REVOKE ALL ON FUNCTION eventbus._archive_scope(text) FROM PUBLIC;

-- archive_events runs its query as the extension's owner, with the
-- archive's pattern written into it: a pattern archive's events are then
-- found through the indexes its exact values allow (src/pattern_support.c),
-- which a reader's own query under row-level security cannot use.  The
-- reader's right is the one that policy asks for: read_events on the bus.
CREATE FUNCTION eventbus.archive_events(archive_name text,
                                        start_time timestamptz DEFAULT '-infinity',
                                        end_time timestamptz DEFAULT 'infinity')
RETURNS SETOF eventbus.events
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.archive_events(text, timestamptz, timestamptz) IS
'The events in an archive (by name or ARN) whose ingestion_time is in [start_time, end_time), in archive order (ingestion_time, id): the events put on its bus since it was made, within its retention, matching its pattern (through the indexes its exact values allow), without replayed events and scheduled-rule ticks. Needs read_events on the archive''s bus (42501).';

CREATE FUNCTION eventbus._archive_events_impl(archive_name text, start_time timestamptz,
                                              end_time timestamptz)
RETURNS SETOF eventbus.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s record;
BEGIN
    s := eventbus._archive_scope(_archive_events_impl.archive_name);
    IF start_time IS NULL OR end_time IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format($q$
        SELECT e.*
          FROM eventbus.events e
         WHERE e.bus = %L
           AND e.ingestion_time >= %L::timestamptz
           AND e.ingestion_time >= %L::timestamptz
           AND e.ingestion_time < %L::timestamptz
           AND e.replay_name IS NULL
           AND NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')
           %s
         ORDER BY e.ingestion_time, e.id$q$,
        s.bus,
        CASE WHEN s.retention_days = 0 THEN s.created_at
             ELSE greatest(s.created_at, now() - make_interval(days => s.retention_days)) END,
        start_time, end_time,
        CASE WHEN s.event_pattern IS NULL THEN ''
             ELSE format('AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) %L::jsonb',
                         s.event_pattern::text) END);
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_events_impl(text, timestamptz, timestamptz) IS
'Internal: implementation of archive_events.';
REVOKE ALL ON FUNCTION eventbus._archive_events_impl(text, timestamptz, timestamptz) FROM PUBLIC;

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
-- 96_internal_privileges.sql).
REVOKE ALL ON FUNCTION eventbus._archive_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._archive_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_archive_pattern(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_retention_days(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_archive_owner(eventbus.archives) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._archive_counts(eventbus.archives) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._wake_replay() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._replay_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._replay_json(eventbus.replays) FROM PUBLIC;

-- DeleteEventBus refuses a bus with archives (force deletes them) or an
-- active replay (src/sql/40_catalog.sql).
COMMENT ON FUNCTION eventbus.delete_event_bus(text, boolean) IS
'EventBridge''s DeleteEventBus: deletes a custom event bus (for its owner and eventbus_admin); refused while it has rules or archives unless force is true, which deletes its rules and their targets (never queues) and its archives; refused while a replay to it is active (55006). The default bus cannot be deleted; a bus that does not exist is skipped with a notice.';

CREATE OR REPLACE FUNCTION eventbus._delete_event_bus_impl(name text, force boolean)
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

-- ---------------------------------------------------------------------------
-- Pattern queries over stored events use indexes: event_matches gains a
-- planner support function (src/pattern_support.c) that adds conditions on
-- the columns of eventbus.events to event_envelope(e) =~ pattern, and the
-- default partition and those of days that are over a GIN index on detail
-- (jsonb_path_ops) for the jsonpath ones (the current day's has none: ingest
-- does not pay for it).
CREATE FUNCTION eventbus._event_matches_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'eventbus_event_matches_support'
LANGUAGE C STRICT;

COMMENT ON FUNCTION eventbus._event_matches_support(internal) IS
'Internal: planner support function of event_matches; derives index conditions on eventbus.events from the exact values of a constant pattern matched against eventbus.event_envelope(e).';
REVOKE ALL ON FUNCTION eventbus._event_matches_support(internal) FROM PUBLIC;

ALTER FUNCTION eventbus.event_matches(jsonb, jsonb) SUPPORT eventbus._event_matches_support;

CREATE INDEX events_default_detail_idx ON eventbus.events_default
    USING gin (detail jsonb_path_ops);

-- the partitions of days that are over, as create_event_partitions does
DO $do$
DECLARE
    part text;
BEGIN
    FOR part IN
        SELECT p.partition_name FROM eventbus._event_partitions() p
         WHERE p.day < (pg_catalog.now() AT TIME ZONE 'UTC')::date
           AND to_regclass(format('eventbus.%I', p.partition_name || '_detail_idx')) IS NULL
         ORDER BY p.day
    LOOP
        EXECUTE format('CREATE INDEX %I ON eventbus.%I USING gin (detail jsonb_path_ops)',
                       part || '_detail_idx', part);
    END LOOP;
END;
$do$;

CREATE OR REPLACE FUNCTION eventbus._create_event_partitions_impl(days_ahead integer, from_day date)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    day date;
    part text;
    lo_text text;
    hi_text text;
    existing regclass;
    locked boolean := false;
    moved bigint;
BEGIN
    PERFORM eventbus._require_admin('create event partitions');
    IF days_ahead IS NULL OR days_ahead NOT BETWEEN 0 AND 3660 THEN
        PERFORM eventbus._raise('22023',
            format('invalid days_ahead %s', coalesce(days_ahead::text, 'NULL')),
            'create_event_partitions makes one partition per day from from_day to from_day + days_ahead.',
            'Use a value from 0 to 3660.');
    END IF;
    IF from_day IS NULL OR NOT isfinite(from_day) THEN
        PERFORM eventbus._raise('22023',
            format('invalid from_day %s', coalesce(from_day::text, 'NULL')),
            'from_day is the first UTC day to make a partition for.',
            'Pass a date, or omit it for today (UTC).');
    END IF;

    FOR i IN 0 .. days_ahead LOOP
        day := from_day + i;
        part := eventbus._event_partition_name(day);
        existing := to_regclass(format('eventbus.%I', part));
        IF existing IS NULL AND NOT locked THEN
            -- One maker at a time, and no insert may reach the default
            -- partition between moving its rows for a day and attaching
            -- that day.
            LOCK TABLE ONLY eventbus.events IN SHARE UPDATE EXCLUSIVE MODE;
            LOCK TABLE eventbus.events_default IN ACCESS EXCLUSIVE MODE;
            locked := true;
            existing := to_regclass(format('eventbus.%I', part));
        END IF;
        IF existing IS NOT NULL THEN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_inherits
                            WHERE inhrelid = existing
                              AND inhparent = 'eventbus.events'::pg_catalog.regclass) THEN
                PERFORM eventbus._raise('42P07',
                    format('relation "eventbus.%s" already exists and is not a partition of eventbus.events', part),
                    'create_event_partitions names the partition of each UTC day events_pYYYYMMDD.',
                    format('Rename or drop eventbus.%I, then call create_event_partitions again.', part));
            END IF;
            CONTINUE;
        END IF;

        -- bounds as ISO text in UTC, whatever the session's DateStyle
        lo_text := to_char(day::timestamp, 'YYYY-MM-DD') || ' 00:00:00+00';
        hi_text := to_char((day + 1)::timestamp, 'YYYY-MM-DD') || ' 00:00:00+00';
        -- the primary key is the partition's own (see eventbus.events)
        EXECUTE format('CREATE TABLE eventbus.%I (LIKE eventbus.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION, PRIMARY KEY (id, ingestion_time))', part);
        EXECUTE format($q$
            WITH moved AS (
                DELETE FROM eventbus.events_default
                 WHERE ingestion_time >= $1 AND ingestion_time < $2
                RETURNING *)
            INSERT INTO eventbus.%I SELECT * FROM moved$q$, part)
          USING lo_text::timestamptz, hi_text::timestamptz;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved > 0 THEN
            RAISE NOTICE 'moved % event(s) from eventbus.events_default to eventbus.%', moved, part;
        END IF;
        EXECUTE format('ALTER TABLE eventbus.events ATTACH PARTITION eventbus.%I FOR VALUES FROM (%L) TO (%L)',
                       part, lo_text, hi_text);
        RETURN NEXT 'eventbus.' || part;
    END LOOP;

    -- The partitions of days that are over get the GIN index on detail
    -- that queries by event pattern use (see src/pattern_support.c),
    -- built in one go; today's and the coming days' have none, so that
    -- ingest does not pay for it.
    FOR part IN
        SELECT p.partition_name FROM eventbus._event_partitions() p
         WHERE p.day < (pg_catalog.now() AT TIME ZONE 'UTC')::date
           AND to_regclass(format('eventbus.%I', p.partition_name || '_detail_idx')) IS NULL
         ORDER BY p.day
    LOOP
        EXECUTE format('CREATE INDEX %I ON eventbus.%I USING gin (detail jsonb_path_ops)',
                       part || '_detail_idx', part);
    END LOOP;
END;
$fn$;

COMMENT ON FUNCTION eventbus.create_event_partitions(integer, date) IS
'Makes the daily partitions eventbus.events_pYYYYMMDD (UTC days) from from_day (default: today, UTC) to from_day + days_ahead, moving rows the default partition holds for those days; returns the partitions made. Gives the partitions of days that are over (UTC) the GIN index on detail that queries by event pattern use. Idempotent; call it daily from a maintenance job. For eventbus_admin (42501).';

-- ---------------------------------------------------------------------------
-- Only an active replay's owner puts events carrying the replay's name (a
-- producer could otherwise keep its events out of every archive).
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

ALTER POLICY events_put ON eventbus.events
    WITH CHECK (eventbus.has_event_bus_privilege(bus, 'put_events')
                AND (replay_name IS NULL OR eventbus._replaying_as(replay_name, current_user)));
COMMENT ON POLICY events_put ON eventbus.events IS
'A role inserts events only on buses it holds put_events on, and events with a replay_name only as the owner of that active replay.';

-- ---------------------------------------------------------------------------
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
