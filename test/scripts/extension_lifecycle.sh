#!/usr/bin/env bash
# The extension's life cycle and the delivery worker's, on a private
# cluster (preloaded):
# - DROP EXTENSION eventbus on a fresh install leaves nothing behind: no
#   schema eventbus or eventbus_outbox, no relation, function or type named
#   eventbus..., no daily partition;
# - with queues, DROP EXTENSION is refused without CASCADE (their outbox
#   tables live in the extension's schema eventbus_outbox and are not part
#   of it); with CASCADE everything goes, also while a worker delivers;
#   CREATE EXTENSION then starts the worker again;
# - DROP DATABASE while its worker delivers a backlog;
# - a target whose outbox the worker cannot use (a column renamed by hand):
#   the error is logged once, the other target goes on delivering, and once
#   the outbox is repaired the target delivers again;
# and no ERROR or FATAL line in the server log, and no worker exits with
# an error.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start "eventbus.delivery_naptime = '200ms'"
LOG=$EB_TMP/server.log
log_from=$(($(wc -l <"$LOG") + 1))

# the status view, from a database that keeps the extension
q "CREATE EXTENSION eventbus" || exit 1
# gone DB: SQL that is true once DB has no worker but an "absent" slot
gone() {
	echo "SELECT NOT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = '$1' AND state <> 'absent')"
}

# leftovers DB: every object of the extension's that could survive it
leftovers() {
	q "SELECT concat_ws(' ',
	     (SELECT string_agg('schema ' || nspname, ' ') FROM pg_namespace WHERE nspname LIKE 'eventbus%'),
	     (SELECT string_agg('relation ' || oid::regclass::text, ' ') FROM pg_class
	       WHERE relname LIKE 'eventbus%' OR relname ~ '^(events_p[0-9]{8}|events_default|queue_|push_)'),
	     (SELECT string_agg('function ' || oid::regprocedure::text, ' ') FROM pg_proc WHERE proname LIKE 'eventbus%'),
	     (SELECT string_agg('type ' || oid::regtype::text, ' ') FROM pg_type
	       WHERE typname LIKE 'eventbus%' OR typname LIKE '\\_eventbus%' OR typname ~ '^_?(events_p[0-9]{8}|queue_|push_)'),
	     (SELECT string_agg('extension ' || extname, ' ') FROM pg_extension WHERE extname = 'eventbus'))" "$1"
}

# a database with a queue, a slow function target and a backlog for it
make_busy() {
	local db=$1 n=$2
	q "CREATE DATABASE $db" || exit 1
	q "CREATE EXTENSION eventbus" "$db" || exit 1
	q "CREATE TABLE public.got (n int);
	   CREATE FUNCTION public.slow(p jsonb) RETURNS void LANGUAGE sql
	       AS 'SELECT pg_sleep(0.02); INSERT INTO public.got VALUES ((p -> ''detail'' ->> ''n'')::int)';
	   SELECT eventbus.put_rule('r', '{\"source\": [\"busy\"]}');
	   SELECT eventbus.put_targets('r', '[{\"Id\": \"q\", \"Arn\": \"queue:busy\"},
	                                      {\"Id\": \"slow\", \"Arn\": \"function:public.slow\"}]');
	   SELECT count(eventbus.put_event('busy', 'x', jsonb_build_object('n', i))) FROM generate_series(1, $n) i" "$db" >/dev/null || exit 1
	wait_for "SELECT count(*) > 5 FROM public.got" 20 "$db"
}

section "DROP EXTENSION on a fresh install"
q "CREATE DATABASE eb_fresh" || exit 1
q "CREATE EXTENSION eventbus" eb_fresh || exit 1
check "the install made daily partitions and its two schemas" \
	"SELECT count(*) = 2 FROM pg_namespace WHERE nspname IN ('eventbus', 'eventbus_outbox')
	    AND (SELECT count(*) FROM pg_inherits WHERE inhparent = 'eventbus.events'::regclass) > 1" eb_fresh
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = 'eb_fresh' AND state = 'running')" 15
check_ok "eb_fresh: its worker runs" $?
q "DROP EXTENSION eventbus" eb_fresh
check_rc "DROP EXTENSION eventbus (no CASCADE) on a fresh install" $? "refused"
check_eq "nothing of the extension is left" "$(leftovers eb_fresh)" ""
wait_for "$(gone eb_fresh)" 15
check_ok "eb_fresh: the worker left (absent)" $?

section "DROP EXTENSION with queues, while the worker delivers"
make_busy eb_drop 400
check_ok "eb_drop: the worker delivers the backlog" $?
out=$(q "SET log_min_messages = panic; DROP EXTENSION eventbus" eb_drop 2>&1)
check_eq "without CASCADE: refused, the outbox tables depend on the extension's schema" \
	"$(echo "$out" | grep -c 'ERROR:  cannot drop extension eventbus because other objects depend on it')/$(echo "$out" | grep -c 'table eventbus_outbox.queue_busy depends on schema eventbus_outbox')" "1/1"
check "the refused DROP changed nothing" \
	"SELECT count(*) = 1 FROM pg_extension WHERE extname = 'eventbus' AND to_regclass('eventbus_outbox.queue_busy') IS NOT NULL" eb_drop
echo "     pending for the slow target: $(q "SELECT eventbus._push_backlog()" eb_drop); delivered to the slow target so far: $(q "SELECT count(*) FROM public.got" eb_drop)"
q "DROP EXTENSION eventbus CASCADE" eb_drop
check_rc "DROP EXTENSION eventbus CASCADE with messages pending and the worker delivering" $? "failed"
check_eq "nothing of the extension is left" "$(leftovers eb_drop)" ""
wait_for "$(gone eb_drop)" 15
check_ok "eb_drop: the worker left (absent)" $?
got=$(q "SELECT count(*) FROM public.got" eb_drop)
sleep 1
check_eq "eb_drop: nothing is delivered after the drop" "$(q "SELECT count(*) FROM public.got" eb_drop)" "$got"
q "CREATE EXTENSION eventbus" eb_drop || exit 1
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = 'eb_drop' AND state = 'running')" 15
check_ok "eb_drop: CREATE EXTENSION again starts the worker again" $?

