#!/usr/bin/env bash
# Delivery isolation (issue 9, part 1), on a private cluster: no target
# holds up another one's deliveries.  Four targets on the live events:
#   healthy  a function recording when it is invoked
#   slow     a function sleeping 2 s against its Config.TimeoutSeconds 1:
#            every call times out (and is retried)
#   failing  a function raising on every call, with 100,000 messages
#            waiting in its outbox before the run starts
#   never    an API destination at the test server's /never (no answer:
#            every request runs into eventbus.http_timeout)
# A producer puts ~100 events/s for ~20 s, one per transaction, recording
# each event id with clock_timestamp() in its own table in the same
# transaction; the latency is from that time (commit follows at once) to
# the healthy function's invocation.  Bound: p99 <= $EB_ISO_P99_MS ms
# (default 50); p50, p99 and max are printed, with those of a baseline run
# of the healthy target alone ($EB_ISO_BASELINE_SECONDS s, default 5) first.
# Then each delivery worker in turn is stopped with SIGSTOP (whatever it
# is doing: invoking the slow function, waiting for /never, ...):
# delivery_workers must show it as not making progress within 20 s; after
# SIGCONT it must not any more.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"
# shellcheck source=test/scripts/lib/http.bash
. "$(dirname "$0")/lib/http.bash"

P99_MS=${EB_ISO_P99_MS:-50}
RATE=${EB_ISO_RATE:-100}       # events per second
SECS=${EB_ISO_SECONDS:-20}
BASE_SECS=${EB_ISO_BASELINE_SECONDS:-5}
BACKLOG=${EB_ISO_BACKLOG:-100000}

# What delivery_workers says about a worker.  The columns: activity (idle,
# delivering, invoking, stalled), target (what it works on), activity_since,
# last_progress.  A stopped worker counts as stuck when this is true:
STUCK_SQL="activity = 'stalled'"
SHOW_COLS="state, activity, target, activity_since, last_progress"

http_cluster_start
http_start || exit 1
run_on_exit stop_producer

PRODUCER=
stop_producer() { [ -n "$PRODUCER" ] && kill -TERM -- "-$PRODUCER" 2>/dev/null; PRODUCER=; }
# produce SECONDS: RATE events/s, one per transaction (COMMIT in the DO
# block), paced to the clock (event i is put at start + i / RATE); each
# event id recorded in public.produced with the time, in its transaction
produce() {
	local n=$((RATE * $1)) t0 ms
	t0=$(date +%s%N)
	setsid "$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -c "
DO \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1..$n LOOP
        INSERT INTO public.produced (event_id) SELECT eventbus.put_event('iso.live', 'live', '{}');
        COMMIT;
        PERFORM pg_sleep(greatest(0, extract(epoch FROM t0 + i * interval '1 s' / $RATE - clock_timestamp())));
    END LOOP;
END \$\$" >/dev/null &
	PRODUCER=$!
	wait "$PRODUCER"
	PRODUCER=
	ms=$((($(date +%s%N) - t0) / 1000000))
	PRODUCED=$(q "SELECT count(*) FROM public.produced")
	echo "     produced $PRODUCED events in $ms ms ($(awk -v n="$PRODUCED" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')/s)"
	check_eq "all $n events produced" "$PRODUCED" "$n"
	check_ok "every event reached the healthy target" \
		"$(wait_for "SELECT count(*) >= $PRODUCED FROM public.healthy_log" 30; echo $?)"
}
# latency: "p50 p99 max" (ms) of the healthy target, commit to invocation;
# also prints how many were slow
LAT_SQL="SELECT extract(epoch FROM h.invoked_at - p.committed_at) * 1000 AS ms
           FROM public.produced p JOIN public.healthy_log h USING (event_id)"
latency() {
	q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' ||
	          round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' ||
	          round(max(ms)::numeric, 2) FROM ($LAT_SQL) s"
}
slow_counts() {
	q "SELECT count(*) FILTER (WHERE ms > 10) || ' / ' || count(*) FILTER (WHERE ms > 50) || ' / ' ||
	          count(*) FILTER (WHERE ms > 500) FROM ($LAT_SQL) s"
}

q "CREATE TABLE public.produced (event_id uuid PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT clock_timestamp());
   CREATE TABLE public.healthy_log (event_id uuid NOT NULL, invoked_at timestamptz NOT NULL DEFAULT clock_timestamp());
   CREATE FUNCTION public.healthy(p jsonb) RETURNS void LANGUAGE sql AS
       'INSERT INTO public.healthy_log (event_id) VALUES ((p->>''id'')::uuid)';
   SELECT eventbus.put_rule('healthy', '{\"source\": [\"iso.live\"]}');
   SELECT eb_t_put_target('healthy', 'default', 't', 'function:public.healthy')" >/dev/null || exit 1

section "baseline: the healthy target alone, $RATE events/s for $BASE_SECS s"
produce "$BASE_SECS"
read -r b50 b99 bmax <<<"$(latency)"
echo "     healthy target alone, commit to invocation: p50 $b50 ms, p99 $b99 ms, max $bmax ms; over 10 / 50 / 500 ms: $(slow_counts)"
q "TRUNCATE public.produced, public.healthy_log"

