#!/usr/bin/env bash
# Benchmark of pattern queries over stored events: how much the index
# conditions that event_matches' planner support function derives
# (src/pattern_support.c) save, against the same query matching every row
# (eventbus.pattern_index_conditions = off).
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster, and loads EB_BENCH_EVENTS events (default 5,000,000)
# on bus "hist" (no rules) over five daily partitions with one INSERT ...
# SELECT into eventbus.events, the partitions' GIN indexes on detail
# dropped during the load and made again after it (as a bulk load would),
# then VACUUM ANALYZE.  Each event's detail is ~250 bytes:
#   {"order-id": "ORD-<i>", "customer": {"id": "C-<i mod 10000>", "tier": ...},
#    "parity": "even"|"odd", "status": ..., "amount": ...,
#    "items": [{"sku": "SKU-<i mod 1000>", "qty": ...}]}
# and times, round after round (EB_BENCH_ROUNDS, default 3), each pattern
# with the conditions (on) and without (off):
#   SELECT count(*) FROM eventbus.events e
#    WHERE e.bus = 'hist' AND e.ingestion_time >= <first day>
#      AND e.ingestion_time < <day after the last>
#      AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) '<pattern>'
# on one backend, no parallel query, no JIT.  Reported: medians in ms and
# the ratio off / on.
#
#   EB_SKIP_BUILD=1 bash test/bench/history_query_bench.sh
#
# Goals: a selective pattern (at most 0.1% of the rows) >= 100x faster with
# the conditions; an unselective one (half the rows) never slower (on /
# off <= 1.05, the noise allowed).
#
# Settings (environment):
#   EB_BENCH_EVENTS   events loaded                  (default 5000000)
#   EB_BENCH_ROUNDS   timed rounds                   (default 3, at least 3)
#   EB_BENCH_STRICT   exit 1 when a goal is missed   (default: report only)
#   EB_KEEP=1         keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/history_query_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

EVENTS=${EB_BENCH_EVENTS:-5000000}
ROUNDS=${EB_BENCH_ROUNDS:-3}
[ "$ROUNDS" -ge 3 ] || ROUNDS=3
RESULTS=$RESULTS_DIR/history_query_bench.md

GOAL_SELECTIVE=100				# off / on, selective patterns
GOAL_UNSELECTIVE=1.05			# on / off at most, unselective patterns

# kind, name, pattern (tab-separated); kind "selective" or "unselective"
PATTERNS=$(cat <<'EOF'
selective	customer (0.01%)	{"detail":{"customer":{"id":["C-00042"]}}}
selective	sku (0.1%)	{"detail":{"items":{"sku":["SKU-42"]}}}
selective	order-id or order-id (2 rows)	{"detail":{"$or":[{"order-id":["ORD-000001234"]},{"order-id":["ORD-004321000"]}]}}
unselective	parity (50%)	{"detail":{"parity":["even"]}}
unselective	source (20%)	{"source":["com.example.orders.3"]}
EOF
)

eb_prepare
bench_cluster_start "${BENCH_CONF[@]}" \
	"shared_buffers = '3GB'" \
	"maintenance_work_mem = '1GB'" \
	"max_parallel_workers_per_gather = 0" \
	"max_parallel_maintenance_workers = 0" \
	"autovacuum = off"

FIRST_DAY=$(date -u -d '5 days ago' +%Y-%m-%d)
END_DAY=$(date -u +%Y-%m-%d)

eb_log "loading $EVENTS events ($FIRST_DAY to $END_DAY, UTC)"
load_start=$(date +%s)
psql_q -v events="$EVENTS" -v first_day="$FIRST_DAY" <<'SQL'
CREATE EXTENSION eventbus;
SELECT eventbus.create_event_bus('hist') IS NOT NULL;
SELECT count(*) >= 0 FROM eventbus.create_event_partitions(5, :'first_day');
SET TimeZone = 'UTC';
-- the GIN indexes of the partitions loaded, dropped for the load
CREATE TEMP TABLE gin_defs AS
SELECT indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'eventbus' AND indexdef LIKE '%USING gin%'
   AND tablename IN (SELECT 'events_p' || to_char(d, 'YYYYMMDD')
                       FROM generate_series(date :'first_day', date :'first_day' + 4, '1 day') d);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT indexname FROM gin_defs LOOP
        EXECUTE format('DROP INDEX eventbus.%I', r.indexname);
    END LOOP;
END $$;
INSERT INTO eventbus.events (bus, source, detail_type, detail, "time", ingestion_time)
SELECT 'hist', 'com.example.orders.' || (i % 5), 'Order ' || (i % 10),
       jsonb_build_object(
           'order-id', 'ORD-' || lpad(i::text, 9, '0'),
           'customer', jsonb_build_object('id', 'C-' || lpad((i % 10000)::text, 5, '0'),
                                          'tier', (ARRAY['gold', 'silver', 'bronze'])[1 + i % 3]),
           'parity', CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END,
           'status', (ARRAY['placed', 'paid', 'packed', 'shipped', 'in-transit', 'delivered', 'returned',
                            'cancelled', 'refunded', 'on-hold'])[1 + (i / 7) % 10],
           'amount', (i % 100000) / 100.0,
           'items', jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (i % 1000), 'qty', 1 + i % 5))),
       t, t
  FROM generate_series(1, :events) i,
       LATERAL (SELECT timestamptz :'first_day' + ((i - 1)::float8 / :events) * interval '5 days' AS t) tt;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT indexdef FROM gin_defs LOOP
        EXECUTE r.indexdef;
    END LOOP;
