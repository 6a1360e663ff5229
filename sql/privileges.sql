-- Owners and privileges on buses and queues: has_*_privilege, grant and
-- revoke, and who may grant.  (The API functions that enforce them are
-- tested in test/scripts/security.sh.)
\set SHOW_CONTEXT never
CREATE ROLE pv_owner IN ROLE eventbus_user;
CREATE ROLE pv_other;
CREATE ROLE pv_team;
CREATE ROLE pv_member IN ROLE pv_team;
CREATE ROLE pv_admin IN ROLE eventbus_admin;

-- the creator owns what it creates
SET ROLE pv_owner;
SELECT eventbus.create_event_bus('pv-bus');
SELECT (eventbus.create_queue('pv-q')).name;
RESET ROLE;
SELECT (SELECT owner FROM eventbus.event_buses WHERE name = 'pv-bus') AS bus_owner,
       (SELECT owner FROM eventbus.queues WHERE name = 'pv-q') AS queue_owner;

-- what each role holds before any grant: owner and admin everything, others nothing
SELECT r AS role,
       eventbus.has_event_bus_privilege('pv-bus', 'put_events', r::regrole) AS put,
       eventbus.has_event_bus_privilege('pv-bus', 'manage_rules', r::regrole) AS manage,
       eventbus.has_event_bus_privilege('pv-bus', 'read_events', r::regrole) AS read,
       eventbus.has_queue_privilege('pv-q', 'receive', r::regrole) AS receive,
       eventbus.has_queue_privilege('pv-q', 'send', r::regrole) AS send
  FROM unnest(ARRAY['pv_owner', 'pv_other', 'pv_member', 'pv_admin', 'postgres']) r;

-- the owner grants; a grant to a group reaches its members
SET ROLE pv_owner;
SELECT eventbus.grant_event_bus_privilege('pv-bus', 'put_events', 'pv_other');
SELECT eventbus.grant_event_bus_privilege('arn:aws:events:local:000000000000:event-bus/pv-bus', 'read_events', 'pv_team');
SELECT eventbus.grant_queue_privilege('pv-q', 'receive', 'pv_team');
SELECT eventbus.grant_queue_privilege('pv-q', 'receive', 'pv_team');  -- again: nothing changes
RESET ROLE;
SELECT object_kind, object_name, grantee::regrole, privilege, granted_by
  FROM eventbus.grants ORDER BY 1, 2, 3, 4;
SELECT r AS role,
       eventbus.has_event_bus_privilege('pv-bus', 'put_events', r::regrole) AS put,
       eventbus.has_event_bus_privilege('pv-bus', 'manage_rules', r::regrole) AS manage,
       eventbus.has_event_bus_privilege('pv-bus', 'read_events', r::regrole) AS read,
       eventbus.has_queue_privilege('pv-q', 'receive', r::regrole) AS receive,
       eventbus.has_queue_privilege('pv-q', 'send', r::regrole) AS send
  FROM unnest(ARRAY['pv_other', 'pv_team', 'pv_member']) r;

-- the default role argument is the current role
SET ROLE pv_other;
SELECT eventbus.has_event_bus_privilege('pv-bus', 'put_events') AS other_may_put,
       eventbus.has_event_bus_privilege('pv-bus', 'manage_rules') AS other_may_manage;

-- nobody but the owner or an admin grants or revokes
SELECT eventbus.grant_event_bus_privilege('pv-bus', 'manage_rules', 'pv_other');
SELECT eventbus.revoke_event_bus_privilege('pv-bus', 'put_events', 'pv_other');
SELECT eventbus.grant_queue_privilege('pv-q', 'send', 'PUBLIC');
RESET ROLE;
SET ROLE pv_admin;
SELECT eventbus.grant_queue_privilege('pv-q', 'send', 'PUBLIC');
RESET ROLE;
SELECT eventbus.has_queue_privilege('pv-q', 'send', 'pv_other') AS public_send_reaches_everyone;

-- revoke: takes effect at once in this session
SET ROLE pv_owner;
SELECT eventbus.revoke_event_bus_privilege('pv-bus', 'put_events', 'pv_other');
SELECT eventbus.revoke_queue_privilege('pv-q', 'send', 'public');
RESET ROLE;
SELECT eventbus.has_event_bus_privilege('pv-bus', 'put_events', 'pv_other') AS other_may_put,
       eventbus.has_queue_privilege('pv-q', 'send', 'pv_other') AS other_may_send;

-- bad input: a clear error, nothing changes
SET ROLE pv_owner;
SELECT eventbus.grant_event_bus_privilege('pv-bus', 'drop', 'pv_other');
SELECT eventbus.grant_queue_privilege('pv-q', 'put_events', 'pv_other');
SELECT eventbus.grant_event_bus_privilege('pv-bus', 'put_events', 'no_such_role');
SELECT eventbus.grant_event_bus_privilege('pv-bus', 'put_events', NULL);
SELECT eventbus.grant_event_bus_privilege('no-such-bus', 'put_events', 'pv_other');
SELECT eventbus.grant_queue_privilege('no-such-queue', 'receive', 'pv_other');
RESET ROLE;
SELECT eventbus.has_event_bus_privilege('pv-bus', 'drop', 'pv_other');
SELECT eventbus.has_event_bus_privilege('no-such-bus', 'put_events', 'pv_owner') AS missing_bus,
       eventbus.has_event_bus_privilege('arn:aws:events:bad', 'put_events', 'pv_owner') AS bad_arn,
       eventbus.has_queue_privilege('no-such-queue', 'receive', 'pv_owner') AS missing_queue,
       eventbus.has_event_bus_privilege(NULL, 'put_events', 'pv_owner') AS null_bus;
SELECT count(*) AS grants_left FROM eventbus.grants;

-- internals are not for PUBLIC, and _caller() answers only implementations
SET ROLE pv_other;
SELECT eventbus._change_privilege(true, 'bus', 'pv-bus', 'manage_rules', 'pv_other');
SELECT eventbus._grant_event_bus_privilege_impl('pv-bus', 'manage_rules', 'pv_other');
SELECT eventbus._caller();
INSERT INTO eventbus.grants (object_kind, object_name, grantee, privilege, granted_by)
VALUES ('bus', 'pv-bus', 'pv_other'::regrole, 'manage_rules', 'pv_other');
RESET ROLE;
SELECT eventbus._caller();
SELECT eventbus.has_event_bus_privilege('pv-bus', 'manage_rules', 'pv_other') AS other_may_manage;

-- the default bus belongs to eventbus_admin
SELECT name, owner FROM eventbus.event_buses WHERE name = 'default';

SELECT eventbus.delete_queue('pv-q');
SELECT eventbus.delete_event_bus('pv-bus');
SELECT count(*) AS grants_left FROM eventbus.grants;
DROP ROLE pv_owner, pv_other, pv_member, pv_team, pv_admin;
