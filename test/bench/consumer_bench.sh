#!/usr/bin/env bash
# Consumer benchmark: receive() + ack() throughput against the classic
# SKIP LOCKED queue and against pgmq (the peer), with 1, 4 and 16
# concurrent consumers.
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
#   pgmq       SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(message) AS n
#                FROM pgmq.read('bench', 30, 10) \gset
#              SELECT count(*) FROM pgmq.delete('bench', :ids::bigint[]);
#              (two transactions, as eventbus; read is pgmq's SKIP LOCKED
#              claim) on pgmq queue "bench", holding as many messages, each
#              the JSON of an eventbus envelope of the same events (~1.3 KB)
#
# pgmq is SQL only, and none of its code is in this repository: the
# benchmark loads its install script (into schema pgmq, without CREATE
# EXTENSION) at run time, from the file EB_PGMQ_SQL, or else from
# pgmq-extension/sql/pgmq.sql at HEAD of a snapshot of github.com/pgmq/pgmq,
# a git directory (EB_PGMQ_REPO, default /work/.mirror/pgmq+pgmq/repo: the
# search tool's `fetch` of github:pgmq/pgmq makes it; a clone of the
# repository does as well).  Without either, the pgmq runs are skipped and
# the report says so.
# After every run the queue is topped up to EB_BENCH_MESSAGES (and events no
# message refers to any more are deleted, so eventbus.events stays the same
# size), every message made visible again, the outbox and events vacuumed,
# and a CHECKPOINT taken (the pgmq queue likewise).  Every round runs, for
# each client count, the baseline, then eventbus, then pgmq.  Reported:
# medians over rounds of messages/s and of the per-round ratios
# (eventbus / the baseline run just before it, eventbus / the pgmq run just
# after it), and the issue's goals (eventbus >= 1.0x the baseline with 1
# and 4 consumers, >= 2.5x pgmq).
#
#   EB_SKIP_BUILD=1 bash test/bench/consumer_bench.sh
#
# Settings (environment):
#   EB_BENCH_MESSAGES  messages in the queue at the start of each run (default 200000)
#   EB_BENCH_PER_RUN   messages consumed by each run                  (default 150000)
#   EB_BENCH_CLIENTS   consumer counts, space-separated               (default "1 4 16")
#   EB_BENCH_ROUNDS    rounds                                         (default 3, at least 3)
#   EB_BENCH_PGMQ=0    skip the pgmq runs
#   EB_PGMQ_SQL        pgmq's install script (pgmq-extension/sql/pgmq.sql)
#   EB_PGMQ_REPO       a git snapshot of github.com/pgmq/pgmq (when EB_PGMQ_SQL is unset)
#   EB_BENCH_STRICT    exit 1 when a goal is missed (default: report only)
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
PGMQ=${EB_BENCH_PGMQ:-1}
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

# pgmq, the peer: its SQL loaded into schema pgmq, queue "bench".  Its
# messages are the envelopes eventbus's receive() returns for the same
# events (one taken here; each message gets its own id and seq).
PGMQ_SKIPPED="" PGMQ_TABLE=""
[ "$PGMQ" = 1 ] || PGMQ_SKIPPED="not run (EB_BENCH_PGMQ=0)"
if [ "$PGMQ" = 1 ]; then
	if bench_pgmq_sql "$EB_TMP/pgmq.sql"; then
		bench_load_pgmq "$EB_TMP/pgmq.sql"
		psql_q <<'SQL' >/dev/null
