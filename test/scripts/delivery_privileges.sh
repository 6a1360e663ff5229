#!/usr/bin/env bash
# Function targets run with the rights of the role that put them, never as
# the worker's superuser.  On the shared test cluster, in a database of its
# own, with a role of its own (both dropped at the end):
#   1  the grant a role needs to put rules and function targets: manage_rules
#      on the bus (nothing on the catalogs, which no role may write)
#   2  a target whose function reads a table its owner cannot read:
#      dead letter 42501; the function sees current_user = the owner
#   3  a function trying SET ROLE: dead letter 42501 (security-restricted)
#   4  a SECURITY DEFINER function owned by the superuser: put_targets
#      refuses it while the role lacks EXECUTE; EXECUTE is checked again at
#      every call (revoked: dead letter 42501); with EXECUTE it runs as its
#      definer (documented)
#   5  no way around it: the role cannot write eventbus.targets (so it
#      cannot make a target run as someone else); the role does not own its
#      outbox table (the extension's owner does); a DROP DATABASE the role
#      may not run leaves the database's workers alone
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

DB=eb_privileges_test
ROLE=eb_priv_app
SU=$(q "SELECT current_user")

cleanup() {
	q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
	q "DROP ROLE IF EXISTS $ROLE" postgres
}
cleanup 2>/dev/null
run_on_exit cleanup
q "CREATE DATABASE $DB" postgres || exit 1
q "CREATE ROLE $ROLE LOGIN" postgres || exit 1
export PGDATABASE=$DB
q "CREATE EXTENSION eventbus" || exit 1
install_helpers || exit 1
as_role() { PGUSER=$ROLE q "$@"; }
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
                          WHERE database = current_database() AND state = 'running')" 15 \
	|| { echo "no delivery worker in $DB"; exit 1; }

# ---------------------------------------------------------------------
section "1: what a role needs to put rules and function targets"
# put_rule and put_targets run as the extension's owner and check the
# caller: a new rule needs manage_rules on the bus, the rule's targets need
# its owner (the role), a function target EXECUTE on the function.  (CREATE
# on schema public is for the role's own functions.)
GRANTS="SELECT eventbus.grant_event_bus_privilege('default', 'manage_rules', '$ROLE');
GRANT CREATE ON SCHEMA public TO $ROLE;"
echo "$GRANTS" | sed 's/^/     /'
q "$GRANTS" >/dev/null
q "CREATE TABLE public.eb_secret (s text); INSERT INTO public.eb_secret VALUES ('top secret')"
as_role "CREATE FUNCTION public.whoami(p jsonb) RETURNS void LANGUAGE sql AS \$\$
             INSERT INTO public.eb_t_received (sink, event_id, payload, cur_user, sess_user)
             VALUES ('whoami', (p->>'id')::uuid, p, current_user, session_user) \$\$;
         CREATE FUNCTION public.read_secret(p jsonb) RETURNS void LANGUAGE sql AS \$\$
             INSERT INTO public.eb_t_received (sink, event_id, payload, cur_user)
             SELECT 'read_secret', (p->>'id')::uuid, to_jsonb(s), current_user FROM public.eb_secret \$\$;
         CREATE FUNCTION public.set_role(p jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
         BEGIN
             PERFORM set_config('role', '$SU', true);
             INSERT INTO public.eb_t_received (sink, event_id, payload, cur_user)
             SELECT 'set_role', (p->>'id')::uuid, to_jsonb(s), current_user FROM public.eb_secret;
         END \$\$"
check_eq "the role can put a rule" \
	"$(as_role "SELECT eventbus.put_rule('p-1', '{\"source\": [\"test.priv\"]}') ? 'RuleArn'")" t
check_eq "... and function targets" \
	"$(as_role "SELECT eb_t_put_target('p-1', 'default', 'whoami', 'function:public.whoami');
	            SELECT eb_t_put_target('p-1', 'default', 'read-secret', 'function:public.read_secret');
	            SELECT eb_t_put_target('p-1', 'default', 'set-role', 'function:public.set_role')" | sort -u)" put_targets
check "the targets' owner is the role" \
	"SELECT count(*) = 3 AND bool_and(owner = '$ROLE') FROM eventbus.targets WHERE rule = 'p-1'"

# ---------------------------------------------------------------------
section "2: the function runs as the target's owner"
id=$(q "SELECT eventbus.put_event('test.priv', 'test', '{}')")
check_ok "whoami delivered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM public.eb_t_received WHERE sink = 'whoami' AND event_id = '$id')" 10; echo $?)"
seen=$(q "SELECT cur_user || ' / ' || sess_user FROM public.eb_t_received WHERE sink = 'whoami'")
echo "     current_user / session_user seen by the function: $seen"
check "current_user is the owner, not a superuser" \
	"SELECT bool_and(cur_user = '$ROLE' AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = cur_user))
	   FROM public.eb_t_received WHERE sink = 'whoami'"
