#!/usr/bin/env bash
# FIFO queue benchmark: receive() + ack() throughput of FIFO queues with 1
# and with 1,000 message groups, against a standard queue in the same run,
# with 1 and 4 concurrent consumers.
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster and makes three queues, each fed by a rule of its own
# from events of ~1 KB of detail (the outbox rows reference the events):
#   standard  a standard queue
#   fifo_1    a FIFO queue, SqsParameters {"MessageGroupId": "g"}: one group
#   fifo_1000 a FIFO queue, {"MessageGroupId": "$.detail.grp"}, grp = seq % 1000
# (the FIFO queues deduplicate by event id, as by default).  Each run is
# pgbench -T EB_BENCH_SECONDS with C clients running
#   SELECT coalesce(array_agg(message_id), '{}') AS ids FROM eventbus.receive(<queue>, 10, 30) \gset
#   SELECT eventbus.ack(<queue>, :ids::bigint[]);
# and counts the messages consumed (before - after).  With one group, only
# one consumer at a time holds it: the others' receives come back empty.
# Before every run the queue is topped up to EB_BENCH_MESSAGES, every
# message made visible and unreceived again, and the outbox and events
# vacuumed.  Every round runs, for each client count, standard, fifo_1 and
# fifo_1000.  Reported: medians over rounds of messages/s, and the ratio
# to the standard queue (median of the per-round ratios).
#
#   EB_SKIP_BUILD=1 bash test/bench/fifo_bench.sh
#
# Settings (environment):
#   EB_BENCH_MESSAGES  messages in the queue at the start of each run (default 100000)
#   EB_BENCH_SECONDS   seconds per run                                (default 5)
#   EB_BENCH_CLIENTS   consumer counts, space-separated               (default "1 4")
#   EB_BENCH_ROUNDS    rounds                                         (default 3)
#   EB_KEEP=1          keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/fifo_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

MESSAGES=${EB_BENCH_MESSAGES:-100000}
SECONDS_PER_RUN=${EB_BENCH_SECONDS:-5}
CLIENT_COUNTS=${EB_BENCH_CLIENTS:-"1 4"}
ROUNDS=${EB_BENCH_ROUNDS:-3}
BATCH=10
QUEUES="standard fifo_1 fifo_1000"
RESULTS=$RESULTS_DIR/fifo_bench.md

eb_prepare
BUILD=$(bench_build)
bench_cluster_start "${BENCH_CONF[@]}" "max_connections = 100"

eb_log "setting up"
psql_q <<SQL >/dev/null
CREATE EXTENSION eventbus;
$BENCH_PARTITIONS_SQL
SELECT eventbus.create_queue('standard');
SELECT eventbus.create_queue('fifo_1', fifo => true);
SELECT eventbus.create_queue('fifo_1000', fifo => true);
SELECT eventbus.put_rule(q, jsonb_build_object('source', jsonb_build_array('bench.' || q)))
  FROM unnest(ARRAY['standard', 'fifo_1', 'fifo_1000']) q;
SELECT eventbus.put_targets('standard', '[{"Id": "q", "Arn": "queue:standard"}]');
SELECT eventbus.put_targets('fifo_1', '[{"Id": "q", "Arn": "queue:fifo_1", "SqsParameters": {"MessageGroupId": "g"}}]');
SELECT eventbus.put_targets('fifo_1000', '[{"Id": "q", "Arn": "queue:fifo_1000", "SqsParameters": {"MessageGroupId": "\$.detail.grp"}}]');
CREATE SCHEMA bench;
$BENCH_DETAIL_SQL
-- Tops queue q up to n messages; drops the events no message of q refers
-- to; makes every message visible and unreceived again.
CREATE FUNCTION bench.refill(q text, n bigint) RETURNS bigint
LANGUAGE plpgsql AS \$\$
DECLARE
    outbox regclass := (SELECT x.outbox FROM eventbus.queues x WHERE x.name = q);
    have bigint;
