#!/usr/bin/env bash
# Soak benchmark: a steady producer and consumers draining the queue for a
# long time; does throughput hold, and does the outbox stay the same size?
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster (autovacuum on, checkpoints every 5 minutes), makes bus
# "soak" with 10 rules ({"source": ["com.example.soak"], "detail-type":
# ["type-<i>"]}) whose queue targets all name queue "soak", then runs at
# once, for EB_SOAK_SECONDS:
#   producer   pgbench -R EB_SOAK_RATE: each transaction puts 10 events of
#              ~1 KB of detail with eventbus.put_events (a plain INSERT into
#              eventbus.events if put_events does not exist); every event
#              matches one rule, so one message per event;
#   consumers  pgbench, EB_SOAK_CONSUMERS clients: receive('soak',
#              EB_SOAK_BATCH, 30) then ack() the messages received; a
#              consumer that receives nothing sleeps 50 ms;
# and samples every EB_SOAK_SAMPLE seconds: events/s and messages/s
# produced, messages/s consumed (from pg_stat_user_tables: rows inserted
# into eventbus.events' partitions and into the outbox, rows deleted from
# the outbox), the backlog (rows in the outbox), the outbox's size with its
# indexes (pg_total_relation_size) and dead tuples, the events table's size,
# the producer's latency (pgbench -P), and the plan the planner makes at
# that moment for receive()'s claim query (index scan, or a scan of the
# whole outbox: its statistics change with every autovacuum/analyze).  Start vs end compares the first
# interval that ends after the warm-up (EB_SOAK_WARMUP) with the last one.
# Besides, every second: the outbox's rows inserted and deleted
# (pg_stat_user_tables) and its size, so that dips are seen: a dip is a
# run of consecutive 1 s intervals in each of which the messages consumed
# fall below EB_SOAK_DIP_FACTOR (0.5) of the production rate (messages
# produced per second over the last 5 s: the statistics a backend reports
# reach the table about once a second, so a single second's production is
# jittery).  The 1 s series goes to <results>_1s.tsv beside the report.
#
# Goals (issue 10), each with its verdict in the report:
#   throughput drift <= 10%  messages consumed/s and produced/s, median of the
#                            first vs the second half of the intervals after
#                            the warm-up
#   no dip longer than 5 s   the longest dip, over the whole run but its first
#                            EB_SOAK_DIP_SKIP (5) s while the clients connect
#   outbox size flat         outbox MiB, median of each half, within 10%
#
#   EB_SKIP_BUILD=1 bash test/bench/soak_bench.sh                 # 30 minutes
#   EB_SKIP_BUILD=1 EB_SOAK_SECONDS=120 bash test/bench/soak_bench.sh   # smoke run
#   nohup env EB_SKIP_BUILD=1 bash test/bench/soak_bench.sh >/tmp/soak.log 2>&1 &
#
# Settings (environment):
#   EB_SOAK_SECONDS    duration                       (default 1800)
#   EB_SOAK_RATE       producer transactions/s (x 10 events) (default 500)
#   EB_SOAK_PRODUCERS  producer clients               (default 2)
#   EB_SOAK_CONSUMERS  consumer clients               (default 4)
#   EB_SOAK_BATCH      messages per receive           (default 10)
#   EB_SOAK_SAMPLE     seconds between samples        (default 60; for runs shorter
#                      than 10 minutes, a sixth of the duration, at least 10)
#   EB_SOAK_WARMUP     seconds before the "start" sample (default 120, at most a
#                      third of the run): the first minute or two, before
#                      autovacuum first visits the outbox, is not steady state
#   EB_SOAK_RESULTS    where to write the report     (default test/bench/results/soak_bench.md)
#   EB_SOAK_DIP_FACTOR a dip: consumption below this share of production (default 0.5)
#   EB_SOAK_DIP_MAX    the longest dip allowed, seconds (default 5)
#   EB_SOAK_DIP_SKIP   seconds at the start not judged for dips (default 5)
#   EB_BENCH_STRICT    exit 1 when a goal is missed   (default: report only)
#   EB_KEEP=1          keep the cluster's directory
#
# Output: test/bench/results/soak_bench.md, rewritten after every sample
# (so a run cut short leaves its samples), with the summary at the end.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

