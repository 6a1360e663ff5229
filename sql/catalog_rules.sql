-- Rules: put_rule, describe_rule, list_rules, enable_rule, disable_rule,
-- delete_rule.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT create_event_bus('cat-rules-bus') ->> 'EventBusArn';

-- Create: the answer is PutRule's {"RuleArn": ...}; on the default bus the
-- ARN is rule/<name>, on other buses rule/<bus>/<name>.
SELECT put_rule('cat-approved',
                '{"detail-type": ["APPLICATION_APPROVED"], "detail": {"state": ["APPROVED"], "approvalType": ["AUTO", "HUMAN"]}}',
                description => 'Approved applications');
SELECT put_rule('cat-submitted', '{"detail-type": ["APPLICATION_SUBMITTED"]}',
                'cat-rules-bus', 'DISABLED');
-- the bus by ARN
SELECT put_rule('cat-flagged', '{"detail-type": ["APPLICATION_FLAGGED_FOR_REVIEW"]}',
                'arn:aws:events:local:000000000000:event-bus/cat-rules-bus');
-- names: 1 to 64 of [.-_A-Za-z0-9]
SELECT put_rule('c', '{"source": ["x"]}', 'cat-rules-bus') ->> 'RuleArn';
SELECT put_rule('cat.' || repeat('r', 60), '{"source": ["x"]}', 'cat-rules-bus') ->> 'RuleArn'
       = rule_arn('cat.' || repeat('r', 60), 'cat-rules-bus') AS created_64;
-- NULL bus and NULL description are the defaults
SELECT put_rule('cat-nulls', '{"source": ["x"]}', NULL, 'ENABLED', NULL);
SELECT bus, name, event_pattern, state, description FROM rules
 WHERE name LIKE 'cat%' OR name = 'c' ORDER BY bus, name;

-- Describe: EventPattern is JSON text, as in AWS; Description is absent
-- when there is none.
SELECT describe_rule('cat-approved');
SELECT describe_rule('cat-submitted', 'cat-rules-bus');
SELECT describe_rule('cat-flagged', 'arn:aws:events:local:000000000000:event-bus/cat-rules-bus');
SELECT (describe_rule('cat-approved') ->> 'EventPattern')::jsonb = event_pattern AS pattern_round_trips
  FROM rules WHERE bus = 'default' AND name = 'cat-approved';

-- List: by name, optionally by prefix.
SELECT * FROM list_rules('cat-rules-bus') WHERE length(name) < 20;
SELECT name, state FROM list_rules(name_prefix => 'cat-');
SELECT name FROM list_rules('cat-rules-bus', 'cat-f');
SELECT name FROM list_rules('arn:aws:events:local:000000000000:event-bus/cat-rules-bus', 'c');
SELECT count(*) FROM list_rules('cat-rules-bus', 'nothing');

-- Update: pattern, state and description are replaced by what is given
-- (an omitted description becomes NULL, as with PutRule); created_at stays,
-- updated_at moves.
CREATE TEMP TABLE cat_before AS
    SELECT name, created_at, updated_at FROM rules WHERE bus = 'default' AND name = 'cat-approved';
SELECT pg_sleep(0.01);
SELECT put_rule('cat-approved', '{"detail-type": ["APPLICATION_APPROVED"]}', state => 'DISABLED');
SELECT r.event_pattern, r.state, r.description,
       r.created_at = b.created_at AS created_at_kept,
       r.updated_at > b.updated_at AS updated_at_moved
  FROM rules r JOIN cat_before b USING (name) WHERE r.bus = 'default';
SELECT count(*) FROM rules WHERE name = 'cat-approved';

-- Enable and disable
UPDATE cat_before b SET updated_at = r.updated_at
  FROM rules r WHERE r.bus = 'default' AND r.name = b.name;
SELECT pg_sleep(0.01);
SELECT enable_rule('cat-approved');
SELECT r.state, r.updated_at > b.updated_at AS updated_at_moved
  FROM rules r JOIN cat_before b USING (name) WHERE r.bus = 'default';
SELECT enable_rule('cat-approved');          -- already enabled: fine
SELECT disable_rule('cat-approved');
SELECT describe_rule('cat-approved') ->> 'State';
SELECT enable_rule('cat-submitted', 'cat-rules-bus');
SELECT disable_rule('cat-flagged', 'arn:aws:events:local:000000000000:event-bus/cat-rules-bus');
SELECT name, state FROM list_rules('cat-rules-bus') WHERE name LIKE 'cat-%' AND length(name) < 20;

