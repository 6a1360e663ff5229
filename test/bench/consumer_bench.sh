#!/usr/bin/env bash
# Consumer benchmark: receive() + ack() throughput against the classic
# SKIP LOCKED queue, with 1, 4 and 16 concurrent consumers.
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster, makes a rule whose queue target is queue "bench" and
# pre-fills it by inserting EB_BENCH_MESSAGES events (~1 KB of detail each)
# into eventbus.events: the routing trigger writes one outbox row per event
# (payload NULL: receive() reads the event's envelope from eventbus.events).
#
# Each run is pgbench (-n -M prepared) with C clients, each running a fixed
# number of transactions so that every run consumes EB_BENCH_PER_RUN
# messages (the queue never runs dry).  Scripts:
#   eventbus   SELECT coalesce(array_agg(message_id), '{}') AS ids, count(payload) AS n
#                FROM eventbus.receive('bench', 10, 30) \gset
#              SELECT eventbus.ack('bench', :ids::bigint[]);
#              (two transactions: receive, then ack, as a consumer does)
#   baseline   DELETE FROM <outbox> WHERE message_id IN
#                (SELECT message_id FROM <outbox> ORDER BY message_id
#                 FOR UPDATE SKIP LOCKED LIMIT 10)
#              RETURNING message_id, event_id, payload;
#              (one transaction, on the same outbox table)
# After every run the queue is topped up to EB_BENCH_MESSAGES (and events no
# message refers to any more are deleted, so eventbus.events stays the same
# size), every message made visible again, the outbox and events vacuumed,
# and a CHECKPOINT taken.  Every round runs, for each client count, the
# baseline and then eventbus.  Reported: medians over rounds of messages/s
# and of the per-pair ratios.
#
#   EB_SKIP_BUILD=1 bash test/bench/consumer_bench.sh
#
# Settings (environment):
#   EB_BENCH_MESSAGES  messages in the queue at the start of each run (default 200000)
#   EB_BENCH_PER_RUN   messages consumed by each run                  (default 150000)
#   EB_BENCH_CLIENTS   consumer counts, space-separated               (default "1 4 16")
#   EB_BENCH_ROUNDS    rounds                                         (default 3, at least 3)
#   EB_BENCH_PERF=C    perf record the last round's eventbus run with C clients,
#                      report in test/bench/results/consumer_perf_C.txt
#   EB_KEEP=1          keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/consumer_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

MESSAGES=${EB_BENCH_MESSAGES:-200000}
PER_RUN=${EB_BENCH_PER_RUN:-150000}
CLIENT_COUNTS=${EB_BENCH_CLIENTS:-"1 4 16"}
ROUNDS=${EB_BENCH_ROUNDS:-3}
[ "$ROUNDS" -ge 3 ] || ROUNDS=3
PERF_CLIENTS=${EB_BENCH_PERF:-}
BATCH=10
RESULTS=$RESULTS_DIR/consumer_bench.md

if [ "$PER_RUN" -ge "$MESSAGES" ]; then
	echo "EB_BENCH_PER_RUN must be below EB_BENCH_MESSAGES" >&2
	exit 1
fi

eb_prepare
# What was measured: the commit, and when the library was installed.
BUILD=$(bench_build)
# perf resolves the extension's symbols by build id: keep a copy of the
# library the cluster loads, in case it is reinstalled during the run.
[ -z "$PERF_CLIENTS" ] || perf_keep_symbols
bench_cluster_start "${BENCH_CONF[@]}" \
	"max_connections = 100"

eb_log "setting up"
psql_q <<SQL >/dev/null
CREATE EXTENSION eventbus;
$BENCH_PARTITIONS_SQL
SELECT eventbus.put_rule('bench', '{"source": ["com.example.bench"]}');
SELECT eventbus.put_targets('bench', '[{"Id": "q", "Arn": "queue:bench"}]');
CREATE SCHEMA bench;
$BENCH_DETAIL_SQL
-- Tops the queue up to n messages; drops the events no message refers to;
-- makes every message visible and unreceived again.
CREATE FUNCTION bench.refill(n bigint) RETURNS bigint
LANGUAGE plpgsql AS \$\$
DECLARE
    have bigint;