section "DROP DATABASE while the worker delivers"
make_busy eb_gone 400
check_ok "eb_gone: the worker delivers the backlog" $?
q "DROP DATABASE eb_gone"
check_rc "DROP DATABASE with the worker delivering" $? "failed"
wait_for "SELECT NOT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = 'eb_gone')" 15
check_ok "no worker slot is left for the dropped database" $?

section "a target whose outbox the worker cannot use"
q "CREATE DATABASE eb_broken" || exit 1
q "CREATE EXTENSION eventbus" eb_broken || exit 1
install_helpers eb_broken || exit 1
q "SELECT public.eb_t_sink('sink_good'); SELECT public.eb_t_sink('sink_bad');
   SELECT eventbus.put_rule('r', '{\"source\": [\"b\"]}');
   SELECT eventbus.put_targets('r', '[{\"Id\": \"good\", \"Arn\": \"function:public.sink_good\"},
                                      {\"Id\": \"bad\", \"Arn\": \"function:public.sink_bad\"}]')" eb_broken >/dev/null || exit 1
BAD=$(q "SELECT outbox FROM eventbus.targets WHERE target_id = 'bad'" eb_broken)
# the claim reads visible_at: every cycle fails for this target
q "ALTER TABLE $BAD RENAME COLUMN visible_at TO visible_at_renamed" eb_broken || exit 1
q "SELECT eventbus.put_event('b', 'x', '{\"i\": 1}')" eb_broken >/dev/null
wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'sink_good'" 15 eb_broken
check_ok "the good target is delivered" $?
# about 15 cycles of the worker (naptime 200 ms) and a wake-up per put
for i in 2 3 4 5 6; do
	q "SELECT eventbus.put_event('b', 'x', '{\"i\": $i}')" eb_broken >/dev/null
	sleep 0.6
done
wait_for "SELECT count(*) = 6 FROM public.eb_t_received WHERE sink = 'sink_good'" 15 eb_broken
check_ok "the good target goes on being delivered" $?
check_eq "the bad target's messages wait in its outbox" \
	"$(q "SELECT count(*) FROM public.eb_t_received WHERE sink = 'sink_bad'" eb_broken)/$(q "SELECT count(*) FROM $BAD" eb_broken)" "0/6"
bad_lines=$(tail -n +"$log_from" "$LOG" | grep -c 'delivery to target "bad" of rule "r" on event bus "default" failed: relation eventbus_outbox.push_[0-9a-f]*_bad is not an eventbus outbox table')
check_eq "the error is logged once (not once per cycle)" "$bad_lines" 1
q "ALTER TABLE $BAD RENAME COLUMN visible_at_renamed TO visible_at" eb_broken || exit 1
wait_for "SELECT count(*) = 6 FROM public.eb_t_received WHERE sink = 'sink_bad'" 15 eb_broken
check_ok "repaired, the bad target delivers its waiting messages" $?
check_eq "the recovery is logged once" \
	"$(tail -n +"$log_from" "$LOG" | grep -c 'delivery to target "bad" of rule "r" on event bus "default" works again')" 1

section "the server log"
new_log=$(tail -n +"$log_from" "$LOG")
check_eq "no ERROR or FATAL line" "$(echo "$new_log" | grep -E '(ERROR|FATAL|PANIC):' || true)" ""
check_eq "no worker exited with an error or a signal" \
	"$(echo "$new_log" | grep -E 'eventbus (delivery worker|launcher)".*(exited with exit code [1-9]|terminated by signal)' || true)" ""

eb_finish