-- Invalid rules
SELECT put_rule('', '{"source": ["x"]}');
SELECT put_rule(NULL, '{"source": ["x"]}');
SELECT put_rule('has space', '{"source": ["x"]}');
SELECT put_rule('slash/name', '{"source": ["x"]}');
SELECT put_rule(repeat('r', 65), '{"source": ["x"]}');
SELECT put_rule('cat-bad', NULL);
SELECT put_rule('cat-bad', '{"source": "x"}');
SELECT put_rule('cat-bad', '{"source": []}');
SELECT put_rule('cat-bad', '["x"]');
SELECT put_rule('cat-bad', '{"source": ["x"]}', state => 'enabled');
SELECT put_rule('cat-bad', '{"source": ["x"]}', state => 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
SELECT put_rule('cat-bad', '{"source": ["x"]}', state => NULL);
SELECT put_rule('cat-bad', '{"source": ["x"]}', description => repeat('d', 513));
SELECT put_rule('cat-bad', '{"source": ["x"]}', 'cat-no-such-bus');
SELECT count(*) FROM rules WHERE name = 'cat-bad';
-- an invalid update changes nothing
SELECT put_rule('cat-approved', '{"detail-type": "APPLICATION_APPROVED"}');
SELECT event_pattern, state FROM rules WHERE bus = 'default' AND name = 'cat-approved';

-- Missing rules and buses
SELECT describe_rule('cat-missing');
SELECT describe_rule('cat-approved', 'cat-rules-bus');
SELECT describe_rule('cat-approved', 'cat-no-such-bus');
SELECT enable_rule('cat-missing');
SELECT enable_rule('cat-approved', 'cat-no-such-bus');
SELECT disable_rule('cat-missing', 'cat-rules-bus');
SELECT * FROM list_rules('cat-no-such-bus');

-- Delete: refused while the rule has targets, unless forced (the targets
-- go; the queue stays).
SELECT put_targets('cat-approved', '[{"Id": "t1", "Arn": "queue:cat_rules_q"}, {"Id": "t2", "Arn": "queue:cat_rules_q"}]');
SELECT delete_rule('cat-approved');
SELECT count(*) AS targets_left FROM targets WHERE bus = 'default' AND rule = 'cat-approved';
SELECT delete_rule('cat-approved', force => true);
SELECT count(*) AS rule_left FROM rules WHERE bus = 'default' AND name = 'cat-approved';
SELECT count(*) AS targets_left FROM targets WHERE bus = 'default' AND rule = 'cat-approved';
SELECT name FROM queues WHERE name = 'cat_rules_q';
SELECT describe_rule('cat-approved');
-- without targets, no force needed; by bus name or ARN
SELECT delete_rule('cat-submitted', 'cat-rules-bus');
SELECT delete_rule('cat-flagged', 'arn:aws:events:local:000000000000:event-bus/cat-rules-bus');
SELECT name FROM list_rules('cat-rules-bus') WHERE length(name) < 20;
-- deleting a rule that does not exist succeeds, as DeleteRule does
SELECT delete_rule('cat-approved');
-- but the bus must exist
SELECT delete_rule('cat-approved', 'cat-no-such-bus');

-- SQLSTATEs
DO $$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY ARRAY[
        $s$SELECT eventbus.put_rule('bad name', '{"source": ["x"]}')$s$,
        $s$SELECT eventbus.put_rule('cat-x', '{"source": "x"}')$s$,
        $s$SELECT eventbus.put_rule('cat-x', '{"source": ["x"]}', state => 'on')$s$,
        $s$SELECT eventbus.put_rule('cat-x', '{"source": ["x"]}', 'cat-no-such-bus')$s$,
        $s$SELECT eventbus.describe_rule('cat-missing')$s$,
        $s$SELECT eventbus.enable_rule('cat-missing')$s$,
        $s$SELECT eventbus.disable_rule('cat-missing')$s$,
        $s$SELECT eventbus.list_rules('cat-no-such-bus')$s$,
        $s$SELECT eventbus.delete_rule('cat-x', 'cat-no-such-bus')$s$]
    LOOP
        BEGIN
            EXECUTE stmt;
            RAISE NOTICE '% -> no error', stmt;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% -> %', stmt, SQLSTATE;
        END;
    END LOOP;
END;
$$;
DO $$
BEGIN
    PERFORM eventbus.put_rule('cat-x', '{"source": ["x"]}');
    PERFORM eventbus.put_targets('cat-x', '[{"Id": "t", "Arn": "queue:cat_rules_q"}]');
    PERFORM eventbus.delete_rule('cat-x');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'delete_rule with targets -> %', SQLSTATE;
END;
$$;

-- Clean up.
SELECT delete_rule(name, force => true) FROM list_rules() WHERE name LIKE 'cat-%';
SELECT delete_event_bus('cat-rules-bus', force => true);
SELECT delete_queue('cat_rules_q');
SELECT count(*) FROM rules WHERE name LIKE 'cat%' OR name = 'c';
