-- Connections (EventBridge's CreateConnection, DescribeConnection,
-- UpdateConnection, DeleteConnection, ListConnections): each authorization
-- type, every validation error, secrets that never come back (in a
-- description, a listing or an error), and who may see and change a
-- connection.  Every result and error shown is also kept in pg_temp.shown,
-- which is searched for the secrets at the end.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE cn_owner IN ROLE eventbus_user;
CREATE ROLE cn_other IN ROLE eventbus_user;
CREATE ROLE cn_user;
CREATE ROLE cn_nobody;
CREATE ROLE cn_admin IN ROLE eventbus_admin;

CREATE TEMP TABLE shown (n serial, what text);
GRANT ALL ON TABLE pg_temp.shown, pg_temp.shown_n_seq TO PUBLIC;
-- show(j): a result without what changes from run to run (uuids, times)
CREATE FUNCTION pg_temp.show(j jsonb) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    t text := regexp_replace(regexp_replace(j::text,
                  '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
                  '"[0-9]{4}-[0-9]{2}-[0-9]{2}T[^"]*"', '"<time>"', 'g');
BEGIN
    INSERT INTO pg_temp.shown (what) VALUES (j::text);
    RETURN t;
END;
$fn$;
-- err(stmt): the SQLSTATE, message, detail and hint of the error stmt
-- raises (or "no error")
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
    RETURN regexp_replace(format(E'%s: %s\nDETAIL: %s\nHINT: %s', st, msg, det, hnt),
                          '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END;
$fn$;
GRANT EXECUTE ON FUNCTION pg_temp.show(jsonb), pg_temp.err(text) TO PUBLIC;

-- Each authorization type.
SET ROLE cn_owner;
SELECT pg_temp.show(eventbus.create_connection('cn-basic', 'BASIC',
    '{"BasicAuthParameters": {"Username": "eventbus", "Password": "pw-SECRET-1"}}', 'basic auth'));
SELECT pg_temp.show(eventbus.create_connection('cn.key', 'API_KEY',
    '{"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-SECRET-2"},
      "InvocationHttpParameters": {
          "HeaderParameters": [{"Key": "X-Team", "Value": "orders"},
                               {"Key": "X-Signature", "Value": "hdr-SECRET-3", "IsValueSecret": true}],
          "QueryStringParameters": [{"Key": "tenant", "Value": "t1", "IsValueSecret": false}],
          "BodyParameters": [{"Key": "token", "Value": "body-SECRET-4", "IsValueSecret": true}]}}'));
SELECT pg_temp.show(eventbus.create_connection('cn_oauth', 'OAUTH_CLIENT_CREDENTIALS',
    '{"OAuthParameters": {"AuthorizationEndpoint": "http://127.0.0.1:9/oauth/token", "HttpMethod": "POST",
                          "ClientParameters": {"ClientID": "client-1", "ClientSecret": "client-SECRET-5"},
                          "OAuthHttpParameters": {
                              "BodyParameters": [{"Key": "scope", "Value": "orders.write orders.read"},
                                                 {"Key": "audience", "Value": "aud-SECRET-6", "IsValueSecret": true}]}}}'));
RESET ROLE;

-- What Describe shows: no Password, ApiKeyValue, ClientSecret, nor the
-- Value of a secret parameter.
SET ROLE cn_owner;
SELECT pg_temp.show(eventbus.describe_connection('cn-basic'));
SELECT pg_temp.show(eventbus.describe_connection('cn.key'));
SELECT pg_temp.show(eventbus.describe_connection('cn_oauth'));
-- by ARN, too
SELECT eventbus.create_connection('cn-arn', 'BASIC',
    '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-7"}}') ->> 'ConnectionArn' AS arn \gset
SELECT eventbus.describe_connection(:'arn') ->> 'Name' AS by_arn;
SELECT pg_temp.show(eventbus.list_connections());
SELECT pg_temp.show(eventbus.list_connections('cn-'));
SELECT pg_temp.show(eventbus.list_connections(connection_state => 'DEAUTHORIZED'));
RESET ROLE;

-- The table users may not read holds the secrets; the other shows what
-- Describe shows.
SELECT name, authorization_type, state, owner, auth_parameters FROM eventbus.connections ORDER BY name;
SELECT connection, auth_parameters #>> '{BasicAuthParameters,Password}' AS password,
       auth_parameters #>> '{ApiKeyAuthParameters,ApiKeyValue}' AS api_key,
       auth_parameters #>> '{OAuthParameters,ClientParameters,ClientSecret}' AS client_secret
  FROM eventbus.connection_secrets ORDER BY connection;

-- Validation.  None of these errors shows a value of the parameters.
SET ROLE cn_owner;
SELECT pg_temp.err($$SELECT eventbus.create_connection('bad name', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection(repeat('n', 65), 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection(NULL, 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'basic', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', NULL, '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', NULL)$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '["pw-SECRET-8"]')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"Basic": {"Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "key-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"InvocationHttpParameters": {}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"BasicAuthParameters": {"Username": "u"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": ""}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": 12345}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', format('{"BasicAuthParameters": {"Username": "u", "Password": "%s"}}', repeat('pw-SECRET-8', 50))::jsonb)$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"BasicAuthParameters": {"Username": "u:v", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8", "Passwd": 1}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyName": "x api key", "ApiKeyValue": "key-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyValue": "key-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "ftp://x/token", "HttpMethod": "POST", "ClientParameters": {"ClientID": "c", "ClientSecret": "client-SECRET-8"}}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "https://user:pw-SECRET-8@x/token", "HttpMethod": "POST", "ClientParameters": {"ClientID": "c", "ClientSecret": "client-SECRET-8"}}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "https://x/token", "ClientParameters": {"ClientID": "c", "ClientSecret": "client-SECRET-8"}}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "https://x/token", "HttpMethod": "PATCH", "ClientParameters": {"ClientID": "c", "ClientSecret": "client-SECRET-8"}}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "https://x/token", "HttpMethod": "POST"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "https://x/token", "HttpMethod": "POST", "ClientParameters": {"ClientID": "c"}}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'OAUTH_CLIENT_CREDENTIALS', '{"OAuthParameters": {"AuthorizationEndpoint": "https://x/token", "HttpMethod": "POST", "ClientParameters": {"ClientID": "c", "ClientSecret": "client-SECRET-8"}, "OAuthHttpParameters": {"BodyParameters": {"scope": "x"}}}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "key-SECRET-8"}, "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-A"}]}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "key-SECRET-8"}, "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-A", "Value": ["hdr-SECRET-8"]}]}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "key-SECRET-8"}, "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X A", "Value": "hdr-SECRET-8"}]}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "key-SECRET-8"}, "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-A", "Value": "hdr-SECRET-8", "IsValueSecret": "yes"}]}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'API_KEY', '{"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "key-SECRET-8"}, "InvocationHttpParameters": {"Headers": []}}')$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-x', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}', repeat('d', 513))$$);
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-basic', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-8"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_connection('cn-none')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_connection('arn:aws:events:local:000000000000:event-bus/cn-basic')$$);
SELECT pg_temp.err($$SELECT eventbus.describe_connection('arn:aws:events:local:000000000000:connection/cn-basic/00000000-0000-0000-0000-000000000000')$$);
RESET ROLE;
SELECT count(*) AS connections_made_by_failures FROM eventbus.connections WHERE name = 'cn-x';

-- Update: what is given changes, the rest stays; a new Password alone is
-- merged into the BasicAuthParameters.
SET ROLE cn_owner;
SELECT pg_temp.show(eventbus.update_connection('cn-basic',
    auth_parameters => '{"BasicAuthParameters": {"Password": "pw-SECRET-10"}}'));
SELECT pg_temp.show(eventbus.update_connection('cn-basic', description => 'still basic'));
SELECT pg_temp.show(eventbus.describe_connection('cn-basic'));
-- another authorization type needs its parameters, and drops the old ones
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn-basic', 'API_KEY')$$);
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn-basic', 'API_KEY', '{"BasicAuthParameters": {"Password": "pw-SECRET-11"}}')$$);
SELECT pg_temp.show(eventbus.update_connection('cn.key', 'BASIC',
    '{"BasicAuthParameters": {"Username": "now-basic", "Password": "pw-SECRET-12"}}'));
SELECT pg_temp.show(eventbus.describe_connection('cn.key'));
-- invocation parameters can be replaced, or removed with null
SELECT pg_temp.show(eventbus.update_connection('cn.key',
    auth_parameters => '{"InvocationHttpParameters": {"QueryStringParameters": [{"Key": "v", "Value": "2"}]}}')
    - 'LastAuthorizedTime');
SELECT eventbus.describe_connection('cn.key') #> '{AuthParameters,InvocationHttpParameters}' AS invocation_parameters;
SELECT eventbus.update_connection('cn.key', auth_parameters => '{"InvocationHttpParameters": null}') ? 'ConnectionArn' AS updated;
SELECT eventbus.describe_connection('cn.key') -> 'AuthParameters' AS auth_parameters;
-- an invalid update changes nothing
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn_oauth', auth_parameters => '{"OAuthParameters": {"HttpMethod": "TRACE"}}')$$);
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn_oauth', auth_parameters => '"client-SECRET-13"')$$);
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn-none', description => 'x')$$);
RESET ROLE;
SELECT connection, auth_parameters #>> '{BasicAuthParameters,Password}' AS password,
       auth_parameters #>> '{OAuthParameters,HttpMethod}' AS oauth_method,
       auth_parameters ? 'ApiKeyAuthParameters' AS has_api_key
  FROM eventbus.connection_secrets ORDER BY connection;

-- Who may see and change a connection: its owner and admins; use lets a
-- role see it (and make API destinations on it, see api_destinations).
SET ROLE cn_other;
SELECT pg_temp.show(eventbus.list_connections());
SELECT pg_temp.err($$SELECT eventbus.describe_connection('cn-basic')$$);
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn-basic', description => 'mine')$$);
SELECT pg_temp.err($$SELECT eventbus.delete_connection('cn-basic')$$);
SELECT pg_temp.err($$SELECT eventbus.grant_connection_privilege('cn-basic', 'use', 'cn_other')$$);
SET ROLE cn_owner;
SELECT eventbus.grant_connection_privilege('cn-basic', 'use', 'cn_other');
SELECT pg_temp.err($$SELECT eventbus.grant_connection_privilege('cn-basic', 'invoke', 'cn_other')$$);
SELECT pg_temp.err($$SELECT eventbus.grant_connection_privilege('cn-basic', 'use', 'cn_no_such_role')$$);
SELECT pg_temp.err($$SELECT eventbus.grant_connection_privilege('cn-none', 'use', 'cn_other')$$);
SET ROLE cn_other;
SELECT pg_temp.show(eventbus.list_connections());
SELECT pg_temp.show(eventbus.describe_connection('cn-basic') -> 'AuthParameters');
SELECT eventbus.has_connection_privilege('cn-basic', 'use') AS other_may_use,
       eventbus.has_connection_privilege('cn.key', 'use') AS other_may_use_key;
-- use is not ownership
SELECT pg_temp.err($$SELECT eventbus.update_connection('cn-basic', description => 'mine')$$);
SELECT pg_temp.err($$SELECT eventbus.delete_connection('cn-basic')$$);
SET ROLE cn_owner;
SELECT object_kind, object_name, grantee, privilege, granted_by FROM eventbus.list_grants();
SELECT eventbus.revoke_connection_privilege('cn-basic', 'use', 'cn_other');
SET ROLE cn_other;
SELECT pg_temp.show(eventbus.list_connections());
SELECT eventbus.has_connection_privilege('cn-basic', 'use') AS other_may_use;
-- creating needs eventbus_user
SET ROLE cn_nobody;
SELECT pg_temp.err($$SELECT eventbus.create_connection('cn-nobody', 'BASIC', '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-14"}}')$$);
-- nobody but the extension's owner reads the secrets, not even admins
SELECT pg_temp.err($$SELECT * FROM eventbus.connection_secrets$$);
SELECT pg_temp.err($$SELECT * FROM eventbus.connections$$);
SET ROLE cn_admin;
SELECT pg_temp.err($$SELECT * FROM eventbus.connection_secrets$$);
SELECT count(*) AS admin_reads_connections FROM eventbus.connections;
SELECT jsonb_array_length(eventbus.list_connections() -> 'Connections') AS admin_sees;
SELECT pg_temp.show(eventbus.update_connection('cn-arn', description => 'by an admin') - 'LastAuthorizedTime' - 'LastModifiedTime');
SELECT eventbus.has_connection_privilege('cn-basic', 'use') AS admin_may_use;
RESET ROLE;
SELECT eventbus.has_connection_privilege('cn-basic', 'use', 'cn_nobody') AS nobody_may_use,
       eventbus.has_connection_privilege('cn-none', 'use') AS missing;

-- Delete: the secrets and the grants go with it; a later connection of
-- the same name has another ARN.
SET ROLE cn_owner;
SELECT eventbus.grant_connection_privilege('cn-arn', 'use', 'PUBLIC');
SELECT eventbus.describe_connection('cn-arn') ->> 'ConnectionArn' AS old_arn \gset
SELECT pg_temp.show(eventbus.delete_connection('cn-arn'));
SELECT pg_temp.err($$SELECT eventbus.delete_connection('cn-arn')$$);
SELECT eventbus.create_connection('cn-arn', 'BASIC',
    '{"BasicAuthParameters": {"Username": "u", "Password": "pw-SECRET-15"}}') ->> 'ConnectionArn' <> :'old_arn' AS new_arn;
SELECT pg_temp.err(format('SELECT eventbus.describe_connection(%L)', :'old_arn'));
RESET ROLE;
SELECT count(*) AS grants_left FROM eventbus.grants WHERE object_kind = 'connection';
SELECT count(*) AS secrets_of_deleted FROM eventbus.connection_secrets s
 WHERE NOT EXISTS (SELECT FROM eventbus.connections c WHERE c.name = s.connection);

-- The secrets were never shown: no result or error above holds one.
SELECT count(*) AS results_and_errors_kept,
       count(*) FILTER (WHERE what ~ 'SECRET') AS holding_a_secret
  FROM pg_temp.shown;
-- (and the check can tell: the secrets table holds them)
SELECT count(*) > 0 AS secrets_table_has_them FROM eventbus.connection_secrets WHERE auth_parameters::text ~ 'SECRET';

-- Clean up.
SELECT eventbus.delete_connection(name) ->> 'ConnectionState' AS state FROM eventbus.connections ORDER BY name;
DROP ROLE cn_owner, cn_other, cn_user, cn_nobody, cn_admin;
