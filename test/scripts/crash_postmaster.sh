#!/usr/bin/env bash
# Crash safety of delivery: kill -9 the whole instance (postmaster and all
# its children) three times, at random moments, while two producers put
# events and two delivery workers deliver them; restart; drain.
#
# Producers record each event id in public.produced in the transaction of
# the put, so public.produced is exactly what committed.  Rule "crash" has
# two targets: a function that inserts the event id into public.delivered
# (no unique constraint), and a bus target to bus "crash-fwd", whose rule
# has a function target writing public.forwarded.  After the drain:
#   - every committed event was delivered (none lost), by both paths
#   - nothing that did not commit was delivered
#   - duplicates are counted and printed; function and bus targets commit
#     their effects with the outbox delete, so there should be none
# On a private cluster (it kills the postmaster).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

ROUNDS=${EB_CRASH_ROUNDS:-3}
own_cluster_start "eventbus.delivery_workers = 2"
STOP=$EB_TMP/producers.stop
producers=()
stop_producers() {
	touch "$STOP"
	for p in "${producers[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	for p in "${producers[@]}"; do wait "$p" 2>/dev/null; done
	producers=()
}
run_on_exit stop_producers

# Known bug (see delivery_basics.sh): eventbus.delivery_* lines of
# postgresql.conf are dropped at server start; a reload applies them.
settings_lost=0
apply_settings() {
	if [ "$(q "SHOW eventbus.delivery_workers")" != 2 ]; then
		settings_lost=$((settings_lost + 1))
		q "SELECT pg_reload_conf()" >/dev/null
		wait_for "SELECT current_setting('eventbus.delivery_workers') = '2'" 5
	fi
}
apply_settings

q "CREATE EXTENSION eventbus" || exit 1
install_helpers || exit 1
q "CREATE TABLE public.produced (event_id uuid NOT NULL, producer int NOT NULL);
   CREATE TABLE public.delivered (event_id uuid NOT NULL, pid int DEFAULT pg_backend_pid(),
                                  at timestamptz DEFAULT clock_timestamp());
   CREATE TABLE public.forwarded (LIKE public.delivered INCLUDING DEFAULTS);
   CREATE FUNCTION public.crash_sink(p jsonb) RETURNS void LANGUAGE sql AS
       'INSERT INTO public.delivered (event_id) VALUES ((p->>''id'')::uuid)';
   CREATE FUNCTION public.crash_fwd_sink(p jsonb) RETURNS void LANGUAGE sql AS
       'INSERT INTO public.forwarded (event_id) VALUES ((p->>''id'')::uuid)';
   SELECT eventbus.create_event_bus('crash-fwd');
   SELECT eventbus.put_rule('crash', '{\"source\": [\"crash.test\"]}');
   SELECT eb_t_put_target('crash', 'default', 'sink', 'function:public.crash_sink');
   SELECT eb_t_put_target('crash', 'default', 'fwd', 'bus:crash-fwd');
   SELECT eventbus.put_rule('crash', '{\"source\": [\"crash.test\"]}', 'crash-fwd');
   SELECT eb_t_put_target('crash', 'crash-fwd', 'sink', 'function:public.crash_fwd_sink')" >/dev/null || exit 1
wait_for "SELECT count(*) = 2 FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running'" 15 \
	|| echo "  (fewer than 2 workers running)"

