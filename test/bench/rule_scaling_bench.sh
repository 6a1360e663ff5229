#!/usr/bin/env bash
# Rule-scaling benchmark: the routing trigger's cost per event as the number
# of rules on a bus grows (10, 100, 1,000, 10,000 exact-match rules).
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster and makes, for each rule count N, two buses:
#   n<N>  N rules without targets: the trigger matches (and counts matches in
#         the metrics) but writes nothing, so this is the matching cost;
#   q<N>  the same N rules, each with one queue target (the targets share 10
#         queues, rule j -> queue q<j mod 10>): matching plus one outbox row
#         per event;
#   s<N>  N rules without targets that also name the source, which every
#         event shares ({"source": ["com.example.bench"], "detail-type":
#         [...]}, as most EventBridge rules do): shows whether the index
#         picks the selective field of a rule;
# plus bus "z" without rules.  Rules are exact matches: N/2 on detail-type
# ({"detail-type": ["type-<i>"]}) and N/2 on a detail field ({"detail":
# {"x": ["x-<i>"]}}).  Each event matches exactly one rule: odd events carry
# detail-type type-<i> (and x "none"), even events detail-type "other" and
# x-<i>, i spread over the N/2 values.
#
# Timed, in one session (rule indexes cached after an untimed warm-up
# insert per bus), round after round in rotated order:
#   INSERT INTO eventbus.events (bus, source, detail_type, detail)
#   SELECT '<bus>', source, detail_type, detail FROM bench.ev_<N>
# of EB_BENCH_EVENTS events of ~1 KB of detail, one statement each, with the
# events table and outboxes truncated (and a CHECKPOINT) before each.  The
# routing cost per event is (time on the bus - time on bus "z") / events,
# from the per-round differences, medians over rounds; from the backend's
# CPU time (/proc/self/schedstat, read with pg_read_file: robust against
# other processes on the machine) and from elapsed time.
#
#   EB_SKIP_BUILD=1 bash test/bench/rule_scaling_bench.sh
#
# Settings (environment):
#   EB_BENCH_EVENTS   events per INSERT statement     (default 20000)
#   EB_BENCH_RULES    rule counts, space-separated    (default "10 100 1000 10000")
#   EB_BENCH_ROUNDS   timed rounds                    (default 9, at least 5)
#   EB_BENCH_STRICT   exit 1 when a goal is missed    (default: report only)
#   EB_KEEP=1         keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/rule_scaling_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

EVENTS=${EB_BENCH_EVENTS:-20000}
RULE_COUNTS=${EB_BENCH_RULES:-"10 100 1000 10000"}
ROUNDS=${EB_BENCH_ROUNDS:-9}
[ "$ROUNDS" -ge 5 ] || ROUNDS=5
NQUEUES=10
GOAL_RATIO=2.0		# routing cost per event at the largest / at the smallest rule count
RESULTS=$RESULTS_DIR/rule_scaling_bench.md

eb_prepare
# What was measured: the commit, and when the library was installed.
BUILD=$(bench_build)
bench_cluster_start "${BENCH_CONF[@]}" \
	"autovacuum = off" \
	"eventbus.max_stats_entries = 200000"

for n in $RULE_COUNTS; do
	if [ $((n % 2)) -ne 0 ] || [ "$n" -lt 2 ]; then
		eb_log "rule counts must be even and >= 2 (got $n)"
		exit 1
	fi
done
SMALLEST=$(tr ' ' '\n' <<<"$RULE_COUNTS" | grep -v '^$' | sort -n | head -1)
LARGEST=$(tr ' ' '\n' <<<"$RULE_COUNTS" | grep -v '^$' | sort -n | tail -1)

# ---------------------------------------------------------------------------
# Schema, events to insert, buses, rules, targets.
# ---------------------------------------------------------------------------
eb_log "setting up"
psql_q <<SQL
CREATE EXTENSION eventbus;
CREATE SCHEMA bench;
$BENCH_PARTITIONS_SQL
-- ~1 KB of detail, the same for every event but for x.
$BENCH_DETAIL_SQL
SQL

# bench.ev_<N>: the events for rule count N (each matches exactly one rule).
for n in 0 $RULE_COUNTS; do
	half=$((n / 2))
	[ "$half" -ge 1 ] || half=5
	psql_q -v n="$n" -v half="$half" -v events="$EVENTS" <<'SQL'
