-- Event buses: create_event_bus, describe_event_bus, list_event_buses,
-- delete_event_bus, and the ARN helpers.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
\set VERBOSITY default

-- ARNs come from eventbus.region and eventbus.account.
SHOW eventbus.region;
SHOW eventbus.account;
SELECT event_bus_arn('default'), event_bus_arn('cat-orders'), event_bus_arn(NULL);
SELECT rule_arn('r1'), rule_arn('r1', 'cat-orders'), rule_arn('r1', NULL),
       rule_arn('r1', 'arn:aws:events:local:000000000000:event-bus/cat-orders');

-- The default bus always exists.
SELECT describe_event_bus() - 'CreationTime';
SELECT describe_event_bus('default') - 'CreationTime';
SELECT name, arn FROM list_event_buses() WHERE name = 'default';

-- Create: the answer is CreateEventBus' {"EventBusArn": ...}.
SELECT create_event_bus('cat-orders', 'Orders of the shop');
SELECT create_event_bus('cat-audit');
SELECT create_event_bus('cat.a_b-c/d');
SELECT create_event_bus('cat-' || repeat('x', 252)) ->> 'EventBusArn'
       = event_bus_arn('cat-' || repeat('x', 252)) AS created_256;
SELECT create_event_bus('cat-desc', repeat('d', 512)) ->> 'EventBusArn';

-- Describe: Name, Arn, Description (absent when NULL), CreationTime.
SELECT describe_event_bus('cat-orders') - 'CreationTime';
SELECT describe_event_bus('cat-audit') - 'CreationTime';
SELECT (describe_event_bus('cat-orders') ->> 'CreationTime')::timestamptz = created_at AS creation_time_ok
  FROM event_buses WHERE name = 'cat-orders';
SELECT jsonb_object_keys(describe_event_bus('cat-orders')) AS key ORDER BY 1;
-- by ARN
SELECT describe_event_bus('arn:aws:events:local:000000000000:event-bus/cat-orders') ->> 'Name';

-- List, by name, optionally by prefix.
SELECT name, arn, left(description, 20) AS description, length(description)
  FROM list_event_buses('cat-') WHERE length(name) < 40;
SELECT name FROM list_event_buses('cat-o');
SELECT name FROM list_event_buses('cat.');
SELECT count(*) FROM list_event_buses('no-such-prefix');
SELECT count(*) = (SELECT count(*) FROM event_buses) AS all_buses FROM list_event_buses();
SELECT created_at IS NOT NULL AS has_created_at FROM list_event_buses('cat-audit');

-- Invalid names and descriptions
SELECT create_event_bus('');
SELECT create_event_bus(NULL);
SELECT create_event_bus('has space');
SELECT create_event_bus('colon:name');
SELECT create_event_bus('cat-' || repeat('x', 253));   -- 257 characters
SELECT create_event_bus('aws.partner/acme.com/123/orders');
SELECT create_event_bus('aws.events');
SELECT create_event_bus('cat-long-desc', repeat('d', 513));
-- Duplicates
SELECT create_event_bus('default');
SELECT create_event_bus('cat-orders');
SELECT description FROM event_buses WHERE name = 'cat-orders';
-- Missing buses
SELECT describe_event_bus('cat-missing');
SELECT describe_event_bus('arn:aws:events:local:000000000000:event-bus/cat-missing');

-- Delete: refused while the bus has rules, unless forced (rules and their
-- targets go; queues stay).
SELECT put_rule('cat-r1', '{"source": ["cat.shop"]}', 'cat-orders') ->> 'RuleArn';
SELECT put_rule('cat-r2', '{"source": ["cat.shop"]}', 'cat-orders') ->> 'RuleArn';
SELECT put_targets('cat-r1', '[{"Id": "t1", "Arn": "queue:cat_bus_q"}]', 'cat-orders');
SELECT delete_event_bus('cat-orders');
SELECT count(*) AS rules_left FROM rules WHERE bus = 'cat-orders';
SELECT delete_event_bus('cat-orders', force => true);
SELECT count(*) AS bus_left FROM event_buses WHERE name = 'cat-orders';
SELECT count(*) AS rules_left FROM rules WHERE bus = 'cat-orders';
SELECT count(*) AS targets_left FROM targets WHERE bus = 'cat-orders';
SELECT name FROM queues WHERE name = 'cat_bus_q';   -- the queue stays
SELECT describe_event_bus('cat-orders');

-- A bus without rules goes without force; by name or by ARN.
SELECT delete_event_bus('cat-audit');
SELECT delete_event_bus('arn:aws:events:local:000000000000:event-bus/cat.a_b-c/d');
SELECT left(name, 12) AS name, length(name) FROM list_event_buses('cat');

-- Deleting a bus that does not exist succeeds, as DeleteEventBus does.
SELECT delete_event_bus('cat-audit');

-- The default bus can never be deleted, forced or not.
SELECT delete_event_bus('default');
SELECT delete_event_bus('default', force => true);
SELECT delete_event_bus(NULL);
SELECT delete_event_bus('arn:aws:events:local:000000000000:event-bus/default');

-- SQLSTATEs
DO $$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY ARRAY[
        $s$SELECT eventbus.create_event_bus('bad name')$s$,
        $s$SELECT eventbus.create_event_bus('aws.x')$s$,
        $s$SELECT eventbus.create_event_bus('default')$s$,
        $s$SELECT eventbus.describe_event_bus('cat-missing')$s$,
        $s$SELECT eventbus.delete_event_bus('default')$s$]
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
    PERFORM eventbus.create_event_bus('cat-state');
    PERFORM eventbus.put_rule('r', '{"source": ["x"]}', 'cat-state');
    PERFORM eventbus.delete_event_bus('cat-state');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'delete_event_bus with rules -> %', SQLSTATE;
END;
$$;

-- Clean up.
SELECT delete_event_bus(name, force => true) FROM list_event_buses('cat-');
SELECT delete_queue('cat_bus_q');
SELECT name FROM list_event_buses('cat');