# producer N: one event per transaction (N = 1) or three (N = 2), each
# transaction also recording its event ids; reconnects after each crash
producer() {
	local n=$1 stmt
	if [ "$n" = 1 ]; then
		stmt="INSERT INTO public.produced SELECT eventbus.put_event('crash.test', 'crash', '{\"p\": 1}'), 1;
		      SELECT pg_sleep(0.001);"
	else
		stmt="INSERT INTO public.produced SELECT (e->>'EventId')::uuid, 2 FROM jsonb_array_elements(eventbus.put_events('[
		      {\"Source\": \"crash.test\", \"DetailType\": \"crash\", \"Detail\": {\"p\": 2}},
		      {\"Source\": \"crash.test\", \"DetailType\": \"crash\", \"Detail\": {\"p\": 2}},
		      {\"Source\": \"crash.test\", \"DetailType\": \"crash\", \"Detail\": {\"p\": 2}}]') -> 'Entries') e;
		      SELECT pg_sleep(0.002);"
	fi
	while [ ! -f "$STOP" ]; do
		yes "$stmt" | "$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1
		sleep 0.05
	done
}
start_producers() {
	rm -f "$STOP"
	for n in 1 2; do
		setsid bash -c "$(declare -f producer); EB_BINDIR='$EB_BINDIR' STOP='$STOP' producer $n" &
		producers+=($!)
	done
}

# crash: SIGKILL the postmaster and every child, wait until all are gone
crash() {
	local pm kids
	pm=$(head -n 1 "$PGDATA_EB/postmaster.pid")
	kill -STOP "$pm" # no new children from here on
	kids=$(pgrep -P "$pm" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one argument per pid
	kill -9 "$pm" $kids
	local deadline=$((SECONDS + 20))
	# shellcheck disable=SC2086
	while kill -0 "$pm" $kids 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && { echo "  processes of the killed instance still alive"; return 1; }
		sleep 0.05
	done
}

restart() {
	# (pg_ctl warns that "another server might be running": the old pid file)
	eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -l "$EB_TMP/server.log" -w -t 60 start >/dev/null 2>&1
}

section "producing, delivering, crashing ($ROUNDS rounds)"
start_producers
wait_for "SELECT count(*) > 100 FROM public.delivered" 15
restarts_ok=0
busy_kills=0
for round in $(seq "$ROUNDS"); do
	sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 1 + 2 * rand() }')"
	before=$(q "SELECT count(*) FROM public.delivered")
	recent=$(q "SELECT count(*) FROM public.delivered WHERE at > clock_timestamp() - interval '500 ms'")
	crash || exit 1
	if restart; then
		restarts_ok=$((restarts_ok + 1))
	else
		echo "  pg_ctl start failed"; tail -n 20 "$EB_TMP/server.log"; exit 1
	fi
	apply_settings
	echo "     round $round: killed after $before deliveries ($recent in its last 0.5 s); after restart: produced $(q "SELECT count(*) FROM public.produced"), delivered $(q "SELECT count(*) FROM public.delivered")"
	[ "$recent" -gt 0 ] && busy_kills=$((busy_kills + 1))
	wait_for "SELECT count(*) = 2 FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running'" 15
	wait_for "SELECT count(*) > $before + 100 FROM public.delivered" 15
done
sleep 1
stop_producers
check_eq "the server restarted after each crash" "$restarts_ok" "$ROUNDS"
check_eq "each start ran crash recovery" \
	"$(grep -c 'database system was not properly shut down; automatic recovery in progress' "$EB_TMP/server.log")" "$ROUNDS"
check_eq "each kill hit the workers while they were delivering" "$busy_kills" "$ROUNDS"
[ "$settings_lost" -eq 0 ]
check_rc "eventbus.delivery_workers = 2 (postgresql.conf) applied at every start" $? \
	"dropped at $settings_lost of $((ROUNDS + 1)) starts; reloaded each time"

section "drain"
drained=$(wait_for "SELECT eb_t_outbox_count('default', 'crash', 'sink') = 0
                      AND eb_t_outbox_count('default', 'crash', 'fwd') = 0
                      AND eb_t_outbox_count('crash-fwd', 'crash', 'sink') = 0" 60; echo $?)
check_ok "all outboxes drained" "$drained"
echo "     produced (committed): $(q "SELECT count(*) FROM public.produced")," \
	"delivered rows: $(q "SELECT count(*) FROM public.delivered")," \
	"forwarded rows: $(q "SELECT count(*) FROM public.forwarded"), worker processes that delivered: $(q "SELECT count(DISTINCT pid) FROM public.delivered")"
check_eq "every committed event delivered to the function target (lost: 0)" \
	"$(q "SELECT count(*) FROM public.produced p WHERE NOT EXISTS (SELECT FROM public.delivered d WHERE d.event_id = p.event_id)")" 0
check_eq "every committed event forwarded and delivered on bus crash-fwd (lost: 0)" \
	"$(q "SELECT count(*) FROM public.produced p WHERE NOT EXISTS (SELECT FROM public.forwarded d WHERE d.event_id = p.event_id)")" 0
check_eq "nothing delivered that did not commit" \
	"$(q "SELECT count(*) FROM (SELECT event_id FROM public.delivered UNION SELECT event_id FROM public.forwarded) d
	       WHERE NOT EXISTS (SELECT FROM public.produced p WHERE p.event_id = d.event_id)")" 0
dup=$(q "SELECT count(*) FROM (SELECT event_id FROM public.delivered GROUP BY 1 HAVING count(*) > 1) d")
dup_fwd=$(q "SELECT count(*) FROM (SELECT event_id FROM public.forwarded GROUP BY 1 HAVING count(*) > 1) d")
echo "     delivered twice: $dup (function target), $dup_fwd (through the bus target)"
check_eq "no duplicate delivery to the function target" "$dup" 0
check_eq "no duplicate delivery through the bus target" "$dup_fwd" 0
check_eq "the forwarded copies: each event on crash-fwd once" \
	"$(q "SELECT count(*) FROM (SELECT id FROM eventbus.events WHERE bus = 'crash-fwd' GROUP BY 1 HAVING count(*) > 1) d")" 0
check_eq "no dead letters" "$(q "SELECT count(*) FROM eventbus.dead_letters")" 0

eb_finish