SELECT pgmq.create('bench');
INSERT INTO eventbus.events (source, detail_type, detail)
SELECT 'com.example.bench', 'Order Shipped', d.d || jsonb_build_object('seq', 0) FROM bench.detail d;
CREATE TABLE bench.envelope AS SELECT payload AS p FROM eventbus.receive('bench', 1, 30);
-- Tops pgmq's queue up to n messages (pgmq.send_batch, 10,000 a call);
-- makes every message visible and unread again.
CREATE FUNCTION bench.pgmq_refill(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    have bigint;
    k bigint;
BEGIN
    UPDATE pgmq.q_bench SET vt = enqueued_at, read_ct = 0 WHERE read_ct > 0 OR vt > enqueued_at;
    SELECT count(*) INTO have FROM pgmq.q_bench;
    FOR k IN SELECT generate_series(have, n - 1, 10000) LOOP
        PERFORM pgmq.send_batch('bench', ARRAY(
            SELECT e.p || jsonb_build_object('id', gen_random_uuid()::text, 'detail', d.d || jsonb_build_object('seq', i))
              FROM generate_series(k, least(k + 10000, n) - 1) AS i, bench.envelope e, bench.detail d));
    END LOOP;
    RETURN n - have;
END;
$$;
SQL
		[ "$(psql_q -c "SELECT count(*) FROM bench.envelope")" = 1 ] || { eb_log "no envelope received for pgmq's messages"; exit 1; }
		PGMQ_TABLE=pgmq.q_bench
	else
		PGMQ=0
		PGMQ_SKIPPED="not run: pgmq's SQL not found (set EB_PGMQ_SQL to pgmq-extension/sql/pgmq.sql of github.com/pgmq/pgmq, or EB_PGMQ_REPO to a git snapshot of it)"
	fi
fi

refill() {
	psql_q -c "SELECT bench.refill($MESSAGES)" -c "VACUUM ANALYZE $OUTBOX" \
		-c "VACUUM ANALYZE eventbus.events" \
		${PGMQ_TABLE:+-c "SELECT bench.pgmq_refill($MESSAGES)" -c "VACUUM ANALYZE $PGMQ_TABLE"} \
		-c "CHECKPOINT" | sed -n 1p
}
# count_queue [KIND]: messages in eventbus's queue (or pgmq's)
count_queue() {
	if [ "${1:-}" = pgmq ]; then
		psql_q -c "SELECT count(*) FROM $PGMQ_TABLE"
	else
		psql_q -c "SELECT count(*) FROM $OUTBOX"
	fi
}

eb_log "pre-filling $MESSAGES messages"
fill_start=$(date +%s)
refill >/dev/null
eb_log "filled in $(($(date +%s) - fill_start)) s: $(count_queue) messages, events $(psql_q -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('eventbus.events')"), outbox $(psql_q -c "SELECT pg_size_pretty(pg_total_relation_size('$OUTBOX'))")"
ENVELOPE_BYTES=$(psql_q -c "BEGIN" -c "SELECT round(avg(octet_length(payload::text))) FROM eventbus.receive('bench', 10, 30)" -c "ROLLBACK")
if [ "$PGMQ" = 1 ]; then
	PGMQ_BYTES=$(psql_q -c "SELECT round(avg(octet_length(message::text))) FROM (SELECT message FROM $PGMQ_TABLE LIMIT 1000) s")
	eb_log "pgmq queue: $(count_queue pgmq) messages, $(psql_q -c "SELECT pg_size_pretty(pg_total_relation_size('$PGMQ_TABLE'))"); message $PGMQ_BYTES bytes, eventbus envelope $ENVELOPE_BYTES bytes"
fi

SCRIPTS=$EB_TMP/scripts
mkdir -p "$SCRIPTS"
chmod 755 "$SCRIPTS"
cat >"$SCRIPTS/eventbus.sql" <<SQL
SELECT coalesce(array_agg(message_id), '{}') AS ids, count(payload) AS n FROM eventbus.receive('bench', $BATCH, 30) \\gset
SELECT eventbus.ack('bench', :ids::bigint[]);
SQL
BASELINE_SQL="DELETE FROM $OUTBOX WHERE message_id IN (SELECT message_id FROM $OUTBOX ORDER BY message_id FOR UPDATE SKIP LOCKED LIMIT $BATCH) RETURNING message_id, event_id, payload"
echo "$BASELINE_SQL;" >"$SCRIPTS/baseline.sql"
cat >"$SCRIPTS/pgmq.sql" <<SQL
SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(message) AS n FROM pgmq.read('bench', 30, $BATCH) \\gset
SELECT count(*) FROM pgmq.delete('bench', :ids::bigint[]);
SQL
KINDS="baseline eventbus"
[ "$PGMQ" = 1 ] && KINDS="$KINDS pgmq"

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
	before=$(count_queue "$kind")
	out=$(bench_pgbench -c "$c" -j "$c" -t "$per_client" -f "$SCRIPTS/$kind.sql") || return 1
	after=$(count_queue "$kind")
	echo "$(pgbench_tx_tps <<<"$out") $((before - after))"
}

RUNS=$EB_TMP/runs.tsv	# round, clients, kind, tx, tps, consumed
: >"$RUNS"
eb_log "timing $ROUNDS rounds; client counts: $CLIENT_COUNTS; $PER_RUN messages per run"
bench_start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $CLIENT_COUNTS; do
		for kind in $KINDS; do
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
# ratios_of C [NUM [DEN]]: per-round ratios NUM / DEN (default eventbus /
# baseline) of the runs with C clients
ratios_of() {
	awk -F'\t' -v c="$1" -v num="${2:-eventbus}" -v den="${3:-baseline}" \
		'$2 == c && $3 == den { b[$1] = $6 / ($4 / $5) }
		 $2 == c && $3 == num { e[$1] = $6 / ($4 / $5) }
		 END { for (r in e) if (r in b) print e[r] / b[r] }' "$RUNS"
}
# goal_check RATIO GOAL: "ok >= GOAL" or "MISSED >= GOAL"
goal_check() {
	if awk -v r="$1" -v g="$2" 'BEGIN { exit !(r + 0 >= g) }'; then
		echo "ok >= $2"
	else
		echo "MISSED >= $2"
	fi
}
missed=0