CREATE TABLE bench.ev_:n AS
SELECT k, 'com.example.bench'::text AS source,
       CASE WHEN k % 2 = 1 THEN 'type-' || ((k / 2) % :half) ELSE 'other' END AS detail_type,
       d.d || jsonb_build_object('x', CASE WHEN k % 2 = 0 THEN 'x-' || ((k / 2) % :half) ELSE 'none' END) AS detail
  FROM generate_series(1, :events) AS k, bench.detail d;
SQL
done

psql_q -c "SELECT eventbus.create_event_bus('z')" >/dev/null
for n in $RULE_COUNTS; do
	eb_log "buses n$n, q$n and s$n: $n rules each"
	setup_start=$(date +%s)
	for variant in n q s; do
		psql_q -v n="$n" -v bus="$variant$n" -v src="$([ "$variant" = s ] && echo 1 || echo 0)" <<'SQL' >/dev/null
SELECT eventbus.create_event_bus(:'bus');
SELECT eventbus.put_rule(CASE WHEN j < :n / 2 THEN 'dt-' || j ELSE 'x-' || (j - :n / 2) END,
                         CASE WHEN :src = 1
                              THEN jsonb_build_object('source', jsonb_build_array('com.example.bench'))
                              ELSE '{}'::jsonb END
                         || CASE WHEN j < :n / 2
                              THEN jsonb_build_object('detail-type', jsonb_build_array('type-' || j))
                              ELSE jsonb_build_object('detail', jsonb_build_object('x',
                                       jsonb_build_array('x-' || (j - :n / 2))))
                         END,
                         :'bus')
  FROM generate_series(0, :n - 1) AS j;
SQL
	done
	psql_q -v n="$n" -v bus="q$n" -v nq="$NQUEUES" <<'SQL' >/dev/null
SELECT eventbus.put_targets(CASE WHEN j < :n / 2 THEN 'dt-' || j ELSE 'x-' || (j - :n / 2) END,
                            jsonb_build_array(jsonb_build_object('Id', 't1', 'Arn', 'queue:q' || (j % :nq))),
                            :'bus')
  FROM generate_series(0, :n - 1) AS j;
SQL
	eb_log "  made in $(($(date +%s) - setup_start)) s"
done
psql_q -c "VACUUM ANALYZE" >/dev/null

OUTBOXES=$(psql_q -c "SELECT string_agg(outbox::text, ', ' ORDER BY name) FROM eventbus.queues")
OUTBOX_COUNT="SELECT sum(n) FROM (SELECT count(*) AS n FROM $(sed 's/, / UNION ALL SELECT count(*) FROM /g' <<<"$OUTBOXES")) s"
DETAIL_BYTES=$(psql_q -c "SELECT round(avg(pg_column_size(detail))) FROM bench.ev_$SMALLEST")
eb_log "$EVENTS events per statement, $DETAIL_BYTES bytes of jsonb detail each"

# Configurations: bus and the table its events come from.
CONFIGS=("z 0")
for n in $RULE_COUNTS; do
	CONFIGS+=("n$n $n" "q$n $n" "s$n $n")
done

insert_sql() { echo "INSERT INTO eventbus.events (bus, source, detail_type, detail) SELECT '$1', source, detail_type, detail FROM bench.ev_$2;"; }
reset_sql() { echo "TRUNCATE eventbus.events, $OUTBOXES;"; echo "CHECKPOINT;"; }
# timed_insert ROUND BUS N: the insert, with its elapsed time (psql's
# \timing) and the CPU time the backend spent (/proc/self/schedstat, in
# ns: robust against other processes taking the CPU away)
CPU_NS="split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint"
timed_insert() {
	echo "SELECT $CPU_NS AS cpu0 \gset"
	printf '\\timing on\n\\echo @@ %s %s\n' "$1" "$2"
	insert_sql "$2" "$3"
	printf '\\timing off\n'
	echo "SELECT '&& ' || ($CPU_NS - :cpu0) / 1e6;"
}

