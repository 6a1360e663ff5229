#!/usr/bin/env bash
# A delivery worker killed alone (SIGKILL) while delivering: the postmaster
# treats it as a crash (every backend is reset, crash recovery), the
# launcher starts a new worker, and delivery resumes where the committed
# state left it: nothing lost, nothing delivered twice.  Two rounds: one
# while the worker drains a backlog, one while a producer is putting events.
# Then a push target whose outbox table was dropped by hand: the worker
# skips it and keeps delivering (it used to crash on every cycle).
# On a private cluster (it crashes the server).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start
STOP=$EB_TMP/producer.stop
producer_pid=
stop_producer() {
	touch "$STOP"
	[ -n "$producer_pid" ] && { kill -TERM -- "-$producer_pid" 2>/dev/null; wait "$producer_pid" 2>/dev/null; }
	producer_pid=
}
run_on_exit stop_producer

q "CREATE EXTENSION eventbus" || exit 1
install_helpers || exit 1
q "CREATE TABLE public.produced (event_id uuid NOT NULL);
   CREATE TABLE public.delivered (event_id uuid NOT NULL, pid int DEFAULT pg_backend_pid());
   -- about 1 ms per call, so that a kill finds the worker busy
   CREATE FUNCTION public.slow_sink(p jsonb) RETURNS void LANGUAGE sql AS
       'SELECT pg_sleep(0.001); INSERT INTO public.delivered (event_id) VALUES ((p->>''id'')::uuid)';
   SELECT eventbus.put_rule('kill', '{\"source\": [\"kill.test\"]}');
   SELECT eb_t_put_target('kill', 'default', 'sink', 'function:public.slow_sink')" >/dev/null || exit 1

# wait_log PATTERN COUNT SECS: until the server log has COUNT lines matching
wait_log() {
	local deadline=$((SECONDS + $3))
	until [ "$(grep -c "$1" "$EB_TMP/server.log")" -ge "$2" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
}
# the worker delivering to the one target (each target is one worker's at a time)
running_worker() {
	q "SELECT pid FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running'
	    ORDER BY activity IN ('delivering', 'invoking') DESC, delivered DESC LIMIT 1"
}
W=$(q "SHOW eventbus.delivery_workers")
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running')" 15
pm=$(head -n 1 "$PGDATA_EB/postmaster.pid")

# kill_worker ROUND: SIGKILL the worker once it is delivering, then check
# the crash cycle and the new worker
kill_worker() {
	local round=$1 old new before n
	old=$(running_worker)
	before=$(q "SELECT count(*) FROM public.delivered")
	wait_for "SELECT count(*) > $before + 200 FROM public.delivered" 15
	check "round $round: worker $old is delivering (pg_stat_activity)" \
		"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = ${old:-0}
		                 AND backend_type = 'eventbus delivery worker')"
	n=$(q "SELECT count(*) FROM public.delivered")
	kill -9 "$old"
	echo "     round $round: killed worker $old after about $n deliveries"
	# the postmaster resets everything: wait for that, then for connections
	wait_log 'all server processes terminated; reinitializing' "$round" 15
	wait_for "SELECT true" 30
	check_eq "round $round: the postmaster saw the worker die of SIGKILL and reset the cluster" \
		"$(grep -c "background worker \"eventbus delivery worker\" (PID $old) was terminated by signal 9" "$EB_TMP/server.log")/$(grep -c 'all server processes terminated; reinitializing' "$EB_TMP/server.log")" \
		"1/$round"
	check_eq "round $round: the same postmaster (no restart)" "$(head -n 1 "$PGDATA_EB/postmaster.pid")" "$pm"
	wait_for "SELECT count(*) = $W FROM eventbus.delivery_workers
	           WHERE database = current_database() AND state = 'running' AND pid <> ${old:-0}" 15
	new=$(running_worker)
	if [ -n "$new" ] && [ "$new" != "$old" ]; then
		_report 1 "round $round: the launcher started a new worker ($new)"
	else
		_report 0 "round $round: the launcher started a new worker" "worker: '${new}'"
	fi
}

