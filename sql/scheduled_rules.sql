-- Scheduled rules: put_rule's schedule_expression (validation, the default
-- bus only, with or without a pattern), DescribeRule/ListRules, the
-- scheduler's pass (a tick's "Scheduled Event" goes to the rule's targets
-- only; late ticks within a minute fire, later ones are missed and never
-- fired; disabled rules do not fire), forged ticks, the view
-- scheduled_rules and its rights.  The database's delivery worker runs the
-- same pass once a second, so the test waits for its results rather than
-- counting on who fired a tick.  A rate rule firing on time in a real
-- cluster is test/scripts/schedules.sh.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
\set VERBOSITY default
SET TimeZone = 'UTC';

-- waits up to 10 s for a condition
CREATE FUNCTION pg_temp.wait_for(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
    FOR i IN 1 .. 100 LOOP
        EXECUTE cond INTO ok;
        IF ok THEN RETURN true; END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;

-- validation
SELECT eventbus.put_rule('sr_none', NULL);
SELECT eventbus.put_rule('sr_bad', NULL, schedule_expression => 'rate(0 minutes)');
SELECT eventbus.put_rule('sr_bad', NULL, schedule_expression => 'cron(0 12 * * * *)');
SELECT eventbus.put_rule('sr_bad', NULL, schedule_expression => 'every minute');
SELECT eventbus.put_rule('sr_bad', NULL, schedule_expression => 'rate(' || repeat('1', 300) || ' minutes)');
SELECT eventbus.create_event_bus('sr_bus');
SELECT eventbus.put_rule('sr_bad', NULL, 'sr_bus', schedule_expression => 'rate(5 minutes)');
SELECT count(*) AS stored FROM eventbus.rules WHERE name = 'sr_bad';

-- a rule with a schedule only, one with a schedule and a pattern
SELECT name FROM eventbus.create_queue('sr_ticks');
SELECT eventbus.put_rule('sr_every5', NULL, schedule_expression => 'rate(5 minutes)');
SELECT eventbus.put_rule('sr_both', '{"source": ["sr.app"]}', schedule_expression => 'cron(0 12 * * ? *)',
                         description => 'noon, and sr.app events');
SELECT eventbus.put_targets('sr_every5', '[{"Id": "q", "Arn": "queue:sr_ticks"}]') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.put_targets('sr_both', '[{"Id": "q", "Arn": "queue:sr_ticks"}]') ->> 'FailedEntryCount' AS failed;
SELECT eventbus.describe_rule('sr_every5') - 'CreatedBy' AS described;
SELECT eventbus.describe_rule('sr_both') - 'CreatedBy' AS described;
SELECT name, event_pattern, schedule_expression, state
  FROM eventbus.list_rules(name_prefix => 'sr_');
-- the rule index never tries a rule with a schedule only on events
SELECT rule, anchor_kind FROM eventbus.rule_index_anchors() WHERE rule LIKE 'sr\_%' ORDER BY rule;
-- replacing a rule without a schedule takes its schedule away (PutRule replaces)
SELECT eventbus.put_rule('sr_both', '{"source": ["sr.app"]}', description => 'no schedule now');
SELECT eventbus.describe_rule('sr_both') ? 'ScheduleExpression' AS has_schedule;
SELECT eventbus.put_rule('sr_both', '{"source": ["sr.app"]}', schedule_expression => 'cron(0 12 * * ? *)');

-- the scheduler made a state row for each: next tick in the future
SELECT pg_temp.wait_for($$SELECT count(*) = 2 FROM eventbus.scheduled_rules WHERE name LIKE 'sr\_%' AND next_fire_at IS NOT NULL$$) AS scheduled;
SELECT name, schedule_expression, state, next_fire_at > now() AS in_future, ticks_fired, ticks_missed
  FROM eventbus.scheduled_rules WHERE name LIKE 'sr\_%' ORDER BY name;
-- noon UTC, the next one
SELECT next_fire_at = date_trunc('day', now()) + CASE WHEN now() < date_trunc('day', now()) + interval '12 hours'
                                                      THEN interval '12 hours' ELSE interval '36 hours' END AS noon
  FROM eventbus.scheduled_rules WHERE name = 'sr_both';
-- a rate counts from when the scheduler took the rule up
SELECT s.next_fire_at = s.anchor + interval '5 minutes' AS anchored
  FROM eventbus.rule_schedules s JOIN eventbus.rules r USING (rule_id) WHERE r.name = 'sr_every5';

-- a tick that is due now: one Scheduled Event, to this rule's targets only
UPDATE eventbus.rule_schedules s SET anchor = date_trunc('second', now()) - interval '5 minutes', next_fire_at = date_trunc('second', now())
  FROM eventbus.rules r WHERE r.rule_id = s.rule_id AND r.name = 'sr_every5';
SELECT pg_temp.wait_for($$SELECT ticks_fired = 1 FROM eventbus.scheduled_rules WHERE name = 'sr_every5'$$) AS fired;
SELECT r.payload - 'id' - 'time' AS tick, (r.payload ->> 'time')::timestamptz = s.anchor + interval '5 minutes' AS due_time
  FROM eventbus.receive('sr_ticks', 10, 30) r,
       eventbus.rule_schedules s JOIN eventbus.rules ru USING (rule_id)
 WHERE ru.name = 'sr_every5';
SELECT s.next_fire_at = s.anchor + interval '10 minutes' AS next_on_the_grid
  FROM eventbus.rule_schedules s JOIN eventbus.rules r USING (rule_id) WHERE r.name = 'sr_every5';

-- ticks more than a minute late (the server was down): counted, never fired
UPDATE eventbus.rule_schedules s SET anchor = now() - interval '30 minutes', next_fire_at = now() - interval '10 minutes'
  FROM eventbus.rules r WHERE r.rule_id = s.rule_id AND r.name = 'sr_every5';
SELECT pg_temp.wait_for($$SELECT ticks_missed > 0 FROM eventbus.scheduled_rules WHERE name = 'sr_every5'$$) AS seen;
-- due at -10 min, -5 min and now: three missed (the one due now is the pass's own now)
SELECT ticks_fired, ticks_missed, next_fire_at > now() AS in_future, last_missed_at IS NOT NULL AS noted
  FROM eventbus.scheduled_rules WHERE name = 'sr_every5';
SELECT count(*) AS messages FROM eventbus.receive('sr_ticks', 10, 30);

-- a disabled rule does not fire, and what it skips is not "missed"
SELECT eventbus.disable_rule('sr_every5');
UPDATE eventbus.rule_schedules s SET anchor = date_trunc('second', now()) - interval '5 minutes', next_fire_at = date_trunc('second', now())
  FROM eventbus.rules r WHERE r.rule_id = s.rule_id AND r.name = 'sr_every5';
SELECT pg_temp.wait_for($$SELECT next_fire_at > now() FROM eventbus.scheduled_rules WHERE name = 'sr_every5'$$) AS skipped;
SELECT ticks_fired, ticks_missed FROM eventbus.scheduled_rules WHERE name = 'sr_every5';
SELECT count(*) AS messages FROM eventbus.receive('sr_ticks', 10, 30);
SELECT eventbus.enable_rule('sr_every5');

-- a forged tick: the same envelope put by an ordinary role is an ordinary
-- event, matched against patterns; the scheduled rule's targets get nothing
CREATE ROLE sr_user;
GRANT eventbus_user TO sr_user;
SELECT eventbus.grant_event_bus_privilege('default', 'put_events', 'sr_user');
SELECT eventbus.put_rule('sr_aws_events', '{"source": ["aws.events"]}');
SELECT name FROM eventbus.create_queue('sr_pattern');
SELECT eventbus.put_targets('sr_aws_events', '[{"Id": "q", "Arn": "queue:sr_pattern"}]') ->> 'FailedEntryCount' AS failed;
SET ROLE sr_user;
SELECT eventbus.put_events(jsonb_build_array(jsonb_build_object(
    'Source', 'aws.events', 'DetailType', 'Scheduled Event', 'Detail', '{}',
    'Resources', jsonb_build_array(eventbus.rule_arn('sr_every5'))))) ->> 'FailedEntryCount' AS failed;
-- rights: the view shows the rules the role may see; put_rule needs manage_rules
SELECT count(*) AS visible FROM eventbus.scheduled_rules;
SELECT eventbus.put_rule('sr_mine', NULL, schedule_expression => 'rate(1 day)');
RESET ROLE;
SELECT count(*) AS tick_queue FROM eventbus.receive('sr_ticks', 10, 30);
SELECT count(*) AS pattern_queue FROM eventbus.receive('sr_pattern', 10, 30);
-- a real tick never reaches a pattern rule
UPDATE eventbus.rule_schedules s SET anchor = date_trunc('second', now()) - interval '5 minutes', next_fire_at = date_trunc('second', now())
  FROM eventbus.rules r WHERE r.rule_id = s.rule_id AND r.name = 'sr_every5';
SELECT pg_temp.wait_for($$SELECT ticks_fired = 2 FROM eventbus.scheduled_rules WHERE name = 'sr_every5'$$) AS fired;
SELECT count(*) AS tick_queue FROM eventbus.receive('sr_ticks', 10, 30);
SELECT count(*) AS pattern_queue FROM eventbus.receive('sr_pattern', 10, 30);
SELECT eventbus.grant_event_bus_privilege('default', 'manage_rules', 'sr_user');
SET ROLE sr_user;
SELECT eventbus.put_rule('sr_mine', NULL, schedule_expression => 'rate(1 day)');
SELECT name FROM eventbus.scheduled_rules ORDER BY name;
SELECT eventbus.delete_rule('sr_mine');
RESET ROLE;

-- a changed expression starts afresh; a deleted rule's state goes with it
SELECT eventbus.put_rule('sr_every5', NULL, schedule_expression => 'rate(1 hour)');
SELECT pg_temp.wait_for($$SELECT ticks_fired = 0 AND next_fire_at IS NOT NULL FROM eventbus.scheduled_rules WHERE name = 'sr_every5'$$) AS reset;
SELECT eventbus.remove_targets('sr_every5', '{q}');
SELECT eventbus.delete_rule('sr_every5');
SELECT count(*) AS states FROM eventbus.rule_schedules s
 WHERE NOT EXISTS (SELECT FROM eventbus.rules r WHERE r.rule_id = s.rule_id);

-- clean up
SELECT eventbus.remove_targets('sr_both', '{q}');
SELECT eventbus.delete_rule('sr_both');
SELECT eventbus.remove_targets('sr_aws_events', '{q}');
SELECT eventbus.delete_rule('sr_aws_events');
SELECT eventbus.delete_queue('sr_ticks', force => true);
SELECT eventbus.delete_queue('sr_pattern', force => true);
SELECT eventbus.delete_event_bus('sr_bus');
SELECT eventbus.revoke_event_bus_privilege('default', 'put_events', 'sr_user');
SELECT eventbus.revoke_event_bus_privilege('default', 'manage_rules', 'sr_user');
DROP ROLE sr_user;
