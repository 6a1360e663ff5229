-- API destinations (EventBridge's CreateApiDestination, Describe, Update,
-- Delete, ListApiDestinations), targets that send to them (put_targets with
-- "api-destination:<name>" or the ARN, and HttpParameters), and the
-- privileges use (a connection) and invoke (an API destination), granted
-- and denied.  Every result and error shown is also kept in pg_temp.shown,
-- searched for the connection's secrets at the end.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE ad_owner IN ROLE eventbus_user;
CREATE ROLE ad_maker IN ROLE eventbus_user;
CREATE ROLE ad_rules IN ROLE eventbus_user;
CREATE ROLE ad_nobody;

CREATE TEMP TABLE shown (n serial, what text);
GRANT ALL ON TABLE pg_temp.shown, pg_temp.shown_n_seq TO PUBLIC;
CREATE FUNCTION pg_temp.mask(t text) RETURNS text LANGUAGE sql AS $fn$
    SELECT regexp_replace(regexp_replace(t,
               '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
               '"[0-9]{4}-[0-9]{2}-[0-9]{2}T[^"]*"', '"<time>"', 'g')
$fn$;
-- show(j): a result without what changes from run to run (uuids, times)
CREATE FUNCTION pg_temp.show(j jsonb) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO pg_temp.shown (what) VALUES (j::text);
    RETURN pg_temp.mask(j::text);
END;
$fn$;
-- err(stmt): the SQLSTATE, message, detail and hint of the error stmt raises
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hnt = PG_EXCEPTION_HINT;
    INSERT INTO pg_temp.shown (what) VALUES (concat_ws(E'\n', msg, det, hnt));
    RETURN pg_temp.mask(format(E'%s: %s\nDETAIL: %s\nHINT: %s', st, msg, det, hnt));
END;
$fn$;

SET ROLE ad_owner;
SELECT eventbus.create_connection('ad-conn', 'API_KEY',
    '{"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-SECRET-1"}}') ? 'ConnectionArn' AS conn;
SELECT eventbus.create_connection('ad-conn2', 'BASIC',
    '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-2"}}') ? 'ConnectionArn' AS conn2;

-- Create, with defaults and with every setting; by connection name or ARN.
SELECT pg_temp.show(eventbus.create_api_destination('ad-orders', 'ad-conn',
    'https://api.example.com/orders/*/items/*', 'POST'));
SELECT eventbus.describe_connection('ad-conn2') ->> 'ConnectionArn' AS conn2_arn \gset
SELECT pg_temp.show(eventbus.create_api_destination('ad.audit', :'conn2_arn',
    'http://127.0.0.1:8080/audit?src=eventbus', 'PUT', 25, 'audit sink', 1.5));
SELECT pg_temp.show(eventbus.describe_api_destination('ad-orders'));
SELECT pg_temp.show(eventbus.describe_api_destination('ad.audit'));
SELECT eventbus.describe_api_destination('ad.audit') ->> 'ApiDestinationArn' AS audit_arn \gset
SELECT eventbus.describe_api_destination(:'audit_arn') ->> 'Name' AS by_arn;
SELECT pg_temp.show(eventbus.list_api_destinations());
SELECT pg_temp.show(eventbus.list_api_destinations('ad.'));
SELECT jsonb_path_query(eventbus.list_api_destinations(connection_name => 'ad-conn'), '$.ApiDestinations[*].Name') AS of_conn;
RESET ROLE;
SELECT name, connection, invocation_endpoint, http_method, invocation_rate_limit_per_second,
       timeout_ms, state, owner
  FROM eventbus.api_destinations ORDER BY name;

-- Every HTTP method but CONNECT and TRACE.
SET ROLE ad_owner;
SELECT m, eventbus.create_api_destination('ad-m-' || lower(m), 'ad-conn', 'https://x.example/', m) ? 'ApiDestinationArn' AS made
  FROM unnest(ARRAY['POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE']) m;
SELECT eventbus.delete_api_destination(d."Name") FROM eventbus.list_api_destinations('ad-m-') x,
       jsonb_to_recordset(x -> 'ApiDestinations') AS d("Name" text);

-- Validation.
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('bad/name', 'ad-conn', 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination(repeat('d', 65), 'ad-conn', 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', NULL, 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-none', 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'arn:aws:events:local:000000000000:api-destination/ad-conn', 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', NULL, 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'ftp://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'x.example/orders', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/a b', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://user:pw@x.example/', 'POST')$$);
SELECT pg_temp.err(format('SELECT eventbus.create_api_destination(%L, %L, %L, %L)', 'ad-x', 'ad-conn', 'https://x.example/' || repeat('p', 2031), 'POST'));
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'CONNECT')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'TRACE')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'post')$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', NULL)$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'POST', 0)$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'POST', 301)$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'POST', timeout_seconds => 0)$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'POST', timeout_seconds => 300.5)$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-x', 'ad-conn', 'https://x.example/', 'POST', description => repeat('d', 513))$$);
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-orders', 'ad-conn', 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_api_destination('ad-none')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_api_destination('arn:aws:events:local:000000000000:connection/ad-conn')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_api_destination('arn:aws:events:local:000000000000:api-destination/ad-orders/00000000-0000-0000-0000-000000000000')$$);
SELECT pg_temp.err($$SELECT eventbus.list_api_destinations(connection_name => 'ad-none')$$);
-- timeouts are kept in milliseconds
SELECT eventbus.create_api_destination('ad-fast', 'ad-conn', 'https://x.example/', 'GET', timeout_seconds => 0.001) ? 'ApiDestinationArn' AS made;
SELECT eventbus.describe_api_destination('ad-fast') -> 'TimeoutSeconds' AS timeout_seconds;
SELECT eventbus.delete_api_destination('ad-fast');
RESET ROLE;
SELECT count(*) AS made_by_failures FROM eventbus.api_destinations WHERE name IN ('ad-x', 'ad-fast');