check_ok "reading a table the owner cannot read: dead letter" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE target_id = 'read-secret')" 10; echo $?)"
check "dead letter 42501 'permission denied for table eb_secret', permanent, 0 retries" \
	"SELECT count(*) = 1 AND bool_and(event_id = '$id' AND error_code = '42501'
	                                  AND error_message = 'permission denied for table eb_secret'
	                                  AND exhausted_condition IS NULL AND retry_attempts = 0)
	   FROM eventbus.dead_letters WHERE target_id = 'read-secret'"

section "3: no way out of the owner's rights"
check_ok "SET ROLE in the function: dead letter" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE target_id = 'set-role')" 10; echo $?)"
check "dead letter 42501 'cannot set parameter \"role\" within security-definer function'" \
	"SELECT count(*) = 1 AND bool_and(error_code = '42501'
	                                  AND error_message = 'cannot set parameter \"role\" within security-definer function')
	   FROM eventbus.dead_letters WHERE target_id = 'set-role'"
check "the secret was never written anywhere" \
	"SELECT NOT EXISTS (SELECT FROM public.eb_t_received WHERE payload::text LIKE '%top secret%')"

# ---------------------------------------------------------------------
section "4: a SECURITY DEFINER function owned by the superuser"
q "CREATE FUNCTION public.definer_reads_secret(p jsonb) RETURNS void
       LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS \$\$
       INSERT INTO public.eb_t_received (sink, event_id, payload, cur_user)
       SELECT 'definer', (p->>'id')::uuid, to_jsonb(s), current_user FROM public.eb_secret \$\$;
   REVOKE EXECUTE ON FUNCTION public.definer_reads_secret(jsonb) FROM PUBLIC"
as_role "SELECT eventbus.put_rule('p-4', '{\"source\": [\"test.definer\"]}')" >/dev/null
err=$(as_role "SELECT eb_t_put_target('p-4', 'default', 'definer', 'function:public.definer_reads_secret')" 2>&1)
echo "     put_targets without EXECUTE -> $(echo "$err" | head -n 1)"
check_eq "put_targets refuses a function its putter may not execute" \
	"$(echo "$err" | head -n 1)" "ERROR:  permission denied for function public.definer_reads_secret(jsonb)"
check "... and stores no target" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.targets WHERE target_id = 'definer')"
q "GRANT EXECUTE ON FUNCTION public.definer_reads_secret(jsonb) TO $ROLE"
as_role "SELECT eb_t_put_target('p-4', 'default', 'definer', 'function:public.definer_reads_secret')" >/dev/null
check "with EXECUTE, put_targets accepts it" \
	"SELECT EXISTS (SELECT FROM eventbus.targets WHERE target_id = 'definer' AND owner = '$ROLE')"