section "round 1: a backlog of 3000 messages"
q "INSERT INTO public.produced
   SELECT eventbus.put_event('kill.test', 'kill', jsonb_build_object('i', i)) FROM generate_series(1, 3000) i" || exit 1
kill_worker 1
check_ok "round 1: the backlog is drained" \
	"$(wait_for "SELECT eb_t_outbox_count('default', 'kill', 'sink') = 0" 30; echo $?)"

section "round 2: while a producer puts events"
rm -f "$STOP"
setsid bash -c "
	while [ ! -f '$STOP' ]; do
		yes \"INSERT INTO public.produced SELECT eventbus.put_event('kill.test', 'kill', '{}'); SELECT pg_sleep(0.002);\" |
			'$EB_BINDIR/psql' -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1
		sleep 0.05
	done" &
producer_pid=$!
kill_worker 2
stop_producer
check_ok "round 2: drained" "$(wait_for "SELECT eb_t_outbox_count('default', 'kill', 'sink') = 0" 30; echo $?)"

section "after the drain"
echo "     produced: $(q "SELECT count(*) FROM public.produced"), delivered rows: $(q "SELECT count(*) FROM public.delivered"), by workers: $(q "SELECT string_agg(DISTINCT pid::text, ' ') FROM public.delivered")"
check_eq "every committed event delivered (lost: 0)" \
	"$(q "SELECT count(*) FROM public.produced p WHERE NOT EXISTS (SELECT FROM public.delivered d WHERE d.event_id = p.event_id)")" 0
dup=$(q "SELECT count(*) FROM (SELECT event_id FROM public.delivered GROUP BY 1 HAVING count(*) > 1) d")
echo "     delivered twice: $dup"
check_eq "no duplicates" "$dup" 0
check_eq "nothing delivered that did not commit" \
	"$(q "SELECT count(*) FROM public.delivered d WHERE NOT EXISTS (SELECT FROM public.produced p WHERE p.event_id = d.event_id)")" 0
check_eq "no dead letters" "$(q "SELECT count(*) FROM eventbus.dead_letters")" 0

# ---------------------------------------------------------------------
section "a push target whose outbox table was dropped"
# Only the extension's owner can drop an outbox table (here: the test runs
# as superuser).  The worker must skip a target whose outbox is gone, keep
# delivering the others, and the target must still be removable.
q "SELECT eventbus.put_rule('victim', '{\"source\": [\"victim.test\"]}');
   SELECT eb_t_put_target('victim', 'default', 'v1', 'function:public.slow_sink')" >/dev/null
segv_before=$(grep -c 'terminated by signal 11' "$EB_TMP/server.log")
q "DROP TABLE $(q "SELECT outbox FROM eventbus.targets WHERE rule = 'victim'")"
q "SELECT eventbus.put_event('kill.test', 'kill', '{}')" >/dev/null
wait_log 'terminated by signal 11' $((segv_before + 1)) 4
segv=$(($(grep -c 'terminated by signal 11' "$EB_TMP/server.log") - segv_before))
[ "$segv" -eq 0 ]
check_rc "a dropped outbox table does not crash the server" $? \
	"the worker died of signal 11 ($segv times)"
q "SELECT eventbus.remove_targets('victim', ARRAY['v1'])->>'FailedEntryCount'" >/dev/null
check_eq "the target whose outbox is gone can be removed" \
	"$(q "SELECT count(*) FROM eventbus.targets WHERE rule = 'victim'")" 0
check_ok "after removing that target, the server is up and the worker delivers again" \
	"$(wait_for "SELECT eb_t_outbox_count('default', 'kill', 'sink') = 0
	               AND (SELECT count(*) FROM public.delivered) = (SELECT count(*) FROM public.produced) + 1" 20; echo $?)"

eb_finish
