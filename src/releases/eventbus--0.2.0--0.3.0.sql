-- eventbus 0.2.0 -> 0.3.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.3.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Connections and API destinations (EventBridge's), the target kind
-- api_destination with its HttpParameters, and the privileges use (on a
-- connection) and invoke (on an API destination).

-- Targets may be API destinations (kind api_destination).
ALTER TABLE eventbus.targets DROP CONSTRAINT targets_kind_valid;
ALTER TABLE eventbus.targets ADD CONSTRAINT targets_kind_valid
    CHECK (kind IN ('queue', 'function', 'bus', 'notify', 'http', 'api_destination'));

-- Grants on connections (use) and API destinations (invoke).
ALTER TABLE eventbus.grants DROP CONSTRAINT grants_privilege_valid;
ALTER TABLE eventbus.grants ADD CONSTRAINT grants_privilege_valid CHECK (
        (object_kind = 'bus' AND privilege IN ('put_events', 'manage_rules', 'read_events'))
        OR (object_kind = 'queue' AND privilege IN ('receive', 'send'))
        OR (object_kind = 'connection' AND privilege = 'use')
        OR (object_kind = 'api_destination' AND privilege = 'invoke'));

COMMENT ON TABLE eventbus.grants IS
'Privileges on event buses (put_events, manage_rules, read_events), queues (receive, send), connections (use) and API destinations (invoke) granted to roles (grantee 0: PUBLIC); written only by the grant and revoke functions.';


-- The tables, functions and view of connections and API destinations, as
-- src/sql/56_api_destinations.sql makes them.

CREATE TABLE eventbus.connections (
    name               text PRIMARY KEY,
    -- the last part of the ARN: a connection made again under the same name
    -- has another ARN
    arn_uuid           uuid NOT NULL DEFAULT gen_random_uuid(),
    description        text,
    authorization_type text NOT NULL,
    -- as DescribeConnection shows them: secrets removed
    auth_parameters    jsonb NOT NULL,
    state              text NOT NULL DEFAULT 'AUTHORIZED',
    owner              name NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connections_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,64}$'),
    CONSTRAINT connections_authorization_type_valid
        CHECK (authorization_type IN ('BASIC', 'API_KEY', 'OAUTH_CLIENT_CREDENTIALS')),
    CONSTRAINT connections_state_valid
        CHECK (state IN ('CREATING', 'UPDATING', 'DELETING', 'AUTHORIZED', 'DEAUTHORIZED',
                         'AUTHORIZING', 'DEAUTHORIZING'))
);
COMMENT ON TABLE eventbus.connections IS
'Connections of API destinations (EventBridge''s connections): the authorization type and its parameters, secrets removed (they are in eventbus.connection_secrets); written only by the connection functions.';

CREATE TABLE eventbus.connection_secrets (
    connection      text PRIMARY KEY REFERENCES eventbus.connections (name) ON DELETE CASCADE,
    -- the full AuthParameters, secrets included
    auth_parameters jsonb NOT NULL
);
COMMENT ON TABLE eventbus.connection_secrets IS
'The full AuthParameters of each connection, secrets included; read only by the extension''s owner (the delivery workers), never returned by a function or view.';

CREATE TABLE eventbus.api_destinations (
    name                             text PRIMARY KEY,
    arn_uuid                         uuid NOT NULL DEFAULT gen_random_uuid(),
    description                      text,
    connection                       text NOT NULL REFERENCES eventbus.connections (name),
    invocation_endpoint              text NOT NULL,
    http_method                      text NOT NULL,
    invocation_rate_limit_per_second integer NOT NULL DEFAULT 300,
    -- NULL: the setting eventbus.http_timeout
    timeout_ms                       integer,
    state                            text NOT NULL DEFAULT 'ACTIVE',
    owner                            name NOT NULL,
    created_at                       timestamptz NOT NULL DEFAULT now(),
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_destinations_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,64}$'),
    CONSTRAINT api_destinations_endpoint_valid
        CHECK (invocation_endpoint ~* '^https?://' AND length(invocation_endpoint) <= 2048),
    CONSTRAINT api_destinations_http_method_valid
        CHECK (http_method IN ('POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE')),
    CONSTRAINT api_destinations_rate_limit_valid
        CHECK (invocation_rate_limit_per_second BETWEEN 1 AND 300),
    CONSTRAINT api_destinations_timeout_valid CHECK (timeout_ms BETWEEN 1 AND 300000),
    CONSTRAINT api_destinations_state_valid CHECK (state IN ('ACTIVE', 'INACTIVE'))
);
COMMENT ON TABLE eventbus.api_destinations IS
'API destinations (EventBridge''s): an HTTP endpoint, method, connection and rate limit that targets send events to; written only by the API destination functions.';
CREATE INDEX api_destinations_connection ON eventbus.api_destinations (connection);

-- Targets: the HttpParameters of api_destination targets, at the end of
-- the table (an upgraded installation has the same column order).
ALTER TABLE eventbus.targets ADD COLUMN http_parameters jsonb;
COMMENT ON COLUMN eventbus.targets.http_parameters IS
'HttpParameters of an api_destination target ({"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}; values beginning with "$." are JSON paths into the event); NULL when absent.';