SECS=${EB_SOAK_SECONDS:-1800}
RATE=${EB_SOAK_RATE:-500}
PRODUCERS=${EB_SOAK_PRODUCERS:-2}
CONSUMERS=${EB_SOAK_CONSUMERS:-4}
BATCH=${EB_SOAK_BATCH:-10}
if [ -n "${EB_SOAK_SAMPLE:-}" ]; then
	SAMPLE=$EB_SOAK_SAMPLE
elif [ "$SECS" -ge 600 ]; then
	SAMPLE=60
else
	SAMPLE=$((SECS / 6))
	[ "$SAMPLE" -ge 10 ] || SAMPLE=10
fi
# The start of the comparison: the first sample after the warm-up, so that
# the outbox has been through autovacuum (autovacuum_naptime is 1 minute).
WARMUP=${EB_SOAK_WARMUP:-120}
[ "$WARMUP" -le $((SECS / 3)) ] || WARMUP=$((SECS / 3))
EVENTS_PER_TX=10
GOAL_DRIFT=10		# percent: throughput and outbox size, end vs start
DIP_FACTOR=${EB_SOAK_DIP_FACTOR:-0.5}
DIP_MAX=${EB_SOAK_DIP_MAX:-5}
DIP_SKIP=${EB_SOAK_DIP_SKIP:-5}
RESULTS=${EB_SOAK_RESULTS:-$RESULTS_DIR/soak_bench.md}
RESULTS_1S=${RESULTS%.md}_1s.tsv

eb_prepare
# What was measured: the commit, and when the library was installed.
BUILD=$(bench_build)
bench_cluster_start "shared_buffers = '1GB'" \
	"max_wal_size = '4GB'" \
	"checkpoint_timeout = '5min'" \
	"jit = off" \
	"max_connections = 100" \
	"log_autovacuum_min_duration = 0"

eb_log "setting up"
psql_q <<SQL >/dev/null
CREATE EXTENSION eventbus;
$BENCH_PARTITIONS_SQL
SELECT eventbus.create_event_bus('soak');
SELECT eventbus.put_rule('type-' || i, jsonb_build_object('source', jsonb_build_array('com.example.soak'),
                                                         'detail-type', jsonb_build_array('type-' || i)), 'soak')
  FROM generate_series(0, 9) AS i;
SELECT eventbus.put_targets('type-' || i, '[{"Id": "q", "Arn": "queue:soak"}]', 'soak')
  FROM generate_series(0, 9) AS i;
SQL
OUTBOX=$(psql_q -c "SELECT outbox FROM eventbus.queues WHERE name = 'soak'")
HAVE_PUT=$(psql_q -c "SELECT count(*) FROM pg_proc WHERE oid::regprocedure::text = 'eventbus.put_events(jsonb)'")