bench_machine
{
	echo "### Consumer benchmark"
	echo
	echo "Build: $BUILD."
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, shared_buffers 1GB, autovacuum on."
	echo "Queue \"bench\" holds $MESSAGES messages at the start of every run (events of ~1 KB of detail routed by"
	echo "a rule; the outbox rows reference the events, payload NULL); each run consumes $PER_RUN of them"
	echo "(pgbench -M prepared, fixed transactions per client). Medians of $ROUNDS rounds; each round runs the"
	if [ "$PGMQ" = 1 ]; then
		echo "baseline, then eventbus, then pgmq, for each client count; ratios are medians of the per-round ratios."
	else
		echo "baseline, then eventbus, for each client count; the ratio is the median of the per-pair ratios."
	fi
	echo
	echo "- eventbus: \`eventbus.receive('bench', $BATCH, 30)\` (returns the envelope, built from eventbus.events), then"
	echo "  \`eventbus.ack('bench', ids)\`: two transactions per batch"
	echo "- baseline: \`DELETE FROM <outbox> WHERE message_id IN (SELECT message_id FROM <outbox> ORDER BY message_id"
	echo "  FOR UPDATE SKIP LOCKED LIMIT $BATCH) RETURNING message_id, event_id, payload\`: one transaction per batch,"
	echo "  payload NULL (no envelope)"
	if [ "$PGMQ" = 1 ]; then
		echo "- pgmq: \`pgmq.read('bench', 30, $BATCH)\` (its SKIP LOCKED claim: UPDATE of vt and read_ct), then"
		echo "  \`pgmq.delete('bench', ids)\`: two transactions per batch, on pgmq queue \"bench\" (pgmq.q_bench) holding"
		echo "  $MESSAGES messages too, each the JSON of an eventbus envelope of the same kind of event ($PGMQ_BYTES bytes;"
		echo "  eventbus's envelopes: $ENVELOPE_BYTES bytes). pgmq loaded from its SQL (schema pgmq, no CREATE EXTENSION):"
		echo "  $PGMQ_FROM"
	else
		echo "- pgmq: $PGMQ_SKIPPED"
	fi
	echo
	echo "| Consumers | Baseline messages/s | eventbus messages/s | pgmq messages/s | eventbus / baseline (min-max) | Goal | eventbus / pgmq (min-max) | Goal | pgmq / baseline | eventbus batches/s |"
	echo "|---:|---:|---:|---:|---:|---|---:|---|---:|---:|"
	for c in $CLIENT_COUNTS; do
		b=$(rates_of baseline "$c" | median_of)
		e=$(rates_of eventbus "$c" | median_of)
		ratio=$(ratios_of "$c" | median_of)
		range=$(ratios_of "$c" | range_of)
		g1=
		if [ "$c" = 1 ] || [ "$c" = 4 ]; then g1=$(goal_check "$ratio" 1.0); fi
		[[ $g1 != MISSED* ]] || missed=$((missed + 1))
		if [ "$PGMQ" = 1 ]; then
			q=$(rates_of pgmq "$c" | median_of %.0f)
			pr=$(ratios_of "$c" eventbus pgmq | median_of %.2f)
			pq="**$pr** ($(ratios_of "$c" eventbus pgmq | range_of))"
			g2=$(goal_check "$pr" 2.5)
			[[ $g2 != MISSED* ]] || missed=$((missed + 1))
			qb=$(ratios_of "$c" pgmq baseline | median_of %.2f)
		else
			q=- pq=- g2="" qb=-
		fi
		awk -v c="$c" -v b="$b" -v e="$e" -v r="$ratio" -v rg="$range" -v k="$BATCH" -v g1="$g1" \
			-v q="$q" -v pq="$pq" -v g2="$g2" -v qb="$qb" \
			'BEGIN { printf "| %d | %.0f | %.0f | %s | **%.2f** (%s) | %s | %s | %s | %s | %.0f |\n", c, b, e, q, r, rg, g1, pq, g2, qb, e / k }'
	done
	echo
	echo "Goals (issue 10): receive + ack at >= 1.0x the bare SKIP LOCKED DELETE with 1 and with 4 consumers, and"
	echo ">= 2.5x pgmq's read + delete in the same run. Ratios are per round (eventbus / the baseline run just"
	echo "before it; eventbus / the pgmq run just after it), medians over rounds."
	if [ "$missed" -eq 0 ]; then echo "All goals met."; else echo "Goals missed: $missed."; fi
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
bench_exit "$missed"