# ---------------------------------------------------------------------------
# One session: warm-up inserts (timed apart: they build the rule indexes),
# then the rounds.
# ---------------------------------------------------------------------------
SCRIPT=$EB_TMP/bench.sql
TIMINGS=$EB_TMP/timings.tsv
CHECKS=$EB_TMP/checks.tsv
ncfg=${#CONFIGS[@]}
{
	echo "SET jit = off;"
	for cfg in "${CONFIGS[@]}"; do
		read -r bus n <<<"$cfg"
		reset_sql
		timed_insert 0 "$bus" "$n"
		printf '\\echo ## %s\n' "$bus"
		echo "$OUTBOX_COUNT;"
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for ((i = 0; i < ncfg; i++)); do
			read -r bus n <<<"${CONFIGS[$(((i + r) % ncfg))]}"
			reset_sql
			timed_insert "$r" "$bus" "$n"
			printf '\\echo ## %s\n' "$bus"
			echo "$OUTBOX_COUNT;"
		done
	done
	echo "SELECT '%% ' || bus || ' ' || sum(matched_events) FROM eventbus.rule_stats GROUP BY bus;"
} >"$SCRIPT"

eb_log "timing: warm-up, then $ROUNDS rounds of $ncfg inserts of $EVENTS events"
bench_start=$(date +%s)
psql_q -f "$SCRIPT" | awk -v T="$TIMINGS" -v C="$CHECKS" '
	/^@@ / { round = $2; bus = $3; next }
	/^Time: / { wall = $2; next }
	/^&& / { printf "%s\t%s\t%s\t%s\n", round, bus, wall, $2 >> T; next }
	/^## / { cbus = $2; getline; printf "%s\t%s\n", cbus, $0 >> C; next }
	/^%% / { printf "matched\t%s\t%s\n", $2, $3 >> C; next }
'
eb_log "timed in $(($(date +%s) - bench_start)) s"

expected=$(((ROUNDS + 1) * ncfg))
if [ "$(wc -l <"$TIMINGS")" -ne "$expected" ]; then
	eb_log "expected $expected timings, got $(wc -l <"$TIMINGS")"
	exit 1
fi

# Every statement on q<N> wrote one message per event, on z and n<N> none;
# every rule match was counted: (rounds + 1) x events per n<N> and q<N> bus.
bad=$(awk -F'\t' -v e="$EVENTS" '$1 != "matched" && (($1 ~ /^q/ && $2 != e) || ($1 !~ /^q/ && $2 != 0))' "$CHECKS")
if [ -n "$bad" ]; then
	eb_log "unexpected outbox row counts (bus, rows): $bad"
	exit 1
fi
bad=$(awk -F'\t' -v e="$((EVENTS * (ROUNDS + 1)))" '$1 == "matched" && $3 != e' "$CHECKS")
if [ -n "$bad" ]; then
	eb_log "unexpected match counts in eventbus.rule_stats: $bad (expected $((EVENTS * (ROUNDS + 1))) per bus)"
	exit 1
fi
eb_log "checked: one match per event on every bus, one message per event on q<N>"

# column 3: elapsed ms; column 4: backend CPU ms
times_of() { awk -F'\t' -v b="$1" -v c="${2:-3}" '$1 > 0 && $2 == b { print $c }' "$TIMINGS"; }
# per-round routing cost per event, in microseconds, of bus BUS (COLUMN)
costs_of() {
	awk -F'\t' -v b="$1" -v c="${2:-3}" -v e="$EVENTS" '$1 > 0 && $2 == "z" { z[$1] = $c } $1 > 0 && $2 == b { t[$1] = $c }
		END { for (r in t) print (t[r] - z[r]) * 1000 / e }' "$TIMINGS"
}
warmup_of() { awk -F'\t' -v b="$1" '$1 == 0 && $2 == b { print $3 }' "$TIMINGS"; }

Z_MS=$(times_of z 3 | median_of)
Z_CPU=$(times_of z 4 | median_of)
bench_machine
missed=0
{
	echo "### Rule-scaling benchmark"
	echo
	echo "Build: $BUILD."
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, one session, no JIT."
	echo "Each statement: \`INSERT INTO eventbus.events (bus, source, detail_type, detail) SELECT ... FROM bench.ev_N\`"
	echo "of $EVENTS events ($DETAIL_BYTES bytes of jsonb detail each); events table and outboxes truncated before"
	echo "each. Rules are exact matches, half on detail-type, half on detail.x; every event matches exactly one"
	echo "rule (checked through eventbus.rule_stats and the outbox row counts). Medians of $ROUNDS rounds, buses"
	echo "in rotated order. Routing cost = (statement - the same round's statement on bus \"z\", which has no"
	echo "rules) / events, from the backend's CPU time (/proc/self/schedstat: not inflated when other processes"
	echo "take the CPU, which they do on this shared machine) and from elapsed time."
	echo
	echo "- bus without rules: **$(printf '%.1f' "$Z_MS") ms** elapsed, $(printf '%.1f' "$Z_CPU") ms CPU per statement ($(awk -v t="$Z_CPU" -v e="$EVENTS" 'BEGIN { printf "%.2f", t * 1000 / e }') µs CPU per event: the insert itself, the transition table, the trigger's scan)"
	echo
	echo "| Rules | Targets | Statement ms (CPU) | Routing µs/event (CPU) | vs $SMALLEST rules (CPU) | Statement ms (elapsed) | Routing µs/event (elapsed) | First statement ms (index build) |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|"
	for variant in n q s; do
		base_cost=$(costs_of "$variant$SMALLEST" 4 | median_of)
		for n in $RULE_COUNTS; do
			bus=$variant$n
			label="none"
			[ "$variant" = q ] && label="1 queue target each ($NQUEUES queues)"
			[ "$variant" = s ] && label="none; patterns also name the source"
			awk -v n="$n" -v l="$label" -v tc="$(times_of "$bus" 4 | median_of)" -v cc="$(costs_of "$bus" 4 | median_of)" \
				-v tw="$(times_of "$bus" 3 | median_of)" -v cw="$(costs_of "$bus" 3 | median_of)" -v b="$base_cost" -v w="$(warmup_of "$bus")" \
				'BEGIN { printf "| %d | %s | %.1f | %.2f | %s | %.1f | %.2f | %.1f |\n", n, l, tc, cc, (b > 0) ? sprintf("%.2fx", cc / b) : "n/a", tw, cw, w }'
		done
	done
	echo
	for variant in n q s; do
		lo=$(costs_of "$variant$SMALLEST" 4 | median_of)
		hi=$(costs_of "$variant$LARGEST" 4 | median_of)
		label="rules without targets (matching only)"
		[ "$variant" = q ] && label="rules with a queue target (matching and fan-out)"
		[ "$variant" = s ] && label="rules without targets that also name the common source"
		if awk -v lo="$lo" -v hi="$hi" -v g="$GOAL_RATIO" 'BEGIN { exit !(hi <= g * lo || hi <= 0.5) }'; then
			verdict="ok"
		else
			verdict="MISSED"
			missed=$((missed + 1))
		fi
		awk -v l="$label" -v lo="$lo" -v hi="$hi" -v v="$verdict" -v s="$SMALLEST" -v L="$LARGEST" -v g="$GOAL_RATIO" \
			'BEGIN { printf "- %s: %.2f µs/event (CPU) with %d rules, %.2f with %d: **%s** (goal <= %.1fx: %s)\n", l, lo, s, hi, L, (lo > 0) ? sprintf("%.2fx", hi / lo) : "n/a", g, v }'
	done
	echo
	echo "A routing cost within noise of zero (<= 0.5 µs) counts as meeting the goal whatever the ratio."
	echo "\"First statement\" is the warm-up insert on the bus in the same session (elapsed): it includes building"
	echo "the bus's rule index (compiling every rule), which each backend does after any rule or target change."
	echo
	echo "<details><summary>Every statement (ms: CPU / elapsed)</summary>"
	echo
	echo "| Round | $(for cfg in "${CONFIGS[@]}"; do printf '%s | ' "${cfg%% *}"; done)"
	echo "|---:|$(for cfg in "${CONFIGS[@]}"; do printf -- '---:|'; done)"
	for ((r = 0; r <= ROUNDS; r++)); do
		printf '| %s |' "$([ "$r" -eq 0 ] && echo warm-up || echo "$r")"
		for cfg in "${CONFIGS[@]}"; do
			awk -F'\t' -v r="$r" -v b="${cfg%% *}" '$1 == r && $2 == b { printf " %.1f / %.1f |", $4, $3 }' "$TIMINGS"
		done
		echo
	done
	echo
	echo "</details>"
} >"$EB_TMP/report.md"

bench_write_report
bench_exit "$missed"