# ~1 KB of detail, Detail as a JSON string in the request; %<k>$s is the
# detail-type number of entry k.
DETAIL=$BENCH_DETAIL_JSON
request_template() {
	local k d=${DETAIL//\"/\\\"} entries=()
	for ((k = 1; k <= EVENTS_PER_TX; k++)); do
		entries+=("{\"Source\": \"com.example.soak\", \"DetailType\": \"type-%$k\$s\", \"Detail\": \"$d\", \"EventBusName\": \"soak\"}")
	done
	local IFS=,
	echo "{\"Entries\": [${entries[*]}]}"
}

SCRIPTS=$EB_TMP/scripts
mkdir -p "$SCRIPTS"
chmod 755 "$SCRIPTS"
{
	for ((k = 1; k <= EVENTS_PER_TX; k++)); do echo "\\set a$k random(0, 9)"; done
	if [ "$HAVE_PUT" = 1 ]; then
		printf 'SELECT eventbus.put_events(format(:req::text'
		for ((k = 1; k <= EVENTS_PER_TX; k++)); do printf ', :a%d::int' "$k"; done
		printf ')::jsonb);\n'
	else
		echo "INSERT INTO eventbus.events (bus, source, detail_type, detail) VALUES"
		for ((k = 1; k <= EVENTS_PER_TX; k++)); do
			printf "  ('soak', 'com.example.soak', 'type-' || :a%d::int, :detail::jsonb)%s\n" \
				"$k" "$([ "$k" -lt "$EVENTS_PER_TX" ] && echo , || echo ';')"
		done
	fi
} >"$SCRIPTS/producer.sql"
cat >"$SCRIPTS/consumer.sql" <<SQL
SELECT coalesce(array_agg(message_id), '{}') AS ids, count(payload) AS n FROM eventbus.receive('soak', $BATCH, 30) \\gset
\\if :n > 0
SELECT eventbus.ack('soak', :ids::bigint[]);
\\else
\\sleep 50 ms
\\endif
SQL

# One transaction of the producer must route 10 messages.
bench_pgbench -t 1 -D "req=$(request_template)" -D "detail=$DETAIL" -f "$SCRIPTS/producer.sql" >/dev/null || exit 1
n=$(psql_q -c "SELECT count(*) FROM $OUTBOX")
[ "$n" = "$EVENTS_PER_TX" ] || { eb_log "one producer transaction made $n messages, expected $EVENTS_PER_TX"; exit 1; }
psql_q -c "TRUNCATE eventbus.events, $OUTBOX" -c "CHECKPOINT" >/dev/null

# ---------------------------------------------------------------------------
# Sampling.
# ---------------------------------------------------------------------------
# t, events inserted, messages inserted, messages deleted, backlog, outbox
# bytes, outbox dead tuples, outbox autovacuums, events bytes
SAMPLE_SQL="
SELECT (SELECT coalesce(sum(s.n_tup_ins), 0) FROM pg_stat_user_tables s
         WHERE s.relid IN (SELECT relid FROM pg_partition_tree('eventbus.events') WHERE isleaf)),
       s.n_tup_ins, s.n_tup_del,
       (SELECT count(*) FROM $OUTBOX),
       pg_total_relation_size('$OUTBOX'),
       s.n_dead_tup, s.autovacuum_count,
       (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('eventbus.events'))
  FROM pg_stat_user_tables s WHERE s.relid = '$OUTBOX'::regclass"
# The plan the planner now makes for receive()'s claim (its first CTE):
# an index scan in message_id order, or a scan of the whole outbox.
PLAN_SQL="EXPLAIN SELECT o.message_id FROM $OUTBOX o WHERE o.visible_at <= clock_timestamp() AND o.message_id > 0
          ORDER BY o.message_id LIMIT $BATCH FOR UPDATE SKIP LOCKED"
plan_kind() {
	psql_q -c "$PLAN_SQL" | awk '/Seq Scan/ { seq = 1 } /Sort/ { sort = 1 } /Index Scan|Index Only Scan/ { idx = 1 }
		END { if (seq) print (sort ? "seq scan + sort" : "seq scan"); else if (idx) print "index scan"; else print "other" }'
}
# CPU time (clock ticks) used so far by the whole machine, and by this
# benchmark (machine_busy_ticks and own_ticks of lib/bench.sh): the
# cluster's processes, this script and the pgbench processes.  The
# difference is what other processes on the machine took.
take_sample() {
	local t=$1
	printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$(psql_q -F $'\t' -c "SELECT pg_stat_clear_snapshot()" -c "$SAMPLE_SQL" | tail -1)" \
		"$(plan_kind)" "$(machine_busy_ticks)" "$(own_ticks $(pgrep -f "$EB_TMP/scripts/"))"
}

SAMPLES=$EB_TMP/samples.tsv
PLOG=$EB_TMP/producer.log
CLOG=$EB_TMP/consumers.log
bench_machine
CLK_TCK=$(getconf CLK_TCK)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# producer latency (ms) reported by pgbench -P for the interval ending at T
# (the progress line nearest to T)
latency_at() {
	awk -v t="$1" '/^progress: / { tt = $2 + 0; d = (tt > t) ? tt - t : t - tt
		for (i = 1; i <= NF; i++) if ($i == "lat" && (best == "" || d < bd)) { best = $(i + 1); bd = d } }
		END { print best }' "$PLOG"
}

