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
