-- Who may call what: every API function that reads or changes the
-- catalogs, tried as each kind of role (README, "Privileges").  Each cell
-- runs as its role in a subtransaction that is rolled back, so cells do
-- not affect one another: "ok" (or the count a listing returns) or the
-- SQLSTATE of the error.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE ap_admin IN ROLE eventbus_admin;
CREATE ROLE ap_bus_owner IN ROLE eventbus_user;
CREATE ROLE ap_rule_owner;
CREATE ROLE ap_queue_owner IN ROLE eventbus_user;
CREATE ROLE ap_put;
CREATE ROLE ap_manage;
CREATE ROLE ap_read;
CREATE ROLE ap_receive;
CREATE ROLE ap_send;
CREATE ROLE ap_public;

SET ROLE ap_bus_owner;
SELECT eventbus.create_event_bus('ap-bus') ? 'EventBusArn' AS bus;
SELECT eventbus.grant_event_bus_privilege('ap-bus', 'put_events', 'ap_put'),
       eventbus.grant_event_bus_privilege('ap-bus', 'manage_rules', 'ap_manage'),
       eventbus.grant_event_bus_privilege('ap-bus', 'manage_rules', 'ap_rule_owner'),
       eventbus.grant_event_bus_privilege('ap-bus', 'read_events', 'ap_read');
SET ROLE ap_queue_owner;
SELECT (eventbus.create_queue('ap_q')).name, (eventbus.create_queue('ap_q2')).name;
SELECT eventbus.grant_queue_privilege('ap_q', 'receive', 'ap_receive'),
       eventbus.grant_queue_privilege('ap_q', 'send', 'ap_send'),
       eventbus.grant_queue_privilege('ap_q', 'send', 'ap_rule_owner');
SET ROLE ap_rule_owner;
SELECT eventbus.put_rule('ap-rule', '{"source": ["ap.test"]}', 'ap-bus') ? 'RuleArn' AS rule;
SELECT eventbus.put_targets('ap-rule', '[{"Id": "t", "Arn": "queue:ap_q"}]', 'ap-bus') ->> 'FailedEntryCount' AS failed;
RESET ROLE;
SELECT name, owner FROM eventbus.event_buses WHERE name = 'ap-bus';
SELECT bus, name, owner FROM eventbus.rules WHERE bus = 'ap-bus';
SELECT rule, target_id, owner FROM eventbus.targets WHERE bus = 'ap-bus';
SELECT name, owner FROM eventbus.queues WHERE name = 'ap_q';
SELECT eventbus.put_event('ap.test', 'Test', '{}', 'ap-bus') IS NOT NULL AS put;
INSERT INTO eventbus.dead_letters (bus, rule, target_id, event_id, event_ingestion_time, payload, error_code)
VALUES ('ap-bus', 'ap-rule', 't', gen_random_uuid(), now(), '{}', 'Test');

