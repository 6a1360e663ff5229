#!/usr/bin/env bash
# Replay benchmark: routing N events when they are first put, against
# replaying the same events from an archive (StartReplay), through the same
# rule to the same queue target, in the same run.
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster with an archive of the default bus (no pattern) and
# one rule {"source": ["bench.replay"]} with a queue target.  Each round:
#   put     N events of ~1 KB of detail, eventbus.replay_batch_size (1000)
#           per INSERT and transaction (a procedure committing each batch),
#           routed by the rule to the queue: events/s of the whole put;
#   replay  start_replay of the round's window (the N events just put),
#           timed from the call to COMPLETED (polled every 20 ms): the
#           worker re-sends them in batches of eventbus.replay_batch_size
#           through the same rule to the same queue: events/s.
# The queue is emptied and vacuumed between phases.  Reported: medians over
# rounds of events/s, and the replay/put ratio (median of per-round ratios;
# the goal is >= 0.8).
#
#   EB_SKIP_BUILD=1 bash test/bench/replay_bench.sh
#
# Settings (environment):
#   EB_BENCH_EVENTS   events per round (default 200000)
#   EB_BENCH_ROUNDS   rounds           (default 3)
#   EB_KEEP=1         keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/replay_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

EVENTS=${EB_BENCH_EVENTS:-200000}
ROUNDS=${EB_BENCH_ROUNDS:-3}
BATCH=1000
RESULTS=$RESULTS_DIR/replay_bench.md

eb_prepare
BUILD=$(bench_build)
bench_cluster_start "${BENCH_CONF[@]}" "eventbus.replay_batch_size = $BATCH"

eb_log "setting up"
psql_q <<SQL >/dev/null
CREATE EXTENSION eventbus;
$BENCH_PARTITIONS_SQL
SELECT eventbus.create_archive('bench', 'default');
SELECT eventbus.put_rule('bench', '{"source": ["bench.replay"]}');
SELECT eventbus.put_targets('bench', '[{"Id": "q", "Arn": "queue:bench"}]');
CREATE SCHEMA bench;
$BENCH_DETAIL_SQL
CREATE PROCEDURE bench.put(n integer, batch integer)
LANGUAGE plpgsql AS \$\$
BEGIN
    FOR b IN 0 .. (n - 1) / batch LOOP
        INSERT INTO eventbus.events (source, detail_type, detail)
        SELECT 'bench.replay', 'Order Shipped', d.d || jsonb_build_object('seq', b * batch + i)
          FROM generate_series(1, least(batch, n - b * batch)) AS i, bench.detail d;
        COMMIT;
    END LOOP;
END;
\$\$;
SQL

now_ns() { date +%s%N; }
empty_queue() {
	psql_q -c "DELETE FROM eventbus_outbox.queue_bench" -c "VACUUM ANALYZE eventbus_outbox.queue_bench" \
		-c "VACUUM ANALYZE eventbus.events" -c "CHECKPOINT" >/dev/null
}
queued() { psql_q -c "SELECT count(*) FROM eventbus_outbox.queue_bench"; }

RUNS=$EB_TMP/runs.tsv	# round, put seconds, replay seconds
: >"$RUNS"
eb_log "timing $ROUNDS rounds of $EVENTS events"
for ((r = 1; r <= ROUNDS; r++)); do
	empty_queue
	from=$(psql_q -c "SELECT clock_timestamp()")
	t0=$(now_ns)
	psql_q -c "CALL bench.put($EVENTS, $BATCH)" >/dev/null
	t1=$(now_ns)
	put_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	[ "$(queued)" -eq "$EVENTS" ] || { eb_log "the put routed $(queued) messages, not $EVENTS"; exit 1; }
	until_=$(psql_q -c "SELECT clock_timestamp()")
	empty_queue

	t0=$(now_ns)
	psql_q -c "SELECT eventbus.start_replay('round-$r', 'bench', '$from', '$until_',
	               jsonb_build_object('Arn', eventbus.event_bus_arn('default')))" >/dev/null
	while :; do
		st=$(psql_q -c "SELECT state FROM eventbus.replays WHERE name = 'round-$r'")
		case $st in STARTING | RUNNING) sleep 0.02 ;; *) break ;; esac
	done
	t1=$(now_ns)
	[ "$st" = COMPLETED ] || { eb_log "replay round-$r ended $st: $(psql_q -c "SELECT state_reason FROM eventbus.replays WHERE name = 'round-$r'")"; exit 1; }
	replay_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	[ "$(queued)" -eq "$EVENTS" ] || { eb_log "the replay routed $(queued) messages, not $EVENTS"; exit 1; }

	printf '%s\t%s\t%s\n' "$r" "$put_secs" "$replay_secs" >>"$RUNS"
	eb_log "round $r: put $(awk -v n="$EVENTS" -v s="$put_secs" 'BEGIN { printf "%.0f", n / s }') events/s, replay $(awk -v n="$EVENTS" -v s="$replay_secs" 'BEGIN { printf "%.0f", n / s }') events/s"
done

bench_machine
put_rate=$(awk -F'\t' -v n="$EVENTS" '{ print n / $2 }' "$RUNS" | median_of %.0f)
replay_rate=$(awk -F'\t' -v n="$EVENTS" '{ print n / $3 }' "$RUNS" | median_of %.0f)
ratio=$(awk -F'\t' '{ print $2 / $3 }' "$RUNS" | median_of %.2f)
range=$(awk -F'\t' '{ print $2 / $3 }' "$RUNS" | range_of)
{
	echo "### Replay benchmark"
	echo
	echo "Build: $BUILD."
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, shared_buffers 1GB."
	echo "$EVENTS events of ~1 KB of detail per round, one rule with a queue target, an archive of the bus without pattern;"
	echo "put: $BATCH events per INSERT and transaction; replay: start_replay to COMPLETED, eventbus.replay_batch_size = $BATCH."
	echo "Medians of $ROUNDS rounds; the ratio is replay/put in the same round (goal >= 0.8)."
	echo
	echo "| Phase | Events/s |"
	echo "|---|---:|"
	echo "| put (first routing) | $put_rate |"
	echo "| replay | $replay_rate |"
	echo "| ratio replay/put (min-max) | $ratio ($range) |"
	echo
	echo "<details><summary>Every round</summary>"
	echo
	echo "| Round | Put seconds | Replay seconds | Put events/s | Replay events/s |"
	echo "|---:|---:|---:|---:|---:|"
	awk -F'\t' -v n="$EVENTS" '{ printf "| %s | %.2f | %.2f | %.0f | %.0f |\n", $1, $2, $3, n / $2, n / $3 }' "$RUNS"
	echo
	echo "</details>"
} >"$EB_TMP/report.md"

bench_write_report
bench_exit 0