write_report() {
	local final=$1
	{
		echo "### Soak benchmark"
		echo
		echo "Build: $BUILD."
		echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, shared_buffers 1GB, autovacuum on,"
		echo "checkpoint_timeout 5min. Run of $SECS s ($(date -u -d "@$RUN_START" '+%Y-%m-%d %H:%M UTC')), sampled every $SAMPLE s."
		if [ "$HAVE_PUT" = 1 ]; then
			echo "Producer: pgbench -R $RATE, $PRODUCERS clients, each transaction one \`eventbus.put_events\` of $EVENTS_PER_TX events"
		else
			echo "Producer: pgbench -R $RATE, $PRODUCERS clients, each transaction one INSERT of $EVENTS_PER_TX events into eventbus.events (put_events missing)"
		fi
		echo "(~1 KB of detail each; 10 rules on bus \"soak\", each event matches one; all targets name queue \"soak\"):"
		echo "$((RATE * EVENTS_PER_TX)) events/s offered. Consumers: $CONSUMERS pgbench clients, \`receive('soak', $BATCH, 30)\` then \`ack\`,"
		echo "sleeping 50 ms when nothing was received."
		echo
		echo "| t (s) | Events/s produced | Messages/s produced | Messages/s consumed | Backlog | Outbox MiB (with indexes) | Outbox dead tuples | Outbox autovacuums | Events MiB | Producer latency ms | Claim plan now | CPU % this benchmark | CPU % other processes |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
		awk -F'\t' 'NR > 1 { dt = $1 - t0
			own = ($12 - o0) / hz / dt / n * 100; other = ($11 - m0 - ($12 - o0)) / hz / dt / n * 100
			# a process that exited between two reads can make one interval
			# implausible: say so rather than print it
			if (own < -5 || own > 105 || other < -5 || other > 105) { owns = "n/a"; others = "n/a" }
			else { owns = sprintf("%.0f", (own < 0) ? 0 : own); others = sprintf("%.0f", (other < 0) ? 0 : other) }
			printf "%d\t%.0f\t%.0f\t%.0f\t%d\t%.1f\t%d\t%d\t%.0f\t%s\t%s\t%s\n", $1, ($2 - e0) / dt, ($3 - i0) / dt, ($4 - d0) / dt, $5, $6 / 1048576, $7, $8, $9 / 1048576, $10, owns, others }
			{ t0 = $1; e0 = $2; i0 = $3; d0 = $4; m0 = $11; o0 = $12 }' hz="$CLK_TCK" n="$(nproc)" "$SAMPLES" >"$EB_TMP/rows.tsv"
		while IFS=$'\t' read -r t ev mi md bl ob dead av eb plan own other; do
			echo "| $t | $ev | $mi | $md | $bl | $ob | $dead | $av | $eb | $(latency_at "$t") | $plan | $own | $other |"
		done <"$EB_TMP/rows.tsv"
		echo
		if [ "$final" = 1 ]; then
			summary
		else
			echo "(run in progress)"
		fi
	} >"$RESULTS.tmp"
	mv "$RESULTS.tmp" "$RESULTS"
}