-- try(role, statement): the statement's first value (ok when it has none)
-- or the SQLSTATE of its error; always rolled back.
CREATE FUNCTION pg_temp.try(r text, stmt text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    v text;
    state text;
BEGIN
    BEGIN
        PERFORM set_config('role', r, true);
        EXECUTE stmt INTO v;
        RAISE EXCEPTION USING ERRCODE = 'EBOK0', MESSAGE = coalesce(nullif(v, ''), 'ok');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, v = MESSAGE_TEXT;
        PERFORM set_config('role', 'none', true);
        RETURN CASE WHEN state = 'EBOK0' THEN v ELSE state END;
    END;
END;
$fn$;

CREATE TEMP TABLE ops (n serial, op text, stmt text);
INSERT INTO ops (op, stmt) VALUES
    ('create_event_bus', $$SELECT NULL FROM eventbus.create_event_bus('ap-new')$$),
    ('describe_event_bus', $$SELECT NULL FROM eventbus.describe_event_bus('ap-bus')$$),
    ('list_event_buses', $$SELECT count(*) FROM eventbus.list_event_buses('ap-')$$),
    ('delete_event_bus', $$SELECT eventbus.delete_event_bus('ap-bus', force => true)$$),
    ('grant_event_bus_privilege', $$SELECT eventbus.grant_event_bus_privilege('ap-bus', 'read_events', 'ap_public')$$),
    ('put_rule (new)', $$SELECT NULL FROM eventbus.put_rule('ap-new', '{"source": ["x"]}', 'ap-bus')$$),
    ('put_rule (replace)', $$SELECT NULL FROM eventbus.put_rule('ap-rule', '{"source": ["x"]}', 'ap-bus')$$),
    ('disable_rule', $$SELECT eventbus.disable_rule('ap-rule', 'ap-bus')$$),
    ('delete_rule', $$SELECT eventbus.delete_rule('ap-rule', 'ap-bus', force => true)$$),
    ('describe_rule', $$SELECT NULL FROM eventbus.describe_rule('ap-rule', 'ap-bus')$$),
    ('list_rules', $$SELECT count(*) FROM eventbus.list_rules('ap-bus')$$),
    ('rule_index_anchors', $$SELECT count(*) FROM eventbus.rule_index_anchors('ap-bus')$$),
    ('put_targets (queue)', $$SELECT eventbus.put_targets('ap-rule', '[{"Id": "t2", "Arn": "queue:ap_q"}]', 'ap-bus') ->> 'FailedEntryCount'$$),
    ('list_targets_by_rule', $$SELECT jsonb_array_length(eventbus.list_targets_by_rule('ap-rule', 'ap-bus') -> 'Targets')$$),
    ('list_rule_names_by_target', $$SELECT jsonb_array_length(eventbus.list_rule_names_by_target('queue:ap_q', 'ap-bus') -> 'RuleNames')$$),
    ('remove_targets', $$SELECT eventbus.remove_targets('ap-rule', ARRAY['t'], 'ap-bus') ->> 'FailedEntryCount'$$),
    ('redrive_dead_letters', $$SELECT eventbus.redrive_dead_letters(bus => 'ap-bus')$$),
    ('rule_stats', $$SELECT count(*) FROM eventbus.rule_stats WHERE bus = 'ap-bus'$$),
    ('target_stats', $$SELECT count(*) FROM eventbus.target_stats WHERE bus = 'ap-bus'$$),
    ('create_queue', $$SELECT NULL FROM eventbus.create_queue('ap_new')$$),
    ('receive', $$SELECT count(*) FROM eventbus.receive('ap_q', 10, 0)$$),
    ('ack', $$SELECT eventbus.ack('ap_q', ARRAY[0::bigint])$$),
    ('nack', $$SELECT eventbus.nack('ap_q', ARRAY[0::bigint])$$),
    ('change_visibility', $$SELECT eventbus.change_visibility('ap_q', ARRAY[0::bigint], 5)$$),
    ('queue_depth', $$SELECT visible FROM eventbus.queue_depth('ap_q')$$),
    ('queue_stats', $$SELECT count(*) FROM eventbus.queue_stats WHERE queue = 'ap_q'$$),
    ('grant_queue_privilege', $$SELECT eventbus.grant_queue_privilege('ap_q', 'receive', 'ap_public')$$),
    ('delete_queue', $$SELECT eventbus.delete_queue('ap_q2')$$),
    ('create_event_partitions', $$SELECT count(*) FROM eventbus.create_event_partitions(0)$$),
    ('drop_event_partitions', $$SELECT count(*) FROM eventbus.drop_event_partitions('100 years')$$),
    -- (not called: resetting is not transactional)
    ('reset_stats: EXECUTE', $$SELECT has_function_privilege('eventbus.reset_stats()', 'EXECUTE')$$);

\pset null '-'
SELECT op,
       pg_temp.try('ap_admin', stmt) AS admin,
       pg_temp.try('ap_bus_owner', stmt) AS bus_owner,
       pg_temp.try('ap_rule_owner', stmt) AS rule_owner,
       pg_temp.try('ap_queue_owner', stmt) AS queue_owner,
       pg_temp.try('ap_put', stmt) AS put_events,
       pg_temp.try('ap_manage', stmt) AS manage_rules,
       pg_temp.try('ap_read', stmt) AS read_events,
       pg_temp.try('ap_receive', stmt) AS receive,
       pg_temp.try('ap_send', stmt) AS send,
       pg_temp.try('ap_public', stmt) AS public
  FROM ops ORDER BY n;
\pset null ''

-- The refusals, in full.
SET ROLE ap_public;
SELECT eventbus.create_event_bus('ap-new');
SELECT eventbus.describe_event_bus('ap-bus');
SELECT eventbus.delete_event_bus('ap-bus');
SELECT eventbus.put_rule('ap-new', '{"source": ["x"]}', 'ap-bus');
SELECT eventbus.disable_rule('ap-rule', 'ap-bus');
SELECT eventbus.describe_rule('ap-rule', 'ap-bus');
SELECT * FROM eventbus.receive('ap_q');
SELECT eventbus.delete_queue('ap_q');
SELECT * FROM eventbus.create_event_partitions(0);
RESET ROLE;

-- put_targets: the rights the targets will act with.  A queue needs send
-- (for the putting role: the bus owner holds none on ap_q), and a missing
-- queue is created only by a role that may create queues.
SET ROLE ap_bus_owner;
SELECT eventbus.put_rule('ap-bus-rule', '{"source": ["ap.test"]}', 'ap-bus') ? 'RuleArn' AS rule;
SELECT eventbus.put_targets('ap-bus-rule', '[{"Id": "q", "Arn": "queue:ap_q"}]', 'ap-bus');
SELECT eventbus.put_targets('ap-bus-rule', '[{"Id": "q", "Arn": "queue:ap_new_q",
                                             "DeadLetterConfig": {"Arn": "queue:ap_q"}}]', 'ap-bus');