BEGIN
    EXECUTE format('DELETE FROM eventbus.events e WHERE e.source = %L AND NOT EXISTS (SELECT FROM %s o
                     WHERE o.event_id = e.id AND o.event_ingestion_time = e.ingestion_time)', 'bench.' || q, outbox);
    EXECUTE format('UPDATE %s SET visible_at = enqueued_at, receive_count = 0, first_attempt_at = NULL, last_attempt_at = NULL
                     WHERE receive_count > 0 OR visible_at > enqueued_at', outbox);
    EXECUTE format('SELECT count(*) FROM %s', outbox) INTO have;
    INSERT INTO eventbus.events (source, detail_type, detail)
    SELECT 'bench.' || q, 'Order Shipped', d.d || jsonb_build_object('seq', i, 'grp', i % 1000)
      FROM generate_series(1, n - have) AS i, bench.detail d;
    RETURN n - have;
END;
\$\$;
SQL

refill() {
	psql_q -c "SELECT bench.refill('$1', $MESSAGES)" -c "VACUUM ANALYZE eventbus_outbox.queue_$1" \
		-c "VACUUM ANALYZE eventbus.events" -c "VACUUM eventbus.deduplication" -c "CHECKPOINT" | head -1
}

eb_log "pre-filling $MESSAGES messages per queue"
for q in $QUEUES; do refill "$q" >/dev/null; done
psql_q -c "SELECT count(DISTINCT message_group_id) FROM eventbus_outbox.queue_fifo_1000" | grep -qx 1000 ||
	{ eb_log "fifo_1000 does not have 1000 groups"; exit 1; }

SCRIPTS=$EB_TMP/scripts
mkdir -p "$SCRIPTS"
chmod 755 "$SCRIPTS"
for q in $QUEUES; do
	cat >"$SCRIPTS/$q.sql" <<SQL
SELECT coalesce(array_agg(message_id), '{}') AS ids FROM eventbus.receive('$q', $BATCH, 30) \\gset
SELECT eventbus.ack('$q', :ids::bigint[]);
SQL
done

# The FIFO queues keep order: one consumer, one group, message ids ascending.
got=$(psql_q -c "BEGIN" -c "SELECT string_agg((message_id > lag)::text, ',') FROM (SELECT message_id, lag(message_id, 1, 0::bigint) OVER (ORDER BY message_id) FROM eventbus.receive('fifo_1', 10, 30)) x" -c "ROLLBACK")
[ "$got" = "true,true,true,true,true,true,true,true,true,true" ] || { eb_log "fifo_1 receive returned '$got'"; exit 1; }

RUNS=$EB_TMP/runs.tsv	# round, clients, queue, consumed, seconds, transactions
: >"$RUNS"
eb_log "timing $ROUNDS rounds; client counts: $CLIENT_COUNTS; $SECONDS_PER_RUN s per run"
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $CLIENT_COUNTS; do
		for q in $QUEUES; do
			refill "$q" >/dev/null
			out=$(bench_consume_timed "$SCRIPTS/$q.sql" "$c" "$SECONDS_PER_RUN" \
				"SELECT count(*) FROM eventbus_outbox.queue_$q") || exit 1
			read -r consumed secs tx <<<"$out"
			[ "$consumed" -lt "$MESSAGES" ] || eb_log "WARNING: $q ran dry with $c clients: raise EB_BENCH_MESSAGES"
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$q" "$consumed" "$secs" "$tx" >>"$RUNS"
			eb_log "round $r, $c clients, $q: $(awk -v m="$consumed" -v s="$secs" 'BEGIN { printf "%.0f messages/s (%d in %.1f s)", m / s, m, s }')"
		done
	done
done

rates_of() { awk -F'\t' -v q="$1" -v c="$2" '$3 == q && $2 == c { print $4 / $5 }' "$RUNS"; }
ratios_of() {
	awk -F'\t' -v q="$1" -v c="$2" '$2 == c && $3 == "standard" { b[$1] = $4 / $5 }
	                               $2 == c && $3 == q { e[$1] = $4 / $5 }
	                               END { for (r in e) print e[r] / b[r] }' "$RUNS"
}

bench_machine
{
	echo "### FIFO queue benchmark"
	echo
	echo "Build: $BUILD."
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, shared_buffers 1GB, autovacuum on."
	echo "Each queue holds $MESSAGES messages at the start of every run (events of ~1 KB of detail routed by a rule;"
	echo "payload NULL); each run is pgbench -T $SECONDS_PER_RUN of \`receive(<queue>, $BATCH, 30)\` then \`ack\`"
	echo "(two transactions per batch). Medians of $ROUNDS rounds; the ratio is to the standard queue in the same round."
	echo
	echo "| Consumers | Queue | Messages/s | Ratio to standard (min-max) |"
	echo "|---:|---|---:|---:|"
	for c in $CLIENT_COUNTS; do
		for q in $QUEUES; do
			e=$(rates_of "$q" "$c" | median_of)
			ratio=$(ratios_of "$q" "$c" | median_of)
			range=$(ratios_of "$q" "$c" | range_of)
			awk -v c="$c" -v q="$q" -v e="$e" -v r="$ratio" -v rg="$range" \
				'BEGIN { printf "| %d | %s | %.0f | %.2f (%s) |\n", c, q, e, r, rg }'
		done
	done
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo "| Round | Consumers | Queue | Messages | Seconds | Transactions | Messages/s |"
	echo "|---:|---:|---|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %.2f | %s | %.0f |\n", $1, $2, $3, $4, $5, $6, $4 / $5 }' "$RUNS"
	echo
	echo "</details>"
} >"$EB_TMP/report.md"

bench_write_report
bench_exit 0