SELECT pg_catalog.pg_extension_config_dump('eventbus.connections', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.connection_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('eventbus.api_destinations', '');

-- The workers' caches and every session's privilege cache follow changes
-- at commit.
CREATE TRIGGER connections_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.connections
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER connection_secrets_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.connection_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER api_destinations_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.api_destinations
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

-- Nobody reads the secrets but the extension's owner; admins read the rest.
REVOKE ALL ON TABLE eventbus.connections, eventbus.connection_secrets,
    eventbus.api_destinations FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.connections, eventbus.api_destinations TO eventbus_admin;

-- ---------------------------------------------------------------------
-- Privilege checks (C, src/privileges.c, with the session's cache)
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.has_connection_privilege(connection text, privilege text,
                                                  role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_connection_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_connection_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege use on a connection (by name): as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for a connection that does not exist.';

CREATE FUNCTION eventbus.has_api_destination_privilege(api_destination text, privilege text,
                                                       role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_api_destination_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_api_destination_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege invoke on an API destination (by name): as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for an API destination that does not exist.';

-- ---------------------------------------------------------------------
-- Internal helpers
-- ---------------------------------------------------------------------

-- Owners are role names (as targets' are): the role, or NULL once dropped.
CREATE FUNCTION eventbus._role_of(role_name name)
RETURNS regrole
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT r.oid::pg_catalog.regrole FROM pg_catalog.pg_roles r WHERE r.rolname = role_name
$fn$;
COMMENT ON FUNCTION eventbus._role_of(name) IS
'Internal: the role of that name, or NULL when there is none (owners of connections and API destinations are role names).';

CREATE FUNCTION eventbus._connection_arn(name text, arn_uuid uuid)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:connection/%s/%s', eventbus.current_region(),
                  eventbus.current_account(), name, arn_uuid)
$fn$;
COMMENT ON FUNCTION eventbus._connection_arn(text, uuid) IS
'Internal: the ARN of a connection, arn:aws:events:<region>:<account>:connection/<name>/<uuid>.';

CREATE FUNCTION eventbus._api_destination_arn(name text, arn_uuid uuid)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:api-destination/%s/%s', eventbus.current_region(),
                  eventbus.current_account(), name, arn_uuid)
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_arn(text, uuid) IS
'Internal: the ARN of an API destination, arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>.';

-- Names of connections and API destinations, as EventBridge's.
CREATE FUNCTION eventbus._check_http_name(name text, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF name IS NULL OR name !~ '^[.\-_A-Za-z0-9]+$' OR length(name) > 64 THEN
        PERFORM eventbus._raise('22023',
            format('invalid %s name %s', what, coalesce(quote_literal(left(name, 100)), 'NULL')),
            format('A%s %s name has 1 to 64 characters: letters, digits, ".", "-" and "_".',
                   CASE WHEN what ~ '^[aeiouAEIOU]' THEN 'n' ELSE '' END, what),
            'Choose a name such as "orders-webhook".');
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_http_name(text, text) IS
'Internal: raises 22023 unless name is a valid connection or API destination name (1 to 64 letters, digits, ".", "-", "_").';

-- A connection argument: a name, or a connection ARN (whose uuid, when
-- given, must be the connection's).  Returns the name; raises 42704 for a
-- connection that does not exist.
CREATE FUNCTION eventbus._connection_name(connection text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    m text[];
    v_name text := connection;
    v_uuid uuid;
BEGIN
    IF connection ~ '^arn:' THEN
        m := regexp_match(connection,
            '^arn:aws[a-z-]*:events:[^:]*:[^:]*:connection/([.\-_A-Za-z0-9]{1,64})(/([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?$');
        IF m IS NULL THEN
            PERFORM eventbus._raise('22023',
                format('%L is not a connection ARN', left(connection, 200)),
                'A connection ARN has the form arn:aws:events:<region>:<account>:connection/<name>/<uuid>.',
                'Pass the connection''s name or its ConnectionArn.');
        END IF;
        v_name := m[1];
        v_uuid := m[3]::uuid;
    ELSE
        PERFORM eventbus._check_http_name(connection, 'connection');
    END IF;
    IF NOT EXISTS (SELECT FROM eventbus.connections c
                    WHERE c.name = v_name AND (v_uuid IS NULL OR c.arn_uuid = v_uuid)) THEN
        PERFORM eventbus._raise('42704',
            format('connection %L does not exist', v_name),
            CASE WHEN v_uuid IS NULL THEN 'No connection of that name exists in this database.'
                 ELSE format('No connection %L with ARN %L exists in this database.', v_name, connection) END,
            'list_connections() shows the connections; create_connection() creates one.');
    END IF;
    RETURN v_name;
END;
$fn$;
COMMENT ON FUNCTION eventbus._connection_name(text) IS
'Internal: the name of the connection a connection argument (name or ARN) designates; raises 22023 for a malformed one and 42704 for one that does not exist.';

CREATE FUNCTION eventbus._api_destination_not_found(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('API destination %L does not exist', name),
        'No API destination of that name exists in this database.',
        'list_api_destinations() shows the API destinations; create_api_destination() creates one.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_not_found(text) IS
'Internal: raises 42704 "API destination ... does not exist".';

-- A string field of the parameters: never shows the value (it may be a
-- secret), only where it is and what is wrong.
CREATE FUNCTION eventbus._auth_string(params jsonb, key text, path text, required boolean,
                                      max_length integer DEFAULT 512)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v jsonb := params -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM eventbus._raise('22023',
                format('%s.%s is required', path, key),
                format('%s has no %s.', path, key),
                format('Give %s.%s: a string of 1 to %s characters.', path, key, max_length));
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' OR length(v #>> '{}') NOT BETWEEN 1 AND max_length THEN
        PERFORM eventbus._raise('22023',
            format('%s.%s must be a string of 1 to %s characters', path, key, max_length),
            CASE WHEN jsonb_typeof(v) <> 'string' THEN format('It is a JSON %s.', jsonb_typeof(v))
                 ELSE format('It has %s characters.', length(v #>> '{}')) END,
            'Its value is not shown here, as it may be a secret.');
    END IF;
    RETURN v #>> '{}';
END;
$fn$;
COMMENT ON FUNCTION eventbus._auth_string(jsonb, text, text, boolean, integer) IS
'Internal: the string params->key of connection parameters at path, checked (1 to max_length characters); its errors never show the value.';

CREATE FUNCTION eventbus._auth_keys(params jsonb, path text, allowed text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a JSON object', path),
            format('It is %s.', CASE WHEN params IS NULL THEN 'missing' ELSE 'a JSON ' || jsonb_typeof(params) END),
            format('%s takes the keys %s.', path, array_to_string(allowed, ', ')));
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF NOT k = ANY (allowed) THEN
            PERFORM eventbus._raise('22023',
                format('%s has an unknown key %L', path, left(k, 100)),
                format('%s takes the keys %s.', path, array_to_string(allowed, ', ')),
                'Remove the key (key names are case-sensitive).');
        END IF;
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION eventbus._auth_keys(jsonb, text, text[]) IS
'Internal: raises 22023 unless params is a JSON object with only the allowed keys.';

-- ConnectionHttpParameters: {"HeaderParameters": [...], "QueryStringParameters":
-- [...], "BodyParameters": [...]}, each entry {"Key", "Value", "IsValueSecret"}.
CREATE FUNCTION eventbus._check_connection_http_parameters(params jsonb, path text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    list text;
    e jsonb;
    pos bigint;
    epath text;
    k text;
BEGIN
    PERFORM eventbus._auth_keys(params, path,
        ARRAY['HeaderParameters', 'QueryStringParameters', 'BodyParameters']);
    FOREACH list IN ARRAY ARRAY['HeaderParameters', 'QueryStringParameters', 'BodyParameters'] LOOP
        CONTINUE WHEN params -> list IS NULL OR jsonb_typeof(params -> list) = 'null';
        IF jsonb_typeof(params -> list) <> 'array' THEN
            PERFORM eventbus._raise('22023',
                format('%s.%s must be a JSON array', path, list),
                format('It is a JSON %s.', jsonb_typeof(params -> list)),
                'Pass a list of {"Key": ..., "Value": ..., "IsValueSecret": true|false}.');
        END IF;
        IF jsonb_array_length(params -> list) > 100 THEN
            PERFORM eventbus._raise('22023',
                format('%s.%s has %s entries', path, list, jsonb_array_length(params -> list)),
                'A parameter list has at most 100 entries.',
                'Remove entries.');
        END IF;
        FOR e, pos IN SELECT x, o FROM jsonb_array_elements(params -> list) WITH ORDINALITY AS a(x, o) LOOP
            epath := format('%s.%s[%s]', path, list, pos - 1);
            PERFORM eventbus._auth_keys(e, epath, ARRAY['Key', 'Value', 'IsValueSecret']);
            k := eventbus._auth_string(e, 'Key', epath, true);
            PERFORM eventbus._auth_string(e, 'Value', epath, true);
            IF e ? 'IsValueSecret' AND jsonb_typeof(e -> 'IsValueSecret') NOT IN ('boolean', 'null') THEN
                PERFORM eventbus._raise('22023',
                    format('%s.IsValueSecret must be true or false', epath),
                    format('It is a JSON %s.', jsonb_typeof(e -> 'IsValueSecret')),
                    'A secret value is never shown by describe_connection.');
            END IF;
            IF list = 'HeaderParameters' AND k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
                PERFORM eventbus._raise('22023',
                    format('%s.Key %L is not a valid HTTP header name', epath, left(k, 100)),
                    'Header names are tokens: letters, digits and !#$%&''*+-.^_`|~.',
                    'Use a header name such as "X-Custom-Header".');
            END IF;
        END LOOP;
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_connection_http_parameters(jsonb, text) IS
'Internal: raises 22023 unless params is a valid ConnectionHttpParameters object (HeaderParameters, QueryStringParameters, BodyParameters: lists of {Key, Value, IsValueSecret}); never shows a value.';

-- AuthParameters for an authorization type, checked; returns them with
-- defaults filled in.
CREATE FUNCTION eventbus._check_auth_parameters(authorization_type text, params jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    wanted text := CASE authorization_type
                       WHEN 'BASIC' THEN 'BasicAuthParameters'
                       WHEN 'API_KEY' THEN 'ApiKeyAuthParameters'
                       WHEN 'OAUTH_CLIENT_CREDENTIALS' THEN 'OAuthParameters' END;
    other text;
    p jsonb;
    endpoint text;
    method jsonb;
BEGIN
    IF wanted IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('invalid authorization type %s', coalesce(quote_literal(left(authorization_type, 100)), 'NULL')),
            'The authorization types are BASIC, API_KEY and OAUTH_CLIENT_CREDENTIALS.',
            'Pass one of them, in upper case.');
    END IF;
    PERFORM eventbus._auth_keys(params, 'AuthParameters',
        ARRAY['BasicAuthParameters', 'ApiKeyAuthParameters', 'OAuthParameters', 'InvocationHttpParameters']);
    FOREACH other IN ARRAY ARRAY['BasicAuthParameters', 'ApiKeyAuthParameters', 'OAuthParameters'] LOOP
        IF other <> wanted AND params ? other THEN
            PERFORM eventbus._raise('22023',
                format('AuthParameters.%s does not go with authorization type %s', other, authorization_type),
                format('Authorization type %s takes AuthParameters.%s.', authorization_type, wanted),
                format('Remove %s, or pass the authorization type it is for.', other));
        END IF;
    END LOOP;
    IF NOT params ? wanted OR jsonb_typeof(params -> wanted) = 'null' THEN
        PERFORM eventbus._raise('22023',
            format('authorization type %s needs AuthParameters.%s', authorization_type, wanted),
            format('AuthParameters has no %s.', wanted),
            CASE authorization_type
                WHEN 'BASIC' THEN 'Pass {"BasicAuthParameters": {"Username": ..., "Password": ...}}.'
                WHEN 'API_KEY' THEN 'Pass {"ApiKeyAuthParameters": {"ApiKeyName": ..., "ApiKeyValue": ...}}.'
                ELSE 'Pass {"OAuthParameters": {"AuthorizationEndpoint": ..., "HttpMethod": ..., "ClientParameters": {"ClientID": ..., "ClientSecret": ...}}}.' END);
    END IF;
    p := params -> wanted;
    IF authorization_type = 'BASIC' THEN
        PERFORM eventbus._auth_keys(p, 'AuthParameters.BasicAuthParameters', ARRAY['Username', 'Password']);
        PERFORM eventbus._auth_string(p, 'Username', 'AuthParameters.BasicAuthParameters', true);
        PERFORM eventbus._auth_string(p, 'Password', 'AuthParameters.BasicAuthParameters', true);
        IF (p ->> 'Username') LIKE '%:%' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.BasicAuthParameters.Username must not contain ":"',
                'Basic authorization sends "username:password"; a colon would end the user name.',
                'Choose a user name without a colon.');
        END IF;
    ELSIF authorization_type = 'API_KEY' THEN
        PERFORM eventbus._auth_keys(p, 'AuthParameters.ApiKeyAuthParameters', ARRAY['ApiKeyName', 'ApiKeyValue']);
        PERFORM eventbus._auth_string(p, 'ApiKeyName', 'AuthParameters.ApiKeyAuthParameters', true);
        PERFORM eventbus._auth_string(p, 'ApiKeyValue', 'AuthParameters.ApiKeyAuthParameters', true);
        IF (p ->> 'ApiKeyName') !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
            PERFORM eventbus._raise('22023',
                format('AuthParameters.ApiKeyAuthParameters.ApiKeyName %L is not a valid HTTP header name', left(p ->> 'ApiKeyName', 100)),
                'The API key is sent in the header of that name; header names are tokens: letters, digits and !#$%&''*+-.^_`|~.',
                'Use a header name such as "x-api-key".');
        END IF;
    ELSE
        PERFORM eventbus._auth_keys(p, 'AuthParameters.OAuthParameters',
            ARRAY['AuthorizationEndpoint', 'HttpMethod', 'ClientParameters', 'OAuthHttpParameters']);
        endpoint := eventbus._auth_string(p, 'AuthorizationEndpoint', 'AuthParameters.OAuthParameters', true, 2048);
        IF endpoint !~* '^https?://[^/?#@[:space:][:cntrl:]]+([/?#][^[:space:][:cntrl:]]*)?$' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.OAuthParameters.AuthorizationEndpoint must be an http:// or https:// URL',
                'It is where the OAuth token is fetched (client credentials grant); it may not carry a user name or password.',
                'Pass a URL such as "https://auth.example.com/oauth/token".');
        END IF;
        method := p -> 'HttpMethod';
        IF method IS NULL OR jsonb_typeof(method) = 'null' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.OAuthParameters.HttpMethod is required',
                'It is the method of the token request.',
                'Pass "POST", "GET" or "PUT".');
        END IF;
        IF jsonb_typeof(method) <> 'string' OR (method #>> '{}') NOT IN ('GET', 'POST', 'PUT') THEN
            PERFORM eventbus._raise('22023',
                format('AuthParameters.OAuthParameters.HttpMethod %s is not GET, POST or PUT', left(method::text, 100)),
                'It is the method of the token request.',
                'Pass "POST", "GET" or "PUT".');
        END IF;
        IF NOT p ? 'ClientParameters' THEN
            PERFORM eventbus._raise('22023',
                'AuthParameters.OAuthParameters.ClientParameters is required',
                'OAuth client credentials need a client id and secret.',
                'Pass "ClientParameters": {"ClientID": ..., "ClientSecret": ...}.');
        END IF;
        PERFORM eventbus._auth_keys(p -> 'ClientParameters', 'AuthParameters.OAuthParameters.ClientParameters',
                                    ARRAY['ClientID', 'ClientSecret']);
        PERFORM eventbus._auth_string(p -> 'ClientParameters', 'ClientID', 'AuthParameters.OAuthParameters.ClientParameters', true);
        PERFORM eventbus._auth_string(p -> 'ClientParameters', 'ClientSecret', 'AuthParameters.OAuthParameters.ClientParameters', true);
        IF p ? 'OAuthHttpParameters' AND jsonb_typeof(p -> 'OAuthHttpParameters') <> 'null' THEN
            PERFORM eventbus._check_connection_http_parameters(p -> 'OAuthHttpParameters',
                'AuthParameters.OAuthParameters.OAuthHttpParameters');
        END IF;
    END IF;
    IF params ? 'InvocationHttpParameters' AND jsonb_typeof(params -> 'InvocationHttpParameters') <> 'null' THEN
        PERFORM eventbus._check_connection_http_parameters(params -> 'InvocationHttpParameters',
            'AuthParameters.InvocationHttpParameters');
    END IF;
    RETURN jsonb_strip_nulls(params);
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_auth_parameters(text, jsonb) IS
'Internal: raises 22023 unless params are valid AuthParameters for the authorization type (BASIC, API_KEY, OAUTH_CLIENT_CREDENTIALS); returns them without null members. Its errors never show a value of the parameters.';

-- Parameters as DescribeConnection shows them: Password, ApiKeyValue,
-- ClientSecret and the values of secret parameters removed.
CREATE FUNCTION eventbus._public_http_parameters(params jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN jsonb_typeof(params) = 'object' THEN
        (SELECT coalesce(jsonb_object_agg(l, CASE WHEN jsonb_typeof(params -> l) = 'array' THEN
                    (SELECT coalesce(jsonb_agg(CASE WHEN e -> 'IsValueSecret' = 'true'::jsonb
                                                    THEN e - 'Value' ELSE e END ORDER BY o), '[]')
                       FROM jsonb_array_elements(params -> l) WITH ORDINALITY AS x(e, o))
                    ELSE params -> l END), '{}')
           FROM jsonb_object_keys(params) l)
    ELSE params END
$fn$;
COMMENT ON FUNCTION eventbus._public_http_parameters(jsonb) IS
'Internal: ConnectionHttpParameters without the Value of the parameters whose IsValueSecret is true.';

CREATE FUNCTION eventbus._public_auth_parameters(params jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r jsonb := params #- '{BasicAuthParameters,Password}'
                      #- '{ApiKeyAuthParameters,ApiKeyValue}'
                      #- '{OAuthParameters,ClientParameters,ClientSecret}';
BEGIN
    IF r ? 'InvocationHttpParameters' THEN
        r := jsonb_set(r, '{InvocationHttpParameters}',
                       eventbus._public_http_parameters(r -> 'InvocationHttpParameters'));
    END IF;
    IF r #> '{OAuthParameters,OAuthHttpParameters}' IS NOT NULL THEN
        r := jsonb_set(r, '{OAuthParameters,OAuthHttpParameters}',
                       eventbus._public_http_parameters(r #> '{OAuthParameters,OAuthHttpParameters}'));
    END IF;
    RETURN r;
END;
$fn$;
COMMENT ON FUNCTION eventbus._public_auth_parameters(jsonb) IS
'Internal: AuthParameters as describe_connection shows them: Password, ApiKeyValue, ClientSecret and the Value of every parameter with IsValueSecret true removed.';

-- UpdateConnection's AuthParameters: what is given replaces what is there,
-- object by object (lists are replaced whole).
CREATE FUNCTION eventbus._merge_parameters(old jsonb, new jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE
        WHEN jsonb_typeof(old) = 'object' AND jsonb_typeof(new) = 'object' THEN
            (SELECT coalesce(jsonb_object_agg(k,
                        CASE WHEN new ? k THEN eventbus._merge_parameters(old -> k, new -> k)
                             ELSE old -> k END), '{}')
               FROM (SELECT jsonb_object_keys(old) UNION SELECT jsonb_object_keys(new)) ks(k))
        ELSE new END
$fn$;
COMMENT ON FUNCTION eventbus._merge_parameters(jsonb, jsonb) IS
'Internal: new merged into old, object member by member (anything but an object replaces what was there).';

-- Visibility: what the caller owns, holds a privilege on, or every one for
-- admins.
CREATE FUNCTION eventbus._may_see_connection(connection text, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus.has_connection_privilege(connection, 'use', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_connection(text, regrole) IS
'Internal: whether role owns the connection, is an eventbus_admin, or holds use on it.';

CREATE FUNCTION eventbus._may_see_api_destination(api_destination text, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus.has_api_destination_privilege(api_destination, 'invoke', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_api_destination(text, regrole) IS
'Internal: whether role owns the API destination, is an eventbus_admin, or holds invoke on it.';

CREATE FUNCTION eventbus._require_visible(object_kind text, object_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    priv text := CASE object_kind WHEN 'connection' THEN 'use' ELSE 'invoke' END;
    what text := CASE object_kind WHEN 'connection' THEN 'connection' ELSE 'API destination' END;
BEGIN
    IF (object_kind = 'connection' AND eventbus._may_see_connection(object_name, caller))
       OR (object_kind = 'api_destination' AND eventbus._may_see_api_destination(object_name, caller)) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied for %s %s', what, quote_ident(object_name)),
        format('Role %s neither owns %s %s nor holds privilege %s on it.', caller, what,
               quote_ident(object_name), priv),
        format('Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_%s_privilege(%L, %L, %L).',
               object_kind, object_name, priv, caller::text));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_visible(text, text) IS
'Internal: raises 42501 unless the caller of the current API function may see the connection or API destination (owns it, is an eventbus_admin or holds its privilege).';

-- ---------------------------------------------------------------------
-- Connections
-- ---------------------------------------------------------------------

-- The API functions that take secrets never let PostgreSQL log the
-- statement that called them with an error (log_min_error_statement):
-- the statement's text holds the secrets.
CREATE FUNCTION eventbus.create_connection(name text, authorization_type text,
                                           auth_parameters jsonb, description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.create_connection(text, text, jsonb, text) IS
'EventBridge''s CreateConnection: a connection owned by the caller (a member of eventbus_user or eventbus_admin) with authorization_type BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS and its AuthParameters ({"BasicAuthParameters": {"Username", "Password"}}, {"ApiKeyAuthParameters": {"ApiKeyName", "ApiKeyValue"}} or {"OAuthParameters": {"AuthorizationEndpoint", "HttpMethod", "ClientParameters": {"ClientID", "ClientSecret"}, "OAuthHttpParameters"}}, plus optionally "InvocationHttpParameters"); returns {"ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime"}. Names: 1 to 64 letters, digits, ".", "-", "_". Secrets are never shown again, nor in any error.';

CREATE FUNCTION eventbus._create_connection_impl(name text, authorization_type text,
                                                 auth_parameters jsonb, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic
AS $fn$
DECLARE
    v_name text := _create_connection_impl.name;
    v_params jsonb;
    c eventbus.connections;
BEGIN
    PERFORM eventbus._require_creator('connection');
    PERFORM eventbus._check_http_name(v_name, 'connection');
    PERFORM eventbus._check_description(_create_connection_impl.description, format('connection %L', v_name));
    v_params := eventbus._check_auth_parameters(_create_connection_impl.authorization_type,
                                                _create_connection_impl.auth_parameters);
    INSERT INTO eventbus.connections AS x (name, description, authorization_type, auth_parameters, owner)
    VALUES (v_name, _create_connection_impl.description, _create_connection_impl.authorization_type,
            eventbus._public_auth_parameters(v_params), pg_catalog.pg_get_userbyid(eventbus._caller()))
    ON CONFLICT ON CONSTRAINT connections_pkey DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('connection %L already exists', v_name),
            'Connection names are unique in the database.',
            'Use the existing connection (update_connection), or delete it first with delete_connection().');
    END IF;
    INSERT INTO eventbus.connection_secrets (connection, auth_parameters) VALUES (v_name, v_params);
    RETURN jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'ConnectionState', c.state,
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._create_connection_impl(text, text, jsonb, text) IS
'Internal: implementation of create_connection.';

CREATE FUNCTION eventbus.describe_connection(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.describe_connection(text) IS
'EventBridge''s DescribeConnection: {"ConnectionArn", "Name", "Description", "ConnectionState", "AuthorizationType", "AuthParameters" (secrets removed: no Password, ApiKeyValue, ClientSecret, nor the Value of a parameter with IsValueSecret true), "CreationTime", "LastModifiedTime", "LastAuthorizedTime"} of a connection (a name or ARN). For its owner, the holders of use on it and eventbus_admin (42501).';

CREATE FUNCTION eventbus._describe_connection_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c eventbus.connections;
BEGIN
    SELECT * INTO c FROM eventbus.connections x
     WHERE x.name = eventbus._connection_name(_describe_connection_impl.name);
    PERFORM eventbus._require_visible('connection', c.name);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'Name', c.name,
        'Description', c.description,
        'ConnectionState', c.state,
        'AuthorizationType', c.authorization_type,
        'AuthParameters', c.auth_parameters,
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at,
        'LastAuthorizedTime', c.updated_at));
END;
$fn$;
COMMENT ON FUNCTION eventbus._describe_connection_impl(text) IS
'Internal: implementation of describe_connection.';

CREATE FUNCTION eventbus.update_connection(name text, authorization_type text DEFAULT NULL,
                                           auth_parameters jsonb DEFAULT NULL,
                                           description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.update_connection(text, text, jsonb, text) IS
'EventBridge''s UpdateConnection: changes what is given (NULL: unchanged) of a connection, for its owner and eventbus_admin (42501). auth_parameters are merged into the current ones object by object (lists are replaced whole), so a new Password alone can be given; a new authorization_type needs its full AuthParameters. Returns {"ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}. The delivery workers use the new parameters from the next delivery on.';

CREATE FUNCTION eventbus._update_connection_impl(name text, authorization_type text,
                                                 auth_parameters jsonb, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic
AS $fn$
DECLARE
    v_name text := eventbus._connection_name(_update_connection_impl.name);
    c eventbus.connections;
    v_type text;
    v_params jsonb;
BEGIN
    SELECT * INTO c FROM eventbus.connections x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('connection', v_name);
    PERFORM eventbus._require_owner('connection', v_name, eventbus._role_of(c.owner));
    PERFORM eventbus._check_description(_update_connection_impl.description, format('connection %L', v_name));
    v_type := coalesce(_update_connection_impl.authorization_type, c.authorization_type);
    IF v_type IS DISTINCT FROM c.authorization_type AND _update_connection_impl.auth_parameters IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('changing the authorization type of connection %L needs its AuthParameters', v_name),
            format('The connection''s authorization type is %s; %s needs parameters of its own.',
                   c.authorization_type, left(v_type, 100)),
            'Pass auth_parameters for the new authorization type.');
    END IF;
    SELECT s.auth_parameters INTO v_params FROM eventbus.connection_secrets s
     WHERE s.connection = v_name FOR UPDATE;
    IF _update_connection_impl.auth_parameters IS NOT NULL THEN
        IF jsonb_typeof(_update_connection_impl.auth_parameters) <> 'object' THEN
            PERFORM eventbus._check_auth_parameters(v_type, _update_connection_impl.auth_parameters);
        END IF;
        IF v_type IS DISTINCT FROM c.authorization_type THEN
            -- another authorization: its parameters, and the invocation
            -- parameters given or kept
            v_params := jsonb_strip_nulls(jsonb_build_object(
                'InvocationHttpParameters', v_params -> 'InvocationHttpParameters'))
                || _update_connection_impl.auth_parameters;
        ELSE
            v_params := eventbus._merge_parameters(v_params, _update_connection_impl.auth_parameters);
        END IF;
    END IF;
    v_params := eventbus._check_auth_parameters(v_type, v_params);
    UPDATE eventbus.connection_secrets s SET auth_parameters = v_params WHERE s.connection = v_name;
    UPDATE eventbus.connections x
       SET authorization_type = v_type,
           auth_parameters = eventbus._public_auth_parameters(v_params),
           description = coalesce(_update_connection_impl.description, x.description),
           state = 'AUTHORIZED',
           updated_at = now()
     WHERE x.name = v_name
    RETURNING * INTO c;
    RETURN jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'ConnectionState', c.state,
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at,
        'LastAuthorizedTime', c.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._update_connection_impl(text, text, jsonb, text) IS
'Internal: implementation of update_connection.';

CREATE FUNCTION eventbus.delete_connection(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.delete_connection(text) IS
'EventBridge''s DeleteConnection: deletes a connection (a name or ARN) and its secrets, for its owner and eventbus_admin (42501); refused (2BP01) while API destinations use it. Returns {"ConnectionArn", "ConnectionState": "DELETING", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}; raises 42704 for a connection that does not exist.';

CREATE FUNCTION eventbus._delete_connection_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._connection_name(_delete_connection_impl.name);
    c eventbus.connections;
    n_used bigint;
BEGIN
    SELECT * INTO c FROM eventbus.connections x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('connection', v_name);
    PERFORM eventbus._require_owner('connection', v_name, eventbus._role_of(c.owner));
    SELECT count(*) INTO n_used FROM eventbus.api_destinations d WHERE d.connection = v_name;
    IF n_used > 0 THEN
        PERFORM eventbus._raise('2BP01',
            format('connection %L is used by %s API destination(s)', v_name, n_used),
            'A connection cannot be deleted while API destinations use it.',
            'Delete those API destinations (delete_api_destination) or move them to another connection (update_api_destination) first.');
    END IF;
    -- a later connection of the same name starts with no grants
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'connection' AND g.object_name = v_name;
    DELETE FROM eventbus.connections x WHERE x.name = v_name;
    RETURN jsonb_build_object(
        'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
        'ConnectionState', 'DELETING',
        'CreationTime', c.created_at,
        'LastModifiedTime', c.updated_at,
        'LastAuthorizedTime', c.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._delete_connection_impl(text) IS
'Internal: implementation of delete_connection.';

CREATE FUNCTION eventbus.list_connections(name_prefix text DEFAULT NULL,
                                          connection_state text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.list_connections(text, text) IS
'EventBridge''s ListConnections: {"Connections": [{"ConnectionArn", "Name", "ConnectionState", "AuthorizationType", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"}]} by name, of the connections the caller may see (it owns them, holds use on them, or is an eventbus_admin), optionally those whose name begins with name_prefix and in connection_state.';

CREATE FUNCTION eventbus._list_connections_impl(name_prefix text, connection_state text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    result jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'ConnectionArn', eventbus._connection_arn(c.name, c.arn_uuid),
               'Name', c.name,
               'ConnectionState', c.state,
               'AuthorizationType', c.authorization_type,
               'CreationTime', c.created_at,
               'LastModifiedTime', c.updated_at,
               'LastAuthorizedTime', c.updated_at) ORDER BY c.name), '[]')
      INTO result
      FROM eventbus.connections c
     WHERE (_list_connections_impl.name_prefix IS NULL OR starts_with(c.name, _list_connections_impl.name_prefix))
       AND (_list_connections_impl.connection_state IS NULL OR c.state = _list_connections_impl.connection_state)
       AND eventbus._may_see_connection(c.name, caller);
    RETURN jsonb_build_object('Connections', result);
END;
$fn$;
COMMENT ON FUNCTION eventbus._list_connections_impl(text, text) IS
'Internal: implementation of list_connections.';

-- ---------------------------------------------------------------------
-- API destinations
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus._check_api_destination_settings(name text, invocation_endpoint text,
                                                         http_method text,
                                                         invocation_rate_limit_per_second integer,
                                                         timeout_seconds numeric)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF invocation_endpoint IS NULL OR length(invocation_endpoint) > 2048
       OR invocation_endpoint !~* '^https?://[^/?#@[:space:][:cntrl:]]+([/?#][^[:space:][:cntrl:]]*)?$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid invocation endpoint for API destination %L', name),
            CASE WHEN invocation_endpoint IS NULL THEN 'The invocation endpoint is required.'
                 WHEN length(invocation_endpoint) > 2048
                 THEN format('It has %s characters; at most 2048 are allowed.', length(invocation_endpoint))
                 WHEN invocation_endpoint ~ '^[^/?#]*//[^/?#]*@'
                 THEN 'An endpoint may not carry a user name or password: they belong in its connection.'
                 ELSE format('%L is not an http:// or https:// URL without spaces.', left(invocation_endpoint, 200)) END,
            'Pass a URL such as "https://api.example.com/orders/*" ("*" is filled by the target''s HttpParameters.PathParameterValues).');
    END IF;
    IF http_method IS NULL OR http_method NOT IN ('POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE') THEN
        PERFORM eventbus._raise('22023',
            format('invalid HTTP method %s for API destination %L', coalesce(quote_literal(left(http_method, 100)), 'NULL'), name),
            CASE WHEN upper(http_method) IN ('CONNECT', 'TRACE')
                 THEN format('%s cannot be the method of an API destination.', upper(http_method))
                 ELSE 'The methods are POST, GET, HEAD, OPTIONS, PUT, PATCH and DELETE.' END,
            'Pass one of POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE, in upper case.');
    END IF;
    IF invocation_rate_limit_per_second IS NULL OR invocation_rate_limit_per_second NOT BETWEEN 1 AND 300 THEN
        PERFORM eventbus._raise('22023',
            format('invalid invocation rate limit %s for API destination %L',
                   coalesce(invocation_rate_limit_per_second::text, 'NULL'), name),
            'InvocationRateLimitPerSecond is an integer from 1 to 300.',
            'The default is 300 invocations per second.');
    END IF;
    IF timeout_seconds IS NOT NULL AND timeout_seconds NOT BETWEEN 0.001 AND 300 THEN
        PERFORM eventbus._raise('22023',
            format('invalid timeout %s for API destination %L', timeout_seconds, name),
            'timeout_seconds is from 0.001 to 300 (seconds, milliseconds precision).',
            'Pass NULL to use the setting eventbus.http_timeout.');
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_api_destination_settings(text, text, text, integer, numeric) IS
'Internal: raises 22023 unless the endpoint (http:// or https://, at most 2048 characters, no user name or password), HTTP method (POST GET HEAD OPTIONS PUT PATCH DELETE), rate limit (1 to 300) and timeout (0.001 to 300 seconds, or NULL) of an API destination are valid.';

CREATE FUNCTION eventbus._timeout_ms(timeout_seconds numeric)
RETURNS integer
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN timeout_seconds IS NOT NULL
                THEN greatest(round(timeout_seconds * 1000), 1)::integer END
$fn$;
COMMENT ON FUNCTION eventbus._timeout_ms(numeric) IS
'Internal: an API destination''s timeout_seconds in milliseconds (at least 1); NULL for NULL.';

-- An API destination's connection: the caller needs use on it.
CREATE FUNCTION eventbus._api_destination_connection(connection_name text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_conn text;
BEGIN
    IF connection_name IS NULL THEN
        PERFORM eventbus._raise('22023', 'an API destination needs a connection',
            'connection_name is NULL.',
            'Pass the name or ARN of a connection (create_connection makes one).');
    END IF;
    v_conn := eventbus._connection_name(connection_name);
    -- the destination sends with the connection's authorization
    PERFORM eventbus._require_privilege('connection', v_conn, 'use');
    -- the connection stays while the destination is made
    PERFORM FROM eventbus.connections c WHERE c.name = v_conn FOR KEY SHARE;
    RETURN v_conn;
END;
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_connection(text) IS
'Internal: the name of the connection (name or ARN) an API destination is to use, locked; raises 42704 when it does not exist and 42501 unless the caller holds use on it.';

CREATE FUNCTION eventbus._api_destination_json(d eventbus.api_destinations)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'ApiDestinationArn', eventbus._api_destination_arn(d.name, d.arn_uuid),
        'Name', d.name,
        'Description', d.description,
        'ApiDestinationState', d.state,
        'ConnectionArn', (SELECT eventbus._connection_arn(c.name, c.arn_uuid)
                            FROM eventbus.connections c WHERE c.name = d.connection),
        'InvocationEndpoint', d.invocation_endpoint,
        'HttpMethod', d.http_method,
        'InvocationRateLimitPerSecond', d.invocation_rate_limit_per_second,
        'TimeoutSeconds', trim_scale(d.timeout_ms / 1000.0),
        'CreationTime', d.created_at,
        'LastModifiedTime', d.updated_at))
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_json(eventbus.api_destinations) IS
'Internal: an API destination as DescribeApiDestination shows it (TimeoutSeconds is eventbus''s own, absent when eventbus.http_timeout applies).';

CREATE FUNCTION eventbus.create_api_destination(name text, connection_name text,
                                                invocation_endpoint text, http_method text,
                                                invocation_rate_limit_per_second integer DEFAULT 300,
                                                description text DEFAULT NULL,
                                                timeout_seconds numeric DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.create_api_destination(text, text, text, text, integer, text, numeric) IS
'EventBridge''s CreateApiDestination: an API destination owned by the caller (a member of eventbus_user or eventbus_admin holding use on the connection, a name or ARN): invocation_endpoint an http:// or https:// URL (at most 2048 characters; each "*" is filled by a target''s HttpParameters.PathParameterValues), http_method POST, GET, HEAD, OPTIONS, PUT, PATCH or DELETE, invocation_rate_limit_per_second 1 to 300 (default 300), timeout_seconds 0.001 to 300 (NULL: eventbus.http_timeout). Returns {"ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime"}.';

CREATE FUNCTION eventbus._create_api_destination_impl(name text, connection_name text,
                                                      invocation_endpoint text, http_method text,
                                                      invocation_rate_limit_per_second integer,
                                                      description text, timeout_seconds numeric)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := _create_api_destination_impl.name;
    v_conn text;
    d eventbus.api_destinations;
BEGIN
    PERFORM eventbus._require_creator('API destination');
    PERFORM eventbus._check_http_name(v_name, 'API destination');
    PERFORM eventbus._check_description(_create_api_destination_impl.description,
                                        format('API destination %L', v_name));
    PERFORM eventbus._check_api_destination_settings(v_name,
        _create_api_destination_impl.invocation_endpoint, _create_api_destination_impl.http_method,
        coalesce(_create_api_destination_impl.invocation_rate_limit_per_second, 300),
        _create_api_destination_impl.timeout_seconds);
    v_conn := eventbus._api_destination_connection(_create_api_destination_impl.connection_name);
    INSERT INTO eventbus.api_destinations AS x
        (name, description, connection, invocation_endpoint, http_method,
         invocation_rate_limit_per_second, timeout_ms, owner)
    VALUES (v_name, _create_api_destination_impl.description, v_conn,
            _create_api_destination_impl.invocation_endpoint, _create_api_destination_impl.http_method,
            coalesce(_create_api_destination_impl.invocation_rate_limit_per_second, 300),
            eventbus._timeout_ms(_create_api_destination_impl.timeout_seconds),
            pg_catalog.pg_get_userbyid(eventbus._caller()))
    ON CONFLICT ON CONSTRAINT api_destinations_pkey DO NOTHING
    RETURNING * INTO d;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('API destination %L already exists', v_name),
            'API destination names are unique in the database.',
            'Use the existing API destination (update_api_destination), or delete it first with delete_api_destination().');
    END IF;
    RETURN jsonb_build_object(
        'ApiDestinationArn', eventbus._api_destination_arn(d.name, d.arn_uuid),
        'ApiDestinationState', d.state,
        'CreationTime', d.created_at,
        'LastModifiedTime', d.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._create_api_destination_impl(text, text, text, text, integer, text, numeric) IS
'Internal: implementation of create_api_destination.';

-- An API destination argument: a name or an API destination ARN.
CREATE FUNCTION eventbus._api_destination_name(api_destination text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k text;
    v_name text;
    m text[];
BEGIN
    IF api_destination ~ '^arn:' THEN
        SELECT p.kind, p.destination INTO k, v_name FROM eventbus._parse_target_arn(api_destination) p;
        IF k IS DISTINCT FROM 'api_destination' THEN
            PERFORM eventbus._raise('22023',
                format('%L is not an API destination ARN', left(api_destination, 200)),
                'An API destination ARN has the form arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>.',
                'Pass the API destination''s name or its ApiDestinationArn.');
        END IF;
        m := regexp_match(api_destination, '/([0-9A-Fa-f-]{36})$');
        IF m IS NOT NULL AND NOT EXISTS (SELECT FROM eventbus.api_destinations d
                                          WHERE d.name = v_name AND d.arn_uuid = m[1]::uuid) THEN
            PERFORM eventbus._api_destination_not_found(v_name);
        END IF;
    ELSE
        PERFORM eventbus._check_http_name(api_destination, 'API destination');
        v_name := api_destination;
    END IF;
    IF NOT EXISTS (SELECT FROM eventbus.api_destinations d WHERE d.name = v_name) THEN
        PERFORM eventbus._api_destination_not_found(v_name);
    END IF;
    RETURN v_name;
END;
$fn$;
COMMENT ON FUNCTION eventbus._api_destination_name(text) IS
'Internal: the name of the API destination an argument (name or ARN) designates; raises 22023 for a malformed one and 42704 for one that does not exist.';

CREATE FUNCTION eventbus.describe_api_destination(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.describe_api_destination(text) IS
'EventBridge''s DescribeApiDestination: {"ApiDestinationArn", "Name", "Description", "ApiDestinationState", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "TimeoutSeconds" (eventbus''s own; absent when eventbus.http_timeout applies), "CreationTime", "LastModifiedTime"} of an API destination (a name or ARN). For its owner, the holders of invoke on it and eventbus_admin (42501).';

CREATE FUNCTION eventbus._describe_api_destination_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d eventbus.api_destinations;
BEGIN
    SELECT * INTO d FROM eventbus.api_destinations x
     WHERE x.name = eventbus._api_destination_name(_describe_api_destination_impl.name);
    PERFORM eventbus._require_visible('api_destination', d.name);
    RETURN eventbus._api_destination_json(d);
END;
$fn$;
COMMENT ON FUNCTION eventbus._describe_api_destination_impl(text) IS
'Internal: implementation of describe_api_destination.';

CREATE FUNCTION eventbus.update_api_destination(name text, connection_name text DEFAULT NULL,
                                                invocation_endpoint text DEFAULT NULL,
                                                http_method text DEFAULT NULL,
                                                invocation_rate_limit_per_second integer DEFAULT NULL,
                                                description text DEFAULT NULL,
                                                timeout_seconds numeric DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.update_api_destination(text, text, text, text, integer, text, numeric) IS
'EventBridge''s UpdateApiDestination: changes what is given (NULL: unchanged) of an API destination, for its owner and eventbus_admin (42501); a new connection needs use on it. Returns {"ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime"}. The delivery workers use the new settings from the next delivery on.';

CREATE FUNCTION eventbus._update_api_destination_impl(name text, connection_name text,
                                                      invocation_endpoint text, http_method text,
                                                      invocation_rate_limit_per_second integer,
                                                      description text, timeout_seconds numeric)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._api_destination_name(_update_api_destination_impl.name);
    d eventbus.api_destinations;
    v_conn text;
BEGIN
    SELECT * INTO d FROM eventbus.api_destinations x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('api_destination', v_name);
    PERFORM eventbus._require_owner('api_destination', v_name, eventbus._role_of(d.owner));
    PERFORM eventbus._check_description(_update_api_destination_impl.description,
                                        format('API destination %L', v_name));
    PERFORM eventbus._check_api_destination_settings(v_name,
        coalesce(_update_api_destination_impl.invocation_endpoint, d.invocation_endpoint),
        coalesce(_update_api_destination_impl.http_method, d.http_method),
        coalesce(_update_api_destination_impl.invocation_rate_limit_per_second, d.invocation_rate_limit_per_second),
        _update_api_destination_impl.timeout_seconds);
    v_conn := d.connection;
    IF _update_api_destination_impl.connection_name IS NOT NULL THEN
        v_conn := eventbus._api_destination_connection(_update_api_destination_impl.connection_name);
    END IF;
    UPDATE eventbus.api_destinations x
       SET connection = v_conn,
           invocation_endpoint = coalesce(_update_api_destination_impl.invocation_endpoint, x.invocation_endpoint),
           http_method = coalesce(_update_api_destination_impl.http_method, x.http_method),
           invocation_rate_limit_per_second = coalesce(_update_api_destination_impl.invocation_rate_limit_per_second,
                                                       x.invocation_rate_limit_per_second),
           description = coalesce(_update_api_destination_impl.description, x.description),
           timeout_ms = coalesce(eventbus._timeout_ms(_update_api_destination_impl.timeout_seconds), x.timeout_ms),
           updated_at = now()
     WHERE x.name = v_name
    RETURNING * INTO d;
    RETURN jsonb_build_object(
        'ApiDestinationArn', eventbus._api_destination_arn(d.name, d.arn_uuid),
        'ApiDestinationState', d.state,
        'CreationTime', d.created_at,
        'LastModifiedTime', d.updated_at);
END;
$fn$;
COMMENT ON FUNCTION eventbus._update_api_destination_impl(text, text, text, text, integer, text, numeric) IS
'Internal: implementation of update_api_destination.';

CREATE FUNCTION eventbus.delete_api_destination(name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;
COMMENT ON FUNCTION eventbus.delete_api_destination(text) IS
'EventBridge''s DeleteApiDestination: deletes an API destination (a name or ARN), for its owner and eventbus_admin (42501); refused (2BP01) while targets send to it. Returns {}; raises 42704 for an API destination that does not exist.';

CREATE FUNCTION eventbus._delete_api_destination_impl(name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._api_destination_name(_delete_api_destination_impl.name);
    d eventbus.api_destinations;
    n_used bigint;
BEGIN
    SELECT * INTO d FROM eventbus.api_destinations x WHERE x.name = v_name FOR UPDATE;
    PERFORM eventbus._require_visible('api_destination', v_name);
    PERFORM eventbus._require_owner('api_destination', v_name, eventbus._role_of(d.owner));
    -- put_targets locks the destination (KEY SHARE) before adding a target
    SELECT count(*) INTO n_used FROM eventbus.targets t
     WHERE t.kind = 'api_destination' AND t.destination = v_name;
    IF n_used > 0 THEN
        PERFORM eventbus._raise('2BP01',
            format('API destination %L is used by %s target(s)', v_name, n_used),
            'An API destination cannot be deleted while targets send to it.',
            format('Remove those targets first (remove_targets); list_rule_names_by_target(%L, <bus>) finds their rules.',
                   'api-destination:' || v_name));
    END IF;
    DELETE FROM eventbus.grants g WHERE g.object_kind = 'api_destination' AND g.object_name = v_name;
    DELETE FROM eventbus.api_destinations x WHERE x.name = v_name;
    RETURN '{}'::jsonb;
END;
$fn$;
COMMENT ON FUNCTION eventbus._delete_api_destination_impl(text) IS
'Internal: implementation of delete_api_destination.';

CREATE FUNCTION eventbus.list_api_destinations(name_prefix text DEFAULT NULL,
                                               connection_name text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION eventbus.list_api_destinations(text, text) IS
'EventBridge''s ListApiDestinations: {"ApiDestinations": [{"ApiDestinationArn", "Name", "ApiDestinationState", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "CreationTime", "LastModifiedTime"}]} by name, of the API destinations the caller may see (it owns them, holds invoke on them, or is an eventbus_admin), optionally those whose name begins with name_prefix and those of one connection (a name or ARN).';

CREATE FUNCTION eventbus._list_api_destinations_impl(name_prefix text, connection_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    v_conn text;
    result jsonb;
BEGIN
    IF _list_api_destinations_impl.connection_name IS NOT NULL THEN
        v_conn := eventbus._connection_name(_list_api_destinations_impl.connection_name);
    END IF;
    SELECT coalesce(jsonb_agg(eventbus._api_destination_json(d) - 'Description' - 'TimeoutSeconds'
                              ORDER BY d.name), '[]')
      INTO result
      FROM eventbus.api_destinations d
     WHERE (_list_api_destinations_impl.name_prefix IS NULL
            OR starts_with(d.name, _list_api_destinations_impl.name_prefix))
       AND (v_conn IS NULL OR d.connection = v_conn)
       AND eventbus._may_see_api_destination(d.name, caller);
    RETURN jsonb_build_object('ApiDestinations', result);
END;
$fn$;
COMMENT ON FUNCTION eventbus._list_api_destinations_impl(text, text) IS
'Internal: implementation of list_api_destinations.';

-- ---------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.grant_connection_privilege(connection_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_connection_privilege_impl(connection_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'connection', connection_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_connection_privilege(text, text, text) IS
'Grants use on a connection (a name or ARN) to a role (or ''PUBLIC''): it may then create API destinations that send with it. For the connection''s owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_connection_privilege_impl(text, text, text) IS
'Internal: implementation of grant_connection_privilege.';

CREATE FUNCTION eventbus.revoke_connection_privilege(connection_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_connection_privilege_impl(connection_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'connection', connection_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_connection_privilege(text, text, text) IS
'Revokes use on a connection from a role (or ''PUBLIC''); for the connection''s owner and eventbus_admin. API destinations already made keep their connection; the delivery workers check that a destination''s owner holds use on its connection before each delivery.';
COMMENT ON FUNCTION eventbus._revoke_connection_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_connection_privilege.';

CREATE FUNCTION eventbus.grant_api_destination_privilege(api_destination_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_api_destination_privilege_impl(api_destination_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'api_destination', api_destination_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_api_destination_privilege(text, text, text) IS
'Grants invoke on an API destination (a name or ARN) to a role (or ''PUBLIC''): it may then put targets that send to it. For the API destination''s owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_api_destination_privilege_impl(text, text, text) IS
'Internal: implementation of grant_api_destination_privilege.';

CREATE FUNCTION eventbus.revoke_api_destination_privilege(api_destination_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_api_destination_privilege_impl(api_destination_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'api_destination', api_destination_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_api_destination_privilege(text, text, text) IS
'Revokes invoke on an API destination from a role (or ''PUBLIC''); for the API destination''s owner and eventbus_admin. Targets already put stay; the delivery workers check that a target''s owner holds invoke before each delivery (a denial is a dead letter with error code 42501).';
COMMENT ON FUNCTION eventbus._revoke_api_destination_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_api_destination_privilege.';

-- ---------------------------------------------------------------------
-- Targets' HttpParameters (put_targets)
-- ---------------------------------------------------------------------

-- A value of HttpParameters: static text, or (beginning with "$.") a JSON
-- path into the event, checked as an InputPath is.
CREATE FUNCTION eventbus._check_http_parameter_value(value jsonb, what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    reason text;
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a string', what),
            format('It is %s.', left(coalesce(value::text, 'missing'), 200)),
            'Values are static text, or JSON paths into the event beginning with "$." such as "$.detail.id".');
    END IF;
    IF length(value #>> '{}') > 512 THEN
        PERFORM eventbus._raise('22023',
            format('%s is longer than 512 characters', what),
            format('It has %s characters.', length(value #>> '{}')),
            'Shorten the value.');
    END IF;
    IF (value #>> '{}') ~ '[[:cntrl:]]' THEN
        PERFORM eventbus._raise('22023',
            format('%s contains a control character', what),
            'HTTP parameter values are sent in request lines and headers.',
            'Remove line breaks, tabs and other control characters.');
    END IF;
    IF starts_with(value #>> '{}', '$.') THEN
        BEGIN
            PERFORM eventbus.validate_target_input(NULL, value #>> '{}', NULL);
        EXCEPTION WHEN invalid_parameter_value THEN
            GET STACKED DIAGNOSTICS reason = MESSAGE_TEXT;
            PERFORM eventbus._raise('22023',
                format('%s is not a valid JSON path', what),
                format('%s: %s', left(value #>> '{}', 200), reason),
                'A value beginning with "$." is a JSON path into the event, such as "$.detail.id".');
        END;
    END IF;
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_http_parameter_value(jsonb, text) IS
'Internal: raises 22023 unless value is a valid HttpParameters value: a string of at most 512 characters without control characters, a valid JSON path when it begins with "$.".';

CREATE FUNCTION eventbus._check_http_parameters(params jsonb, target_id text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    what text := format('HttpParameters of target %L', target_id);
    k text;
    v jsonb;
    pos bigint;
    list text;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a JSON object', what),
            format('It is a JSON %s.', jsonb_typeof(params)),
            'Pass {"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF k NOT IN ('PathParameterValues', 'HeaderParameters', 'QueryStringParameters') THEN
            PERFORM eventbus._raise('22023',
                format('%s has an unknown key %L', what, left(k, 100)),
                'HttpParameters has the keys PathParameterValues, HeaderParameters and QueryStringParameters.',
                'Remove the key.');
        END IF;
    END LOOP;
    params := jsonb_strip_nulls(params);
    IF params ? 'PathParameterValues' THEN
        IF jsonb_typeof(params -> 'PathParameterValues') <> 'array' THEN
            PERFORM eventbus._raise('22023',
                format('%s: PathParameterValues must be a JSON array of strings', what),
                format('It is a JSON %s.', jsonb_typeof(params -> 'PathParameterValues')),
                'Pass one value per "*" of the API destination''s endpoint, e.g. ["$.detail.id"].');
        END IF;
        FOR v, pos IN SELECT x, o FROM jsonb_array_elements(params -> 'PathParameterValues') WITH ORDINALITY AS a(x, o) LOOP
            PERFORM eventbus._check_http_parameter_value(v, format('%s: PathParameterValues[%s]', what, pos - 1));
        END LOOP;
    END IF;
    FOREACH list IN ARRAY ARRAY['HeaderParameters', 'QueryStringParameters'] LOOP
        CONTINUE WHEN NOT params ? list;
        IF jsonb_typeof(params -> list) <> 'object' THEN
            PERFORM eventbus._raise('22023',
                format('%s: %s must be a JSON object of strings', what, list),
                format('It is a JSON %s.', jsonb_typeof(params -> list)),
                format('Pass e.g. {"%s": "$.detail.id"}.', CASE list WHEN 'HeaderParameters' THEN 'X-Order-Id' ELSE 'order' END));
        END IF;
        FOR k, v IN SELECT key, value FROM jsonb_each(params -> list) LOOP
            IF list = 'HeaderParameters' THEN
                IF k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' THEN
                    PERFORM eventbus._raise('22023',
                        format('%s: %L is not a valid HTTP header name', what, left(k, 100)),
                        'Header names are tokens: letters, digits and !#$%&''*+-.^_`|~.',
                        'Use a header name such as "X-Order-Id".');
                END IF;
                IF lower(k) IN ('host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive',
                                'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization',
                                'x-eventbus-event-id') THEN
                    PERFORM eventbus._raise('22023',
                        format('%s: header %s cannot be set', what, k),
                        'The delivery workers set it themselves.',
                        'Remove the header.');
                END IF;
            ELSIF k = '' OR length(k) > 512 THEN
                PERFORM eventbus._raise('22023',
                    format('%s: a QueryStringParameters key must have 1 to 512 characters', what),
                    format('It has %s.', length(k)),
                    'Use a parameter name such as "order".');
            END IF;
            PERFORM eventbus._check_http_parameter_value(v, format('%s: %s.%s', what, list, left(k, 100)));
        END LOOP;
    END LOOP;
    RETURN nullif(params, '{}');
END;
$fn$;
COMMENT ON FUNCTION eventbus._check_http_parameters(jsonb, text) IS
'Internal: checks a target''s HttpParameters (PathParameterValues: an array of strings; HeaderParameters and QueryStringParameters: objects of strings; values beginning with "$." are JSON paths into the event) and returns them without null members, NULL when empty.';

-- ---------------------------------------------------------------------
-- Metrics
-- ---------------------------------------------------------------------

-- Counters of every API destination of this database, kept in shared
-- memory by the delivery workers (src/target_http.c).
CREATE FUNCTION eventbus._api_destination_stats(OUT name text, OUT requests bigint,
    OUT responses_2xx bigint, OUT responses_3xx bigint, OUT responses_4xx bigint,
    OUT responses_5xx bigint, OUT timeouts bigint, OUT network_errors bigint,
    OUT rate_limited_waits bigint, OUT in_flight integer, OUT latency_p50_ms float8,
    OUT latency_p95_ms float8, OUT latency_p99_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_api_destination_stats'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION eventbus._api_destination_stats() IS
'Internal: the delivery workers'' counters of this database''s API destinations (shared memory): requests, responses by status class, timeouts, network errors, rate-limited waits, requests in flight and the latency p50/p95/p99 in milliseconds.';

CREATE FUNCTION eventbus._visible_api_destination_stats()
RETURNS TABLE (api_destination text, connection text, requests bigint, responses_2xx bigint,
               responses_3xx bigint, responses_4xx bigint, responses_5xx bigint, timeouts bigint,
               network_errors bigint, rate_limited_waits bigint, in_flight integer,
               latency_p50_ms float8, latency_p95_ms float8, latency_p99_ms float8,
               stats_reset timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION eventbus._visible_api_destination_stats() IS
'Internal: the rows of view api_destination_metrics that its reader may see.';

CREATE FUNCTION eventbus.__visible_api_destination_stats_impl()
RETURNS TABLE (api_destination text, connection text, requests bigint, responses_2xx bigint,
               responses_3xx bigint, responses_4xx bigint, responses_5xx bigint, timeouts bigint,
               network_errors bigint, rate_limited_waits bigint, in_flight integer,
               latency_p50_ms float8, latency_p95_ms float8, latency_p99_ms float8,
               stats_reset timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT d.name, d.connection,
           coalesce(s.requests, 0), coalesce(s.responses_2xx, 0), coalesce(s.responses_3xx, 0),
           coalesce(s.responses_4xx, 0), coalesce(s.responses_5xx, 0), coalesce(s.timeouts, 0),
           coalesce(s.network_errors, 0), coalesce(s.rate_limited_waits, 0), coalesce(s.in_flight, 0),
           s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms,
           eventbus._stats_reset_time()
      FROM eventbus.api_destinations d
      LEFT JOIN eventbus._api_destination_stats() s ON s.name = d.name
     WHERE eventbus._may_see_api_destination(d.name, eventbus._caller())
$fn$;
COMMENT ON FUNCTION eventbus.__visible_api_destination_stats_impl() IS
'Internal: implementation of _visible_api_destination_stats.';

CREATE VIEW eventbus.api_destination_metrics AS
SELECT s.api_destination, s.connection, s.requests, s.responses_2xx, s.responses_3xx,
       s.responses_4xx, s.responses_5xx, s.timeouts, s.network_errors, s.rate_limited_waits,
       s.in_flight, s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms, s.stats_reset
  FROM eventbus._visible_api_destination_stats() s;
GRANT SELECT ON eventbus.api_destination_metrics TO PUBLIC;
COMMENT ON VIEW eventbus.api_destination_metrics IS
'Per API destination: HTTP requests sent by the delivery workers, responses by status class (2xx, 3xx, 4xx, 5xx), timeouts, network errors, waits for the rate limit (InvocationRateLimitPerSecond), requests in flight now, and the latency (request to response) p50/p95/p99 in milliseconds; counters since the server''s start (stats_reset). Shows the API destinations the reader may see (it owns them, holds invoke on them, or is an eventbus_admin).';

-- Implementations are reached only through their API function.
REVOKE ALL ON FUNCTION eventbus._create_connection_impl(text, text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._describe_connection_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._update_connection_impl(text, text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._delete_connection_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._list_connections_impl(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._create_api_destination_impl(text, text, text, text, integer, text, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._describe_api_destination_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._update_api_destination_impl(text, text, text, text, integer, text, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._delete_api_destination_impl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._list_api_destinations_impl(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_connection_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_connection_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_api_destination_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_api_destination_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus.__visible_api_destination_stats_impl() FROM PUBLIC;


-- Internals of connections and API destinations are not for PUBLIC
-- (src/sql/96_internal_privileges.sql).

REVOKE ALL ON FUNCTION eventbus._role_of(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._connection_arn(text,uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_arn(text,uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_name(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._connection_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._auth_string(jsonb,text,text,boolean,integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._auth_keys(jsonb,text,text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_connection_http_parameters(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_auth_parameters(text,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._public_http_parameters(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._public_auth_parameters(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._merge_parameters(jsonb,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_connection(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_api_destination(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_visible(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_api_destination_settings(text,text,text,integer,numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._timeout_ms(numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_connection(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_json(eventbus.api_destinations) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_parameter_value(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_parameters(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_stats() FROM PUBLIC;


-- Privilege checks and grants know connections and API destinations.

CREATE OR REPLACE FUNCTION eventbus._require_privilege(object_kind text, object_name text, privilege text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    what text := CASE object_kind WHEN 'bus' THEN 'event bus'
                                  WHEN 'api_destination' THEN 'API destination'
                                  ELSE object_kind END;
BEGIN
    IF (object_kind = 'bus' AND eventbus.has_event_bus_privilege(object_name, privilege, caller))
       OR (object_kind = 'queue' AND eventbus.has_queue_privilege(object_name, privilege, caller))
       OR (object_kind = 'connection' AND eventbus.has_connection_privilege(object_name, privilege, caller))
       OR (object_kind = 'api_destination'
           AND eventbus.has_api_destination_privilege(object_name, privilege, caller)) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied for %s %s', what, pg_catalog.quote_ident(object_name)),
        format('Role %s does not hold privilege %s on %s %s.', caller, privilege, what,
               pg_catalog.quote_ident(object_name)),
        format('Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_%s_privilege(%L, %L, %L).',
               CASE object_kind WHEN 'bus' THEN 'event_bus' ELSE object_kind END,
               object_name, privilege, caller::text));
END;
$fn$;

CREATE OR REPLACE FUNCTION eventbus._require_owner(object_kind text, object_name text, owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    what text := CASE object_kind WHEN 'bus' THEN 'event bus'
                                  WHEN 'api_destination' THEN 'API destination'
                                  ELSE object_kind END;
BEGIN
    IF (owner IS NOT NULL AND pg_catalog.pg_has_role(caller, owner, 'USAGE'))
       OR eventbus._is_admin(caller) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('must be owner of %s %s', what, pg_catalog.quote_ident(object_name)),
        format('%s %s belongs to %s; role %s is neither its owner nor an eventbus_admin.',
               pg_catalog.upper(pg_catalog.left(what, 1)) || pg_catalog.substr(what, 2), pg_catalog.quote_ident(object_name), owner, caller),
        'Ask its owner or an eventbus_admin.');
END;
$fn$;

CREATE OR REPLACE FUNCTION eventbus._change_privilege(do_grant boolean, kind text, object_name text,
                                           privilege text, grantee text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := object_name;
    v_owner regrole;
    v_grantee oid;
    valid text[] := CASE kind WHEN 'bus' THEN ARRAY['put_events', 'manage_rules', 'read_events']
                              WHEN 'connection' THEN ARRAY['use']
                              WHEN 'api_destination' THEN ARRAY['invoke']
                              ELSE ARRAY['receive', 'send'] END;
BEGIN
    IF kind = 'connection' THEN
        v_name := eventbus._connection_name(object_name);
        SELECT eventbus._role_of(c.owner) INTO v_owner FROM eventbus.connections c
         WHERE c.name = v_name FOR UPDATE;
    ELSIF kind = 'api_destination' THEN
        v_name := eventbus._api_destination_name(object_name);
        SELECT eventbus._role_of(d.owner) INTO v_owner FROM eventbus.api_destinations d
         WHERE d.name = v_name FOR UPDATE;
    ELSIF kind = 'bus' THEN
        v_name := eventbus._bus_name(object_name);
        SELECT b.owner INTO v_owner FROM eventbus.event_buses b WHERE b.name = v_name FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM eventbus._bus_not_found(v_name);
        END IF;
    ELSE
        SELECT q.owner INTO v_owner FROM eventbus.queues q WHERE q.name = object_name FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM eventbus._raise('42704',
                format('queue %L does not exist', object_name),
                'No queue of that name exists in this database.',
                'Check the name: queue names are case-sensitive.');
        END IF;
    END IF;
    IF privilege IS NULL OR NOT privilege = ANY (valid) THEN
        PERFORM eventbus._raise('22023',
            format('unrecognized privilege "%s" for %s', coalesce(privilege, 'NULL'),
                   CASE kind WHEN 'bus' THEN 'an event bus' WHEN 'connection' THEN 'a connection'
                             WHEN 'api_destination' THEN 'an API destination' ELSE 'a queue' END),
            format('The privileges are %s.', pg_catalog.array_to_string(valid, ', ')),
            'Privilege names are lower case, as listed.');
    END IF;
    PERFORM eventbus._require_owner(kind, v_name, v_owner);
    v_grantee := eventbus._grant_role(grantee);
    IF do_grant THEN
        INSERT INTO eventbus.grants (object_kind, object_name, grantee, privilege, granted_by)
        VALUES (kind, v_name, v_grantee, privilege, eventbus._caller())
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM eventbus.grants g
         WHERE g.object_kind = kind AND g.object_name = v_name
           AND g.grantee = v_grantee AND g.privilege = _change_privilege.privilege;
    END IF;
END;
$fn$;

CREATE OR REPLACE FUNCTION eventbus._list_grants_impl()
RETURNS TABLE (object_kind text, object_name text, grantee text, privilege text,
               granted_by regrole, granted_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    admin boolean := eventbus._is_admin(caller);
BEGIN
    RETURN QUERY
    SELECT g.object_kind, g.object_name,
           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
           g.privilege, g.granted_by, g.granted_at
      FROM eventbus.grants g
      LEFT JOIN eventbus.event_buses b ON g.object_kind = 'bus' AND b.name = g.object_name
      LEFT JOIN eventbus.queues q ON g.object_kind = 'queue' AND q.name = g.object_name
      LEFT JOIN eventbus.connections c ON g.object_kind = 'connection' AND c.name = g.object_name
      LEFT JOIN eventbus.api_destinations d ON g.object_kind = 'api_destination' AND d.name = g.object_name
     WHERE admin
        OR pg_catalog.pg_has_role(caller, coalesce(b.owner, q.owner,
                                                   eventbus._role_of(coalesce(c.owner, d.owner))), 'USAGE')
        OR CASE WHEN g.grantee = 0 THEN true
                ELSE pg_catalog.pg_has_role(caller, g.grantee, 'USAGE') END
     ORDER BY 1, 2, 3, 4;
END;
$fn$;

COMMENT ON FUNCTION eventbus._require_privilege(text, text, text) IS
'Internal: raises 42501 unless the caller of the current API function holds privilege on the bus, queue, connection or API destination.';

COMMENT ON FUNCTION eventbus._change_privilege(boolean, text, text, text, text) IS
'Internal: grants or revokes a privilege on a bus, queue, connection or API destination for the caller of the current API function, who must own it or be an eventbus_admin.';

COMMENT ON FUNCTION eventbus.list_grants() IS
'The privileges granted on event buses, queues, connections and API destinations that the current role may see: on the objects it owns (all of them for an eventbus_admin), and those granted to it, to a role it is a member of, or to PUBLIC.';


-- put_targets: API destination targets ("api-destination:<name>" or the
-- ARN) with HttpParameters; URLs as Arns point to API destinations.

CREATE OR REPLACE FUNCTION eventbus._parse_target_arn(arn text, OUT kind text, OUT destination text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF arn ~ '^queue:.' THEN
        kind := 'queue';
        destination := substr(arn, 7);
    ELSIF arn ~ '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:[^:/]+$' THEN
        kind := 'queue';
        destination := substring(arn FROM '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:([^:/]+)$');
    ELSIF arn ~ '^function:.' THEN
        kind := 'function';
        destination := substr(arn, 10);
    ELSIF arn ~ '^bus:.' THEN
        kind := 'bus';
        destination := substr(arn, 5);
    ELSIF arn ~ '^api-destination:.' THEN
        kind := 'api_destination';
        destination := substr(arn, 17);
    ELSIF arn ~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:api-destination/[.\-_A-Za-z0-9]{1,64}(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$' THEN
        kind := 'api_destination';
        destination := substring(arn FROM ':api-destination/([^/]+)');
    ELSIF eventbus._bus_arn_name(arn) IS NOT NULL THEN
        kind := 'bus';
        destination := eventbus._bus_arn_name(arn);
    ELSIF arn ~ '^notify:.' THEN
        kind := 'notify';
        destination := substr(arn, 8);
    ELSIF arn ~* '^https?://.' THEN
        kind := 'http';
        destination := arn;
    END IF;
END;
$fn$;

CREATE OR REPLACE FUNCTION eventbus._put_targets_impl(rule text, targets jsonb, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_put_targets_impl.event_bus_name);
    entries jsonb := _put_targets_impl.targets;
    max_targets int := eventbus._max_targets_per_rule();
    n_targets int;
    failed jsonb := '[]';
    seen text[] := '{}';
    entry jsonb;
    pos bigint;
    k text;
    tid text;
    t_arn text;
    t_kind text;
    t_dest text;
    t_input jsonb;
    t_input_path text;
    t_transformer jsonb;
    t_retry jsonb;
    t_dlc jsonb;
    t_config jsonb;
    t_http jsonb;
    t_uuid text;
    dlq_kind text;
    dlq_name text;
    t_outbox regclass;
    t_func regprocedure;
    is_update boolean;
    err_state text;
    err_message text;
    caller regrole := eventbus._caller();
BEGIN
    IF jsonb_typeof(entries) = 'object' AND entries ? 'Targets' THEN
        entries := entries -> 'Targets';
    END IF;
    IF entries IS NULL OR jsonb_typeof(entries) <> 'array' THEN
        PERFORM eventbus._raise('22023',
            'targets must be a JSON array of targets',
            format('targets is %s.', coalesce(_put_targets_impl.targets::text, 'NULL')),
            'Pass PutTargets'' Targets array, e.g. ''[{"Id": "t1", "Arn": "queue:orders"}]'', or {"Targets": [...]}.');
    END IF;
    IF jsonb_array_length(entries) = 0 THEN
        PERFORM eventbus._raise('22023',
            'targets is empty',
            'PutTargets takes at least one target.',
            'Pass a non-empty array.');
    END IF;
    PERFORM eventbus._require_rule_owner(v_bus, _put_targets_impl.rule,
                                         eventbus._lock_rule(v_bus, _put_targets_impl.rule));
    SELECT count(*) INTO n_targets FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _put_targets_impl.rule;

    FOR entry, pos IN SELECT e, o FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(e, o) LOOP
        tid := NULL;
        BEGIN
            IF jsonb_typeof(entry) <> 'object' THEN
                PERFORM eventbus._raise('22023',
                    format('entry %s of targets is not a JSON object', pos),
                    format('It is %s.', entry),
                    'Each target is an object such as {"Id": "t1", "Arn": "queue:orders"}.');
            END IF;
            IF jsonb_typeof(entry -> 'Id') = 'string' THEN
                tid := entry ->> 'Id';
            END IF;
            IF tid IS NULL OR tid !~ '^[A-Za-z0-9._-]{1,64}$' THEN
                PERFORM eventbus._raise('22023',
                    CASE WHEN entry ? 'Id'
                         THEN format('entry %s of targets has an invalid Id %s', pos, entry -> 'Id')
                         ELSE format('entry %s of targets has no Id', pos) END,
                    'A target Id is a string of 1 to 64 characters: letters, digits, ".", "_" and "-".',
                    'Give each target an Id such as "audit-queue".');
            END IF;
            FOR k IN SELECT jsonb_object_keys(entry) LOOP
                IF k NOT IN ('Id', 'Arn', 'Input', 'InputPath', 'InputTransformer',
                             'RetryPolicy', 'DeadLetterConfig', 'Config', 'HttpParameters') THEN
                    PERFORM eventbus._raise('22023',
                        format('target %L has an unsupported key %L', tid, k),
                        'A target has the keys Id, Arn, Input, InputPath, InputTransformer, RetryPolicy, DeadLetterConfig, Config and HttpParameters.',
                        'Remove the key.');
                END IF;
            END LOOP;
            IF tid = ANY (seen) THEN
                PERFORM eventbus._raise('22023',
                    format('target Id %L appears more than once in the request', tid),
                    'Each target of a PutTargets request has its own Id.',
                    'Put one entry per Id.');
            END IF;
            seen := seen || tid;

            -- Arn: what the target designates
            IF jsonb_typeof(entry -> 'Arn') IS DISTINCT FROM 'string' THEN
                PERFORM eventbus._raise('22023',
                    CASE WHEN entry ? 'Arn'
                         THEN format('target %L has an invalid Arn %s', tid, entry -> 'Arn')
                         ELSE format('target %L has no Arn', tid) END,
                    'Every target has an Arn naming where matching events go.',
                    'Use "queue:<name>" or "arn:aws:sqs:<region>:<account>:<name>".');
            END IF;
            t_arn := entry ->> 'Arn';
            SELECT p.kind, p.destination INTO t_kind, t_dest FROM eventbus._parse_target_arn(t_arn) p;
            IF length(t_arn) > 1600 OR t_kind IS NULL THEN
                PERFORM eventbus._raise('22023',
                    format('target %L has an unrecognised Arn %L', tid, left(t_arn, 100)),
                    'Recognised Arns: queue:<name>, arn:aws:sqs:<region>:<account>:<name>, function:<schema.name>, bus:<name>, arn:aws:events:<region>:<account>:event-bus/<name>, notify:<channel>, api-destination:<name>, arn:aws:events:<region>:<account>:api-destination/<name>[/<uuid>].',
                    'Use "queue:<name>" for a queue read with receive().');
            END IF;
            IF t_kind = 'http' THEN
                PERFORM eventbus._raise('0A000',
                    format('target %L has a URL as its Arn', tid),
                    format('Target %L has Arn %L; HTTP endpoints are reached through API destinations, as in EventBridge.', tid, left(t_arn, 200)),
                    'Create a connection (create_connection) and an API destination for the URL (create_api_destination), then use Arn "api-destination:<name>".');
            ELSIF t_kind = 'api_destination' THEN
                t_uuid := substring(t_arn FROM '/([0-9A-Fa-f-]{36})$');
                -- locked, so that it is not deleted while the target is put
                IF NOT EXISTS (SELECT FROM eventbus.api_destinations d
                                WHERE d.name = t_dest AND (t_uuid IS NULL OR d.arn_uuid = t_uuid::uuid)
                                  FOR KEY SHARE) THEN
                    PERFORM eventbus._raise('42704',
                        format('API destination %L does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create the API destination first (create_api_destination).');
                END IF;
                -- the target sends to it as its owner
                PERFORM eventbus._require_privilege('api_destination', t_dest, 'invoke');
            ELSIF t_kind = 'function' THEN
                -- the function takes the payload as its one jsonb argument
                t_func := to_regprocedure(t_dest || '(jsonb)');
                IF t_func IS NULL THEN
                    PERFORM eventbus._raise('42704',
                        format('function %s(jsonb) does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create a function taking one jsonb argument, e.g. CREATE FUNCTION app.on_event(event jsonb) RETURNS void ...');
                END IF;
                -- the worker calls it as the target's owner: who puts the
                -- target must be able to call it
                IF NOT has_function_privilege(caller, t_func, 'EXECUTE') THEN
                    PERFORM eventbus._raise('42501',
                        format('permission denied for function %s', t_func),
                        format('Target %L would run %s as role %s, which lacks EXECUTE on it.', tid, t_func, caller),
                        format('The function''s owner can grant it: GRANT EXECUTE ON FUNCTION %s TO %s.', t_func, caller));
                END IF;
                -- qualified, as search_path is pinned here
                t_dest := t_func::text;
            ELSIF t_kind = 'bus' THEN
                IF NOT EXISTS (SELECT FROM eventbus.event_buses b WHERE b.name = t_dest) THEN
                    PERFORM eventbus._raise('42704',
                        format('event bus %L does not exist', t_dest),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Create the bus first (create_event_bus).');
                END IF;
                -- the target forwards events as its owner
                PERFORM eventbus._require_privilege('bus', t_dest, 'put_events');
            ELSIF t_kind = 'notify' THEN
                IF length(t_dest) > 63 THEN
                    PERFORM eventbus._raise('22023',
                        format('notify channel %L is longer than 63 characters', left(t_dest, 100)),
                        format('Target %L has Arn %L.', tid, t_arn),
                        'Use a channel name of at most 63 characters.');
                END IF;
            END IF;

            -- Input, InputPath, InputTransformer
            t_input := nullif(entry -> 'Input', 'null');
            IF jsonb_typeof(t_input) = 'string' THEN
                -- AWS passes Input as JSON text
                BEGIN
                    t_input := (t_input #>> '{}')::jsonb;
                EXCEPTION WHEN invalid_text_representation THEN
                    PERFORM eventbus._raise('22023',
                        format('Input of target %L is not valid JSON text', tid),
                        format('Input is %s.', entry -> 'Input'),
                        'Input is JSON text (as in AWS, e.g. "{\"a\": 1}") or a JSON value.');
                END;
            END IF;
            t_input_path := NULL;
            IF nullif(entry -> 'InputPath', 'null') IS NOT NULL THEN
                IF jsonb_typeof(entry -> 'InputPath') <> 'string' THEN
                    PERFORM eventbus._raise('22023',
                        format('InputPath of target %L must be a string', tid),
                        format('InputPath is %s.', entry -> 'InputPath'),
                        'Pass a JSONPath such as "$.detail".');
                END IF;
                t_input_path := entry ->> 'InputPath';
            END IF;
            t_transformer := nullif(entry -> 'InputTransformer', 'null');
            PERFORM eventbus.validate_target_input(t_input, t_input_path, t_transformer);
            IF t_kind = 'bus' AND num_nonnulls(t_input, t_input_path, t_transformer) > 0 THEN
                PERFORM eventbus._raise('22023',
                    format('target %L forwards events to a bus and cannot transform them', tid),
                    'A bus target puts the event itself on the other bus, as in EventBridge.',
                    'Remove Input, InputPath and InputTransformer from this target.');
            END IF;

            t_retry := eventbus._retry_policy(entry -> 'RetryPolicy');

            -- HttpParameters: for API destinations only
            t_http := eventbus._check_http_parameters(entry -> 'HttpParameters', tid);
            IF t_http IS NOT NULL AND t_kind <> 'api_destination' THEN
                PERFORM eventbus._raise('22023',
                    format('target %L cannot take HttpParameters', tid),
                    format('Target %L is a %s target; only API destination targets send HTTP requests.', tid, t_kind),
                    'Remove HttpParameters, or use an API destination ("api-destination:<name>").');
            END IF;

            -- Config (eventbus's own): {"TimeoutSeconds": 1-3600} for function targets
            t_config := coalesce(nullif(entry -> 'Config', 'null'), '{}');
            IF jsonb_typeof(t_config) <> 'object'
               OR EXISTS (SELECT FROM jsonb_object_keys(t_config) ck WHERE ck <> 'TimeoutSeconds')
               OR (t_config ? 'TimeoutSeconds'
                   AND (jsonb_typeof(t_config -> 'TimeoutSeconds') <> 'number'
                        OR (t_config ->> 'TimeoutSeconds')::numeric NOT BETWEEN 0.001 AND 3600)) THEN
                PERFORM eventbus._raise('22023',
                    format('Config of target %L is not valid', tid),
                    format('Config is %s; it takes {"TimeoutSeconds": <0.001 to 3600>}.', entry -> 'Config'),
                    'TimeoutSeconds is the statement timeout of a function target''s call.');
            END IF;

            -- DeadLetterConfig: a queue for the events that could not be delivered
            t_dlc := nullif(entry -> 'DeadLetterConfig', 'null');
            dlq_name := NULL;
            IF t_dlc IS NOT NULL THEN
                IF jsonb_typeof(t_dlc) <> 'object' OR jsonb_typeof(t_dlc -> 'Arn') IS DISTINCT FROM 'string'
                   OR (SELECT count(*) FROM jsonb_object_keys(t_dlc)) <> 1 THEN
                    PERFORM eventbus._raise('22023',
                        format('DeadLetterConfig of target %L must be {"Arn": "<queue>"}', tid),
                        format('DeadLetterConfig is %s.', t_dlc),
                        'Name a queue: {"Arn": "queue:<name>"} or {"Arn": "arn:aws:sqs:<region>:<account>:<name>"}.');
                END IF;
                SELECT p.kind, p.destination INTO dlq_kind, dlq_name
                  FROM eventbus._parse_target_arn(t_dlc ->> 'Arn') p;
                IF dlq_kind IS DISTINCT FROM 'queue' THEN
                    PERFORM eventbus._raise('22023',
                        format('DeadLetterConfig of target %L does not name a queue', tid),
                        format('Its Arn is %L.', t_dlc ->> 'Arn'),
                        'Name a queue: {"Arn": "queue:<name>"} or {"Arn": "arn:aws:sqs:<region>:<account>:<name>"}.');
                END IF;
                -- the Arn as given, and the queue it designates
                t_dlc := jsonb_build_object('Arn', t_dlc ->> 'Arn', 'Queue', dlq_name);
            END IF;

            is_update := EXISTS (SELECT FROM eventbus.targets t
                                  WHERE t.bus = v_bus AND t.rule = _put_targets_impl.rule
                                    AND t.target_id = tid);
            IF NOT is_update AND n_targets >= max_targets THEN
                PERFORM eventbus._raise('54000',
                    format('rule %L on event bus %L already has %s target(s), the limit', _put_targets_impl.rule, v_bus, n_targets),
                    format('A rule has at most eventbus.max_targets_per_rule (%s) targets; target %L was not added.', max_targets, tid),
                    'Remove a target (remove_targets), or raise eventbus.max_targets_per_rule.');
            END IF;

            -- The queues come into being with the first target that names
            -- them (for roles that may create queues; others need send on
            -- an existing one); a push target has an outbox of its own.
            IF t_kind = 'queue' THEN
                t_outbox := eventbus._target_queue(t_dest);
            ELSE
                t_outbox := eventbus._push_outbox(v_bus, _put_targets_impl.rule, tid);
            END IF;

            IF dlq_name IS NOT NULL THEN
                PERFORM eventbus._target_queue(dlq_name);
            END IF;

            INSERT INTO eventbus.targets AS t
                (bus, rule, target_id, arn, kind, destination, outbox, input, input_path,
                 input_transformer, retry_policy, dead_letter_config, config, owner, http_parameters)
            VALUES (v_bus, _put_targets_impl.rule, tid, t_arn, t_kind, t_dest, t_outbox, t_input,
                    t_input_path, t_transformer, t_retry, t_dlc, t_config,
                    pg_catalog.pg_get_userbyid(caller), t_http)
            ON CONFLICT ON CONSTRAINT targets_pkey DO UPDATE
               SET arn = excluded.arn,
                   kind = excluded.kind,
                   destination = excluded.destination,
                   outbox = excluded.outbox,
                   input = excluded.input,
                   input_path = excluded.input_path,
                   input_transformer = excluded.input_transformer,
                   retry_policy = excluded.retry_policy,
                   dead_letter_config = excluded.dead_letter_config,
                   config = excluded.config,
                   http_parameters = excluded.http_parameters,
                   -- whoever last put the target is the role it acts as
                   owner = excluded.owner,
                   updated_at = now();
            IF NOT is_update THEN
                n_targets := n_targets + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
            IF NOT eventbus._is_entry_error(err_state) THEN
                RAISE;
            END IF;
            failed := failed || jsonb_build_array(jsonb_build_object(
                'TargetId', tid,
                'ErrorCode', eventbus._entry_error_code(err_state),
                'ErrorMessage', err_message));
        END;
    END LOOP;
    RETURN jsonb_build_object('FailedEntryCount', jsonb_array_length(failed),
                              'FailedEntries', failed);
END;
$fn$;

CREATE OR REPLACE FUNCTION eventbus._list_targets_by_rule_impl(rule text, event_bus_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_bus text := eventbus._bus_name(_list_targets_by_rule_impl.event_bus_name);
    result jsonb;
BEGIN
    PERFORM eventbus._check_rule(v_bus, _list_targets_by_rule_impl.rule);
    PERFORM eventbus._require_rule_owner(v_bus, _list_targets_by_rule_impl.rule,
        (SELECT r.owner FROM eventbus.rules r
          WHERE r.bus = v_bus AND r.name = _list_targets_by_rule_impl.rule));
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'Id', t.target_id,
               'Arn', t.arn,
               'Input', t.input::text,
               'InputPath', t.input_path,
               'InputTransformer', t.input_transformer,
               'RetryPolicy', t.retry_policy,
               'DeadLetterConfig', t.dead_letter_config - 'Queue',
               'Config', nullif(t.config, '{}'),
               'HttpParameters', t.http_parameters))
             ORDER BY t.target_id), '[]')
      INTO result
      FROM eventbus.targets t
     WHERE t.bus = v_bus AND t.rule = _list_targets_by_rule_impl.rule;
    RETURN jsonb_build_object('Targets', result);
END;
$fn$;

COMMENT ON FUNCTION eventbus._parse_target_arn(text) IS
'Internal: the kind (queue, function, bus, notify, api_destination, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

COMMENT ON FUNCTION eventbus.put_targets(text, jsonb, text) IS
'EventBridge''s PutTargets: adds or updates targets of a rule from PutTargets'' Targets array (or {"Targets": [...]}); returns {"FailedEntryCount", "FailedEntries": [{"TargetId", "ErrorCode", "ErrorMessage"}]}. A bad entry fails alone; a missing rule raises 42704. For the rule''s owner, the bus''s owner and eventbus_admin; the caller becomes the targets'' owner, the role they act as, and needs send on a target''s queue and DeadLetterConfig queue, EXECUTE on a target''s function, put_events on a target''s bus and invoke on a target''s API destination (42501 fails the call). API destination targets ("api-destination:<name>" or the API destination''s ARN) take HttpParameters ({"PathParameterValues": [...], "HeaderParameters": {...}, "QueryStringParameters": {...}}, values static or JSON paths "$...." into the event); other targets refuse them. Queue targets ("queue:<name>", "arn:aws:sqs:...:<name>") create a missing queue, owned by the caller, when the caller may create queues.';

-- Delivery workers show what they work on (issue: delivery isolation).
DROP VIEW eventbus.delivery_workers;
DROP FUNCTION eventbus._delivery_workers();
CREATE FUNCTION eventbus._delivery_workers(
    OUT database_oid oid, OUT worker integer, OUT state text, OUT pid integer,
    OUT started_at timestamptz, OUT last_wake timestamptz,
    OUT delivered bigint, OUT failed bigint, OUT state_since timestamptz,
    OUT activity text, OUT target text, OUT activity_since timestamptz,
    OUT last_progress timestamptz, OUT heartbeat timestamptz, OUT on_demand boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_delivery_workers_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._delivery_workers() IS
'Internal: the delivery worker slots of every database (shared memory).';


CREATE VIEW eventbus.delivery_workers AS
SELECT d.datname AS database,
       w.worker,
       w.state,
       w.pid,
       w.started_at,
       w.last_wake,
       w.delivered,
       w.failed,
       CASE WHEN w.database_oid = (SELECT oid FROM pg_catalog.pg_database
                                    WHERE datname = pg_catalog.current_database())
            THEN eventbus._push_backlog() END AS backlog,
       w.activity,
       w.target,
       w.activity_since,
       w.last_progress,
       w.heartbeat,
       w.on_demand
  FROM eventbus._delivery_workers() w
  JOIN pg_catalog.pg_database d ON d.oid = w.database_oid;

GRANT SELECT ON eventbus.delivery_workers TO PUBLIC;

COMMENT ON VIEW eventbus.delivery_workers IS
'Delivery workers of every database: state (starting, running, absent = no extension there, stopping), pid, last wake-up, messages delivered and failed since start; backlog (messages waiting for push targets) for the current database, shown to eventbus_admin only (NULL for others); activity (idle, delivering, invoking, or stalled: no sign of life for longer than an idle worker sleeps, or inside one invocation well past its timeout), since when, the target it works on (eventbus_admin only), when a visit of a target last ended (last_progress), the last sign of life (heartbeat), and whether the launcher started it on demand.';



-- HTTP targets (API destinations), worker side: see src/target_http.c and
-- src/http_*.c.  The delivery workers make every request; no function here
-- makes one.

CREATE FUNCTION eventbus._http_guard_check(address text, host text, allowed_networks text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_http_guard_check'
LANGUAGE C IMMUTABLE;

COMMENT ON FUNCTION eventbus._http_guard_check(text, text, text) IS
'Internal: NULL when a request to host may connect to address with eventbus.http_allowed_networks set to allowed_networks, else the class of address that is refused (the check the delivery workers make on every connection).';

REVOKE ALL ON FUNCTION eventbus._http_guard_check(text, text, text) FROM PUBLIC;