SELECT eventbus.put_targets('ap-bus-rule', '[{"Id": "q", "Arn": "queue:ap_bus_owner_q"}]', 'ap-bus') ->> 'FailedEntryCount' AS failed;
RESET ROLE;
SELECT name, owner FROM eventbus.queues WHERE name LIKE 'ap%' ORDER BY name;
SET ROLE ap_rule_owner;
SELECT eventbus.put_targets('ap-rule', '[{"Id": "q2", "Arn": "queue:ap_other_q"}]', 'ap-bus');
RESET ROLE;
-- a function target needs EXECUTE on the function; a bus target
-- put_events on the destination bus
CREATE FUNCTION public.ap_fn(p jsonb) RETURNS void LANGUAGE sql AS 'SELECT';
REVOKE ALL ON FUNCTION public.ap_fn(jsonb) FROM PUBLIC;
SET ROLE ap_bus_owner;
SELECT eventbus.create_event_bus('ap-dest') ? 'EventBusArn' AS dest;
RESET ROLE;
SET ROLE ap_rule_owner;
SELECT eventbus.put_targets('ap-rule', '[{"Id": "f", "Arn": "function:public.ap_fn"}]', 'ap-bus');
SELECT eventbus.put_targets('ap-rule', '[{"Id": "b", "Arn": "bus:ap-dest"}]', 'ap-bus');
RESET ROLE;
GRANT EXECUTE ON FUNCTION public.ap_fn(jsonb) TO ap_rule_owner;
SET ROLE ap_bus_owner;
SELECT eventbus.grant_event_bus_privilege('ap-dest', 'put_events', 'ap_rule_owner');
SET ROLE ap_rule_owner;
SELECT eventbus.put_targets('ap-rule', '[{"Id": "f", "Arn": "function:public.ap_fn"},
                                         {"Id": "b", "Arn": "bus:ap-dest"}]', 'ap-bus') ->> 'FailedEntryCount' AS failed;
RESET ROLE;
-- whoever puts a target is the role it acts as: the bus owner replaces the
-- rule owner's target and becomes its owner
GRANT EXECUTE ON FUNCTION public.ap_fn(jsonb) TO ap_bus_owner;
SET ROLE ap_bus_owner;
SELECT eventbus.put_targets('ap-rule', '[{"Id": "f", "Arn": "function:public.ap_fn"}]', 'ap-bus') ->> 'FailedEntryCount' AS failed;
RESET ROLE;
SELECT rule, target_id, kind, owner FROM eventbus.targets WHERE bus = 'ap-bus' ORDER BY 1, 2;