missed=0
declare -A goal_verdict
summary() {
	local first last
	first=$(awk -F'\t' -v w="$WARMUP" -v s="$SAMPLE" '$1 - s > w - 0.5 { print; exit }' "$EB_TMP/rows.tsv")
	[ -n "$first" ] || first=$(head -1 "$EB_TMP/rows.tsv")
	last=$(tail -1 "$EB_TMP/rows.tsv")
	if [ "$(wc -l <"$EB_TMP/rows.tsv")" -lt 2 ] || [ "$first" = "$last" ]; then
		echo "Too few samples for a start/end comparison."
		return
	fi
	IFS=$'\t' read -r t1 ev1 mi1 md1 bl1 ob1 _ _ eb1 _ <<<"$first"
	IFS=$'\t' read -r t2 ev2 mi2 md2 bl2 ob2 _ _ eb2 _ <<<"$last"
	local lat1 lat2
	lat1=$(latency_at "$t1")
	lat2=$(latency_at "$t2")
	drift() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "n/a"; else printf "%+.1f", (b - a) * 100 / a }'; }
	within() { awk -v a="$1" -v b="$2" -v g="$GOAL_DRIFT" 'BEGIN { d = (b - a) * 100 / a; if (d < 0) d = -d; exit !(a != 0 && d <= g) }'; }
	half_max() {
		awk -F'\t' -v w="$WARMUP" -v s="$SAMPLE" -v c="$1" -v part="$2" '$1 - s > w - 0.5 { v[n++] = $c }
			END { h = int(n / 2); lo = (part == "first") ? 0 : n - h; m = 0
			      for (i = 0; i < h; i++) if (v[lo + i] + 0 > m) m = v[lo + i] + 0; print m }' "$EB_TMP/rows.tsv"
	}
	# median of column C over the post-warm-up rows, first or second half
	half_median() {
		awk -F'\t' -v w="$WARMUP" -v s="$SAMPLE" -v c="$1" -v part="$2" '$1 - s > w - 0.5 { v[n++] = $c }
			END { h = int(n / 2); lo = (part == "first") ? 0 : n - h
			      for (i = 0; i < h; i++) print v[lo + i] }' "$EB_TMP/rows.tsv" \
			| median_of %.10g 0
	}
	echo "Start (the first interval after a ${WARMUP} s warm-up, to t = $t1 s) vs end (the last interval, to t = $t2 s),"
	echo "and the medians of the first and second half of the intervals after the warm-up. The goal is judged on the"
	echo "medians: the outbox's size saw-tooths with every autovacuum (it grows between visits, shrinks when vacuum"
	echo "truncates it), so two single samples say more about where in the saw-tooth they fell than about drift."
	echo
	echo "| Measure | Start | End | Drift % | Goal |"
	echo "|---|---:|---:|---:|---|"
	for m in "Messages/s consumed|$md1|$md2|" "Messages/s produced|$mi1|$mi2|" "Events/s produced|$ev1|$ev2|" \
		"Outbox MiB (with indexes)|$ob1|$ob2|" "Backlog (messages)|$bl1|$bl2|" "Producer latency ms|$lat1|$lat2|" \
		"Events table MiB|$eb1|$eb2|" \
		"Messages/s consumed, median of each half|$(half_median 4 first)|$(half_median 4 second)|goal" \
		"Messages/s produced, median of each half|$(half_median 3 first)|$(half_median 3 second)|goal" \
		"Outbox MiB, median of each half|$(half_median 6 first)|$(half_median 6 second)|goal" \
		"Outbox MiB, maximum of each half|$(half_max 6 first)|$(half_max 6 second)|"; do
		IFS='|' read -r name a b g <<<"$m"
		local verdict=""
		if [ "$g" = goal ]; then
			if within "$a" "$b"; then verdict="ok <= ${GOAL_DRIFT}%"; else verdict="MISSED <= ${GOAL_DRIFT}%"; missed=$((missed + 1)); fi
			goal_verdict[$name]="${verdict%% *} ($(drift "$a" "$b")%)"
		fi
		[ "$name" = "Events table MiB" ] && verdict="grows: no retention during the run"
		echo "| $name | $a | $b | $(drift "$a" "$b") | $verdict |"
	done
	echo
	echo "Outbox size over the whole run: $(awk -F'\t' 'NR == 1 || $6 < lo { lo = $6 } NR == 1 || $6 > hi { hi = $6 } END { printf "%.1f to %.1f MiB", lo, hi }' "$EB_TMP/rows.tsv");"
	echo "after the warm-up: $(awk -F'\t' -v w="$WARMUP" -v s="$SAMPLE" '$1 - s > w - 0.5 { if (!n++ || $6 < lo) lo = $6; if ($6 > hi) hi = $6 } END { printf "%.1f to %.1f MiB", lo, hi }' "$EB_TMP/rows.tsv");"
	echo "backlog after the warm-up: $(awk -F'\t' -v w="$WARMUP" -v s="$SAMPLE" '$1 - s > w - 0.5 { if (!n++ || $5 < lo) lo = $5; if ($5 > hi) hi = $5 } END { printf "%d to %d messages", lo, hi }' "$EB_TMP/rows.tsv")."
	echo
	local pt
	pt=$(grep -E '^tps = ' "$PLOG" | head -1 | awk '{ print $3 }')
	echo "Producer overall: $(grep -E 'number of transactions actually processed' "$PLOG" | sed 's/.*: //') transactions,"
	echo "$(printf '%.1f' "${pt:-0}") tx/s (offered $RATE), $(grep -E '^latency average' "$PLOG" | sed 's/latency average = //') average latency,"
	echo "$(grep -E '^rate limit schedule lag' "$PLOG" | sed 's/rate limit schedule lag: //') schedule lag; $(grep -cE '^progress: ' "$PLOG") progress lines."
	echo "Consumers overall: $(grep -E 'number of transactions actually processed' "$CLOG" | sed 's/.*: //') receive calls."
	echo

	# dips, from the 1 s series
	local dips longest="" dip_verdict nfast
	fast_rows >"$EB_TMP/fast_rows.tsv"
	cp "$EB_TMP/fast_rows.tsv" "$RESULTS_1S.tmp"
	{ printf 't_s\tproduced_per_s\tconsumed_per_s\tproduced_per_s_last_5s\tbacklog\toutbox_mib\tdip\n'; cat "$RESULTS_1S.tmp"; } >"$RESULTS_1S"
	rm -f "$RESULTS_1S.tmp"
	nfast=$(wc -l <"$EB_TMP/fast_rows.tsv")
	echo "#### Dips (1 s sampling)"
	echo
	if [ "$nfast" -lt 10 ]; then
		echo "Too few 1 s samples ($nfast) to judge dips."
		dip_verdict="MISSED (not measured)"
		missed=$((missed + 1))
	else
		dips=$(fast_dips)
		longest=$(cut -f3 <<<"$dips" | sort -g | tail -1)
		longest=${longest:-0}
		echo "$nfast intervals of ~1 s (series in \`$(basename "$RESULTS_1S")\`). A dip: consecutive intervals in each of which"
		echo "fewer messages were consumed than ${DIP_FACTOR} x the production rate (over the last 5 s); the first ${DIP_SKIP} s are"
		echo "not judged. Backlog from the counters: up to $(awk -F'\t' '$5 > m { m = $5 } END { print m + 0 }' "$EB_TMP/fast_rows.tsv") messages; outbox"
		echo "$(awk -F'\t' 'NR == 1 || $6 < lo { lo = $6 } NR == 1 || $6 > hi { hi = $6 } END { printf "%.1f to %.1f MiB", lo, hi }' "$EB_TMP/fast_rows.tsv") at 1 s sampling."
		echo "Dips: $(grep -c . <<<"$dips" || true), longest ${longest} s; $(awk -F'\t' -v m="$DIP_MAX" '$3 > m' <<<"$dips" | grep -c . || true) longer than ${DIP_MAX} s."
		if [ -n "$dips" ]; then
			echo
			echo "| From t (s) | To t (s) | Seconds | Lowest messages/s consumed | Production messages/s | Highest backlog |"
			echo "|---:|---:|---:|---:|---:|---:|"
			# the 30 longest, in time order
			sort -t$'\t' -k3,3gr <<<"$dips" | head -30 | sort -t$'\t' -k1,1g \
				| awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
		fi
		if awk -v l="$longest" -v m="$DIP_MAX" 'BEGIN { exit !(l <= m) }'; then
			dip_verdict="ok (longest ${longest} s)"
		else
			dip_verdict="MISSED (longest ${longest} s)"
			missed=$((missed + 1))
		fi
	fi
	echo
	echo "#### Verdicts"
	echo
	echo "| Goal | Verdict |"
	echo "|---|---|"
	local tc=${goal_verdict[Messages/s consumed, median of each half]:-n/a} tp=${goal_verdict[Messages/s produced, median of each half]:-n/a}
	local tv=ok
	[[ $tc == ok* && $tp == ok* ]] || tv=MISSED
	echo "| Throughput drift <= ${GOAL_DRIFT}% (medians of the first and second half after the warm-up) | $tv: consumed $tc, produced $tp |"
	echo "| No dip longer than ${DIP_MAX} s (consumption < ${DIP_FACTOR} x production, 1 s sampling) | $dip_verdict |"
	echo "| Outbox size flat: <= ${GOAL_DRIFT}% (median of each half) | ${goal_verdict[Outbox MiB, median of each half]:-n/a} |"
	echo
	# goals, not measures: throughput is one goal judged on two measures
	missed=0
	[ "$tv" = ok ] || missed=$((missed + 1))
	[[ $dip_verdict == ok* ]] || missed=$((missed + 1))
	[[ ${goal_verdict[Outbox MiB, median of each half]:-n/a} == ok* ]] || missed=$((missed + 1))
	if [ "$missed" -eq 0 ]; then
		echo "All goals met."
	else
		echo "Goals missed: $missed."
	fi
}