# EXECUTE is checked at every call: revoked after the put, the call fails
q "REVOKE EXECUTE ON FUNCTION public.definer_reads_secret(jsonb) FROM $ROLE"
id4=$(q "SELECT eventbus.put_event('test.definer', 'test', '{}')")
check_ok "EXECUTE revoked from the owner: dead letter" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE target_id = 'definer')" 10; echo $?)"
check "dead letter 42501 'permission denied for function definer_reads_secret'" \
	"SELECT count(*) = 1 AND bool_and(event_id = '$id4' AND error_code = '42501'
	                                  AND error_message = 'permission denied for function definer_reads_secret')
	   FROM eventbus.dead_letters WHERE target_id = 'definer'"
q "GRANT EXECUTE ON FUNCTION public.definer_reads_secret(jsonb) TO $ROLE"
check_eq "after GRANT EXECUTE, redrive" "$(q "SELECT eventbus.redrive_dead_letters(target_id => 'definer')")" 1
check_ok "... delivered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM public.eb_t_received WHERE sink = 'definer' AND event_id = '$id4')" 10; echo $?)"
check "... and, as any SECURITY DEFINER function, it ran as its definer ($SU) and read the table" \
	"SELECT bool_and(cur_user = '$SU' AND payload = '\"top secret\"') FROM public.eb_t_received WHERE sink = 'definer'"

# ---------------------------------------------------------------------
section "5: no way around the owner"
# The role cannot write eventbus.targets at all: only put_targets does,
# recording the caller as the owner, so the target still runs as the role.
as_role "CREATE FUNCTION public.steal(p jsonb) RETURNS void LANGUAGE sql AS \$\$
             INSERT INTO public.eb_t_received (sink, event_id, payload, cur_user)
             SELECT 'steal', (p->>'id')::uuid, to_jsonb(s), current_user FROM public.eb_secret \$\$;
         SELECT eventbus.put_rule('p-5', '{\"source\": [\"test.steal\"]}');
         SELECT eb_t_put_target('p-5', 'default', 'steal', 'function:public.steal')" >/dev/null
forged=$(as_role "UPDATE eventbus.targets SET owner = '$SU' WHERE target_id = 'steal' RETURNING owner" 2>&1)
echo "     the role ran: UPDATE eventbus.targets SET owner = '$SU' ... -> ${forged}"
check_eq "the role may not write eventbus.targets" "$forged" "ERROR:  permission denied for table targets"
id5=$(q "SELECT eventbus.put_event('test.steal', 'test', '{}')")
wait_for "SELECT EXISTS (SELECT FROM public.eb_t_received WHERE sink = 'steal')
              OR EXISTS (SELECT FROM eventbus.dead_letters WHERE target_id = 'steal')" 10
[ "$(q "SELECT EXISTS (SELECT FROM public.eb_t_received WHERE sink = 'steal' AND event_id = '$id5' AND cur_user = '$SU')")" = f ]
check_rc "a role cannot make its target run as another role" $? \
	"UPDATE of eventbus.targets.owner by the role was accepted; its function then ran as $SU and copied eb_secret"

# Outboxes are created by a SECURITY DEFINER function and belong to the
# extension's owner, not to whoever called put_targets, who cannot drop
# them (crash_worker.sh shows that a dropped outbox is skipped anyway).
owner=$(q "SELECT pg_get_userbyid(c.relowner) FROM eventbus.targets t JOIN pg_class c ON c.oid = t.outbox
            WHERE t.target_id = 'whoami'")
[ "$owner" != "$ROLE" ]
check_rc "the role does not own (and cannot drop) its target's outbox table" $? \
	"the outbox is owned by $owner"

# A DROP DATABASE that the role may not run must not stop the database's
# workers: the utility hook stops them only for the database's owner.
# Last, as a failure would stop this database's worker.
pid=$(q "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM eventbus.delivery_workers WHERE database = current_database()")
err=$(PGUSER=$ROLE q "DROP DATABASE $DB" postgres 2>&1)
echo "     the role ran DROP DATABASE $DB -> $err"
[ "$(q "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running'")" = "$pid" ]
check_rc "a refused DROP DATABASE leaves the database's workers running" $? \
	"workers $pid were stopped: state now $(q "SELECT state FROM eventbus.delivery_workers WHERE database = current_database()")"

eb_finish
