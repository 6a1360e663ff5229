--
-- Event bus names and ARNs: one reading of EventBusName for put_events (C)
-- and the catalog functions (SQL), one way of writing bus and rule ARNs,
-- and event ids from the events table's default.
--
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
SET eventbus.region = 'eu-west-1';
SET eventbus.account = '123456789012';

SELECT create_event_bus('orders') ->> 'EventBusArn' AS bus;

-- What the catalog functions make of an EventBusName (the bus it names,
-- or the error), next to what put_events answers for the same string.
CREATE FUNCTION pg_temp.catalog_answer(name text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN 'bus ' || eventbus._bus_name(name);
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN 'error: ' || SQLERRM;
END;
$$;
CREATE FUNCTION pg_temp.put_events_answer(name text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN r ? 'EventId' THEN 'stored'
                ELSE r ->> 'ErrorCode' || ': ' || (r ->> 'ErrorMessage') END
      FROM (SELECT eventbus.put_events(jsonb_build_array(jsonb_build_object(
                       'Source', 'test.arns', 'DetailType', 'Arn', 'Detail', '{}',
                       'EventBusName', name))) -> 'Entries' -> 0 AS r) s;
$$;

SELECT name, pg_temp.catalog_answer(name) AS catalog, pg_temp.put_events_answer(name) AS put_events
  FROM unnest(ARRAY[
    'orders',
    'arn:aws:events:eu-west-1:123456789012:event-bus/orders',
    'arn:aws:events:us-east-1:000000000000:event-bus/orders',
    'arn:aws-cn:events:cn-north-1:123456789012:event-bus/orders',
    'arn:aws-us-gov:events:::event-bus/orders',
    'arn:aws:events:eu-west-1:123456789012:event-bus/default',
    'arn:aws:events:eu-west-1:123456789012:event-bus/nope',
    'arn:aws:events:eu-west-1:123456789012:event-bus/a/b',
    'arn:aws:events:bad',
    'arn:aws:events:eu-west-1:123456789012:event-bus/',
    'arn:aws:events:eu-west-1:123456789012:rule/orders',
    'arn:aws:events:eu-west-1:event-bus/orders',
    'arn:aws:sqs:eu-west-1:123456789012:event-bus/orders',
    'arn:awsx:events:eu-west-1:123456789012:event-bus/orders',
    'arn:aws-:events:eu-west-1:123456789012:event-bus/orders',
    'arn:aws-iso-b:events:eu-west-1:123456789012:event-bus/orders',
    'arn:AWS:events:eu-west-1:123456789012:event-bus/orders',
    'arn:aws:events:eu-west-1:123456789012:event-bus:orders',
    'arn:',
    'arn',
    'ARN:aws:events:eu-west-1:123456789012:event-bus/orders',
    ''
  ]) WITH ORDINALITY AS t(name, i)
 ORDER BY i;

-- NULL is the default bus for both.
SELECT pg_temp.catalog_answer(NULL) AS catalog,
       (eventbus.put_events('[{"Source": "test.arns", "DetailType": "Arn", "Detail": {}}]') -> 'Entries' -> 0) ? 'EventId' AS put_events_stored;

-- The catalog functions read a bus ARN as its bus, and refuse a bad one.
SELECT describe_event_bus('arn:aws:events:eu-west-1:123456789012:event-bus/orders') ->> 'Name' AS name;
SELECT describe_event_bus('arn:aws:events:bad');
SELECT describe_event_bus('');

-- A target ARN is an event bus ARN only when it is a well-formed one.
SELECT arn, p.kind, p.destination
  FROM unnest(ARRAY['arn:aws:events:eu-west-1:123456789012:event-bus/orders',
                    'arn:aws:events:bad', 'bus:orders']) arn,
       eventbus._parse_target_arn(arn) p;
SELECT list_rule_names_by_target('arn:aws:events:bad') AS rule_names;

-- Bus and rule ARNs, and the rule ARN the router hands to input
-- transformers: the same text.
SELECT event_bus_arn(NULL), event_bus_arn('orders'),
       event_bus_arn('arn:aws:events:us-east-1:000000000000:event-bus/orders');
SELECT rule_arn('r1'), rule_arn('r1', 'orders'), rule_arn(NULL, 'orders') IS NULL AS null_rule;
SELECT put_rule('arn-rule', '{"source": ["test.arns"]}', 'orders') ->> 'RuleArn' AS put_rule_arn;
SELECT put_rule('arn-rule', '{"source": ["test.arns"]}') ->> 'RuleArn' AS put_rule_arn;
SELECT put_targets('arn-rule', '[{"Id": "t", "Arn": "queue:arns_q", "InputTransformer":
          {"InputPathsMap": {}, "InputTemplate": "\"<aws.events.rule-arn>\""}}]', 'orders') ->> 'FailedEntryCount' AS failed;
SELECT put_targets('arn-rule', '[{"Id": "t", "Arn": "queue:arns_q", "InputTransformer":
          {"InputPathsMap": {}, "InputTemplate": "\"<aws.events.rule-arn>\""}}]') ->> 'FailedEntryCount' AS failed;
SELECT put_event('test.arns', 'Routed', '{}', 'orders') IS NOT NULL AS put_on_orders;
SELECT put_event('test.arns', 'Routed', '{}') IS NOT NULL AS put_on_default;
SELECT array_agg(payload #>> '{}' ORDER BY payload #>> '{}') AS routed_rule_arns,
       array_agg(payload #>> '{}' ORDER BY payload #>> '{}')
         = ARRAY[describe_rule('arn-rule') ->> 'Arn', describe_rule('arn-rule', 'orders') ->> 'Arn'] AS same_as_describe_rule
  FROM eventbus.receive('arns_q', 10);

-- Event ids: the column's default, returned in the order of the entries.
CREATE TEMP TABLE put_result AS
SELECT x.entry, x.i
  FROM jsonb_array_elements(eventbus.put_events('[
           {"Source": "test.ids", "DetailType": "first", "Detail": {}},
           {"Source": "test.ids", "DetailType": "second", "Detail": {}},
           {"Source": "test.ids", "DetailType": "bad", "Detail": {}, "EventBusName": "arn:aws:events:bad"},
           {"Source": "test.ids", "DetailType": "third", "Detail": {}}]') -> 'Entries')
         WITH ORDINALITY AS x(entry, i);
SELECT p.i, p.entry ? 'EventId' AS has_id, e.detail_type
  FROM put_result p
  LEFT JOIN eventbus.events e ON e.id = (p.entry ->> 'EventId')::uuid
 ORDER BY p.i;
SELECT count(*) AS version_4_ids FROM eventbus.events
 WHERE source = 'test.ids' AND id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
SELECT put_event('test.ids', 'one', '{}') AS one_id \gset
SELECT detail_type FROM eventbus.events WHERE id = :'one_id';

SELECT delete_rule('arn-rule', 'orders', force => true);
SELECT delete_rule('arn-rule', force => true);
SELECT delete_queue('arns_q', force => true);
SELECT delete_event_bus('orders');
DELETE FROM eventbus.events WHERE source IN ('test.arns', 'test.ids');