-- Update: what is given changes.
SET ROLE ad_owner;
SELECT pg_temp.show(eventbus.update_api_destination('ad.audit', http_method => 'PATCH',
    invocation_rate_limit_per_second => 1, timeout_seconds => 300));
SELECT pg_temp.show(eventbus.update_api_destination(:'audit_arn', connection_name => 'ad-conn',
    invocation_endpoint => 'https://audit.example/v2', description => 'audit v2'));
SELECT pg_temp.show(eventbus.describe_api_destination('ad.audit'));
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad.audit', http_method => 'TRACE')$$);
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad.audit', invocation_endpoint => 'mailto:x@example.com')$$);
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad.audit', connection_name => 'ad-none')$$);
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad-none', description => 'x')$$);
SELECT eventbus.describe_api_destination('ad.audit') ->> 'HttpMethod' AS method_unchanged;

-- A connection used by an API destination is not deleted.
SELECT pg_temp.err($$SELECT eventbus.delete_connection('ad-conn')$$);
RESET ROLE;

-- Privileges.  Another creator needs use on a connection to make API
-- destinations on it; a rule's owner needs invoke on an API destination to
-- put a target that sends to it.
SET ROLE ad_maker;
SELECT pg_temp.show(eventbus.list_api_destinations());
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-mine', 'ad-conn', 'https://x.example/', 'POST')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_api_destination('ad-orders')$$);
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad-orders', description => 'mine')$$);
SELECT pg_temp.err($$SELECT eventbus.delete_api_destination('ad-orders')$$);
SELECT pg_temp.err($$SELECT eventbus.grant_api_destination_privilege('ad-orders', 'invoke', 'ad_maker')$$);
SET ROLE ad_owner;
SELECT eventbus.grant_connection_privilege('ad-conn', 'use', 'ad_maker');
SET ROLE ad_maker;
SELECT pg_temp.show(eventbus.create_api_destination('ad-mine', 'ad-conn', 'https://x.example/mine', 'POST'));
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad-mine', connection_name => 'ad-conn2')$$);
-- the maker owns its destination, yet may not describe the connection's
-- other destinations
SELECT jsonb_path_query(eventbus.list_api_destinations(), '$.ApiDestinations[*].Name') AS maker_sees;
SET ROLE ad_nobody;
SELECT pg_temp.err($$SELECT eventbus.create_api_destination('ad-nobody', 'ad-conn', 'https://x.example/', 'POST')$$);
SELECT pg_temp.show(eventbus.list_api_destinations());