BEGIN
    DELETE FROM eventbus.events e
     WHERE NOT EXISTS (SELECT FROM eventbus_outbox.queue_bench o
                        WHERE o.event_id = e.id AND o.event_ingestion_time = e.ingestion_time);
    UPDATE eventbus_outbox.queue_bench
       SET visible_at = enqueued_at, receive_count = 0, first_attempt_at = NULL, last_attempt_at = NULL
     WHERE receive_count > 0 OR visible_at > enqueued_at;
    SELECT count(*) INTO have FROM eventbus_outbox.queue_bench;
    INSERT INTO eventbus.events (source, detail_type, detail)
    SELECT 'com.example.bench', 'Order Shipped', d.d || jsonb_build_object('seq', i)
      FROM generate_series(1, n - have) AS i, bench.detail d;
    RETURN n - have;
END;
\$\$;
SQL
OUTBOX=$(psql_q -c "SELECT outbox FROM eventbus.queues WHERE name = 'bench'")
[ "$OUTBOX" = "eventbus_outbox.queue_bench" ] || { eb_log "unexpected outbox $OUTBOX"; exit 1; }

refill() {
	psql_q -c "SELECT bench.refill($MESSAGES)" -c "VACUUM ANALYZE $OUTBOX" \
		-c "VACUUM ANALYZE eventbus.events" -c "CHECKPOINT" | head -1
}
count_queue() { psql_q -c "SELECT count(*) FROM $OUTBOX"; }

eb_log "pre-filling $MESSAGES messages"
fill_start=$(date +%s)
refill >/dev/null
eb_log "filled in $(($(date +%s) - fill_start)) s: $(count_queue) messages, events $(psql_q -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('eventbus.events')"), outbox $(psql_q -c "SELECT pg_size_pretty(pg_total_relation_size('$OUTBOX'))")"

SCRIPTS=$EB_TMP/scripts
mkdir -p "$SCRIPTS"
chmod 755 "$SCRIPTS"
cat >"$SCRIPTS/eventbus.sql" <<SQL
SELECT coalesce(array_agg(message_id), '{}') AS ids, count(payload) AS n FROM eventbus.receive('bench', $BATCH, 30) \\gset
SELECT eventbus.ack('bench', :ids::bigint[]);
SQL
BASELINE_SQL="DELETE FROM $OUTBOX WHERE message_id IN (SELECT message_id FROM $OUTBOX ORDER BY message_id FOR UPDATE SKIP LOCKED LIMIT $BATCH) RETURNING message_id, event_id, payload"
echo "$BASELINE_SQL;" >"$SCRIPTS/baseline.sql"

# The baseline must be an index scan, not a scan of the whole outbox.
PLAN=$(psql_q -c "EXPLAIN (COSTS OFF) $BASELINE_SQL")
if grep -q 'Seq Scan' <<<"$PLAN"; then
	eb_log "the baseline's plan scans the whole outbox:"
	echo "$PLAN" >&2
	exit 1
fi

# A receive returns the envelope.
got=$(psql_q -c "BEGIN" -c "SELECT payload->>'detail-type' FROM eventbus.receive('bench', 1, 30)" -c "ROLLBACK")
[ "$got" = "Order Shipped" ] || { eb_log "receive returned '$got'"; exit 1; }

# run_pgbench KIND CLIENTS: prints "tx tps consumed"
run_pgbench() {
	local kind=$1 c=$2 per_client before after out
	per_client=$(((PER_RUN + BATCH * c - 1) / (BATCH * c)))
	before=$(count_queue)
	out=$(bench_pgbench -c "$c" -j "$c" -t "$per_client" -f "$SCRIPTS/$kind.sql") || return 1
	after=$(count_queue)
	echo "$(pgbench_tx_tps <<<"$out") $((before - after))"
}

RUNS=$EB_TMP/runs.tsv	# round, clients, kind, tx, tps, consumed
: >"$RUNS"
eb_log "timing $ROUNDS rounds; client counts: $CLIENT_COUNTS; $PER_RUN messages per run"
bench_start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $CLIENT_COUNTS; do
		for kind in baseline eventbus; do
			refill >/dev/null
			if [ "$kind" = eventbus ] && [ "$c" = "$PERF_CLIENTS" ] && [ "$r" -eq "$ROUNDS" ] && command -v perf >/dev/null; then
				run_pgbench "$kind" "$c" >"$EB_TMP/perf_run.out" &
				pg_pid=$!
				perf_backends "$EB_TMP/perf.data" 1 5
				wait "$pg_pid" || exit 1
				out=$(cat "$EB_TMP/perf_run.out")
			else
				out=$(run_pgbench "$kind" "$c") || exit 1
			fi
			read -r tx tps consumed <<<"$out"
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$kind" "$tx" "$tps" "$consumed" >>"$RUNS"
			eb_log "round $r, $c clients, $kind: $(awk -v tx="$tx" -v tps="$tps" -v m="$consumed" 'BEGIN { printf "%.0f messages/s (%d messages in %.1f s)", m / (tx / tps), m, tx / tps }')"
		done
	done
