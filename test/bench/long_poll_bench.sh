#!/usr/bin/env bash
# Long-poll wake-up benchmark: time from a producer's COMMIT to the return
# of a consumer's receive() with the message, for consumers that long-poll
# (receive(queue, 10, 30, wait_seconds)) and, in the same run, for the same
# consumers polling receive() without a wait every EB_BENCH_POLL_MS ms
# after an empty answer (what a client of a queue without long polling
# does).  Goal (issue 10): p99 <= 5 ms.
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster (track_commit_timestamp = on) with queue "lp", fed by
# rule "lp" on the default bus.
#
# Producer: pgbench -R EB_BENCH_RATE (Poisson arrivals, default 200/s),
# one client, one event per transaction, the put being the transaction's
# only statement (autocommit), so it commits right after it:
#   SELECT eventbus.put_event('bench.lp', 'Tick',
#       jsonb_build_object('xid', pg_current_xact_id()::text))
# Consumers: pgbench, EB_BENCH_CONSUMERS clients (each count in the list
# is a run: default "1 4"), each transaction one statement that receives,
# records and acks:
#   WITH r AS (SELECT message_id, payload FROM eventbus.receive('lp', 10, 30, W)),
#        l AS (INSERT INTO bench.lat SELECT <xid of the detail>, clock_timestamp() FROM r)
#   SELECT ... eventbus.ack('lp', <the ids>) ...
# The function scan holds receive()'s whole result before the first row
# comes out (plpgsql returns a tuplestore), so clock_timestamp() there is
# read after receive() returned, in the consumer's backend; the network
# hop to a client is not counted (a local socket: tens of microseconds).
# Latency = that time - pg_xact_commit_timestamp(producer's xid): the
# commit time PostgreSQL records just before it writes the commit record,
# so this is COMMIT -> receive() returning, including the commit itself
# and the wake-up.  The first EB_BENCH_WARMUP seconds of each run are not
# counted.  Every event must be received exactly once (checked).
#
# Also reported: the cluster's CPU (all its processes, and the producer's
# pgbench, % of one core) during each run and while the consumers (the
# last count of EB_BENCH_CONSUMERS) find nothing for EB_BENCH_IDLE_SECONDS
# (no producer), and the CPU share of other work on the machine (runs
# disturbed by more than EB_BENCH_QUIET_MAX % are done again once).
#
#   EB_SKIP_BUILD=1 bash test/bench/long_poll_bench.sh
#
# Settings: EB_BENCH_SECONDS (20), EB_BENCH_RATE (200), EB_BENCH_CONSUMERS
# ("1 4"), EB_BENCH_WAIT (wait_seconds, 5), EB_BENCH_POLL_MS (10),
# EB_BENCH_WARMUP (2), EB_BENCH_IDLE_SECONDS (10).  Writes
# test/bench/results/long_poll_bench.md.
set -uo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

SECS=${EB_BENCH_SECONDS:-20}
RATE=${EB_BENCH_RATE:-200}
CONSUMERS=${EB_BENCH_CONSUMERS:-"1 4"}
WAIT=${EB_BENCH_WAIT:-5}
POLL_MS=${EB_BENCH_POLL_MS:-10}
WARMUP=${EB_BENCH_WARMUP:-2}
IDLE=${EB_BENCH_IDLE_SECONDS:-10}
RESULTS=$RESULTS_DIR/long_poll_bench.md
GOAL_P99=5

eb_prepare
bench_cluster_start "${BENCH_CONF[@]}" "track_commit_timestamp = on" "max_connections = 100"
BUILD=$(bench_build)
bench_machine
bench_quiet_init 1 900

eb_log "setting up"
psql_q >/dev/null <<'SQL'
CREATE EXTENSION eventbus;
CREATE SCHEMA bench;
-- one row per message received: the run, the producer's transaction and
-- the time receive() returned it
CREATE TABLE bench.lat (run text NOT NULL, xid xid8 NOT NULL, received_at timestamptz NOT NULL);
SELECT eventbus.create_queue('lp');
SELECT eventbus.put_rule('lp', '{"source": ["bench.lp"]}');
SELECT eventbus.put_targets('lp', '[{"Id": "q", "Arn": "queue:lp"}]');
SQL