section "setup: the bad targets, $BACKLOG messages for the failing one"
q "CREATE FUNCTION public.slow(p jsonb) RETURNS void LANGUAGE sql AS 'SELECT pg_sleep(2)';
   CREATE FUNCTION public.failing(p jsonb) RETURNS void LANGUAGE plpgsql AS
       \$\$ BEGIN RAISE EXCEPTION 'failing on purpose'; END \$\$;
   SELECT eventbus.put_rule('slow', '{\"source\": [\"iso.live\"]}');
   SELECT eb_t_put_target('slow', 'default', 't', 'function:public.slow', '{\"Config\": {\"TimeoutSeconds\": 1}}');
   SELECT eventbus.put_rule('failing', '{\"source\": [\"iso.live\", \"iso.backlog\"]}');
   SELECT eb_t_put_target('failing', 'default', 't', 'function:public.failing');
   SELECT eb_h_dest('never', '$HTTP_URL/never/iso', 'POST');
   SELECT eventbus.put_rule('never', '{\"source\": [\"iso.live\"]}');
   SELECT eb_t_put_target('never', 'default', 't', 'api-destination:never')" >/dev/null || exit 1
t0=$SECONDS
q "INSERT INTO eventbus.events (source, detail_type, detail)
   SELECT 'iso.backlog', 'backlog', jsonb_build_object('i', i) FROM generate_series(1, $BACKLOG) i" >/dev/null || exit 1
check_eq "the failing target's outbox holds $BACKLOG messages (inserted in $((SECONDS - t0)) s)" \
	"$(q "SELECT eb_t_outbox_count('default', 'failing', 't') >= $BACKLOG - 1000")" t
# the bad targets are at work before the measurement starts
http_put_iso() { q "SELECT eventbus.put_event('iso.live', 'warmup', '{}')" >/dev/null; }
http_put_iso
check_ok "the failing target fails" \
	"$(wait_for "SELECT failed_invocations > 0 FROM eventbus.target_stats WHERE rule = 'failing'" 30; echo $?)"
check_ok "the slow target times out" \
	"$(wait_for "SELECT failed_invocations > 0 FROM eventbus.target_stats WHERE rule = 'slow'" 30; echo $?)"
check_ok "the API destination's request hangs at /never" "$(http_wait_count '^/never/iso$' 1 30; echo $?)"
check_ok "the warm-up event reached the healthy target" \
	"$(wait_for "SELECT count(*) = 1 FROM public.healthy_log" 30; echo $?)"
q "TRUNCATE public.healthy_log"

section "with the bad targets: $RATE events/s for $SECS s"
fails_before=$(q "SELECT failed_invocations FROM eventbus.target_stats WHERE rule = 'failing'")
produce "$SECS"
produced=$PRODUCED
read -r p50 p99 pmax <<<"$(latency)"
echo "     healthy target, commit to invocation: p50 $p50 ms, p99 $p99 ms, max $pmax ms; over 10 / 50 / 500 ms: $(slow_counts) of $produced"
echo "     (alone: p50 $b50 ms, p99 $b99 ms, max $bmax ms)"
echo "     meanwhile: failing target $(($(q "SELECT failed_invocations FROM eventbus.target_stats WHERE rule = 'failing'") - fails_before)) failed calls," \
	"its outbox $(q "SELECT eb_t_outbox_count('default', 'failing', 't')");" \
	"slow target $(q "SELECT failed_invocations FROM eventbus.target_stats WHERE rule = 'slow'") timeouts;" \
	"requests held at /never: $(http_count '^/never/iso$')"
check "healthy target p99 ($p99 ms) <= $P99_MS ms" "SELECT $p99 <= $P99_MS"
check "each event invoked the healthy target once" \
	"SELECT count(*) = count(DISTINCT event_id) FROM public.healthy_log"
check "the failing target kept failing during the run" \
	"SELECT failed_invocations > $fails_before FROM eventbus.target_stats WHERE rule = 'failing'"

section "each delivery worker stopped with SIGSTOP, one at a time"
show_workers() {
	q "SELECT worker, pid, $SHOW_COLS FROM eventbus.delivery_workers
	    WHERE database = current_database() ORDER BY worker" | sed 's/^/       /'
}
echo "     delivery_workers now (worker|pid|$SHOW_COLS):"
show_workers
pids=$(q "SELECT pid FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running' ORDER BY worker")
check_eq "running workers to stop" "$([ -n "$pids" ] && echo some)" some
for pid in $pids; do
	what=$(q "SELECT coalesce(activity, '?') || ' ' || coalesce(target, '') FROM eventbus.delivery_workers WHERE pid = $pid")
	kill -STOP "$pid"
	run_on_exit "kill -CONT $pid"
	before=$(q "SELECT count(*) FROM public.healthy_log")
	# work for it: the live targets get events
	for _ in 1 2 3 4 5; do http_put_iso; done
	stuck=$(wait_for "SELECT $STUCK_SQL FROM eventbus.delivery_workers WHERE pid = $pid" 20; echo $?)
	echo "     worker $pid stopped while $what; delivery_workers says:"
	show_workers
	check_ok "worker $pid, stopped: shown as not making progress ($STUCK_SQL)" "$stuck"
	check "... its last_progress is older than 2 s" \
		"SELECT last_progress < clock_timestamp() - interval '2 s' FROM eventbus.delivery_workers WHERE pid = $pid"
	# not a check (the bound is for the view): do the others take over?
	if wait_for "SELECT count(*) >= $before + 5 FROM public.healthy_log" 10; then
		echo "     while it is stopped, the healthy target got the 5 new events"
	else
		echo "     while it is stopped, the healthy target did not get the 5 new events within 10 s"
	fi
	kill -CONT "$pid"
	check_ok "... after SIGCONT it is no longer shown stuck" \
		"$(wait_for "SELECT NOT ($STUCK_SQL) FROM eventbus.delivery_workers WHERE pid = $pid" 20; echo $?)"
	check_ok "... and the healthy target has the 5 events" \
		"$(wait_for "SELECT count(*) >= $before + 5 FROM public.healthy_log" 20; echo $?)"
done

eb_finish
