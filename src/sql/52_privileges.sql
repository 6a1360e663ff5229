-- Owners and privileges: who may put events on a bus, manage its rules and
-- read its events, and who may receive from a queue and send to it.
--
-- Buses, rules and queues have an owner (the role that created them;
-- targets already had one: the role they act as).  Owners and members of
-- eventbus_admin hold every privilege on their objects and grant the
-- others with grant_event_bus_privilege / grant_queue_privilege; grants are
-- rows of eventbus.grants, which only those functions write.  The checks
-- are C functions with a per-session cache (src/privileges.c) that follows
-- changes of these tables at commit.

-- Roles are shared by every database of the cluster: made once, never
-- dropped by DROP EXTENSION (a role may hold privileges elsewhere).
DO $do$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventbus_admin') THEN
        CREATE ROLE eventbus_admin NOLOGIN;
        COMMENT ON ROLE eventbus_admin IS
            'eventbus: manages every bus, rule, target and queue, and every grant, in every database with eventbus.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventbus_user') THEN
        CREATE ROLE eventbus_user NOLOGIN;
        COMMENT ON ROLE eventbus_user IS
            'eventbus: may create event buses and queues of its own.';
    END IF;
END;
$do$;

GRANT USAGE ON SCHEMA eventbus TO PUBLIC;

-- Owners, at the end of each table so that a fresh install and an upgraded
-- one have the same column order.  The default bus belongs to
-- eventbus_admin.  Every function that creates a bus, rule or queue
-- records its caller as the owner, so the columns are NOT NULL (the upgrade
-- from 0.1.0 gives eventbus_admin what 0.1.0 made).
ALTER TABLE eventbus.event_buses ADD COLUMN owner regrole;
UPDATE eventbus.event_buses SET owner = 'eventbus_admin'::regrole;
ALTER TABLE eventbus.rules ADD COLUMN owner regrole;
ALTER TABLE eventbus.queues ADD COLUMN owner regrole;
ALTER TABLE eventbus.event_buses ALTER COLUMN owner SET NOT NULL;
ALTER TABLE eventbus.rules ALTER COLUMN owner SET NOT NULL;
ALTER TABLE eventbus.queues ALTER COLUMN owner SET NOT NULL;
COMMENT ON COLUMN eventbus.event_buses.owner IS 'The role that created the bus (default: eventbus_admin); it holds every privilege on it.';
COMMENT ON COLUMN eventbus.rules.owner IS 'The role that created the rule; it (or the bus owner, or an admin) may change, disable or delete it and its targets.';
COMMENT ON COLUMN eventbus.queues.owner IS 'The role that created the queue; it holds every privilege on it.';

CREATE TABLE eventbus.grants (
    object_kind text NOT NULL,
    object_name text NOT NULL,
    -- 0 stands for PUBLIC
    grantee     oid NOT NULL,
    privilege   text NOT NULL,
    granted_by  regrole NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object_kind, object_name, grantee, privilege),
    CONSTRAINT grants_privilege_valid CHECK (
        (object_kind = 'bus' AND privilege IN ('put_events', 'manage_rules', 'read_events'))
        OR (object_kind = 'queue' AND privilege IN ('receive', 'send'))
        OR (object_kind = 'connection' AND privilege = 'use')
        OR (object_kind = 'api_destination' AND privilege = 'invoke'))
);
COMMENT ON TABLE eventbus.grants IS
'Privileges on event buses (put_events, manage_rules, read_events), queues (receive, send), connections (use) and API destinations (invoke) granted to roles (grantee 0: PUBLIC); written only by the grant and revoke functions.';
SELECT pg_catalog.pg_extension_config_dump('eventbus.grants', '');

-- Every session's privilege cache follows changes at commit.
CREATE TRIGGER event_buses_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.event_buses
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER queues_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.queues
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();
CREATE TRIGGER grants_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON eventbus.grants
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.catalog_changed();

-- The caller of an API function, for its SECURITY DEFINER implementation
-- (src/api.c).
CREATE FUNCTION eventbus._caller() RETURNS regrole
AS 'MODULE_PATHNAME', 'eventbus_caller' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION eventbus._caller() IS
'Internal: the role the current eventbus API call acts for; only eventbus''s own implementations may ask.';