cat >"$EB_TMP/produce.sql" <<'SQL'
SELECT eventbus.put_event('bench.lp', 'Tick', jsonb_build_object('xid', pg_current_xact_id()::text));
SQL
# consume.sql RUN WAIT: one receive (waiting WAIT s), recorded and acked;
# with WAIT 0 it sleeps POLL_MS after an empty answer
consume_script() {
	cat <<SQL
WITH r AS (SELECT message_id, payload FROM eventbus.receive('lp', 10, 30, $2)),
     l AS (INSERT INTO bench.lat SELECT '$1', (r.payload -> 'detail' ->> 'xid')::xid8, clock_timestamp() FROM r)
SELECT eventbus.ack('lp', coalesce(array_agg(message_id), '{}')) AS n FROM r \\gset
SQL
	if [ "$2" = 0 ]; then
		printf '\\if :n = 0\n\\sleep %s ms\n\\endif\n' "$POLL_MS"
	fi
}

# stats RUN START: n p50 p95 p99 max (ms) of the run's messages whose
# producer committed after START (the warm-up excluded)
stats() {
	local n
	n=$(psql_q -c "SELECT count(*) FROM bench.lat l WHERE l.run = '$1' AND pg_xact_commit_timestamp(l.xid::xid) >= '$2'")
	echo "$n $(psql_q -c "SELECT extract(epoch FROM l.received_at - pg_xact_commit_timestamp(l.xid::xid)) * 1000
	                        FROM bench.lat l WHERE l.run = '$1' AND pg_xact_commit_timestamp(l.xid::xid) >= '$2'" \
		| percentiles_of 50 95 99 100)"
}

# run MODE CONSUMERS: one measured run; appends "mode consumers n p50 p95
# p99 max produced received dup cpu others" to $EB_TMP/runs.tsv
run() {
	local mode=$1 nc=$2 wait=0 attempt=1 tag start s0 s1 cons produced received dup others cpu
	[ "$mode" = longpoll ] && wait=$WAIT
	while :; do
		tag="$mode-$nc-$attempt"
		consume_script "$tag" "$wait" >"$EB_TMP/consume-$tag.sql"
		wait_quiet
		psql_q -c "SELECT count(*) FROM eventbus.receive('lp', 10000, 0)" >/dev/null
		# consumers run until the producer is done and they have drained the queue
		bench_pgbench -f "$EB_TMP/consume-$tag.sql" -c "$nc" -j "$nc" -T $((SECS + 3)) >"$EB_TMP/consume-$tag.out" &
		cons=$!
		sleep 1
		s0=$(snap "$BASHPID")
		start=$(psql_q -c "SELECT clock_timestamp() + make_interval(secs => $WARMUP)")
		bench_pgbench -f "$EB_TMP/produce.sql" -c 1 -R "$RATE" -T "$SECS" >"$EB_TMP/produce-$tag.out" \
			|| { eb_log "the producer failed"; exit 1; }
		s1=$(snap "$BASHPID")
		wait "$cons" || { eb_log "a consumer failed"; cat "$EB_TMP/consume-$tag.out" >&2; exit 1; }
		produced=$(pgbench_tx_tps <"$EB_TMP/produce-$tag.out" | cut -d' ' -f1)
		received=$(psql_q -c "SELECT count(*) FROM bench.lat WHERE run = '$tag'")
		dup=$(psql_q -c "SELECT count(*) - count(DISTINCT xid) FROM bench.lat WHERE run = '$tag'")
		others=$(others_pct "$s0" "$s1")
		cpu=$(own_pct "$s0" "$s1" "$SECS")
		eb_log "  $mode, $nc consumer(s): $produced events, $received received ($dup twice); other work ${others}%"
		if may_retry "$others" "$attempt"; then
			attempt=$((attempt + 1))
			continue
		fi
		echo "$mode $nc $(stats "$tag" "$start") $produced $received $dup $cpu $others" >>"$EB_TMP/runs.tsv"
		break
	done
}