-- Redrive leaves other roles' dead letters alone.
SET ROLE ap_read;
SELECT eventbus.redrive_dead_letters() AS redriven_by_reader;
RESET ROLE;
SELECT count(*) AS dead_letters_left FROM eventbus.dead_letters WHERE bus = 'ap-bus';

-- Quotas.
SET eventbus.max_event_buses = 1;
SET ROLE ap_bus_owner;
SELECT eventbus.create_event_bus('ap-over');
RESET ROLE;
RESET eventbus.max_event_buses;
SET eventbus.max_rules_per_bus = 2;
SET ROLE ap_bus_owner;
SELECT eventbus.put_rule('ap-over', '{"source": ["x"]}', 'ap-bus');
-- replacing a rule is not creating one
SELECT eventbus.put_rule('ap-bus-rule', '{"source": ["y"]}', 'ap-bus') ? 'RuleArn' AS replaced;
RESET ROLE;
RESET eventbus.max_rules_per_bus;
SET eventbus.max_queues = 1;
SET ROLE ap_queue_owner;
SELECT eventbus.create_queue('ap_over');
RESET ROLE;
RESET eventbus.max_queues;
-- the quotas are for superusers to set
SET ROLE ap_admin;
SET eventbus.max_queues = 100000;
RESET ROLE;

-- Catalogs, outboxes and internals are not for users.
SET ROLE ap_public;
SELECT count(*) FROM eventbus.rules;
SELECT count(*) FROM eventbus.targets;
SELECT count(*) FROM eventbus.dead_letters;
UPDATE eventbus.targets SET owner = 'postgres';
SELECT count(*) FROM eventbus_outbox.queue_ap_q;
SELECT eventbus._receive_pass(0::regclass, now(), 1, 1, 1, 'ap_q', 0);
SELECT eventbus._enqueue(0::regclass, gen_random_uuid(), now(), 'ap-bus', 'ap-rule', 't', NULL);
SELECT eventbus._put_rule_impl('x', '{}', 'ap-bus', 'ENABLED', NULL, NULL);
RESET ROLE;
-- the internal functions PUBLIC may call, and why (96_internal_privileges.sql)
SELECT p.oid::regprocedure AS public_internal
  FROM pg_proc p
 WHERE p.pronamespace = 'eventbus'::regnamespace AND p.proname LIKE '\_%'
   AND has_function_privilege('ap_public', p.oid, 'EXECUTE')
 ORDER BY 1::text;
-- (the events' tables and view are left to row-level security)
SELECT c.oid::regclass AS public_relation,
       (SELECT string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
          FROM aclexplode(c.relacl) a WHERE a.grantee = 0) AS privileges
  FROM pg_class c
 WHERE c.relnamespace IN ('eventbus'::regnamespace, 'eventbus_outbox'::regnamespace)
   AND c.relkind IN ('r', 'p', 'v', 'S')
   AND c.relname !~ '^event(s|s_default|s_p[0-9]+|_envelopes)$'
   AND EXISTS (SELECT FROM aclexplode(c.relacl) a WHERE a.grantee = 0)
 ORDER BY 1::text;
SELECT has_schema_privilege('ap_public', 'eventbus_outbox', 'USAGE') AS outbox_schema_usage;

-- Clean up.
SELECT eventbus.delete_event_bus('ap-bus', force => true);
SELECT eventbus.delete_event_bus('ap-dest');
DELETE FROM eventbus.dead_letters WHERE bus = 'ap-bus';
SELECT eventbus.delete_queue(name, force => true) FROM eventbus.queues WHERE name LIKE 'ap%';
DROP FUNCTION public.ap_fn(jsonb);
DELETE FROM eventbus.events WHERE bus = 'ap-bus';
SELECT count(*) AS grants_left FROM eventbus.grants;
DROP ROLE ap_admin, ap_bus_owner, ap_rule_owner, ap_queue_owner, ap_put, ap_manage, ap_read,
          ap_receive, ap_send, ap_public;