# ---------------------------------------------------------------------------
# 1 s sampling, for dips: epoch seconds (fractional), outbox rows inserted,
# rows deleted, outbox bytes; a fresh session each time (a long one would
# hold back vacuum's horizon).
# ---------------------------------------------------------------------------
FAST=$EB_TMP/fast.tsv
FAST_SQL="SELECT n_tup_ins, n_tup_del, pg_total_relation_size(relid) FROM pg_stat_user_tables WHERE relid = '$OUTBOX'::regclass"
fast_sampler() {
	local k row
	for ((k = 0; k <= SECS; k++)); do
		sleep "$(awk -v s="$RUN_START" -v k="$k" -v now="$(date +%s.%N)" 'BEGIN { d = s + k - now; printf "%.3f", (d > 0) ? d : 0 }')"
		row=$(psql_q -F $'\t' -c "$FAST_SQL" 2>/dev/null) || continue
		printf '%s\t%s\n' "$(date +%s.%N)" "$row"
	done
}
# the 1 s series: t (s since the start), produced/s, consumed/s, production
# over the last 5 s (/s), backlog (messages, from the counters: the outbox
# starts empty), outbox MiB, dip (1 when consumed < DIP_FACTOR x production)
fast_rows() {
	awk -F'\t' -v s="$RUN_START" -v f="$DIP_FACTOR" 'NR == 1 { i0 = $2; d0 = $3 }
		{ t[NR] = $1; ins[NR] = $2; del[NR] = $3; sz[NR] = $4 }
		NR > 1 { dt = t[NR] - t[NR - 1]; if (dt <= 0) next
			w = (NR > 5) ? NR - 5 : 1
			p5 = (ins[NR] - ins[w]) / (t[NR] - t[w])
			prod = (ins[NR] - ins[NR - 1]) / dt; cons = (del[NR] - del[NR - 1]) / dt
			# a consumer may report its deletes before the producer its inserts
			bl = (ins[NR] - i0) - (del[NR] - d0); if (bl < 0) bl = 0
			printf "%.1f\t%.0f\t%.0f\t%.0f\t%d\t%.1f\t%d\n", t[NR] - s, prod, cons, p5, bl,
				sz[NR] / 1048576, (p5 > 0 && cons < f * p5) ? 1 : 0 }' "$FAST"
}
# dips (runs of dip intervals) after SKIP s: "start end seconds min-consumed/s
# production/s max-backlog", one a line
fast_dips() {
	awk -F'\t' -v skip="$DIP_SKIP" '$1 <= skip { prev = $1; next }
		$7 == 1 { if (!in_dip) { in_dip = 1; st = prev; mc = $3; mp = $4; mb = $5 }
		          if ($3 < mc) mc = $3; if ($5 > mb) mb = $5; pr = $4; en = $1 }
		$7 == 0 && in_dip { printf "%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%d\n", st, en, en - st, mc, pr, mb; in_dip = 0 }
		{ prev = $1 }
		END { if (in_dip) printf "%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%d\n", st, en, en - st, mc, pr, mb }' "$EB_TMP/fast_rows.tsv"
}