# idle MODE CONSUMERS: the cluster's CPU while the consumers find nothing
# for IDLE seconds; appends "mode consumers cpu others" to $EB_TMP/idle.tsv
idle() {
	local mode=$1 nc=$2 wait=0 s0 s1 cons
	[ "$mode" = longpoll ] && wait=$WAIT
	consume_script "idle-$mode" "$wait" >"$EB_TMP/consume-idle-$mode.sql"
	wait_quiet
	bench_pgbench -f "$EB_TMP/consume-idle-$mode.sql" -c "$nc" -j "$nc" -T $((IDLE + 2)) >/dev/null &
	cons=$!
	sleep 1
	s0=$(snap "$BASHPID")
	sleep "$IDLE"
	s1=$(snap "$BASHPID")
	wait "$cons" || { eb_log "a consumer failed"; exit 1; }
	echo "$mode $nc $(own_pct "$s0" "$s1" "$IDLE") $(others_pct "$s0" "$s1")" >>"$EB_TMP/idle.tsv"
}

: >"$EB_TMP/runs.tsv"
: >"$EB_TMP/idle.tsv"
for mode in longpoll poll; do
	nc=${CONSUMERS##* }
	eb_log "idle: $mode, $nc consumer(s), $IDLE s"
	idle "$mode" "$nc"
done
for nc in $CONSUMERS; do
	for mode in longpoll poll; do
		eb_log "run: $mode, $nc consumer(s), $RATE events/s for $SECS s"
		run "$mode" "$nc"
	done
done

missed=0
{
	echo "# Long polling: COMMIT -> receive() returning"
	echo
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'). PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, track_commit_timestamp on."
	echo "Build: $BUILD."
	echo
	echo "Producer: pgbench -R $RATE (Poisson), 1 client, one put_event per transaction (autocommit), $SECS s a run; the first $WARMUP s not counted."
	echo "Long poll: receive('lp', 10, 30, $WAIT) in a loop. Poll: receive('lp', 10, 30) in a loop, sleeping $POLL_MS ms after an empty answer."
	echo "Latency: clock_timestamp() in the consumer's backend once receive() returned, minus pg_xact_commit_timestamp() of the producer's transaction."
	echo "Cluster CPU: all of the cluster's processes (and the producer's pgbench), % of one core, during the producer's run."
	echo
	echo "| consumers | mode | events counted | p50 ms | p95 ms | p99 ms | max ms | produced | received | received twice | cluster CPU % | other work % |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	while read -r mode nc n p50 p95 p99 max produced received dup cpu others; do
		echo "| $nc | $mode | $n | $p50 | $p95 | $p99 | $max | $produced | $received | $dup | $cpu | $others |"
		if [ "$mode" = longpoll ]; then
			awk -v p="$p99" -v g="$GOAL_P99" 'BEGIN { exit !(p + 0 > g) }' && missed=$((missed + 1))
		fi
		[ "$produced" = "$received" ] && [ "$dup" = 0 ] || missed=$((missed + 1))
	done <"$EB_TMP/runs.tsv"
	echo
	echo "Idle (no producer, $IDLE s): the cluster's CPU while the consumers find nothing."
	echo
	echo "| consumers | mode | cluster CPU % | other work % |"
	echo "|---:|---|---:|---:|"
	while read -r mode nc cpu others; do
		echo "| $nc | $mode | $cpu | $others |"
	done <"$EB_TMP/idle.tsv"
	echo
	if [ "$missed" -eq 0 ]; then
		echo "Goal (p99 <= $GOAL_P99 ms for long polling, every event received once): met in every run."
	else
		echo "Goal (p99 <= $GOAL_P99 ms for long polling, every event received once): missed in $missed run(s)."
	fi
} >"$EB_TMP/report.md"
bench_write_report
bench_exit "$missed"