END $$;
VACUUM ANALYZE eventbus.events;
SQL
LOAD_S=$(($(date +%s) - load_start))
TABLE_SIZE=$(psql_q -c "SELECT pg_size_pretty(sum(pg_table_size(relid))) FROM pg_partition_tree('eventbus.events')")
GIN_SIZE=$(psql_q -c "SELECT pg_size_pretty(sum(pg_relation_size(indexrelid))) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'gin' AND i.indrelid IN (SELECT relid FROM pg_partition_tree('eventbus.events'))")
eb_log "loaded in $LOAD_S s: table $TABLE_SIZE, GIN indexes $GIN_SIZE"

SCRIPT=$EB_TMP/history_queries.sql
TIMINGS=$EB_TMP/history_timings.tsv
{
	echo "SET TimeZone = 'UTC';"
	echo '\timing on'
	for r in $(seq 1 "$ROUNDS"); do
		while IFS=$'\t' read -r kind name pattern; do
			for mode in on off; do
				echo "SET eventbus.pattern_index_conditions = $mode;"
				printf '\\echo @@|%s|%s|%s\n' "$r" "$name" "$mode"
				echo "SELECT count(*) FROM eventbus.events e WHERE e.bus = 'hist' AND e.ingestion_time >= '$FIRST_DAY' AND e.ingestion_time < '$END_DAY' AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) \$p\$$pattern\$p\$;"
			done
		done <<<"$PATTERNS"
	done
} >"$SCRIPT"

# the plans, for the report
PLANS=$EB_TMP/plans.txt
while IFS=$'\t' read -r kind name pattern; do
	echo "-- $name: $pattern"
	psql_q -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM eventbus.events e WHERE e.bus = 'hist' AND e.ingestion_time >= '$FIRST_DAY' AND e.ingestion_time < '$END_DAY' AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) \$p\$$pattern\$p\$" \
		| grep -E 'Scan' | sed -e 's/events_p[0-9]\{8\}/events_pYYYYMMDD/g' -e 's/ e_[0-9]*$//' -e 's/^ *-> *//' \
		| sort | uniq -c | sed 's/^ */    /'
done <<<"$PATTERNS" >"$PLANS"

eb_log "timing $ROUNDS rounds of $(wc -l <<<"$PATTERNS") patterns, with and without the conditions"
bench_start=$(date +%s)
# (\echo joins its words with one space: fields are split at "|")
psql_q -f "$SCRIPT" | awk '
	/^@@\|/ { split($0, f, "|"); round = f[2]; name = f[3]; mode = f[4]; count = ""; next }
	/^Time: / && count != "" { split($0, t, " "); printf "%s\t%s\t%s\t%s\t%s\n", round, name, mode, count, t[2]; count = ""; next }
	/^[0-9]+$/ { count = $1 }
' >"$TIMINGS"
eb_log "timed in $(($(date +%s) - bench_start)) s"

expected=$((ROUNDS * $(wc -l <<<"$PATTERNS") * 2))
if [ "$(wc -l <"$TIMINGS")" -ne "$expected" ]; then
	eb_log "expected $expected timings, got $(wc -l <"$TIMINGS")"
	exit 1
fi

median() {
	awk -F'\t' -v n="$1" -v m="$2" '$2 == n && $3 == m { print $5 }' "$TIMINGS" | median_of %.1f
}

bench_machine
missed=0
{
	echo "### Pattern queries over stored events"
	echo
	echo "$EVENTS events on one bus over 5 daily partitions (table $TABLE_SIZE, GIN indexes on detail $GIN_SIZE; loaded in $LOAD_S s),"
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), one backend, no parallel query, no JIT; $(bench_build)."
	echo "Medians of $ROUNDS rounds; on = eventbus.pattern_index_conditions on (the default), off = every row matched."
	echo
	echo "| Pattern | Kind | Rows | On ms | Off ms | Off / on | Goal |"
	echo "|---|---|---:|---:|---:|---:|---|"
	while IFS=$'\t' read -r kind name pattern; do
		c=$(awk -F'\t' -v n="$name" '$2 == n { print $4 }' "$TIMINGS" | sort -u)
		if [ "$(wc -l <<<"$c")" -ne 1 ]; then
			eb_log "$name: the count differs between runs (on and off): $(tr '\n' ' ' <<<"$c")"
			exit 1
		fi
		on=$(median "$name" on)
		off=$(median "$name" off)
		line=$(awk -v name="$name" -v pat="$pattern" -v kind="$kind" -v c="$c" -v n="$EVENTS" -v on="$on" -v off="$off" \
			-v gs="$GOAL_SELECTIVE" -v gu="$GOAL_UNSELECTIVE" 'BEGIN {
				ratio = off / on
				if (kind == "selective") { ok = ratio >= gs; goal = sprintf("%s >= %dx", ok ? "ok" : "MISSED", gs) }
				else { ok = on / off <= gu; goal = sprintf("%s on/off %.2f <= %.2f", ok ? "ok" : "MISSED", on / off, gu) }
				printf "%d\t| %s `%s` | %s | %d (%.3f%%) | %.1f | %.1f | %.1fx | %s |\n",
					ok, name, pat, kind, c, 100 * c / n, on, off, ratio, goal
			}')
		[ "${line%%$'\t'*}" = 1 ] || missed=$((missed + 1))
		echo "${line#*$'\t'}"
	done <<<"$PATTERNS"
	echo
	echo "Plans with the conditions (scan nodes, counted over the partitions):"
	echo
	cat "$PLANS"
	echo
	if [ "$missed" -eq 0 ]; then
		echo "All goals met."
	else
		echo "Goals missed by $missed patterns."
	fi
} >"$EB_TMP/report.md"

bench_write_report
bench_exit "$missed"