CREATE FUNCTION eventbus.has_event_bus_privilege(bus text, privilege text,
                                                 role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_event_bus_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_event_bus_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege put_events, manage_rules or read_events on an event bus (a name or ARN): as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for a bus that does not exist.';

CREATE FUNCTION eventbus.has_queue_privilege(queue text, privilege text,
                                             role regrole DEFAULT current_user::regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_has_queue_privilege' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus.has_queue_privilege(text, text, regrole) IS
'Whether role (default: the current role) holds privilege receive or send on a queue: as its owner, as a member of eventbus_admin, or by a grant to it, to a role it is a member of, or to PUBLIC. False for a queue that does not exist.';

CREATE FUNCTION eventbus._is_admin(role regrole)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_is_admin' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION eventbus._is_admin(regrole) IS
'Internal: whether role is a superuser or has the privileges of eventbus_admin.';

-- _require_privilege: raise 42501 unless the caller holds it.
CREATE FUNCTION eventbus._require_privilege(object_kind text, object_name text, privilege text)
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
COMMENT ON FUNCTION eventbus._require_privilege(text, text, text) IS
'Internal: raises 42501 unless the caller of the current API function holds privilege on the bus, queue, connection or API destination.';

-- _require_owner: raise 42501 unless the caller owns the object or is an admin.
CREATE FUNCTION eventbus._require_owner(object_kind text, object_name text, owner regrole)
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
COMMENT ON FUNCTION eventbus._require_owner(text, text, regrole) IS
'Internal: raises 42501 unless the caller of the current API function owns the object (or has its owner''s privileges) or is an eventbus_admin.';

-- Grant and revoke (API functions: C entry points calling the _impl).
CREATE FUNCTION eventbus._grant_role(grantee text)
RETURNS oid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r oid;
BEGIN
    IF grantee IS NULL THEN
        PERFORM eventbus._raise('22023', 'grantee must not be NULL',
            'Privileges are granted to a role or to PUBLIC.', 'Pass a role name or ''PUBLIC''.');
    END IF;
    IF pg_catalog.upper(grantee) = 'PUBLIC' THEN
        RETURN 0;
    END IF;
    SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = grantee;
    IF r IS NULL THEN
        PERFORM eventbus._raise('42704', format('role "%s" does not exist', grantee),
            'Privileges are granted to an existing role or to PUBLIC.', 'Create the role first (CREATE ROLE).');
    END IF;
    RETURN r;
END;
$fn$;
COMMENT ON FUNCTION eventbus._grant_role(text) IS
'Internal: the OID of a grantee named by role name, or 0 for PUBLIC.';

CREATE FUNCTION eventbus._change_privilege(do_grant boolean, kind text, object_name text,
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
COMMENT ON FUNCTION eventbus._change_privilege(boolean, text, text, text, text) IS
'Internal: grants or revokes a privilege on a bus, queue, connection or API destination for the caller of the current API function, who must own it or be an eventbus_admin.';

CREATE FUNCTION eventbus.grant_event_bus_privilege(event_bus_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_event_bus_privilege_impl(event_bus_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'bus', event_bus_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_event_bus_privilege(text, text, text) IS
'Grants put_events, manage_rules or read_events on an event bus to a role (or ''PUBLIC''); for the bus owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_event_bus_privilege_impl(text, text, text) IS
'Internal: implementation of grant_event_bus_privilege.';

CREATE FUNCTION eventbus.revoke_event_bus_privilege(event_bus_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_event_bus_privilege_impl(event_bus_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'bus', event_bus_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_event_bus_privilege(text, text, text) IS
'Revokes a privilege on an event bus from a role (or ''PUBLIC''); for the bus owner and eventbus_admin. Takes effect for every session at commit.';
COMMENT ON FUNCTION eventbus._revoke_event_bus_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_event_bus_privilege.';

CREATE FUNCTION eventbus.grant_queue_privilege(queue_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._grant_queue_privilege_impl(queue_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(true, 'queue', queue_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.grant_queue_privilege(text, text, text) IS
'Grants receive or send on a queue to a role (or ''PUBLIC''); for the queue owner and eventbus_admin.';
COMMENT ON FUNCTION eventbus._grant_queue_privilege_impl(text, text, text) IS
'Internal: implementation of grant_queue_privilege.';

CREATE FUNCTION eventbus.revoke_queue_privilege(queue_name text, privilege text, grantee text)
RETURNS void AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C;
CREATE FUNCTION eventbus._revoke_queue_privilege_impl(queue_name text, privilege text, grantee text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT eventbus._change_privilege(false, 'queue', queue_name, privilege, grantee) $fn$;
COMMENT ON FUNCTION eventbus.revoke_queue_privilege(text, text, text) IS
'Revokes a privilege on a queue from a role (or ''PUBLIC''); for the queue owner and eventbus_admin. Takes effect for every session at commit.';
COMMENT ON FUNCTION eventbus._revoke_queue_privilege_impl(text, text, text) IS
'Internal: implementation of revoke_queue_privilege.';

-- Internals are not for PUBLIC (implementations are reached only through
-- their API function, which performs no EXECUTE check on them).
REVOKE ALL ON FUNCTION eventbus._require_privilege(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_owner(text, text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_role(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._change_privilege(boolean, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_event_bus_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_event_bus_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._grant_queue_privilege_impl(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._revoke_queue_privilege_impl(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- The checks of the API functions' implementations (for the caller of the
-- current API function, eventbus._caller()).
-- ---------------------------------------------------------------------

-- Creating buses and queues: members of eventbus_user, and admins.
CREATE FUNCTION eventbus._require_creator(what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._is_admin(caller) OR pg_catalog.pg_has_role(caller, 'eventbus_user', 'MEMBER') THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied to create %s', what),
        format('Role %s is not a member of eventbus_user or eventbus_admin.', caller),
        format('An eventbus_admin can allow it: GRANT eventbus_user TO %s.', caller));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_creator(text) IS
'Internal: raises 42501 unless the caller of the current API function may create event buses and queues (a member of eventbus_user or eventbus_admin).';

CREATE FUNCTION eventbus._require_admin(action text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._is_admin(caller) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied to %s', action),
        format('Only members of eventbus_admin may; role %s is not one.', caller),
        'Ask an eventbus_admin.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_admin(text) IS
'Internal: raises 42501 unless the caller of the current API function is an eventbus_admin.';

-- A bus is visible to its owner, to admins and to whoever holds a
-- privilege on it.
CREATE FUNCTION eventbus._may_see_bus(bus text, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus.has_event_bus_privilege(bus, 'put_events', role)
        OR eventbus.has_event_bus_privilege(bus, 'manage_rules', role)
        OR eventbus.has_event_bus_privilege(bus, 'read_events', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_bus(text, regrole) IS
'Internal: whether role owns the bus, is an eventbus_admin, or holds a privilege on the bus.';

CREATE FUNCTION eventbus._require_bus_visible(bus text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._may_see_bus(bus, caller) THEN
        RETURN;
    END IF;
    PERFORM eventbus._raise('42501',
        format('permission denied for event bus %s', pg_catalog.quote_ident(bus)),
        format('Role %s holds no privilege (put_events, manage_rules, read_events) on event bus %s.',
               caller, pg_catalog.quote_ident(bus)),
        format('Its owner or an eventbus_admin can grant one: SELECT eventbus.grant_event_bus_privilege(%L, %L, %L).',
               bus, 'read_events', caller::text));
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_bus_visible(text) IS
'Internal: raises 42501 unless the caller of the current API function may see the bus (owns it, is an eventbus_admin or holds a privilege on it).';

-- A rule is changed (replaced, enabled, disabled, deleted, its targets put
-- and removed) by its owner, the owner of its bus, or an admin.
CREATE FUNCTION eventbus._may_manage_rule(bus text, rule_owner regrole, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT eventbus._is_admin(role)
        OR coalesce(pg_catalog.pg_has_role(role, rule_owner, 'USAGE'), false)
        OR coalesce((SELECT pg_catalog.pg_has_role(role, b.owner, 'USAGE')
                       FROM eventbus.event_buses b WHERE b.name = _may_manage_rule.bus), false)
$fn$;
COMMENT ON FUNCTION eventbus._may_manage_rule(text, regrole, regrole) IS
'Internal: whether role may change a rule of the bus owned by rule_owner: it has the privileges of the rule''s owner or of the bus''s owner, or is an eventbus_admin.';

CREATE FUNCTION eventbus._require_rule_owner(bus text, rule text, rule_owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._may_manage_rule(bus, rule_owner, caller) THEN
        RETURN;
    END IF;
    -- a role that may not even see the rule learns nothing of it
    IF NOT eventbus._may_see_rule(bus, rule_owner, caller) THEN
        PERFORM eventbus._raise('42501',
            format('permission denied for event bus %s', pg_catalog.quote_ident(bus)),
            format('Role %s does not hold privilege manage_rules on event bus %s.', caller,
                   pg_catalog.quote_ident(bus)),
            format('Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_event_bus_privilege(%L, %L, %L).',
                   bus, 'manage_rules', caller::text));
    END IF;
    PERFORM eventbus._raise('42501',
        format('must be owner of rule %s', pg_catalog.quote_ident(rule)),
        format('Rule %s on event bus %s belongs to %s; role %s is neither its owner, the owner of the bus, nor an eventbus_admin.',
               pg_catalog.quote_ident(rule), pg_catalog.quote_ident(bus), rule_owner, caller),
        'Ask its owner, the owner of the bus, or an eventbus_admin.');
END;
$fn$;
COMMENT ON FUNCTION eventbus._require_rule_owner(text, text, regrole) IS
'Internal: raises 42501 unless the caller of the current API function may change the rule (its owner, the bus''s owner, an eventbus_admin).';

-- A rule is visible to its owner and to the holders of manage_rules or
-- read_events on its bus (the bus's owner and admins hold both).
CREATE FUNCTION eventbus._may_see_rule(bus text, rule_owner regrole, role regrole)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT coalesce(pg_catalog.pg_has_role(role, rule_owner, 'USAGE'), false)
        OR eventbus.has_event_bus_privilege(bus, 'read_events', role)
        OR eventbus.has_event_bus_privilege(bus, 'manage_rules', role)
$fn$;
COMMENT ON FUNCTION eventbus._may_see_rule(text, regrole, regrole) IS
'Internal: whether role may see a rule of the bus owned by rule_owner: it has the privileges of the rule''s owner, or holds manage_rules or read_events on the bus.';

-- ---------------------------------------------------------------------
-- Catalogs are written only by the API functions' implementations, which
-- run as the extension's owner.  Nothing is granted to PUBLIC (revoked
-- explicitly, whatever a default privilege may have given); members of
-- eventbus_admin may read them.  eventbus.events and its default
-- partition are not listed: row-level security decides who reads and
-- writes which events.
-- ---------------------------------------------------------------------
REVOKE ALL ON TABLE eventbus.event_buses, eventbus.rules, eventbus.targets, eventbus.queues,
    eventbus.grants, eventbus.dead_letters, eventbus._restore_sessions FROM PUBLIC;
REVOKE ALL ON SEQUENCE eventbus.rules_rule_id_seq, eventbus.dead_letters_dead_letter_id_seq FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.event_buses, eventbus.rules, eventbus.targets, eventbus.queues,
    eventbus.grants, eventbus.dead_letters TO eventbus_admin;
GRANT SELECT ON SEQUENCE eventbus.rules_rule_id_seq, eventbus.dead_letters_dead_letter_id_seq TO eventbus_admin;
-- Outbox tables belong to the extension's owner and are reached only
-- through the API functions and the delivery workers.
REVOKE ALL ON SCHEMA eventbus_outbox FROM PUBLIC;

-- list_grants: the grants the caller may see: those on the buses and queues
-- it owns (every grant for an admin), and those that reach it.
CREATE FUNCTION eventbus.list_grants()
RETURNS TABLE (object_kind text, object_name text, grantee text, privilege text,
               granted_by regrole, granted_at timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call' LANGUAGE C STABLE;
CREATE FUNCTION eventbus._list_grants_impl()
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
COMMENT ON FUNCTION eventbus.list_grants() IS
'The privileges granted on event buses, queues, connections and API destinations that the current role may see: on the objects it owns (all of them for an eventbus_admin), and those granted to it, to a role it is a member of, or to PUBLIC.';
COMMENT ON FUNCTION eventbus._list_grants_impl() IS
'Internal: implementation of list_grants.';
REVOKE ALL ON FUNCTION eventbus._list_grants_impl() FROM PUBLIC;
