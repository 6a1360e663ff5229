#!/usr/bin/env bash
# The privilege model (README, "Privileges"), proven with real logins on a
# private cluster with the delivery worker running:
#   1  extension roles, catalog and schema privileges, internal functions
#   2  two teams (A, B: a manager, a producer, a consumer) set themselves up
#      through the API; every grant works end to end -- buses, queues,
#      rules, queue and function targets (run as their owner), put_events,
#      receive/ack, reading events and dead letters, metrics, describe/list
#   3  the admin (eventbus_admin); rule ownership inside a team
#      (manage_rules on the bus without owning the rule)
#   4  the attacker, mallory (eventbus_user, a schema of its own, TEMP):
#      every attack of the security issue and its variations, each refused
#      with its SQLSTATE and message, while background producers keep
#      putting events for A and B: catalog writes, internal functions,
#      B's rules/targets/queue/grants, putting and reading B's events,
#      targets that point elsewhere (queues without send, functions
#      without EXECUTE, SECURITY DEFINER functions of others, revokes
#      after the put), hostile names in every API function, a catalog
#      corrupted by a superuser; then every event of A and B was delivered
#      connections' secrets: no role reads them (not even admins), no
#      function, error or log line shows them
#   5  quotas: buses, queues, rules per bus, targets per rule, entry size
#   6  the server never crashed (one session lived through it all)
# Expectations follow the design; where it leaves a message open, the
# pattern accepts the plausible spellings (see each check).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"
# shellcheck source=test/scripts/lib/security.bash
. "$(dirname "$0")/lib/security.bash"

own_cluster_start "eventbus.delivery_naptime = 200ms" "eventbus.retry_base_delay = 100ms"
WORK=$EB_TMP/security
mkdir -p "$WORK"

q "CREATE EXTENSION eventbus" || exit 1
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
                          WHERE database = current_database() AND state = 'running')" 15 \
	|| { echo "no delivery worker"; exit 1; }
START_TIME=$(q "SELECT pg_postmaster_start_time()")
sentinel_start || { echo "no sentinel session"; exit 1; }

# ---------------------------------------------------------------------
section "1: extension roles, catalogs, internals"
check "CREATE EXTENSION made eventbus_admin and eventbus_user, NOLOGIN, no superuser" \
	"SELECT count(*) = 2 AND bool_and(NOT rolcanlogin AND NOT rolsuper AND NOT rolbypassrls)
	   FROM pg_roles WHERE rolname IN ('eventbus_admin', 'eventbus_user')"
# so that the rest runs whatever the check said
q "DO \$\$ BEGIN
     IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eventbus_admin') THEN CREATE ROLE eventbus_admin NOLOGIN; END IF;
     IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'eventbus_user') THEN CREATE ROLE eventbus_user NOLOGIN; END IF;
   END \$\$"

q "CREATE ROLE eb_admin LOGIN IN ROLE eventbus_admin;
   CREATE ROLE a_manager LOGIN IN ROLE eventbus_user;
   CREATE ROLE a_producer LOGIN;
   CREATE ROLE a_consumer LOGIN;
   CREATE ROLE b_manager LOGIN IN ROLE eventbus_user;
   CREATE ROLE b_producer LOGIN;
   CREATE ROLE b_consumer LOGIN;
   CREATE ROLE mallory LOGIN IN ROLE eventbus_user;
   CREATE SCHEMA a_app AUTHORIZATION a_manager;
   CREATE SCHEMA b_app AUTHORIZATION b_manager;
   CREATE SCHEMA mallory AUTHORIZATION mallory" || exit 1
ROLES="'eb_admin','a_manager','a_producer','a_consumer','b_manager','b_producer','b_consumer','mallory'"
check "every test role is ordinary: no superuser, no BYPASSRLS, no CREATEROLE" \
	"SELECT count(*) = 8 AND NOT bool_or(rolsuper OR rolbypassrls OR rolcreaterole)
	   FROM pg_roles WHERE rolname IN ($ROLES)"

# dead letters are readable by everyone under row-level security (by bus
# read_events or rule ownership), checked below
check "eventbus.dead_letters: SELECT only, under row-level security" \
	"SELECT c.relrowsecurity
	    AND NOT bool_or(has_table_privilege(r, 'eventbus.dead_letters', 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))
	   FROM pg_class c, unnest(ARRAY[$ROLES]) r
	  WHERE c.oid = 'eventbus.dead_letters'::regclass
	  GROUP BY c.relrowsecurity"
for t in event_buses rules targets queues grants connections api_destinations archives replays; do
	check "no test role holds any privilege on eventbus.$t but eb_admin's SELECT" \
		"SELECT to_regclass('eventbus.$t') IS NOT NULL
		    AND NOT bool_or(has_table_privilege(r, 'eventbus.$t', 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))
		    AND NOT bool_or(has_table_privilege(r, 'eventbus.$t', 'SELECT') AND r <> 'eb_admin')
		    AND bool_or(has_table_privilege(r, 'eventbus.$t', 'SELECT') AND r = 'eb_admin')
		   FROM unnest(ARRAY[$ROLES]) r"
done
check "no test role holds any privilege on eventbus.connection_secrets, not even eb_admin" \
	"SELECT NOT bool_or(has_table_privilege(r, 'eventbus.connection_secrets',
	                                       'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))
	   FROM unnest(ARRAY[$ROLES]) r"
check "eventbus.events: RLS enabled, PUBLIC may INSERT and SELECT, nothing else" \
	"SELECT c.relrowsecurity
	        AND has_table_privilege('mallory', 'eventbus.events', 'INSERT')
	        AND has_table_privilege('mallory', 'eventbus.events', 'SELECT')
	        AND NOT has_table_privilege('mallory', 'eventbus.events', 'UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')
	   FROM pg_class c WHERE c.oid = 'eventbus.events'::regclass"
check "no test role may use or create in schema eventbus_outbox, or create in schema eventbus" \
	"SELECT NOT bool_or(has_schema_privilege(r, 'eventbus_outbox', 'USAGE')
	                    OR has_schema_privilege(r, 'eventbus_outbox', 'CREATE')
	                    OR has_schema_privilege(r, 'eventbus', 'CREATE'))
	        AND bool_and(has_schema_privilege(r, 'eventbus', 'USAGE'))
	   FROM unnest(ARRAY[$ROLES]) r"
check "every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp" \
	"SELECT count(*) = 0 FROM pg_proc p
	  WHERE p.pronamespace = 'eventbus'::regnamespace AND p.prosecdef
	    AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)"
check "API functions are C trampolines (eventbus_api_call), SECURITY INVOKER, each with its _<name>_impl" \
	"SELECT count(*) >= 20
	        AND NOT bool_or(p.prosecdef)
	        AND bool_and(EXISTS (SELECT FROM pg_proc i
	                              WHERE i.pronamespace = p.pronamespace
	                                AND i.proname = '_' || p.proname || '_impl'
	                                AND i.proargtypes = p.proargtypes AND i.prosecdef))
	   FROM pg_proc p
	  WHERE p.pronamespace = 'eventbus'::regnamespace AND p.prosrc = 'eventbus_api_call'"
check "the catalog-changing functions are all trampolines" \
	"SELECT bool_and(EXISTS (SELECT FROM pg_proc p
	                          WHERE p.pronamespace = 'eventbus'::regnamespace AND p.proname = f
	                            AND p.prosrc = 'eventbus_api_call'))
	   FROM unnest(ARRAY['create_event_bus', 'delete_event_bus', 'put_rule', 'enable_rule', 'disable_rule',
	                     'delete_rule', 'put_targets', 'remove_targets', 'create_queue', 'delete_queue',
	                     'grant_event_bus_privilege', 'revoke_event_bus_privilege',
	                     'grant_queue_privilege', 'revoke_queue_privilege', 'receive', 'ack',
	                     'redrive_dead_letters', 'create_connection', 'update_connection', 'delete_connection',
	                     'create_api_destination', 'update_api_destination', 'delete_api_destination',
	                     'grant_connection_privilege', 'revoke_connection_privilege',
	                     'grant_api_destination_privilege', 'revoke_api_destination_privilege']) f"