SET ROLE ad_rules;
SELECT eventbus.create_event_bus('ad-bus') ? 'EventBusArn' AS bus;
SELECT eventbus.put_rule('ad-rule', '{"source": ["ad.test"]}', 'ad-bus') ? 'RuleArn' AS rule;
SELECT pg_temp.err($$SELECT eventbus.put_targets('ad-rule', '[{"Id": "h", "Arn": "api-destination:ad-orders"}]', 'ad-bus')$$);
SET ROLE ad_owner;
SELECT eventbus.grant_api_destination_privilege('ad-orders', 'invoke', 'ad_rules');
SELECT pg_temp.err($$SELECT eventbus.grant_api_destination_privilege('ad-orders', 'use', 'ad_rules')$$);
SET ROLE ad_rules;
SELECT eventbus.has_api_destination_privilege('ad-orders', 'invoke') AS may_invoke,
       eventbus.has_api_destination_privilege('ad.audit', 'invoke') AS may_invoke_audit;
SELECT pg_temp.show(eventbus.describe_api_destination('ad-orders') - 'CreationTime' - 'LastModifiedTime');
-- invoke is not ownership
SELECT pg_temp.err($$SELECT eventbus.update_api_destination('ad-orders', description => 'mine')$$);

-- Targets: the Arn forms, and HttpParameters.
SELECT eventbus.describe_api_destination('ad-orders') ->> 'ApiDestinationArn' AS orders_arn \gset
SELECT pg_temp.show(eventbus.put_targets('ad-rule', format('[
    {"Id": "short", "Arn": "api-destination:ad-orders",
     "HttpParameters": {"PathParameterValues": ["$.detail.order", "static-item"],
                        "HeaderParameters": {"X-Order": "$.detail.order", "X-Static": "v1"},
                        "QueryStringParameters": {"region": "$.region", "q": "a b"}},
     "InputPath": "$.detail", "RetryPolicy": {"MaximumRetryAttempts": 3}},
    {"Id": "arn", "Arn": "%s"},
    {"Id": "arn-no-uuid", "Arn": "%s", "HttpParameters": {"PathParameterValues": []}}]',
    :'orders_arn', regexp_replace(:'orders_arn', '/[^/]*$', ''))::jsonb, 'ad-bus'));
RESET ROLE;
SELECT target_id, kind, destination, http_parameters FROM eventbus.targets WHERE bus = 'ad-bus' ORDER BY target_id;
SET ROLE ad_rules;
SELECT pg_temp.show(eventbus.list_targets_by_rule('ad-rule', 'ad-bus'));
SELECT eventbus.list_rule_names_by_target('api-destination:ad-orders', 'ad-bus') AS rules_by_short_arn,
       eventbus.list_rule_names_by_target(:'orders_arn', 'ad-bus') AS rules_by_arn;