done
eb_log "timed in $(($(date +%s) - bench_start)) s"

if [ -n "$PERF_CLIENTS" ] && [ -f "$EB_TMP/perf.data" ]; then
	mkdir -p "$RESULTS_DIR"
	perf_report_backends "$EB_TMP/perf.data" "the last round's eventbus run with $PERF_CLIENTS clients" 50 >"$RESULTS_DIR/consumer_perf_$PERF_CLIENTS.txt"
	eb_log "perf report in $RESULTS_DIR/consumer_perf_$PERF_CLIENTS.txt"
fi

# Each transaction of a run must have consumed a full batch.
bad=$(awk -F'\t' -v b="$BATCH" '$6 != $4 * b' "$RUNS")
if [ -n "$bad" ]; then
	eb_log "WARNING: runs where messages consumed != transactions x $BATCH:"
	echo "$bad" >&2
fi

# messages/s of each run of KIND with C clients
rates_of() { awk -F'\t' -v k="$1" -v c="$2" '$3 == k && $2 == c { print $6 / ($4 / $5) }' "$RUNS"; }
ratios_of() {
	awk -F'\t' -v c="$1" '$2 == c && $3 == "baseline" { b[$1] = $6 / ($4 / $5) }
	                      $2 == c && $3 == "eventbus" { e[$1] = $6 / ($4 / $5) }
	                      END { for (r in e) print e[r] / b[r] }' "$RUNS"
}

bench_machine
{
	echo "### Consumer benchmark"
	echo
	echo "Build: $BUILD."
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, shared_buffers 1GB, autovacuum on."
	echo "Queue \"bench\" holds $MESSAGES messages at the start of every run (events of ~1 KB of detail routed by"
	echo "a rule; the outbox rows reference the events, payload NULL); each run consumes $PER_RUN of them"
	echo "(pgbench -M prepared, fixed transactions per client). Medians of $ROUNDS rounds; each round runs the"
	echo "baseline, then eventbus, for each client count; the ratio is the median of the per-pair ratios."
	echo
	echo "- eventbus: \`eventbus.receive('bench', $BATCH, 30)\` (returns the envelope, built from eventbus.events), then"
	echo "  \`eventbus.ack('bench', ids)\`: two transactions per batch"
	echo "- baseline: \`DELETE FROM <outbox> WHERE message_id IN (SELECT message_id FROM <outbox> ORDER BY message_id"
	echo "  FOR UPDATE SKIP LOCKED LIMIT $BATCH) RETURNING message_id, event_id, payload\`: one transaction per batch,"
	echo "  payload NULL (no envelope)"
	echo
	echo "| Consumers | Baseline messages/s | eventbus messages/s | Ratio (min-max) | eventbus batches/s |"
	echo "|---:|---:|---:|---:|---:|"
	for c in $CLIENT_COUNTS; do
		b=$(rates_of baseline "$c" | median_of)
		e=$(rates_of eventbus "$c" | median_of)
		ratio=$(ratios_of "$c" | median_of)
		range=$(ratios_of "$c" | range_of)
		awk -v c="$c" -v b="$b" -v e="$e" -v r="$ratio" -v rg="$range" -v k="$BATCH" \
			'BEGIN { printf "| %d | %.0f | %.0f | **%.2f** (%s) | %.0f |\n", c, b, e, r, rg, e / k }'
	done
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo "| Round | Consumers | Run | Transactions | Seconds | Messages | Messages/s |"
	echo "|---:|---:|---|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %.2f | %s | %.0f |\n", $1, $2, $3, $4, $4 / $5, $6, $6 / ($4 / $5) }' "$RUNS"
	echo
	echo "</details>"
} >"$EB_TMP/report.md"

bench_write_report
bench_exit 0