# ---------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
eb_log "soak: $SECS s, producer $RATE tx/s x $EVENTS_PER_TX events, $CONSUMERS consumers, sample every $SAMPLE s"
RUN_START=$(date +%s)
: >"$SAMPLES"
: >"$FAST"
take_sample 0 >>"$SAMPLES"
fast_sampler >>"$FAST" &
FAST_PID=$!
eb_as_owner "$EB_BINDIR/pgbench" -n -M prepared -c "$PRODUCERS" -j "$PRODUCERS" -R "$RATE" -T "$SECS" -P "$SAMPLE" \
	-D "req=$(request_template)" -D "detail=$DETAIL" -f "$SCRIPTS/producer.sql" >"$PLOG" 2>&1 &
PPID_PROD=$!
eb_as_owner "$EB_BINDIR/pgbench" -n -M prepared -c "$CONSUMERS" -j "$CONSUMERS" -T "$SECS" -P "$SAMPLE" \
	-f "$SCRIPTS/consumer.sql" >"$CLOG" 2>&1 &
PPID_CONS=$!

for ((k = 1; k * SAMPLE <= SECS; k++)); do
	now=$(date +%s)
	wait_for=$((RUN_START + k * SAMPLE - now))
	[ "$wait_for" -le 0 ] || sleep "$wait_for"
	take_sample "$((k * SAMPLE))" >>"$SAMPLES"
	write_report 0
	eb_log "t=$((k * SAMPLE)) s: $(tail -1 "$EB_TMP/rows.tsv" | awk -F'\t' '{ printf "produced %s msg/s, consumed %s msg/s, backlog %s, outbox %s MiB", $3, $4, $5, $6 }')"
done
prod_rc=0
cons_rc=0
wait "$PPID_PROD" || prod_rc=$?
wait "$PPID_CONS" || cons_rc=$?
kill "$FAST_PID" 2>/dev/null || true
wait "$FAST_PID" 2>/dev/null || true
if [ "$prod_rc" -ne 0 ] || [ "$cons_rc" -ne 0 ] || grep -q 'number of failed transactions: [1-9]' "$PLOG" "$CLOG"; then
	eb_log "a pgbench failed (producer $prod_rc, consumers $cons_rc):"
	tail -20 "$PLOG" "$CLOG" >&2
	exit 1
fi

write_report 1
cat "$RESULTS"
eb_log "written to $RESULTS"
bench_exit "$missed"