# internal functions that touch tables, take relations, OIDs or roles, or
# are SECURITY DEFINER: none may be executed by PUBLIC (the pure helpers,
# e.g. the event_pattern domain's check, are listed below for the record)
got=$(q "SELECT coalesce(string_agg(p.oid::regprocedure::text, ', ' ORDER BY 1), 'none')
           FROM pg_proc p
          WHERE p.pronamespace = 'eventbus'::regnamespace AND p.proname LIKE '\\_%' AND p.proname <> '_caller'
            -- left to PUBLIC on purpose (src/sql/96_internal_privileges.sql):
            -- read by views and policies as their reader; the _visible_*
            -- ones are API functions whose implementations filter by caller
            AND p.proname NOT IN ('_delivery_workers', '_owns_rule', '_replaying_as', '_push_backlog',
                                  '_visible_rule_stats', '_visible_queue_stats', '_visible_target_stats',
                                  '_visible_api_destination_stats', '_visible_scheduled_rules')
            AND (p.prosecdef OR p.provolatile <> 'i'
                 OR p.proargtypes::oid[] && ARRAY['regclass', 'oid', 'regrole', 'regprocedure']::regtype[]::oid[])
            AND has_function_privilege('mallory', p.oid, 'EXECUTE')")
check_eq "no internal function that is SECURITY DEFINER, not IMMUTABLE, or takes a regclass/oid/regrole is executable by mallory (but _caller)" "$got" none
echo "     pure internal helpers still executable by PUBLIC: $(q "SELECT coalesce(string_agg(p.proname, ', ' ORDER BY 1), 'none')
           FROM pg_proc p WHERE p.pronamespace = 'eventbus'::regnamespace AND p.proname LIKE '\\_%'
            AND has_function_privilege('mallory', p.oid, 'EXECUTE')")"
check "the default bus belongs to eventbus_admin and nothing is granted on it" \
	"SELECT (SELECT owner::regrole::text FROM eventbus.event_buses WHERE name = 'default') = 'eventbus_admin'
	        AND NOT EXISTS (SELECT FROM eventbus.grants WHERE object_kind = 'bus' AND object_name = 'default')"
expect_val "nobody may put events on the default bus by default" mallory \
	"SELECT eventbus.has_event_bus_privilege('default', 'put_events')" f

# ---------------------------------------------------------------------
section "2: two teams set themselves up through the API"
for T in a b; do
	q "CREATE TABLE ${T}_app.received (sink text, event_id uuid, payload jsonb, cur_user name, at timestamptz DEFAULT clock_timestamp());
	   ALTER TABLE ${T}_app.received OWNER TO ${T}_manager;
	   CREATE TABLE ${T}_app.definer_log (event_id uuid, cur_user name);
	   ALTER TABLE ${T}_app.definer_log OWNER TO ${T}_manager" || exit 1
	as ${T}_manager "CREATE FUNCTION ${T}_app.sink(p jsonb) RETURNS void LANGUAGE sql AS \$\$
	                     INSERT INTO ${T}_app.received (sink, event_id, payload, cur_user)
	                     VALUES ('sink', (p->>'id')::uuid, p, current_user) \$\$;
	                 CREATE FUNCTION ${T}_app.fail(p jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
	                 BEGIN RAISE EXCEPTION 'team ${T} secret failure' USING ERRCODE = '22012'; END \$\$;
	                 CREATE FUNCTION ${T}_app.private(p jsonb) RETURNS void LANGUAGE sql AS \$\$ SELECT \$\$;
	                 REVOKE EXECUTE ON FUNCTION ${T}_app.private(jsonb) FROM PUBLIC;
	                 CREATE FUNCTION ${T}_app.definer(p jsonb) RETURNS void LANGUAGE sql SECURITY DEFINER
	                     SET search_path = pg_catalog, pg_temp AS \$\$
	                     INSERT INTO ${T}_app.definer_log VALUES ((p->>'id')::uuid, current_user) \$\$;
	                 REVOKE EXECUTE ON FUNCTION ${T}_app.definer(jsonb) FROM PUBLIC;
	                 GRANT USAGE ON SCHEMA ${T}_app TO PUBLIC" || exit 1

	expect_val "$T: ${T}_manager creates bus ${T}-bus" ${T}_manager \
		"SELECT eventbus.create_event_bus('${T}-bus') ->> 'EventBusArn'" \
		"arn:aws:events:local:000000000000:event-bus/${T}-bus"
	expect_ok "$T: ${T}_manager creates queue ${T}-q" ${T}_manager "SELECT eventbus.create_queue('${T}-q')"
	expect_val "$T: ${T}_manager puts rule ${T}-rule on ${T}-bus" ${T}_manager \
		"SELECT eventbus.put_rule('${T}-rule', '{\"source\": [\"team.${T}\"]}', '${T}-bus') ->> 'RuleArn'" \
		"arn:aws:events:local:000000000000:rule/${T}-bus/${T}-rule"
	expect_val "$T: ${T}_manager puts a queue target and a function target" ${T}_manager \
		"SELECT eventbus.put_targets('${T}-rule', '[{\"Id\": \"${T}-queue\", \"Arn\": \"queue:${T}-q\"},
		                                          {\"Id\": \"${T}-func\", \"Arn\": \"function:${T}_app.sink\"}]', '${T}-bus')" \
		'{"FailedEntries": [], "FailedEntryCount": 0}'
	expect_val "$T: ... and a rule whose function target always fails (dead letters)" ${T}_manager \
		"SELECT eventbus.put_rule('${T}-dl', '{\"source\": [\"team.${T}.dl\"]}', '${T}-bus') ? 'RuleArn';
		 SELECT eventbus.put_targets('${T}-dl', '[{\"Id\": \"${T}-fail\", \"Arn\": \"function:${T}_app.fail\",
		                                           \"RetryPolicy\": {\"MaximumRetryAttempts\": 0}}]', '${T}-bus') ->> 'FailedEntryCount'" \
		"t|0"
	check "$T: the bus, queue, rules and targets belong to ${T}_manager" \
		"SELECT (SELECT owner::regrole::text FROM eventbus.event_buses WHERE name = '${T}-bus') = '${T}_manager'
		    AND (SELECT owner::regrole::text FROM eventbus.queues WHERE name = '${T}-q') = '${T}_manager'
		    AND (SELECT bool_and(owner::regrole::text = '${T}_manager') FROM eventbus.rules WHERE bus = '${T}-bus')
		    AND (SELECT count(*) = 3 AND bool_and(owner::regrole::text = '${T}_manager') FROM eventbus.targets WHERE bus = '${T}-bus')"
	expect_ok "$T: ${T}_manager grants put_events on ${T}-bus to ${T}_producer" ${T}_manager \
		"SELECT eventbus.grant_event_bus_privilege('${T}-bus', 'put_events', '${T}_producer')"
	expect_ok "$T: ${T}_manager grants receive on ${T}-q to ${T}_consumer" ${T}_manager \
		"SELECT eventbus.grant_queue_privilege('${T}-q', 'receive', '${T}_consumer')"
	expect_val "$T: has_*_privilege answers for each role" ${T}_manager \
		"SELECT eventbus.has_event_bus_privilege('${T}-bus', 'put_events', '${T}_producer'),
		        eventbus.has_event_bus_privilege('${T}-bus', 'put_events', '${T}_consumer'),
		        eventbus.has_event_bus_privilege('${T}-bus', 'manage_rules', '${T}_producer'),
		        eventbus.has_event_bus_privilege('${T}-bus', 'read_events', '${T}_manager'),
		        eventbus.has_queue_privilege('${T}-q', 'receive', '${T}_consumer'),
		        eventbus.has_queue_privilege('${T}-q', 'receive', '${T}_producer'),
		        eventbus.has_queue_privilege('${T}-q', 'send', '${T}_consumer')" \
		"t|f|f|t|t|f|f"
	expect_err_re "$T: an unknown privilege name is 22023" ${T}_manager \
		"SELECT eventbus.grant_event_bus_privilege('${T}-bus', 'drop_everything', '${T}_producer')" \
		"22023: .*drop_everything.*"
done

section "2b: each team's flow, end to end"
for T in a b; do
	O=$([ $T = a ] && echo b || echo a)
	r=$(outcome ${T}_producer "SELECT r->>'FailedEntryCount', r#>>'{Entries,0,EventId}'
	                         FROM eventbus.put_events('[{\"Source\": \"team.${T}\", \"DetailType\": \"flow\",
	                                                     \"Detail\": \"{\\\"mark\\\": \\\"${T}-flow\\\"}\",
	                                                     \"EventBusName\": \"${T}-bus\"}]') r")
	check_eq "$T: ${T}_producer puts an event on ${T}-bus" "$(printf '%s' "$r" | cut -d'|' -f1)" "OK:0"
	FLOW_ID=$(uuid_or_zero "$(printf '%s' "$r" | cut -s -d'|' -f2)")
	check_ok "$T: the function target ran, as its owner ${T}_manager" \
		"$(wait_for "SELECT EXISTS (SELECT FROM ${T}_app.received WHERE event_id = '$FLOW_ID'
		                              AND cur_user = '${T}_manager')" 10; echo $?)"
	expect_val "$T: ${T}_consumer receives the event's envelope (no SELECT on events needed) and acks it" ${T}_consumer \
		"CREATE TEMP TABLE got AS SELECT * FROM eventbus.receive('${T}-q', 10, 30);
		 SELECT count(*) FILTER (WHERE payload->>'source' = 'team.${T}' AND payload#>>'{detail,mark}' = '${T}-flow'
		                           AND event_id = '$FLOW_ID') FROM got;
		 SELECT eventbus.ack('${T}-q', ARRAY(SELECT message_id FROM got)) = (SELECT count(*) FROM got)" "1|t"
	expect_val "$T: ${T}_consumer sees the queue's depth" ${T}_consumer \
		"SELECT visible FROM eventbus.queue_depth('${T}-q')" 0
	expect_val "$T: ${T}_manager reads its bus's events (owner: read_events)" ${T}_manager \
		"SELECT count(*) FROM eventbus.events WHERE id = '$FLOW_ID' AND bus = '${T}-bus';
		 SELECT count(*) FROM eventbus.event_envelopes WHERE id = '$FLOW_ID'" "1|1"
	expect_val "$T: ${T}_producer and ${T}_consumer read no stored events (no read_events)" ${T}_producer \
		"SELECT count(*) FROM eventbus.events; SELECT count(*) FROM eventbus.event_envelopes" "0|0"
	expect_val "$T: ... nor does ${T}_consumer" ${T}_consumer \
		"SELECT count(*) FROM eventbus.events; SELECT count(*) FROM eventbus.event_envelopes" "0|0"
	expect_ok "$T: ${T}_manager grants read_events on ${T}-bus to ${T}_consumer" ${T}_manager \
		"SELECT eventbus.grant_event_bus_privilege('${T}-bus', 'read_events', '${T}_consumer')"
	expect_val "$T: ${T}_consumer now reads ${T}-bus's events, and only those" ${T}_consumer \
		"SELECT count(*) > 0, bool_and(bus = '${T}-bus') FROM eventbus.events" "t|t"
	expect_val "$T: describe_event_bus, list_rules, list_targets_by_rule show ${T}_manager its objects" ${T}_manager \
		"SELECT eventbus.describe_event_bus('${T}-bus') ->> 'Name';
		 SELECT string_agg(name, ',' ORDER BY name) FROM eventbus.list_rules('${T}-bus');
		 SELECT string_agg(t->>'Id', ',' ORDER BY t->>'Id') FROM jsonb_array_elements(eventbus.list_targets_by_rule('${T}-rule', '${T}-bus') -> 'Targets') t" \
		"${T}-bus|${T}-dl,${T}-rule|${T}-func,${T}-queue"
	expect_val "$T: list_event_buses shows ${T}_manager its bus, not the other team's" ${T}_manager \
		"SELECT bool_or(name = '${T}-bus'), bool_or(name = '${O}-bus') FROM eventbus.list_event_buses()" "t|f"
	expect_val "$T: metrics show ${T}_manager its rules, targets and queue only" ${T}_manager \
		"SELECT (SELECT matched_events FROM eventbus.rule_stats WHERE bus = '${T}-bus' AND rule = '${T}-rule') >= 1,
		        (SELECT count(*) FROM eventbus.target_stats WHERE bus = '${T}-bus'),
		        (SELECT count(*) FROM eventbus.queue_stats WHERE queue = '${T}-q'),
		        (SELECT count(*) FROM eventbus.rule_stats WHERE bus <> '${T}-bus'),
		        (SELECT count(*) FROM eventbus.target_stats WHERE bus <> '${T}-bus'),
		        (SELECT count(*) FROM eventbus.queue_stats WHERE queue <> '${T}-q')" "t|3|1|0|0|0"
	expect_val "$T: metrics show ${T}_consumer its queue (receive) only" ${T}_consumer \
		"SELECT (SELECT string_agg(queue, ',') FROM eventbus.queue_stats),
		        (SELECT count(*) FROM eventbus.rule_stats WHERE bus = '${O}-bus')" "${T}-q|0"

	# one request, three entries: the middle one for the other team's bus
	r=$(outcome ${T}_producer "SELECT r->>'FailedEntryCount', r#>>'{Entries,0,EventId}' IS NOT NULL,
	                                r#>>'{Entries,1,ErrorCode}', r#>>'{Entries,1,ErrorMessage}',
	                                r#>>'{Entries,1,EventId}' IS NULL, r#>>'{Entries,2,EventId}' IS NOT NULL
	                         FROM eventbus.put_events('[
	      {\"Source\": \"team.${T}\", \"DetailType\": \"mix\", \"Detail\": {\"mark\": \"${T}-mix-1\"}, \"EventBusName\": \"${T}-bus\"},
	      {\"Source\": \"team.${T}\", \"DetailType\": \"mix\", \"Detail\": {\"mark\": \"${T}-mix-2\"}, \"EventBusName\": \"${O}-bus\"},
	      {\"Source\": \"team.${T}\", \"DetailType\": \"mix\", \"Detail\": {\"mark\": \"${T}-mix-3\"}, \"EventBusName\": \"${T}-bus\"}]') r")
	check_eq "$T: put_events on ${O}-bus fails that entry alone: AccessDeniedException" \
		"$(printf '%s' "$r" | cut -d'|' -f1-3,5-6)" "OK:1|t|AccessDeniedException|t|t"
	check_eq "$T: ... with PutEvents' message" "$(printf '%s' "$r" | cut -d'|' -f4)" \
		"User: ${T}_producer is not authorized to perform: events:PutEvents on resource: arn:aws:events:local:000000000000:event-bus/${O}-bus"
	check "$T: ... the good entries are stored, the denied one is not" \
		"SELECT count(*) FILTER (WHERE detail->>'mark' IN ('${T}-mix-1', '${T}-mix-3') AND bus = '${T}-bus') = 2
		    AND count(*) FILTER (WHERE detail->>'mark' = '${T}-mix-2') = 0
		   FROM eventbus.events"
	expect_err "$T: ${T}_consumer receive on ${O}-q: 42501" ${T}_consumer \
		"SELECT * FROM eventbus.receive('${O}-q')" "42501: permission denied for queue \"${O}-q\""
	expect_err "$T: ${T}_producer receive on its own team's queue without receive: 42501" ${T}_producer \
		"SELECT * FROM eventbus.receive('${T}-q')" "42501: permission denied for queue \"${T}-q\""
	expect_err "$T: ${T}_consumer put_event on ${T}-bus without put_events: 42501" ${T}_consumer \
		"SELECT eventbus.put_event('team.${T}', 'x', '{}', '${T}-bus')" \
		"42501: permission denied for event bus \"${T}-bus\""
	expect_err "$T: ${T}_manager put_rule on ${O}-bus: 42501" ${T}_manager \
		"SELECT eventbus.put_rule('x', '{\"source\": [\"x\"]}', '${O}-bus')" \
		"42501: permission denied for event bus \"${O}-bus\""
	# a dead letter of the team, for the attacker to look for later
	as ${T}_producer "SELECT eventbus.put_event('team.${T}.dl', 'dl', '{\"secret\": \"${T}-dl-secret\"}', '${T}-bus')" >/dev/null
	check_ok "$T: the failing target dead-letters (22012, MaximumRetryAttempts)" \
		"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE bus = '${T}-bus' AND target_id = '${T}-fail'
		                             AND error_code = '22012' AND error_message = 'team ${T} secret failure')" 10; echo $?)"
	expect_val "$T: ${T}_manager reads its dead letters" ${T}_manager \
		"SELECT count(*) >= 1 FROM eventbus.dead_letters WHERE bus = '${T}-bus' AND target_id = '${T}-fail'" t
done

# ---------------------------------------------------------------------
section "3: the admin"
expect_val "eb_admin lists every bus" eb_admin \
	"SELECT count(*) FILTER (WHERE name IN ('a-bus', 'b-bus', 'default')) FROM eventbus.list_event_buses()" 3
expect_val "eb_admin describes b's rule and reads both teams' events and dead letters" eb_admin \
	"SELECT eventbus.describe_rule('b-rule', 'b-bus') ->> 'Name';
	 SELECT count(DISTINCT bus) FROM eventbus.events WHERE bus IN ('a-bus', 'b-bus');
	 SELECT count(DISTINCT bus) FROM eventbus.dead_letters WHERE bus IN ('a-bus', 'b-bus')" "b-rule|2|2"
expect_val "eb_admin disables and enables b's rule" eb_admin \
	"SELECT eventbus.disable_rule('b-rule', 'b-bus');
	 SELECT eventbus.describe_rule('b-rule', 'b-bus') ->> 'State';
	 SELECT eventbus.enable_rule('b-rule', 'b-bus');
	 SELECT eventbus.describe_rule('b-rule', 'b-bus') ->> 'State'" "|DISABLED||ENABLED"
expect_val "eb_admin grants and revokes on a team's bus and queue" eb_admin \
	"SELECT eventbus.grant_event_bus_privilege('a-bus', 'put_events', 'b_producer');
	 SELECT eventbus.has_event_bus_privilege('a-bus', 'put_events', 'b_producer');
	 SELECT eventbus.revoke_event_bus_privilege('a-bus', 'put_events', 'b_producer');
	 SELECT eventbus.has_event_bus_privilege('a-bus', 'put_events', 'b_producer');
	 SELECT eventbus.has_queue_privilege('b-q', 'receive'), eventbus.has_queue_privilege('b-q', 'send')" "|t||f|t|t"
expect_val "eb_admin reads the catalogs (SELECT) and sees every grant" eb_admin \
	"SELECT count(*) FROM eventbus.targets WHERE bus IN ('a-bus', 'b-bus');
	 SELECT count(*) >= 6 FROM eventbus.list_grants() g WHERE to_jsonb(g)::text ~ '\"[ab]-(bus|q)\"'" "6|t"
expect_val "eb_admin manages the default bus's rules" eb_admin \
	"SELECT eventbus.put_rule('admin-rule', '{\"source\": [\"admin\"]}') ? 'RuleArn';
	 SELECT eventbus.delete_rule('admin-rule')" "t"
expect_err "not even eb_admin writes a catalog directly" eb_admin \
	"UPDATE eventbus.targets SET arn = arn" "42501: permission denied for table targets"

section "3b: manage_rules without owning the rule"
expect_ok "a_manager grants manage_rules on a-bus to a_producer" a_manager \
	"SELECT eventbus.grant_event_bus_privilege('a-bus', 'manage_rules', 'a_producer')"
expect_val "a_producer puts a rule of its own on a-bus" a_producer \
	"SELECT eventbus.put_rule('a-prod-rule', '{\"source\": [\"team.a.prod\"]}', 'a-bus') ->> 'RuleArn'" \
	"arn:aws:events:local:000000000000:rule/a-bus/a-prod-rule"
check "... which it owns" "SELECT owner::regrole::text = 'a_producer' FROM eventbus.rules WHERE name = 'a-prod-rule'"
RULE_DENIED_A='42501: (must be owner of rule "a-rule"|permission denied for rule "a-rule")'
expect_err_re "a_producer cannot disable a_manager's rule" a_producer \
	"SELECT eventbus.disable_rule('a-rule', 'a-bus')" "$RULE_DENIED_A"
expect_err_re "a_producer cannot replace a_manager's pattern" a_producer \
	"SELECT eventbus.put_rule('a-rule', '{\"source\": [\"stolen\"]}', 'a-bus')" "$RULE_DENIED_A"
expect_err_re "a_producer cannot put targets on a_manager's rule" a_producer \
	"SELECT eventbus.put_targets('a-rule', '[{\"Id\": \"x\", \"Arn\": \"queue:a-q\"}]', 'a-bus')" "$RULE_DENIED_A"
expect_err_re "a_producer cannot delete a_manager's rule" a_producer \
	"SELECT eventbus.delete_rule('a-rule', 'a-bus', true)" "$RULE_DENIED_A"
check "a-rule is unchanged" \
	"SELECT event_pattern::jsonb = '{\"source\": [\"team.a\"]}' AND state = 'ENABLED'
	        AND (SELECT count(*) FROM eventbus.targets WHERE rule = 'a-rule') = 2
	   FROM eventbus.rules WHERE bus = 'a-bus' AND name = 'a-rule'"
expect_val "a_manager (the bus's owner) disables and deletes a_producer's rule" a_manager \
	"SELECT eventbus.disable_rule('a-prod-rule', 'a-bus'); SELECT eventbus.delete_rule('a-prod-rule', 'a-bus');
	 SELECT count(*) FROM eventbus.list_rules('a-bus') WHERE name = 'a-prod-rule'" "||0"
expect_ok "a_manager revokes manage_rules" a_manager \
	"SELECT eventbus.revoke_event_bus_privilege('a-bus', 'manage_rules', 'a_producer')"
expect_err "a_producer may no longer put rules on a-bus" a_producer \
	"SELECT eventbus.put_rule('a-prod-2', '{\"source\": [\"x\"]}', 'a-bus')" \
	"42501: permission denied for event bus \"a-bus\""

# ---------------------------------------------------------------------
section "4: the attacker's own objects (it is a normal user)"
q "CREATE TABLE mallory.canary (x int); ALTER TABLE mallory.canary OWNER TO mallory"
as mallory "CREATE TABLE mallory.received (sink text, event_id uuid, cur_user name);
            CREATE FUNCTION mallory.sink(p jsonb) RETURNS void LANGUAGE sql AS \$\$
                INSERT INTO mallory.received VALUES ('sink', (p->>'id')::uuid, current_user) \$\$;
            -- the bait: a table shaped like an outbox, with a trigger that
            -- tries to make mallory a superuser whenever anyone touches it
            CREATE TABLE mallory.bait (message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid,
                event_ingestion_time timestamptz, bus text, rule text, target_id text, payload jsonb,
                enqueued_at timestamptz DEFAULT now(), visible_at timestamptz DEFAULT now(),
                receive_count integer DEFAULT 0, first_attempt_at timestamptz, last_attempt_at timestamptz,
                last_error_code text, last_error_message text);
            CREATE TABLE mallory.bait_log (cur_user name, op text, at timestamptz DEFAULT clock_timestamp());
            GRANT INSERT ON mallory.bait_log TO PUBLIC;
            CREATE FUNCTION mallory.escalate() RETURNS trigger LANGUAGE plpgsql AS \$\$
            BEGIN
                INSERT INTO mallory.bait_log (cur_user, op) VALUES (current_user, TG_OP);
                BEGIN EXECUTE 'ALTER ROLE mallory SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
                RETURN NULL;
            END \$\$;
            CREATE TRIGGER escalate AFTER INSERT OR UPDATE OR DELETE ON mallory.bait
                FOR EACH ROW EXECUTE FUNCTION mallory.escalate();
            GRANT ALL ON mallory.bait TO PUBLIC;
            GRANT USAGE ON SCHEMA mallory TO PUBLIC" >/dev/null || echo "     (mallory's setup failed)"
expect_ok "mallory creates bus m-bus, queue m-q, rule m-rule" mallory \
	"SELECT eventbus.create_event_bus('m-bus'); SELECT eventbus.create_queue('m-q');
	 SELECT eventbus.put_rule('m-rule', '{\"source\": [\"m.src\"]}', 'm-bus')"
expect_val "mallory puts its own queue and function targets" mallory \
	"SELECT eventbus.put_targets('m-rule', '[{\"Id\": \"m-queue\", \"Arn\": \"queue:m-q\"},
	                                         {\"Id\": \"m-func\", \"Arn\": \"function:mallory.sink\"}]', 'm-bus') ->> 'FailedEntryCount'" 0
M_ID=$(uuid_or_zero "$(as mallory "SELECT eventbus.put_event('m.src', 'own', '{}', 'm-bus')" 2>/dev/null)")
check_ok "mallory's own flow delivers (function run as mallory)" \
	"$(wait_for "SELECT EXISTS (SELECT FROM mallory.received WHERE event_id = '$M_ID' AND cur_user = 'mallory')" 10; echo $?)"

section "4: attack phase (background producers for A and B)"
producer_start a_producer a-bus team.a "$WORK/a.ids"
producer_start b_producer b-bus team.b "$WORK/b.ids"

section "4a: writing the catalogs directly"
expect_err "UPDATE eventbus.targets SET outbox = mallory's table" mallory \
	"UPDATE eventbus.targets SET outbox = 'mallory.bait'::regclass" "42501: permission denied for table targets"
expect_err "INSERT INTO eventbus.targets (a target pointing at b's outbox)" mallory \
	"INSERT INTO eventbus.targets (bus, rule, target_id, arn, kind, destination, outbox)
	 VALUES ('m-bus', 'm-rule', 'steal', 'function:mallory.sink', 'function', 'mallory.sink(jsonb)',
	         (SELECT oid FROM pg_class WHERE relname = 'queue_b-q'))" "42501: permission denied for table targets"
expect_err "UPDATE eventbus.targets SET owner" mallory \
	"UPDATE eventbus.targets SET owner = 'b_manager'" "42501: permission denied for table targets"
expect_err "SELECT eventbus.queues (b's outbox OID)" mallory \
	"SELECT outbox FROM eventbus.queues" "42501: permission denied for table queues"
expect_err "UPDATE eventbus.queues SET outbox" mallory \
	"UPDATE eventbus.queues SET outbox = 'mallory.bait'::regclass" "42501: permission denied for table queues"
expect_err "UPDATE eventbus.rules (b's pattern)" mallory \
	"UPDATE eventbus.rules SET event_pattern = '{\"source\": [\"x\"]}'" "42501: permission denied for table rules"
expect_err "UPDATE eventbus.event_buses SET owner" mallory \
	"UPDATE eventbus.event_buses SET owner = 'mallory'" "42501: permission denied for table event_buses"
expect_err "INSERT INTO eventbus.grants" mallory \
	"INSERT INTO eventbus.grants (object_kind, object_name, grantee, privilege, granted_by)
	 VALUES ('bus', 'b-bus', 'mallory'::regrole, 'put_events', 'b_manager'::regrole)" \
	"42501: permission denied for table grants"
expect_err "DELETE FROM eventbus.dead_letters" mallory \
	"DELETE FROM eventbus.dead_letters" "42501: permission denied for table dead_letters"
expect_err "UPDATE eventbus.events (rewrite b's events)" mallory \
	"UPDATE eventbus.events SET detail = '{}'" "42501: permission denied for table events"
expect_err "TRUNCATE eventbus.events" mallory \
	"TRUNCATE eventbus.events" "42501: permission denied for table events"
expect_err "SELECT from b's outbox table" mallory \
	"SELECT * FROM eventbus_outbox.\"queue_b-q\"" "42501: permission denied for schema eventbus_outbox"
expect_err "TRUNCATE b's outbox table" mallory \
	"TRUNCATE eventbus_outbox.\"queue_b-q\"" "42501: permission denied for schema eventbus_outbox"
expect_err "DROP b's outbox table" mallory \
	"DROP TABLE eventbus_outbox.\"queue_b-q\"" "42501: permission denied for schema eventbus_outbox"
expect_err "ALTER TABLE eventbus.targets" mallory \
	"ALTER TABLE eventbus.targets ADD COLUMN x int" "42501: must be owner of table targets"
expect_err "DROP TABLE eventbus.rules" mallory \
	"DROP TABLE eventbus.rules" "42501: must be owner of table rules"
expect_err "ALTER TABLE eventbus.events DISABLE ROW LEVEL SECURITY" mallory \
	"ALTER TABLE eventbus.events DISABLE ROW LEVEL SECURITY" "42501: must be owner of table events"
expect_err "CREATE POLICY on eventbus.events" mallory \
	"CREATE POLICY mine ON eventbus.events FOR SELECT USING (true)" "42501: must be owner of table events"
expect_err "CREATE TRIGGER on eventbus.events" mallory \
	"CREATE TRIGGER t AFTER INSERT ON eventbus.events FOR EACH ROW EXECUTE FUNCTION mallory.escalate()" \
	"42501: permission denied for table events"
expect_err "DROP FUNCTION eventbus.receive" mallory \
	"DROP FUNCTION eventbus.receive(text, integer, integer, integer)" "42501: must be owner of function eventbus.receive"
expect_err "ALTER FUNCTION eventbus.put_rule OWNER" mallory \
	"ALTER FUNCTION eventbus.put_rule(text, jsonb, text, text, text, text) OWNER TO mallory" \
	"42501: must be owner of function put_rule"
expect_err "CREATE TABLE in schema eventbus" mallory \
	"CREATE TABLE eventbus.evil (x int)" "42501: permission denied for schema eventbus"
expect_err "CREATE FUNCTION in schema eventbus (an _impl of its own)" mallory \
	"CREATE FUNCTION eventbus._evil_impl() RETURNS int LANGUAGE sql AS 'SELECT 1'" \
	"42501: permission denied for schema eventbus"
expect_err "CREATE TABLE in schema eventbus_outbox" mallory \
	"CREATE TABLE eventbus_outbox.\"queue_evil\" (x int)" "42501: permission denied for schema eventbus_outbox"
expect_err "a trampoline of its own (C function on eventbus_api_call)" mallory \
	"CREATE FUNCTION mallory.put_rule(text, jsonb, text, text, text) RETURNS jsonb
	 AS '\$libdir/eventbus', 'eventbus_api_call' LANGUAGE C" "42501: permission denied for language c"

section "4b: internal functions"
as mallory "CREATE TABLE mallory.fake_outbox (message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid,
                event_ingestion_time timestamptz, bus text, rule text, target_id text, payload jsonb,
                enqueued_at timestamptz DEFAULT now(), visible_at timestamptz DEFAULT now(),
                receive_count integer DEFAULT 0, first_attempt_at timestamptz, last_attempt_at timestamptz,
                last_error_code text, last_error_message text);
            INSERT INTO mallory.fake_outbox (event_id, bus) VALUES (NULL, NULL), (NULL, 'b-bus')" >/dev/null
# a TEMP table with every column of an outbox, of the wrong type or NULL
# (made in the session of each call)
HOSTILE_TT="CREATE TEMP TABLE hostile (message_id text, event_id text, event_ingestion_time int, bus int,
                                      rule int, target_id int, payload text, enqueued_at int, visible_at int,
                                      receive_count text, first_attempt_at int, last_attempt_at int,
                                      last_error_code int, last_error_message int);
            INSERT INTO hostile VALUES (NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL, NULL, 'y');"
REL_FUNCS=
# every internal function that takes a relation, an OID or a role, called
# with mallory's hostile TEMP table (or NULLs)
while IFS='|' read -r fname fargs; do
	[ -n "$fname" ] || continue
	args=$(q "SELECT string_agg(CASE WHEN t = 'regclass'::regtype THEN '''pg_temp.hostile''::regclass'
	                                 WHEN t = 'oid'::regtype THEN '''pg_temp.hostile''::regclass::oid'
	                                 -- not NULL: a STRICT call with a NULL argument is folded
	                                 -- away before its EXECUTE privilege is checked
	                                 WHEN t = 'regrole'::regtype THEN '''mallory''::regrole'
	                                 WHEN t = 'text'::regtype THEN '''x'''
	                                 WHEN t = 'bigint[]'::regtype THEN '''{1}''::bigint[]'
	                                 WHEN t IN ('integer'::regtype, 'bigint'::regtype) THEN '1'
	                                 WHEN t = 'boolean'::regtype THEN 'true'
	                                 WHEN t = 'jsonb'::regtype THEN '''{}''::jsonb'
	                                 WHEN t = 'uuid'::regtype THEN 'gen_random_uuid()'
	                                 WHEN t = 'timestamp with time zone'::regtype THEN 'now()'
	                                 ELSE 'NULL::' || format_type(t, NULL) END, ', ' ORDER BY o)
	            FROM unnest('$fargs'::oidvector::oid[]) WITH ORDINALITY AS x(t, o)")
	expect_err "mallory calls eventbus.$fname on a hostile TEMP table: 42501" mallory \
		"$HOSTILE_TT SELECT * FROM eventbus.$fname($args)" "42501: permission denied for function $fname"
	REL_FUNCS="$REL_FUNCS $fname"
done < <(q "SELECT p.proname, p.proargtypes::text FROM pg_proc p
             WHERE p.pronamespace = 'eventbus'::regnamespace AND p.proname LIKE '\\_%'
               AND p.proargtypes::oid[] && ARRAY['regclass', 'oid', 'regrole', 'regprocedure']::regtype[]::oid[]
             ORDER BY 1, 2")
missing=
for f in _receive_pass _delete_messages _enqueue _dead_letter; do
	case " $REL_FUNCS " in *" $f "*) ;; *) missing="$missing $f" ;; esac
done
[ -z "$missing" ]
check_rc "... those calls covered _receive_pass, _delete_messages, _enqueue and _dead_letter" $? "not tried:$missing"
expect_err "mallory calls eventbus._receive_pass on its own table with NULL event_ids: 42501" mallory \
	"SELECT * FROM eventbus._receive_pass('mallory.fake_outbox', now(), 10, 10, 30, 'b-q', 0)" \
	"42501: permission denied for function _receive_pass"
n_impl=0
bad_impl=
while IFS='|' read -r fname fargs; do
	[ -n "$fname" ] || continue
	n_impl=$((n_impl + 1))
	args=$(q "SELECT coalesce(string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY o), '')
	            FROM unnest('$fargs'::oidvector::oid[]) WITH ORDINALITY AS x(t, o)")
	got=$(outcome mallory "SELECT * FROM eventbus.$fname($args)")
	[ "$got" = "42501: permission denied for function $fname" ] || bad_impl="$bad_impl $fname=[$got]"
done < <(q "SELECT proname, proargtypes::text FROM pg_proc
             WHERE pronamespace = 'eventbus'::regnamespace AND proname LIKE '\\_%\\_impl' ORDER BY 1")
[ "$n_impl" -ge 15 ] && [ -z "$bad_impl" ]
check_rc "mallory calls each of the $n_impl _*_impl functions directly: 42501 permission denied for function" $? \
	"${bad_impl:-only $n_impl implementations}"
expect_err_re "mallory calls eventbus._caller(): 42501" mallory \
	"SELECT eventbus._caller()" \
	"42501: (permission denied for function _caller|eventbus\\._caller\\(\\) can only be used by eventbus's own functions)"
expect_err_re "mallory calls eventbus._caller() from a SECURITY DEFINER function of its own: 42501" mallory \
	"CREATE FUNCTION mallory.who() RETURNS regrole LANGUAGE sql SECURITY DEFINER AS 'SELECT eventbus._caller()';
	 SELECT mallory.who()" \
	"42501: (permission denied for function _caller|eventbus\\._caller\\(\\) can only be used by eventbus's own functions)"

section "4c: mallory against team B's bus, rules, targets, queue, grants"
expect_err "put_rule on b-bus" mallory \
	"SELECT eventbus.put_rule('m-on-b', '{\"source\": [\"team.b\"]}', 'b-bus')" \
	"42501: permission denied for event bus \"b-bus\""
expect_err "put_rule replacing b's pattern" mallory \
	"SELECT eventbus.put_rule('b-rule', '{\"source\": [\"nothing\"]}', 'b-bus')" \
	"42501: permission denied for event bus \"b-bus\""
RULE_DENIED_B='42501: (must be owner of rule "b-rule"|permission denied for (rule "b-rule"|event bus "b-bus"))'
expect_err_re "disable_rule on b's rule" mallory "SELECT eventbus.disable_rule('b-rule', 'b-bus')" "$RULE_DENIED_B"
expect_err_re "enable_rule on b's rule" mallory "SELECT eventbus.enable_rule('b-rule', 'b-bus')" "$RULE_DENIED_B"
expect_err_re "delete_rule (force) on b's rule" mallory "SELECT eventbus.delete_rule('b-rule', 'b-bus', true)" "$RULE_DENIED_B"
expect_err_re "put_targets replacing b's function target with mallory's" mallory \
	"SELECT eventbus.put_targets('b-rule', '[{\"Id\": \"b-func\", \"Arn\": \"function:mallory.sink\"}]', 'b-bus')" \
	"$RULE_DENIED_B"
expect_err_re "put_targets adding a target to b's rule" mallory \
	"SELECT eventbus.put_targets('b-rule', '[{\"Id\": \"copy\", \"Arn\": \"queue:m-q\"}]', 'b-bus')" "$RULE_DENIED_B"
expect_err_re "remove_targets on b's rule" mallory \
	"SELECT eventbus.remove_targets('b-rule', ARRAY['b-func', 'b-queue'], 'b-bus')" "$RULE_DENIED_B"
expect_err_re "delete_event_bus b-bus (force)" mallory \
	"SELECT eventbus.delete_event_bus('b-bus', true)" \
	'42501: (must be owner of event bus "b-bus"|permission denied for event bus "b-bus")'
expect_err_re "grant itself put_events on b-bus" mallory \
	"SELECT eventbus.grant_event_bus_privilege('b-bus', 'put_events', 'mallory')" \
	'42501: (must be owner of event bus "b-bus"|permission denied for event bus "b-bus")'
expect_err_re "grant itself receive on b-q" mallory \
	"SELECT eventbus.grant_queue_privilege('b-q', 'receive', 'mallory')" \
	'42501: (must be owner of queue "b-q"|permission denied for queue "b-q")'
expect_err_re "revoke b_consumer's receive on b-q" mallory \
	"SELECT eventbus.revoke_queue_privilege('b-q', 'receive', 'b_consumer')" \
	'42501: (must be owner of queue "b-q"|permission denied for queue "b-q")'
expect_err_re "delete_queue b-q (force)" mallory \
	"SELECT eventbus.delete_queue('b-q', true)" \
	'42501: (must be owner of queue "b-q"|permission denied for queue "b-q")'
expect_err_re "describe_rule / list_targets_by_rule of b's rule: refused (not even its existence)" mallory \
	"SELECT eventbus.list_targets_by_rule('b-rule', 'b-bus')" \
	'42501: permission denied for event bus "b-bus"|42704: .*'
expect_err_re "list_rules of b-bus: refused" mallory \
	"SELECT * FROM eventbus.list_rules('b-bus')" '42501: permission denied for event bus "b-bus"|42704: .*'
expect_err_re "put_rule on the default bus (nothing granted by default)" mallory \
	"SELECT eventbus.put_rule('m-default', '{\"source\": [\"x\"]}')" \
	'42501: permission denied for event bus "default"'
check "b's bus, rules, targets, queue and grants are all as b left them" \
	"SELECT (SELECT count(*) FROM eventbus.rules WHERE bus = 'b-bus') = 2
	    AND (SELECT event_pattern::jsonb = '{\"source\": [\"team.b\"]}' AND state = 'ENABLED'
	           FROM eventbus.rules WHERE bus = 'b-bus' AND name = 'b-rule')
	    AND (SELECT string_agg(target_id || '=' || arn || '@' || owner::regrole::text, ',' ORDER BY target_id)
	           FROM eventbus.targets WHERE bus = 'b-bus' AND rule = 'b-rule')
	        = 'b-func=function:b_app.sink@b_manager,b-queue=queue:b-q@b_manager'
	    AND EXISTS (SELECT FROM eventbus.queues WHERE name = 'b-q')
	    AND NOT EXISTS (SELECT FROM eventbus.rules WHERE name IN ('m-on-b', 'm-default'))
	    AND (SELECT count(*) FROM eventbus.grants WHERE object_name IN ('b-bus', 'b-q')) = 3
	    AND NOT EXISTS (SELECT FROM eventbus.grants WHERE grantee = 'mallory'::regrole)"

section "4d: mallory puts events on b-bus"
r=$(outcome mallory "SELECT r->>'FailedEntryCount', r#>>'{Entries,0,ErrorCode}', r#>>'{Entries,0,ErrorMessage}',
                            r#>>'{Entries,1,EventId}' IS NOT NULL
                       FROM eventbus.put_events('[
    {\"Source\": \"team.b\", \"DetailType\": \"forged\", \"Detail\": {\"mark\": \"m-forged-1\"}, \"EventBusName\": \"b-bus\"},
    {\"Source\": \"m.src\", \"DetailType\": \"own\", \"Detail\": {\"mark\": \"m-own-1\"}, \"EventBusName\": \"m-bus\"}]') r")
check_eq "put_events entry for b-bus: AccessDeniedException, its own entry stored" \
	"$r" "OK:1|AccessDeniedException|User: mallory is not authorized to perform: events:PutEvents on resource: arn:aws:events:local:000000000000:event-bus/b-bus|t"
r=$(outcome mallory "SELECT r#>>'{Entries,0,ErrorCode}' FROM eventbus.put_events(
        '[{\"Source\": \"team.b\", \"DetailType\": \"forged\", \"Detail\": {\"mark\": \"m-forged-2\"},
           \"EventBusName\": \"arn:aws:events:local:000000000000:event-bus/b-bus\"}]') r")
check_eq "put_events entry for b-bus by ARN: AccessDeniedException" "$r" "OK:AccessDeniedException"
expect_err_re "put_event on b-bus: 42501" mallory \
	"SELECT eventbus.put_event('team.b', 'forged', '{\"mark\": \"m-forged-3\"}', 'b-bus')" \
	'42501: (permission denied for event bus "b-bus"|new row violates row-level security policy for table "events")'
expect_err "plain INSERT INTO eventbus.events for b-bus: RLS" mallory \
	"INSERT INTO eventbus.events (bus, source, detail_type, detail)
	 VALUES ('b-bus', 'team.b', 'forged', '{\"mark\": \"m-forged-4\"}')" \
	'42501: new row violates row-level security policy for table "events"'
expect_err "COPY INTO eventbus.events for b-bus: refused (PostgreSQL has no COPY FROM under RLS)" mallory \
	"COPY eventbus.events (bus, source, detail_type, detail) FROM STDIN;
b-bus	team.b	forged	{\"mark\": \"m-forged-6\"}
\\." "0A000: COPY FROM not supported with row-level security"
expect_err "plain INSERT of many rows, one for b-bus: RLS, none stored" mallory \
	"INSERT INTO eventbus.events (bus, source, detail_type, detail)
	 VALUES ('m-bus', 'm.src', 'x', '{\"mark\": \"m-forged-5\"}'), ('b-bus', 'team.b', 'forged', '{\"mark\": \"m-forged-5\"}')" \
	'42501: new row violates row-level security policy for table "events"'
expect_err "plain INSERT for the default bus: RLS" mallory \
	"INSERT INTO eventbus.events (source, detail_type) VALUES ('m', 'x')" \
	'42501: new row violates row-level security policy for table "events"'
check "nothing forged was stored, nothing reached b's queue or function" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.events WHERE detail->>'mark' LIKE 'm-forged-%' OR detail_type = 'forged')
	    AND EXISTS (SELECT FROM eventbus.events WHERE detail->>'mark' = 'm-own-1' AND bus = 'm-bus')
	    AND NOT EXISTS (SELECT FROM b_app.received WHERE payload->>'detail-type' = 'forged')"

section "4e: mallory reads b's data"
expect_val "SELECT eventbus.events: none of A's or B's rows (RLS), its own are there" mallory \
	"SELECT count(*) FILTER (WHERE bus IN ('a-bus', 'b-bus', 'default')), count(*) FILTER (WHERE bus = 'm-bus') > 0
	   FROM eventbus.events" "0|t"
expect_val "SELECT eventbus.event_envelopes: none of A's or B's" mallory \
	"SELECT count(*) FILTER (WHERE bus <> 'm-bus') FROM eventbus.event_envelopes" 0
expect_err_re "b's dead letters: none visible" mallory \
	"SELECT count(*) FROM eventbus.dead_letters WHERE bus IN ('a-bus', 'b-bus') OR payload::text LIKE '%secret%'" \
	'OK:0|42501: permission denied for (table|view) dead_letters'
expect_err "receive on b-q" mallory "SELECT * FROM eventbus.receive('b-q', 10, 0)" \
	"42501: permission denied for queue \"b-q\""
expect_err "ack on b-q" mallory "SELECT eventbus.ack('b-q', ARRAY[1, 2, 3]::bigint[])" \
	"42501: permission denied for queue \"b-q\""
expect_err "nack on b-q" mallory "SELECT eventbus.nack('b-q', ARRAY[1]::bigint[])" \
	"42501: permission denied for queue \"b-q\""
expect_err "change_visibility on b-q" mallory "SELECT eventbus.change_visibility('b-q', ARRAY[1]::bigint[], 0)" \
	"42501: permission denied for queue \"b-q\""
expect_err "queue_depth of b-q" mallory "SELECT * FROM eventbus.queue_depth('b-q')" \
	"42501: permission denied for queue \"b-q\""
expect_val "metrics views show none of A's or B's rows" mallory \
	"SELECT (SELECT count(*) FROM eventbus.rule_stats WHERE bus <> 'm-bus'),
	        (SELECT count(*) FROM eventbus.target_stats WHERE bus <> 'm-bus'),
	        (SELECT count(*) FROM eventbus.queue_stats WHERE queue NOT LIKE 'm-%')" "0|0|0"
expect_val "list_event_buses shows its own bus only" mallory \
	"SELECT string_agg(name, ',' ORDER BY name) FROM eventbus.list_event_buses()" "m-bus"
expect_val "list_grants shows nothing of A's or B's" mallory \
	"SELECT count(*) FROM eventbus.list_grants() g WHERE to_jsonb(g)::text ~ '\"[ab]-(bus|q)\"|[ab]_(producer|consumer)'" 0
expect_err_re "rule_index_anchors of b-bus (b's patterns): refused or empty" mallory \
	"SELECT count(*) FROM eventbus.rule_index_anchors('b-bus')" \
	'OK:0|42501: permission denied for event bus "b-bus"'
expect_err_re "list_rule_names_by_target on b-bus: refused or empty" mallory \
	"SELECT eventbus.list_rule_names_by_target('queue:b-q', 'b-bus') -> 'RuleNames'" \
	'OK:\[\]|42501: permission denied for event bus "b-bus"'
expect_err_re "redrive b's dead letters: refused or nothing" mallory \
	"SELECT eventbus.redrive_dead_letters(bus => 'b-bus')" \
	'OK:0|42501: permission denied for event bus "b-bus"'
check "b's dead letter is still there" \
	"SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE bus = 'b-bus' AND target_id = 'b-fail')"

section "4f: targets that point elsewhere"
as mallory "SELECT eventbus.put_rule('m-att', '{\"source\": [\"m.att\"]}', 'm-bus');
            SELECT eventbus.put_rule('m-fn', '{\"source\": [\"m.fn\"]}', 'm-bus')" >/dev/null 2>&1
expect_target_denied "queue target on b-q without send" mallory m-att m-bus \
	'[{"Id": "to-bq", "Arn": "queue:b-q"}]' to-bq 'permission denied for queue "b-q"'
expect_target_denied "queue target on b-q by its SQS ARN" mallory m-att m-bus \
	'[{"Id": "to-bq", "Arn": "arn:aws:sqs:local:000000000000:b-q"}]' to-bq 'permission denied for queue "b-q"'
expect_target_denied "DeadLetterConfig naming b-q" mallory m-att m-bus \
	'[{"Id": "dl-bq", "Arn": "queue:m-q", "DeadLetterConfig": {"Arn": "queue:b-q"}}]' dl-bq 'permission denied for queue "b-q"'
expect_target_denied "bus target forwarding to b-bus without put_events" mallory m-att m-bus \
	'[{"Id": "to-bbus", "Arn": "bus:b-bus"}]' to-bbus 'permission denied for event bus "b-bus"'
expect_target_denied "function target on b's function without EXECUTE" mallory m-fn m-bus \
	'[{"Id": "b-private", "Arn": "function:b_app.private"}]' b-private 'permission denied for function (b_app\.)?private(\(jsonb\))?'
expect_target_denied "function target on b's SECURITY DEFINER function without EXECUTE" mallory m-fn m-bus \
	'[{"Id": "b-definer", "Arn": "function:b_app.definer"}]' b-definer 'permission denied for function (b_app\.)?definer(\(jsonb\))?'
expect_target_denied "function target on an internal function (eventbus._retry_policy)" mallory m-fn m-bus \
	'[{"Id": "internal", "Arn": "function:eventbus._retry_policy"}]' internal 'permission denied for function (eventbus\.)?_retry_policy(\(jsonb\))?'
check "none of these targets was stored, b-q has no message from m-bus" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.targets WHERE bus = 'm-bus'
	                     AND target_id IN ('to-bq', 'dl-bq', 'to-bbus', 'b-private', 'b-definer', 'internal'))
	    AND NOT EXISTS (SELECT FROM eventbus_outbox.\"queue_b-q\" WHERE bus = 'm-bus')"

# b's own function, executable by PUBLIC: as mallory's target it runs with
# mallory's rights, which cannot write b's table
expect_val "function target on b's PUBLIC function b_app.sink: accepted" mallory \
	"SELECT eventbus.put_rule('m-pub', '{\"source\": [\"m.pub\"]}', 'm-bus') ? 'RuleArn';
	 SELECT eventbus.put_targets('m-pub', '[{\"Id\": \"b-sink\", \"Arn\": \"function:b_app.sink\"}]', 'm-bus') ->> 'FailedEntryCount'" "t|0"
id=$(uuid_or_zero "$(as mallory "SELECT eventbus.put_event('m.pub', 'x', '{}', 'm-bus')" 2>/dev/null)")
check_ok "... it runs as mallory: dead letter 42501 permission denied for table received" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE target_id = 'b-sink' AND event_id = '$id'
	                             AND error_code = '42501' AND error_message = 'permission denied for table received')" 10; echo $?)"
check "... and wrote nothing into b's table" \
	"SELECT EXISTS (SELECT FROM eventbus.events WHERE id = '$id')
	        AND NOT EXISTS (SELECT FROM b_app.received WHERE cur_user <> 'b_manager' OR event_id = '$id')"

# b's SECURITY DEFINER function, once b_manager grants EXECUTE to mallory
as b_manager "GRANT EXECUTE ON FUNCTION b_app.definer(jsonb) TO mallory" >/dev/null
expect_val "after b_manager's GRANT EXECUTE, mallory may target b's SECURITY DEFINER function" mallory \
	"SELECT eventbus.put_rule('m-def', '{\"source\": [\"m.def\"]}', 'm-bus') ? 'RuleArn';
	 SELECT eventbus.put_targets('m-def', '[{\"Id\": \"b-definer\", \"Arn\": \"function:b_app.definer\",
	                                          \"RetryPolicy\": {\"MaximumRetryAttempts\": 0}}]', 'm-bus') ->> 'FailedEntryCount'" "t|0"
check "... the target is mallory's" \
	"SELECT owner::regrole::text = 'mallory' FROM eventbus.targets WHERE bus = 'm-bus' AND target_id = 'b-definer'"
id=$(uuid_or_zero "$(as mallory "SELECT eventbus.put_event('m.def', 'x', '{}', 'm-bus')" 2>/dev/null)")
check_ok "... the worker calls it; it runs as its definer b_manager (PostgreSQL's rule)" \
	"$(wait_for "SELECT EXISTS (SELECT FROM b_app.definer_log WHERE event_id = '$id' AND cur_user = 'b_manager')" 10; echo $?)"
as b_manager "REVOKE EXECUTE ON FUNCTION b_app.definer(jsonb) FROM mallory" >/dev/null
id=$(uuid_or_zero "$(as mallory "SELECT eventbus.put_event('m.def', 'x', '{}', 'm-bus')" 2>/dev/null)")
check_ok "b_manager revokes EXECUTE: the next call, made as mallory, dead-letters 42501" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE target_id = 'b-definer' AND event_id = '$id'
	                             AND error_code = '42501' AND error_message = 'permission denied for function definer')" 10; echo $?)"
check "... and the function did not run for it" \
	"SELECT EXISTS (SELECT FROM eventbus.events WHERE id = '$id')
	        AND NOT EXISTS (SELECT FROM b_app.definer_log WHERE event_id = '$id')"

# b grants mallory send on b-q, then takes it back
expect_ok "b_manager grants send on b-q to mallory" b_manager \
	"SELECT eventbus.grant_queue_privilege('b-q', 'send', 'mallory')"
expect_val "mallory may now put a queue target on b-q" mallory \
	"SELECT eventbus.put_rule('m-send', '{\"source\": [\"m.send\"]}', 'm-bus') ? 'RuleArn';
	 SELECT eventbus.put_targets('m-send', '[{\"Id\": \"to-bq\", \"Arn\": \"queue:b-q\"},
	                                         {\"Id\": \"to-mq\", \"Arn\": \"queue:m-q\"}]', 'm-bus') ->> 'FailedEntryCount'" "t|0"
id=$(uuid_or_zero "$(as mallory "SELECT eventbus.put_event('m.send', 'x', '{}', 'm-bus')" 2>/dev/null)")
check "... its events reach b-q" \
	"SELECT count(*) = 1 FROM eventbus_outbox.\"queue_b-q\" WHERE event_id = '$id'"
expect_ok "b_manager revokes send" b_manager "SELECT eventbus.revoke_queue_privilege('b-q', 'send', 'mallory')"
id=$(uuid_or_zero "$(as mallory "SELECT eventbus.put_event('m.send', 'x', '{}', 'm-bus')" 2>/dev/null)")
check "... at once, routing no longer sends to b-q (the other target still gets it)" \
	"SELECT (SELECT count(*) FROM eventbus_outbox.\"queue_b-q\" WHERE event_id = '$id') = 0
	    AND (SELECT count(*) FROM eventbus_outbox.\"queue_m-q\" WHERE event_id = '$id') = 1"
expect_target_denied "... and putting that target again is refused" mallory m-send m-bus \
	'[{"Id": "to-bq", "Arn": "queue:b-q"}]' to-bq 'permission denied for queue "b-q"'

# ---------------------------------------------------------------------
section "4g: hostile names in every API function (as mallory, on its own objects)"
SNAP="SELECT (SELECT count(*) FROM eventbus.event_buses) || '/' || (SELECT count(*) FROM eventbus.rules)
       || '/' || (SELECT count(*) FROM eventbus.queues) || '/' || (SELECT count(*) FROM eventbus.targets)
       || '/' || (SELECT count(*) FROM eventbus.grants)
       || '/' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'eventbus_outbox'::regnamespace)
       || '/' || (SELECT count(*) FROM pg_roles) || '/' || (SELECT count(*) FROM pg_proc)
       || '/' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'mallory'::regnamespace)"
snap_before=$(q "$SNAP")
HOSTILE=(
	"x'; DROP TABLE mallory.canary; --"
	'x"; DROP TABLE mallory.canary; --'
	"a;b"
	"bus-ünïcødé-😈"
	"$(printf 'a%.0s' {1..300})"
	"a b"
	'$$; DROP TABLE mallory.canary; $$'
	"%s%s%s%n%x"
	'a\b'
	"$(printf 'new\nline')"
	"%"
	"b-%"
	""
)
# hostile_check NAME ALLOWED-ERE SQL: SQL (with :'h') run for every hostile
# name; each outcome must match ALLOWED-ERE
hostile_check() {
	local name=$1 allowed=$2 sql=$3 h got bad=
	for h in "${HOSTILE[@]}"; do
		got=$(outcome mallory "$sql" -v "h=$h")
		printf '%s' "$got" | grep -qzE "^($allowed)$" || bad="$bad [$(printf '%s' "${h:0:20}" | tr '\n' ' '): $got]"
	done
	[ -z "$bad" ]
	check_rc "hostile names: $name" $? "$bad"
}
# an invalid name (22023), a missing object (42704), or the design's
# denial (never a privilege error of PostgreSQL's own on eventbus's schema)
NAMEERR='22023: .*|42704: .*|42501: permission denied for (event bus|queue) .*'
hostile_check "list_event_buses / list_rules prefixes show nothing of A's or B's" 'OK:0\|0' \
	"SELECT count(*) FROM eventbus.list_event_buses(:'h') WHERE name <> 'm-bus';
	 SELECT count(*) FROM eventbus.list_rules('m-bus', :'h') WHERE name NOT LIKE 'm-%'"
hostile_check "create_event_bus refuses each (22023)" '22023: .*' "SELECT eventbus.create_event_bus(:'h')"
hostile_check "describe_event_bus" "$NAMEERR" "SELECT eventbus.describe_event_bus(:'h')"
hostile_check "delete_event_bus" "OK:|$NAMEERR" "SELECT eventbus.delete_event_bus(:'h')"
hostile_check "put_rule (rule name)" '22023: .*' \
	"SELECT eventbus.put_rule(:'h', '{\"source\": [\"x\"]}', 'm-bus')"
hostile_check "put_rule (bus name)" "$NAMEERR" "SELECT eventbus.put_rule('m-h', '{\"source\": [\"x\"]}', :'h')"
hostile_check "put_rule (pattern values and keys)" 'OK:t|22023: .*' \
	"SELECT eventbus.put_rule('m-h', jsonb_build_object(:'h', jsonb_build_array(:'h')), 'm-bus') ? 'RuleArn'"
hostile_check "enable_rule / disable_rule" "$NAMEERR" \
	"SELECT eventbus.enable_rule(:'h', 'm-bus'); SELECT eventbus.disable_rule(:'h', 'm-bus')"
hostile_check "delete_rule" "OK:|$NAMEERR" "SELECT eventbus.delete_rule(:'h', 'm-bus')"
hostile_check "describe_rule / list_rules" "$NAMEERR" \
	"SELECT eventbus.describe_rule('m-rule', :'h'); SELECT eventbus.describe_rule(:'h', 'm-bus')"
hostile_check "list_rules" "OK:|$NAMEERR" "SELECT * FROM eventbus.list_rules(:'h')"
hostile_check "put_targets (target Id): a failed entry" 'OK:1\|ValidationException' \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}'
	   FROM eventbus.put_targets('m-rule', jsonb_build_array(jsonb_build_object('Id', :'h', 'Arn', 'queue:m-q')), 'm-bus') r"
hostile_check "put_targets (queue name): a failed entry" 'OK:1\|(ValidationException|ResourceNotFoundException)' \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}'
	   FROM eventbus.put_targets('m-rule', jsonb_build_array(jsonb_build_object('Id', 'h1', 'Arn', 'queue:' || :'h')), 'm-bus') r"
hostile_check "put_targets (function name): a failed entry or a clear error" \
	'OK:1\|(ValidationException|ResourceNotFoundException|AccessDeniedException)|(22023|22P02|42704|42601|42602|42P01|3F000): .*|42501: permission denied for (function|event bus|queue) .*' \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}'
	   FROM eventbus.put_targets('m-rule', jsonb_build_array(jsonb_build_object('Id', 'h2', 'Arn', 'function:' || :'h')), 'm-bus') r"
hostile_check "put_targets (bus target, notify channel, DeadLetterConfig)" \
	'OK:3\|[A-Za-z]+Exception' \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}'
	   FROM eventbus.put_targets('m-rule', jsonb_build_array(
	          jsonb_build_object('Id', 'h3', 'Arn', 'bus:' || :'h'),
	          jsonb_build_object('Id', 'h4', 'Arn', 'notify:' || :'h' || repeat('x', 64)),
	          jsonb_build_object('Id', 'h5', 'Arn', 'queue:m-q', 'DeadLetterConfig', jsonb_build_object('Arn', 'queue:' || :'h'))), 'm-bus') r"
hostile_check "put_targets (rule and bus names)" "$NAMEERR" \
	"SELECT eventbus.put_targets(:'h', '[{\"Id\": \"x\", \"Arn\": \"queue:m-q\"}]', 'm-bus');
	 SELECT eventbus.put_targets('m-rule', '[{\"Id\": \"x\", \"Arn\": \"queue:m-q\"}]', :'h')"
hostile_check "remove_targets (Id): a failed entry" 'OK:1\|(ResourceNotFoundException|ValidationException)' \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}' FROM eventbus.remove_targets('m-rule', ARRAY[:'h'], 'm-bus') r"
hostile_check "list_targets_by_rule / list_rule_names_by_target" "OK:\[\]|$NAMEERR" \
	"SELECT eventbus.list_targets_by_rule(:'h', 'm-bus'); SELECT eventbus.list_rule_names_by_target(:'h', 'm-bus') -> 'RuleNames'"
hostile_check "create_queue (22023)" '22023: .*' "SELECT eventbus.create_queue(:'h')"
hostile_check "delete_queue" "$NAMEERR" "SELECT eventbus.delete_queue(:'h')"
hostile_check "receive / ack / nack / change_visibility / queue_depth" "$NAMEERR" \
	"SELECT * FROM eventbus.receive(:'h'); SELECT eventbus.ack(:'h', '{1}'); SELECT eventbus.nack(:'h', '{1}');
	 SELECT eventbus.change_visibility(:'h', '{1}', 0); SELECT * FROM eventbus.queue_depth(:'h')"
hostile_check "put_events (bus, source, detail type): a failed entry" \
	'OK:1\|(InvalidArgument|ResourceNotFoundException|AccessDeniedException|ValidationException|MalformedDetail)' \
	"SELECT r->>'FailedEntryCount', r#>>'{Entries,0,ErrorCode}' FROM eventbus.put_events(jsonb_build_array(
	     jsonb_build_object('Source', :'h', 'DetailType', :'h', 'Detail', jsonb_build_object(:'h', :'h'),
	                        'Resources', jsonb_build_array(:'h'), 'EventBusName', :'h'))) r"
hostile_check "put_events (source, detail type, detail on its own bus): stored as data" \
	'OK:0|OK:1' \
	"SELECT r->>'FailedEntryCount' FROM eventbus.put_events(jsonb_build_array(
	     jsonb_build_object('Source', :'h', 'DetailType', :'h', 'Detail', jsonb_build_object(:'h', :'h'),
	                        'EventBusName', 'm-bus'))) r"
hostile_check "put_event (bus name)" "$NAMEERR" "SELECT eventbus.put_event('m.src', 'x', '{}', :'h')"
hostile_check "grant/revoke (grantee): 42704 role does not exist" '42704: .*|22023: .*' \
	"SELECT eventbus.grant_event_bus_privilege('m-bus', 'put_events', :'h');
	 SELECT eventbus.revoke_queue_privilege('m-q', 'receive', :'h')"
hostile_check "grant/revoke (object and privilege names)" "$NAMEERR" \
	"SELECT eventbus.grant_event_bus_privilege(:'h', 'put_events', 'a_producer');
	 SELECT eventbus.grant_queue_privilege(:'h', 'receive', 'a_producer');
	 SELECT eventbus.grant_queue_privilege('m-q', :'h', 'a_producer')"
hostile_check "has_event_bus_privilege / has_queue_privilege answer false" 'OK:f\|f|22023: .*' \
	"SELECT eventbus.has_event_bus_privilege(:'h', 'put_events'), eventbus.has_queue_privilege(:'h', 'receive')"
hostile_check "redrive_dead_letters / rule_index_anchors" "OK:0\|0|$NAMEERR" \
	"SELECT eventbus.redrive_dead_letters(bus => :'h', rule => :'h', target_id => :'h');
	 SELECT count(*) FROM eventbus.rule_index_anchors(:'h')"
as mallory "SELECT eventbus.delete_rule('m-h', 'm-bus')" >/dev/null 2>&1	# the one rule a hostile pattern may make
check_eq "hostile names created nothing (buses/rules/queues/targets/grants/outboxes/roles/functions/mallory's tables)" \
	"$(q "$SNAP")" "$snap_before"
check "mallory's canary table survived, mallory is no superuser" \
	"SELECT to_regclass('mallory.canary') IS NOT NULL AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory')"

# ---------------------------------------------------------------------
section "4h: a catalog corrupted by a superuser: the worker still touches only real outboxes"
# Not an attack mallory can make (4a), but the design's second line of
# defence: a target whose outbox is not an eventbus_outbox table of the
# expected shape is never read or written by the worker or by routing.
expect_val "mallory's bait target" mallory \
	"SELECT eventbus.put_rule('m-bait', '{\"source\": [\"m.bait\"]}', 'm-bus') ? 'RuleArn';
	 SELECT eventbus.put_targets('m-bait', '[{\"Id\": \"m-bait\", \"Arn\": \"function:mallory.sink\"}]', 'm-bus') ->> 'FailedEntryCount'" "t|0"
q "ALTER TABLE mallory.bait DISABLE TRIGGER escalate;
   INSERT INTO mallory.bait (event_id, event_ingestion_time, bus, rule, target_id)
   VALUES (gen_random_uuid(), now(), 'm-bus', 'm-bait', 'm-bait'), (gen_random_uuid(), now(), 'm-bus', 'm-bait', 'm-bait'),
          (NULL, NULL, 'm-bus', 'm-bait', 'm-bait');
   ALTER TABLE mallory.bait ENABLE TRIGGER escalate;
   UPDATE eventbus.targets SET outbox = 'mallory.bait'::regclass WHERE bus = 'm-bus' AND target_id = 'm-bait'" >/dev/null 2>&1
as mallory "SELECT eventbus.put_event('m.bait', 'x', '{}', 'm-bus')" >/dev/null 2>&1
as mallory "SELECT eventbus.put_event('m.src', 'after-bait', '{}', 'm-bus')" >/dev/null 2>&1
sleep 2
check "the bait target points at mallory.bait, and eventbus never touched it (no trigger fired, 3 rows as put)" \
	"SELECT EXISTS (SELECT FROM eventbus.targets WHERE outbox = 'mallory.bait'::regclass)
	        AND NOT EXISTS (SELECT FROM mallory.bait_log) AND (SELECT count(*) FROM mallory.bait) = 3"
check "mallory is still no superuser" "SELECT NOT rolsuper FROM pg_roles WHERE rolname = 'mallory'"
q "ALTER TABLE mallory.bait DISABLE TRIGGER escalate" >/dev/null 2>&1
q "DELETE FROM mallory.bait WHERE event_id IS NULL;
   DELETE FROM eventbus.targets WHERE bus = 'm-bus' AND target_id = 'm-bait'" >/dev/null 2>&1 \
	|| q "ALTER TABLE eventbus.targets DISABLE TRIGGER target_removed;
	      DELETE FROM eventbus.targets WHERE bus = 'm-bus' AND target_id = 'm-bait';
	      ALTER TABLE eventbus.targets ENABLE TRIGGER target_removed" >/dev/null 2>&1
# an outbox with a NULL event_id and one with a wrongly typed column
expect_val "mallory's two more push targets" mallory \
	"SELECT eventbus.put_targets('m-bait', '[{\"Id\": \"m-null\", \"Arn\": \"function:mallory.sink\"},
	                                         {\"Id\": \"m-type\", \"Arn\": \"function:mallory.sink\"}]', 'm-bus') ->> 'FailedEntryCount'" 0
ob_null=$(q "SELECT outbox FROM eventbus.targets WHERE bus = 'm-bus' AND target_id = 'm-null'" 2>/dev/null)
ob_type=$(q "SELECT outbox FROM eventbus.targets WHERE bus = 'm-bus' AND target_id = 'm-type'" 2>/dev/null)
if [ -n "$ob_null" ] && [ -n "$ob_type" ]; then
	q "ALTER TABLE $ob_null ALTER COLUMN event_id DROP NOT NULL;
	   INSERT INTO $ob_null (event_id, event_ingestion_time, bus, rule, target_id)
	   VALUES (NULL, now(), 'm-bus', 'm-bait', 'm-null');
	   ALTER TABLE $ob_type ALTER COLUMN payload TYPE text;
	   INSERT INTO $ob_type (event_id, event_ingestion_time, bus, rule, target_id, payload)
	   VALUES (gen_random_uuid(), now(), 'm-bus', 'm-bait', 'm-type', '{not json');
	   SELECT eventbus._wake_delivery()" >/dev/null 2>&1
	sleep 3
	check_eq "a NULL event_id and a text payload in outboxes: no crash (the sentinel session lives)" "$(sentinel_alive)" t
	check "... the bad message is not delivered (nothing reached mallory.sink for it)" \
		"SELECT NOT EXISTS (SELECT FROM mallory.received WHERE event_id IS NULL)"
	q "DELETE FROM $ob_null; DELETE FROM $ob_type;
	   DELETE FROM eventbus.targets WHERE bus = 'm-bus' AND target_id IN ('m-null', 'm-type')" >/dev/null 2>&1
else
	_report 0 "a NULL event_id and a text payload in outboxes: no crash" "no outboxes for m-null/m-type"
	_report 0 "... the bad message is not delivered" "not run"
fi

section "4i: the worker kept delivering for A and B"
sleep 1
producers_stop
for T in a b; do
	n=$(grep -c . "$WORK/$T.ids")
	ids=$(paste -sd, "$WORK/$T.ids" | sed "s/\([^,]*\)/'\1'/g")
	[ "$n" -ge 10 ]
	check_rc "$T: ${T}_producer put events all through the attack phase" $? "only $n events"
	check_ok "$T: ${T}_manager's function target received every one of the $n events" \
		"$(wait_for "SELECT count(DISTINCT event_id) = $n FROM ${T}_app.received WHERE event_id IN (${ids:-NULL})" 20; echo $?)"
	check "$T: ... and ${T}-q holds every one of them for ${T}_consumer" \
		"SELECT count(DISTINCT event_id) = $n FROM eventbus_outbox.\"queue_${T}-q\" WHERE event_id IN (${ids:-NULL})"
done

# ---------------------------------------------------------------------
section "4j: connections' secrets"
expect_ok "a_manager makes a connection with secrets, and an API destination on it" a_manager \
	"SELECT eventbus.create_connection('a-conn', 'OAUTH_CLIENT_CREDENTIALS',
	     '{\"OAuthParameters\": {\"AuthorizationEndpoint\": \"https://auth.example/token\", \"HttpMethod\": \"POST\",
	        \"ClientParameters\": {\"ClientID\": \"a\", \"ClientSecret\": \"sec-ClientSecret-4g\"}},
	       \"InvocationHttpParameters\": {\"HeaderParameters\": [{\"Key\": \"X-K\", \"Value\": \"sec-Header-4g\", \"IsValueSecret\": true}]}}');
	 SELECT eventbus.create_api_destination('a-dest', 'a-conn', 'https://hooks.example/a', 'POST')"
expect_err "... a failed update with a new secret (its statement is not logged)" a_manager \
	"SELECT eventbus.update_connection('a-conn', auth_parameters => '{\"OAuthParameters\": {\"ClientParameters\": {\"ClientSecret\": \"sec-Failed-4g\", \"Typo\": 1}}}')" \
	"22023: AuthParameters.OAuthParameters.ClientParameters has an unknown key 'Typo'"
for r in mallory eb_admin; do
	expect_err "$r: SELECT eventbus.connection_secrets" $r \
		"SELECT * FROM eventbus.connection_secrets" "42501: permission denied for table connection_secrets"
done
expect_err "mallory: SELECT eventbus.connections" mallory \
	"SELECT * FROM eventbus.connections" "42501: permission denied for table connections"
expect_err "mallory: UPDATE eventbus.connection_secrets" mallory \
	"UPDATE eventbus.connection_secrets SET auth_parameters = '{}'" "42501: permission denied for table connection_secrets"
expect_err "mallory: INSERT INTO eventbus.api_destinations" mallory \
	"INSERT INTO eventbus.api_destinations (name, connection, invocation_endpoint, http_method, owner)
	 VALUES ('m-dest', 'a-conn', 'https://evil.example/', 'POST', 'mallory')" "42501: permission denied for table api_destinations"
expect_err "mallory: describe_connection of a's connection" mallory \
	"SELECT eventbus.describe_connection('a-conn')" '42501: permission denied for connection "a-conn"'
expect_err "mallory: an API destination on a's connection" mallory \
	"SELECT eventbus.create_api_destination('m-dest', 'a-conn', 'https://evil.example/', 'POST')" \
	'42501: permission denied for connection "a-conn"'
expect_err "mallory: update_connection of a's connection (to send its secrets elsewhere)" mallory \
	"SELECT eventbus.update_connection('a-conn', auth_parameters => '{\"OAuthParameters\": {\"AuthorizationEndpoint\": \"https://evil.example/\"}}')" \
	'42501: permission denied for connection "a-conn"'
expect_err "mallory: a target sending to a's API destination" mallory \
	"SELECT eventbus.put_targets('m-rule', '[{\"Id\": \"m-http\", \"Arn\": \"api-destination:a-dest\"}]', 'm-bus')" \
	'42501: permission denied for API destination "a-dest"'
expect_err "mallory: grants itself use" mallory \
	"SELECT eventbus.grant_connection_privilege('a-conn', 'use', 'mallory')" '42501: must be owner of connection "a-conn"'
expect_val "eb_admin describes it without the secrets" eb_admin \
	"SELECT eventbus.describe_connection('a-conn')::text ~ 'sec-'" f
check "the secrets are stored (what the checks below look for exists)" \
	"SELECT auth_parameters::text ~ 'sec-ClientSecret-4g' AND auth_parameters::text ~ 'sec-Header-4g'
	   FROM eventbus.connection_secrets WHERE connection = 'a-conn'"
check_eq "no secret in the server log (errors, statements)" \
	"$(grep -c -E 'sec-(ClientSecret|Header|Failed)-4g' "$EB_TMP/server.log")" 0
check_eq "... where the failed update's error is" \
	"$(grep -c "ClientParameters has an unknown key 'Typo'" "$EB_TMP/server.log")" 1

# ---------------------------------------------------------------------
section "5: quotas"
# set_quota NAME VALUE: for new sessions of this database
set_quota() { q "ALTER DATABASE postgres SET eventbus.$1 = $2" >/dev/null 2>&1; }
reset_quota() { q "ALTER DATABASE postgres RESET eventbus.$1" >/dev/null 2>&1; }
snap_before=$(q "$SNAP")
n=$(q "SELECT count(*) FROM eventbus.event_buses WHERE name <> 'default'")
set_quota max_event_buses "$n"
check_eq "eventbus.max_event_buses is a setting" "$(outcome mallory "SHOW eventbus.max_event_buses")" "OK:$n"
expect_err_re "max_event_buses reached: create_event_bus 54000" mallory \
	"SELECT eventbus.create_event_bus('m-bus-2')" '54000: .*'
reset_quota max_event_buses
n=$(q "SELECT count(*) FROM eventbus.queues")
set_quota max_queues "$n"
expect_err_re "max_queues reached: create_queue 54000" mallory "SELECT eventbus.create_queue('m-q-2')" '54000: .*'
expect_val "max_queues reached: a queue target naming a new queue fails its entry, LimitExceededException" mallory \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}'
	   FROM eventbus.put_targets('m-rule', '[{\"Id\": \"m-q3\", \"Arn\": \"queue:m-q-3\"}]', 'm-bus') r" \
	"1|LimitExceededException"
reset_quota max_queues
n=$(q "SELECT count(*) FROM eventbus.rules WHERE bus = 'm-bus'")
set_quota max_rules_per_bus "$n"
expect_err_re "max_rules_per_bus reached: put_rule of a new rule 54000" mallory \
	"SELECT eventbus.put_rule('m-rule-more', '{\"source\": [\"x\"]}', 'm-bus')" '54000: .*'
expect_val "... replacing an existing rule still works" mallory \
	"SELECT eventbus.put_rule('m-rule', '{\"source\": [\"m.src\"]}', 'm-bus') ? 'RuleArn'" t
reset_quota max_rules_per_bus
n=$(q "SELECT count(*) FROM eventbus.targets WHERE bus = 'm-bus' AND rule = 'm-rule'")
set_quota max_targets_per_rule "$n"
expect_val "max_targets_per_rule reached: put_targets fails the new entry, LimitExceededException" mallory \
	"SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,ErrorCode}'
	   FROM eventbus.put_targets('m-rule', '[{\"Id\": \"one-more\", \"Arn\": \"queue:m-q\"}]', 'm-bus') r" \
	"1|LimitExceededException"
reset_quota max_targets_per_rule
check_eq "quotas reached: the catalogs are unchanged" "$(q "$SNAP")" "$snap_before"
set_quota max_entry_size "'64kB'"
expect_err_re "a plain INSERT with a detail over eventbus.max_entry_size: 54000" a_producer \
	"INSERT INTO eventbus.events (bus, source, detail_type, detail)
	 VALUES ('a-bus', 'team.a', 'big', jsonb_build_object('mark', 'big-insert', 'pad', repeat('x', 100000)))" '54000: .*'
expect_val "... put_events refuses the same entry (LimitExceededException... or its own code)" a_producer \
	"SELECT r->>'FailedEntryCount' FROM eventbus.put_events(jsonb_build_array(jsonb_build_object(
	     'Source', 'team.a', 'DetailType', 'big', 'EventBusName', 'a-bus',
	     'Detail', jsonb_build_object('mark', 'big-put', 'pad', repeat('x', 100000))))) r" 1
reset_quota max_entry_size
check "... neither was stored" "SELECT NOT EXISTS (SELECT FROM eventbus.events WHERE detail->>'mark' IN ('big-insert', 'big-put'))"

# ---------------------------------------------------------------------
section "6: the server never crashed"
check_eq "the sentinel session lived through every attack" "$(sentinel_alive)" t
check_eq "pg_postmaster_start_time() unchanged" "$(q "SELECT pg_postmaster_start_time()")" "$START_TIME"
! grep -qE 'terminated by signal|was terminated by|server process .* exited with|all server processes terminated' "$EB_TMP/server.log"
check_rc "no backend or worker crash in the server log" $? \
	"$(grep -m3 -E 'terminated by signal|was terminated by|exited with|all server processes terminated' "$EB_TMP/server.log" | paste -sd ' ')"
expect_ok "eb_admin resets the metrics (eventbus_admin may reset_stats)" eb_admin "SELECT eventbus.reset_stats()"
expect_err "mallory may not" mallory "SELECT eventbus.reset_stats()" "42501: permission denied for function reset_stats"

eb_finish
