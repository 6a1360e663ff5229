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
    v_global integer := pg_catalog.current_setting('eventbus.event_retention')::integer;
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