-- per-entry failures
SELECT jsonb_pretty(eventbus.put_targets('ad-rule', '[
    {"Id": "gone", "Arn": "api-destination:ad-none"},
    {"Id": "old-uuid", "Arn": "arn:aws:events:local:000000000000:api-destination/ad-orders/00000000-0000-0000-0000-000000000000"},
    {"Id": "url", "Arn": "https://hooks.example.com/x"},
    {"Id": "bad-arn", "Arn": "arn:aws:events:local:000000000000:api-destination/bad name"},
    {"Id": "q", "Arn": "queue:ad_q", "HttpParameters": {"HeaderParameters": {"X-A": "b"}}},
    {"Id": "f", "Arn": "function:pg_catalog.jsonb_typeof", "HttpParameters": {"PathParameterValues": ["x"]}},
    {"Id": "hp-type", "Arn": "api-destination:ad-orders", "HttpParameters": ["x"]},
    {"Id": "hp-key", "Arn": "api-destination:ad-orders", "HttpParameters": {"Headers": {}}},
    {"Id": "hp-path-type", "Arn": "api-destination:ad-orders", "HttpParameters": {"PathParameterValues": "x"}},
    {"Id": "hp-path-value", "Arn": "api-destination:ad-orders", "HttpParameters": {"PathParameterValues": [1]}},
    {"Id": "hp-bad-path", "Arn": "api-destination:ad-orders", "HttpParameters": {"PathParameterValues": ["$.detail..x"]}},
    {"Id": "hp-headers-type", "Arn": "api-destination:ad-orders", "HttpParameters": {"HeaderParameters": ["X-A"]}},
    {"Id": "hp-header-name", "Arn": "api-destination:ad-orders", "HttpParameters": {"HeaderParameters": {"X A": "b"}}},
    {"Id": "hp-header-host", "Arn": "api-destination:ad-orders", "HttpParameters": {"HeaderParameters": {"Host": "evil.example"}}},
    {"Id": "hp-header-value", "Arn": "api-destination:ad-orders", "HttpParameters": {"HeaderParameters": {"X-A": {"b": 1}}}},
    {"Id": "hp-header-newline", "Arn": "api-destination:ad-orders", "HttpParameters": {"HeaderParameters": {"X-A": "b\r\nX-B: c"}}},
    {"Id": "hp-query-path", "Arn": "api-destination:ad-orders", "HttpParameters": {"QueryStringParameters": {"k": "$.[x"}}},
    {"Id": "hp-query-key", "Arn": "api-destination:ad-orders", "HttpParameters": {"QueryStringParameters": {"": "v"}}}
]', 'ad-bus')) AS failures;
RESET ROLE;
SELECT count(*) AS targets_now FROM eventbus.targets WHERE bus = 'ad-bus';
SELECT count(*) AS queues_made FROM eventbus.queues WHERE name = 'ad_q';
SET ROLE ad_rules;
-- a denial fails the whole call (as for the other kinds)
SELECT pg_temp.err($$SELECT eventbus.put_targets('ad-rule', '[{"Id": "audit", "Arn": "api-destination:ad.audit"}]', 'ad-bus')$$);
RESET ROLE;

-- Revoking invoke keeps the targets (the worker checks before each delivery).
SET ROLE ad_owner;
SELECT eventbus.revoke_api_destination_privilege('ad-orders', 'invoke', 'ad_rules');
SET ROLE ad_rules;
SELECT eventbus.has_api_destination_privilege('ad-orders', 'invoke') AS may_invoke;
SELECT pg_temp.err($$SELECT eventbus.put_targets('ad-rule', '[{"Id": "short", "Arn": "api-destination:ad-orders"}]', 'ad-bus')$$);
RESET ROLE;
SELECT count(*) AS targets_kept FROM eventbus.targets WHERE bus = 'ad-bus';

-- A destination that targets send to is not deleted.
SET ROLE ad_owner;
SELECT pg_temp.err($$SELECT eventbus.delete_api_destination('ad-orders')$$);
SET ROLE ad_rules;
SELECT eventbus.remove_targets('ad-rule', '{short,arn,arn-no-uuid}', 'ad-bus') ->> 'FailedEntryCount' AS failed;
SET ROLE ad_owner;
SELECT eventbus.delete_api_destination('ad-orders') AS deleted;
SELECT pg_temp.err($$SELECT eventbus.delete_api_destination('ad-orders')$$);
RESET ROLE;
SELECT count(*) AS grants_of_deleted FROM eventbus.grants WHERE object_kind = 'api_destination' AND object_name = 'ad-orders';

-- The kinds the targets table accepts.
SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint WHERE conname = 'targets_kind_valid';
-- The metrics view exists for every reader (its rows come from the
-- delivery workers' counters).
SELECT has_table_privilege('ad_nobody', 'eventbus.api_destination_metrics', 'SELECT') AS metrics_readable,
       has_function_privilege('ad_nobody', 'eventbus._api_destination_stats()', 'EXECUTE') AS raw_stats_callable;

-- No secret of the connections was shown.
SELECT count(*) AS results_and_errors_kept, count(*) FILTER (WHERE what ~ 'SECRET') AS holding_a_secret
  FROM pg_temp.shown;

-- Clean up.
SET ROLE ad_maker;
SELECT eventbus.delete_api_destination('ad-mine');
SET ROLE ad_owner;
SELECT eventbus.delete_api_destination('ad.audit');
SELECT eventbus.delete_connection('ad-conn') ->> 'ConnectionState' AS state;
SELECT eventbus.delete_connection('ad-conn2') ->> 'ConnectionState' AS state;
SET ROLE ad_rules;
SELECT eventbus.delete_event_bus('ad-bus', force => true);
RESET ROLE;
SELECT count(*) AS grants_left FROM eventbus.grants;
DROP ROLE ad_owner, ad_maker, ad_rules, ad_nobody;
