--
-- A bus whose rule index cannot be built (a stored target input that no
-- longer compiles) fails every event it gets, and leaves no memory behind
-- in the session however often it is tried.
--
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

SELECT create_event_bus('leak-bus') ->> 'EventBusArn' AS bus;
SELECT put_rule('leak-first', '{"source": ["test.leak"]}', 'leak-bus') IS NOT NULL;
SELECT put_rule('leak-broken', '{"source": ["test.leak"]}', 'leak-bus') IS NOT NULL;
SELECT put_targets('leak-first', '[{"Id": "q", "Arn": "queue:leak_q"}]', 'leak-bus') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('leak-broken', '[{"Id": "q", "Arn": "queue:leak_q", "InputPath": "$.detail"}]', 'leak-bus') ->> 'FailedEntryCount' AS failed;

-- Behind put_targets' back: an InputPath it would refuse.
UPDATE eventbus.targets SET input_path = 'detail' WHERE rule = 'leak-broken';

SELECT put_event('test.leak', 'Leak', '{}', 'leak-bus') IS NOT NULL;

DO $$
BEGIN
    FOR i IN 1..50 LOOP
        BEGIN
            PERFORM put_event('test.leak', 'Leak', '{}', 'leak-bus');
        EXCEPTION WHEN invalid_parameter_value THEN
            NULL;
        END;
    END LOOP;
END;
$$;

-- No index of the bus was kept, and none was left over.
SELECT count(*) AS bus_indexes FROM pg_backend_memory_contexts
 WHERE name = 'eventbus bus rule index';
SELECT count(*) AS queued FROM eventbus_outbox.queue_leak_q;

-- Repaired, the bus routes again, with one index.
UPDATE eventbus.targets SET input_path = '$.detail' WHERE rule = 'leak-broken';
SELECT put_event('test.leak', 'Leak', '{"n": 1}', 'leak-bus') IS NOT NULL;
SELECT target_id, payload IS NULL AS references_event FROM eventbus.receive('leak_q', 10) ORDER BY rule;
SELECT count(*) AS bus_indexes FROM pg_backend_memory_contexts
 WHERE name = 'eventbus bus rule index';

SELECT delete_event_bus('leak-bus', force => true);
SELECT delete_queue('leak_q', force => true);
DELETE FROM eventbus.events WHERE source = 'test.leak';
