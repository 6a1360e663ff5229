#!/usr/bin/env bash
# Ingest benchmark: routed ingest (put_events, or a plain INSERT into
# eventbus.events that the routing trigger fans out) against a plain INSERT
# of the same rows into an identically partitioned table without triggers.
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster and makes:
#   - daily partitions (UTC days, yesterday to three days ahead) of
#     eventbus.events (with eventbus.create_event_partitions when it exists);
#   - bench.base_events, the baseline: the same columns, defaults, CHECK,
#     primary key, daily partitions and default partition, no trigger;
#   - one bus per rule count (bus "r<N>") with N rules: N/2 on detail-type
#     ({"source": ["com.example.bench"], "detail-type": ["type-<i>"]}) and
#     N/2 on a detail field ({"source": [...], "detail": {"category":
#     ["cat-<i>"]}}), each with one queue target; the targets share 10 queues
#     (rule j -> queue q<j mod 10>), so that every configuration writes into
#     the same number of outbox tables.
# An event's detail-type is type-<a>, a uniform in [0, N/2): it matches one
# detail-type rule; its category is cat-<b>, b uniform in [0, N): it matches
# a category rule half of the time.  So each event matches 1 or 2 rules
# (1.5 on average) whatever N.
#
# Each transaction is one statement writing 10 events of ~1 KB of detail
# JSON, sent by the client as text (pgbench -M prepared: the JSON is a
# parameter, so the server parses it on every execution, as it would for an
# application):
#   baseline   INSERT INTO bench.base_events (...) VALUES (...) x 10
#   insert-N   the same INSERT into eventbus.events, bus r<N> (trigger routes)
#   put-N      SELECT eventbus.put_events('{"Entries": [10 entries]}'), bus r<N>
#              (Detail as a JSON string, as in EventBridge's PutEvents)
#   putobj-N   the same with Detail as a JSON object
#   pgq        PgQ, the peer: SELECT pgq.insert_event('bench', 'type-<a>',
#              <detail>) x 10 (one statement) into PgQ queue "bench"
#              (pgq.create_queue; no ticker, no consumer: insert_event's
#              own cost); the detail is ev_data, text (PgQ stores it as
#              given, it does not parse it).  PgQ is Debian's
#              postgresql-15-pgq3, installed with apt-get when missing and
#              copied into pg_config's directories when those are not the
#              system's (bench_need_pgq in lib/bench.sh)
# Runs are pgbench with EB_BENCH_CLIENTS clients for EB_BENCH_SECONDS each.
# Every round runs, for each eventbus configuration (order rotated from
# round to round), a baseline run and then that configuration, so that each
# eventbus run has a baseline run next to it; before every run the events
# tables and outboxes are truncated and a CHECKPOINT taken.  Reported:
# medians over rounds of events/s, and the median of the per-pair ratios
# (configuration / the baseline run just before it).
#
#   EB_SKIP_BUILD=1 bash test/bench/ingest_bench.sh
#
# Settings (environment):
#   EB_BENCH_SECONDS   seconds per pgbench run          (default 20)
#   EB_BENCH_ROUNDS    rounds                           (default 3, at least 3)
#   EB_BENCH_CLIENTS   pgbench clients (and threads)    (default 4)
#   EB_BENCH_RULES     rule counts, space-separated     (default "10 1000")
#   EB_BENCH_PUT_OBJECT=0  skip the "putobj-N" runs (put_events with Detail as
#                      a JSON object rather than a string)
#   EB_BENCH_PGQ=0     skip the "pgq" runs (PgQ's insert_event)
#   EB_BENCH_ZERO=0    skip the "insert-0" runs (INSERT into eventbus.events
#                      on a bus without rules: the trigger's fixed cost)
#   EB_BENCH_PERF=CFG  record `perf record -g` of the pgbench backends during
#                      the last round's run of configuration CFG (e.g.
#                      put-1000) and write the report to
#                      test/bench/results/ingest_perf_CFG.txt
#   EB_BENCH_STRICT    exit 1 when a goal is missed     (default: report only)
#   EB_KEEP=1          keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/ingest_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

SECS=${EB_BENCH_SECONDS:-20}
ROUNDS=${EB_BENCH_ROUNDS:-3}
[ "$ROUNDS" -ge 3 ] || ROUNDS=3
CLIENTS=${EB_BENCH_CLIENTS:-4}
RULE_COUNTS=${EB_BENCH_RULES:-"10 1000"}
ZERO=${EB_BENCH_ZERO:-1}
PUT_OBJECT=${EB_BENCH_PUT_OBJECT:-1}
PGQ=${EB_BENCH_PGQ:-1}
PERF_CFG=${EB_BENCH_PERF:-}
NQUEUES=10
EVENTS_PER_TX=10
RESULTS=$RESULTS_DIR/ingest_bench.md

# Goals stated by the project: routed ingest (put_events) events/s as a
# share of the baseline's, by rule count.
goal_for() {
	case "$1" in
		10) echo 0.50 ;;
		1000) echo 0.40 ;;
		*) echo "" ;;
	esac
}

eb_prepare
# PgQ, the peer: installed before the cluster starts (CREATE EXTENSION reads
# the control file then)
PGQ_SKIPPED=
[ "$PGQ" = 1 ] || PGQ_SKIPPED="not run (EB_BENCH_PGQ=0)"
if [ "$PGQ" = 1 ] && ! bench_need_pgq; then
	eb_log "PgQ unavailable: the pgq runs are skipped"
	PGQ=0
	PGQ_SKIPPED="not run: PgQ (postgresql-$EB_PG_MAJOR-pgq3) could not be installed"
fi
# What was measured: the commit, and when the library was installed.
BUILD=$(bench_build)
# perf resolves the extension's symbols by build id: keep a copy of the
# library the cluster loads, in case it is reinstalled during the run.
[ -z "$PERF_CFG" ] || perf_keep_symbols
bench_cluster_start "${BENCH_CONF[@]}" \
	"max_connections = 100"

# ---------------------------------------------------------------------------
# Schema, buses, rules, targets.
# ---------------------------------------------------------------------------
eb_log "setting up"
psql_q <<'SQL'
CREATE EXTENSION eventbus;
CREATE SCHEMA bench;

-- The baseline: eventbus.events' columns, defaults, CHECK and primary key,
-- partitioned the same way, without the routing trigger.
CREATE TABLE bench.base_events (LIKE eventbus.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                                INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMPRESSION)
    PARTITION BY RANGE (ingestion_time);
CREATE TABLE bench.base_events_default PARTITION OF bench.base_events DEFAULT;

-- Daily partitions (UTC days) of eventbus.events from yesterday to three
-- days ahead, made by the extension when it can; then the same partitions,
-- with the same bounds, for the baseline.
DO $$
DECLARE
    d date;
    p record;
BEGIN
    IF to_regprocedure('eventbus.create_event_partitions(integer, date)') IS NOT NULL THEN
        PERFORM eventbus.create_event_partitions(4, (now() AT TIME ZONE 'UTC')::date - 1);
    ELSE
        FOR d IN SELECT (now() AT TIME ZONE 'UTC')::date + i FROM generate_series(-1, 3) AS i LOOP
            EXECUTE format('CREATE TABLE IF NOT EXISTS eventbus.%I PARTITION OF eventbus.events FOR VALUES FROM (%L) TO (%L)',
                           'events_p' || to_char(d, 'YYYYMMDD'), d::timestamp AT TIME ZONE 'UTC',
                           (d + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP;
    END IF;
    FOR p IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'eventbus.events'::regclass
                AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT' LOOP
        EXECUTE format('CREATE TABLE bench.%I PARTITION OF bench.base_events %s',
                       'base_' || p.relname, p.bound);
    END LOOP;
    -- eventbus 0.2.0 keys each partition (the parent has no key): so does
    -- the baseline
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = 'bench.base_events'::regclass AND contype = 'p') THEN
        FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'bench.base_events'::regclass LOOP
            EXECUTE format('ALTER TABLE bench.%I ADD PRIMARY KEY (id, ingestion_time)', p.relname);
        END LOOP;
    END IF;
END;
$$;
SQL

# The two tables must have the same shape.
SHAPE_SQL="SELECT string_agg(format('%s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod),
                                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = :'t'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
s1=$(psql_q -v t=eventbus.events <<<"$SHAPE_SQL")
s2=$(psql_q -v t=bench.base_events <<<"$SHAPE_SQL")
if [ "$s1" != "$s2" ]; then
	eb_log "baseline table differs from eventbus.events:"
	echo "$s1" >&2
	echo "$s2" >&2
	exit 1
fi
p1=$(psql_q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'eventbus.events'::regclass")
p2=$(psql_q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'bench.base_events'::regclass")
# primary keys: on the parent, or (0.2.0) on every partition
KEYED_SQL="SELECT count(*) FROM pg_constraint WHERE contype = 'p'
             AND conrelid IN (SELECT :'t'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = :'t'::regclass)"
k1=$(psql_q -v t=eventbus.events <<<"$KEYED_SQL")
k2=$(psql_q -v t=bench.base_events <<<"$KEYED_SQL")
[ "$p1" = "$p2" ] && [ "$k1" = "$k2" ] && [ "$k2" -gt 0 ] \
	|| { eb_log "partitions or primary keys differ ($p1 vs $p2 partitions, $k1 vs $k2 keys)"; exit 1; }
eb_log "partitions: $p1 each; baseline pk: $k2"

for n in $RULE_COUNTS; do
	if [ $((n % 2)) -ne 0 ] || [ "$n" -lt 2 ]; then
		eb_log "rule counts must be even and >= 2 (got $n)"
		exit 1
	fi
	eb_log "bus r$n: $n rules, each with one queue target ($NQUEUES shared queues)"
	psql_q -v n="$n" -v nq="$NQUEUES" <<'SQL' >/dev/null
SELECT eventbus.create_event_bus('r' || :n);
SELECT eventbus.put_rule(CASE WHEN j < :n / 2 THEN 'dt-' || j ELSE 'cat-' || (j - :n / 2) END,
                         CASE WHEN j < :n / 2
                              THEN jsonb_build_object('source', jsonb_build_array('com.example.bench'),
                                                      'detail-type', jsonb_build_array('type-' || j))
                              ELSE jsonb_build_object('source', jsonb_build_array('com.example.bench'),
                                                      'detail', jsonb_build_object('category',
                                                          jsonb_build_array('cat-' || (j - :n / 2))))
                         END,
                         'r' || :n)
  FROM generate_series(0, :n - 1) AS j;
SELECT eventbus.put_targets(CASE WHEN j < :n / 2 THEN 'dt-' || j ELSE 'cat-' || (j - :n / 2) END,
                            jsonb_build_array(jsonb_build_object('Id', 't1', 'Arn', 'queue:q' || (j % :nq))),
                            'r' || :n)
  FROM generate_series(0, :n - 1) AS j;
SQL
done
if [ "$ZERO" = 1 ]; then
	psql_q -c "SELECT eventbus.create_event_bus('r0')" >/dev/null
fi
psql_q -c "SELECT count(*) FROM eventbus.targets" | { read -r t; eb_log "$t targets"; }

HAVE_PUT=$(psql_q -c "SELECT count(*) FROM pg_proc WHERE oid::regprocedure::text = 'eventbus.put_events(jsonb)'")
if [ "$HAVE_PUT" != 1 ]; then
	eb_log "eventbus.put_events(jsonb) does not exist: the put-N runs are skipped"
fi

OUTBOXES=$(psql_q -c "SELECT string_agg(outbox::text, ', ' ORDER BY name) FROM eventbus.queues")

# PgQ's queue "bench": its events go to the queue's event tables
# (pgq.event_<id>, whose children the ticker rotates; none runs here).
PGQ_TABLE="" PGQ_VERSION=""
if [ "$PGQ" = 1 ]; then
	PGQ_TABLE=$(psql_q -c "CREATE EXTENSION pgq" -c "SELECT pgq.create_queue('bench')" \
		-c "SELECT queue_data_pfx FROM pgq.queue WHERE queue_name = 'bench'" | tail -1)
	PGQ_VERSION=$(psql_q -c "SELECT extversion FROM pg_extension WHERE extname = 'pgq'")
	eb_log "PgQ $PGQ_VERSION: queue bench, events in $PGQ_TABLE"
fi

# ---------------------------------------------------------------------------
# The event: ~1 KB of detail JSON, with the category as a format() slot.
# ---------------------------------------------------------------------------
DETAIL='{"category": "cat-%s", '"${BENCH_DETAIL_JSON#\{}"

# put_events request template: slots %<2k-1>$s (detail-type number) and
# %<2k>$s (category number) for entry k; Detail is a JSON string (as in
# EventBridge's PutEvents), or with MODE "object" a JSON object.
put_template() {
	local bus=$1 mode=${2:-string} k detail_str entries=()
	if [ "$mode" = object ]; then
		detail_str=$DETAIL
	else
		detail_str="\"${DETAIL//\"/\\\"}\""
	fi
	for ((k = 1; k <= EVENTS_PER_TX; k++)); do
		local d=${detail_str/cat-%s/cat-%$((2 * k))\$s}
		entries+=("{\"Source\": \"com.example.bench\", \"DetailType\": \"type-%$((2 * k - 1))\$s\", \"Detail\": $d, \"EventBusName\": \"$bus\"}")
	done
	local IFS=,
	echo "{\"Entries\": [${entries[*]}]}"
}

# write_script FILE KIND TABLE-OR-EMPTY N: a pgbench script
write_script() {
	local file=$1 kind=$2 table=$3 n=$4 k half=$(($4 / 2))
	[ "$half" -ge 1 ] || half=1
	{
		for ((k = 1; k <= EVENTS_PER_TX; k++)); do
			echo "\\set a$k random(0, $((half - 1)))"
			echo "\\set b$k random(0, $((n > 0 ? n - 1 : 0)))"
		done
		if [ "$kind" = pgq ]; then
			echo "SELECT"
			for ((k = 1; k <= EVENTS_PER_TX; k++)); do
				printf "  pgq.insert_event('bench', 'type-' || :a%d::int, format(:detail::text, :b%d::int))%s\n" \
					"$k" "$k" "$([ "$k" -lt "$EVENTS_PER_TX" ] && echo , || echo ';')"
			done
		elif [ "$kind" = put ] || [ "$kind" = putobj ]; then
			printf 'SELECT eventbus.put_events(format(:req::text'
			for ((k = 1; k <= EVENTS_PER_TX; k++)); do printf ', :a%d::int, :b%d::int' "$k" "$k"; done
			printf ')::jsonb);\n'
		else
			echo "INSERT INTO $table (bus, source, detail_type, detail) VALUES"
			for ((k = 1; k <= EVENTS_PER_TX; k++)); do
				printf "  (:bus::text, 'com.example.bench', 'type-' || :a%d::int, format(:detail::text, :b%d::int)::jsonb)%s\n" \
					"$k" "$k" "$([ "$k" -lt "$EVENTS_PER_TX" ] && echo , || echo ';')"
			done
		fi
	} >"$file"
}

# Configurations: name, kind, table, rules.
CONFIGS=()
[ "$ZERO" = 1 ] && CONFIGS+=("insert-0")
for n in $RULE_COUNTS; do
	CONFIGS+=("insert-$n")
	[ "$HAVE_PUT" = 1 ] && CONFIGS+=("put-$n")
	[ "$HAVE_PUT" = 1 ] && [ "$PUT_OBJECT" = 1 ] && CONFIGS+=("putobj-$n")
done
[ "$PGQ" = 1 ] && CONFIGS+=("pgq")

SCRIPTS=$EB_TMP/scripts
mkdir -p "$SCRIPTS"
chmod 755 "$SCRIPTS"
write_script "$SCRIPTS/baseline.sql" insert bench.base_events 10
for cfg in "${CONFIGS[@]}"; do
	if [ "$cfg" = pgq ]; then
		write_script "$SCRIPTS/$cfg.sql" pgq "" 10
	else
		write_script "$SCRIPTS/$cfg.sql" "${cfg%-*}" eventbus.events "${cfg#*-}"
	fi
done
# The request of one put, to check its size and that it is valid.
for n in $RULE_COUNTS; do
	put_template "r$n" >"$SCRIPTS/req-r$n.json"
	put_template "r$n" object >"$SCRIPTS/reqobj-r$n.json"
done

# One put_events of each template must succeed before timing anything; if
# it fails, the put-N runs are skipped and the report says why.
PUT_ERROR=
if [ "$HAVE_PUT" = 1 ]; then
	for req in $(for n in $RULE_COUNTS; do echo "req-r$n reqobj-r$n"; done); do
		args=$(for ((k = 1; k <= EVENTS_PER_TX; k++)); do printf ', %d, %d' 0 0; done)
		if ! out=$(psql_q -v req="$(cat "$SCRIPTS/$req.json")" 2>&1 <<SQL
SELECT eventbus.put_events(format(:'req'$args)::jsonb)->>'FailedEntryCount';
SQL
		) || [ "$out" != 0 ]; then
			PUT_ERROR=$(head -c 600 <<<"$out" | tr '\n' ' ')
			eb_log "put_events of the $req template failed, the put-N runs are skipped: $PUT_ERROR"
			HAVE_PUT=0
			break
		fi
	done
	if [ "$HAVE_PUT" = 0 ]; then
		mapfile -t CONFIGS < <(printf '%s\n' "${CONFIGS[@]}" | grep -v '^put')
	fi
fi
REQ_BYTES=$(wc -c <"$SCRIPTS/req-r${RULE_COUNTS%% *}.json")
REQOBJ_BYTES=$(wc -c <"$SCRIPTS/reqobj-r${RULE_COUNTS%% *}.json")
DETAIL_BYTES=$(psql_q -v d="$DETAIL" <<<"SELECT octet_length(format(:'d', 1)), pg_column_size(format(:'d', 1)::jsonb)" | tr '|' ' ')
eb_log "detail: $DETAIL_BYTES bytes (text, jsonb); put_events request: $REQ_BYTES bytes"

# A smoke run of each script: they must write 10 events per transaction.
reset_tables() {
	psql_q -c "TRUNCATE eventbus.events, bench.base_events, $OUTBOXES${PGQ_TABLE:+, $PGQ_TABLE}" -c "CHECKPOINT" >/dev/null
}

# CPU time (clock ticks) of the cluster's exited processes: the postmaster
# reaps its backends, so its cutime + cstime grows by each backend's CPU
# time when it exits.  Unlike throughput, this does not drop when other
# processes on the machine take the CPU.
CLK_TCK=$(getconf CLK_TCK)
cluster_cpu_ticks() { awk '{ print $16 + $17 }' "/proc/$(head -1 "$PGDATA_EB/postmaster.pid")/stat"; }
wait_backends_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'")" = 0 ] && break
		sleep 0.1
	done
	sleep 0.3
}

# run_pgbench CONFIG SECONDS: prints "tx tps cpu-ticks"
run_pgbench() {
	local cfg=$1 secs=$2 bus=${1#*-} out c0 c1
	[ "$cfg" = baseline ] || [ "$cfg" = pgq ] && bus=10
	c0=$(cluster_cpu_ticks)
	out=$(bench_pgbench -c "$CLIENTS" -j "$CLIENTS" -T "$secs" \
		-D "bus=r$bus" -D "detail=$DETAIL" -D "req=$(put_template "r$bus" "$([ "${cfg%-*}" = putobj ] && echo object)")" \
		-f "$SCRIPTS/$cfg.sql") || return 1
	wait_backends_gone
	c1=$(cluster_cpu_ticks)
	echo "$(pgbench_tx_tps <<<"$out") $((c1 - c0))"
}

# counts CONFIG: "events messages" written by the last run
counts() {
	local table=eventbus.events
	[ "$1" = baseline ] && table=bench.base_events
	[ "$1" = pgq ] && table=$PGQ_TABLE
	psql_q -c "SELECT (SELECT count(*) FROM $table), (SELECT sum(n) FROM (
	             SELECT count(*) AS n FROM $(sed 's/, / UNION ALL SELECT count(*) FROM /g' <<<"$OUTBOXES")) s)" | tr '|' ' '
}

eb_log "smoke runs"
for cfg in baseline "${CONFIGS[@]}"; do
	reset_tables
	out=$(run_pgbench "$cfg" 2) || exit 1
	read -r tx tps _ <<<"$out"
	read -r ev msgs < <(counts "$cfg")
	if [ "$ev" -ne $((tx * EVENTS_PER_TX)) ]; then
		eb_log "$cfg: $tx transactions wrote $ev events, expected $((tx * EVENTS_PER_TX))"
		exit 1
	fi
	eb_log "$cfg: $tps tx/s, $ev events, $msgs messages ($(awk -v m="$msgs" -v e="$ev" 'BEGIN { printf "%.2f", m / e }') per event)"
done

# ---------------------------------------------------------------------------
# Timed rounds.
# ---------------------------------------------------------------------------
RUNS=$EB_TMP/runs.tsv	# round, pair, config, tx, tps, events, messages, cpu ticks
: >"$RUNS"
ncfg=${#CONFIGS[@]}
eb_log "timing $ROUNDS rounds of $ncfg pairs (baseline, configuration) of ${SECS} s runs, $CLIENTS clients"
bench_start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 0; i < ncfg; i++)); do
		cfg=${CONFIGS[$(((i + r - 1) % ncfg))]}
		for run in baseline "$cfg"; do
			reset_tables
			if [ "$run" = "$PERF_CFG" ] && [ "$r" -eq "$ROUNDS" ] && command -v perf >/dev/null; then
				run_pgbench "$run" "$SECS" >"$EB_TMP/perf_run.out" &
				pg_pid=$!
				perf_backends "$EB_TMP/perf.data" 2 "$((SECS - 4))"
				wait "$pg_pid" || exit 1
				out=$(cat "$EB_TMP/perf_run.out")
			else
				out=$(run_pgbench "$run" "$SECS") || exit 1
			fi
			read -r tx tps cpu <<<"$out"
			read -r ev msgs < <(counts "$run")
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$cfg" "$run" "$tx" "$tps" "$ev" "$msgs" "$cpu" >>"$RUNS"
			eb_log "round $r: $run $(awk -v t="$tps" -v k="$EVENTS_PER_TX" 'BEGIN { printf "%.0f", t * k }') events/s ($tx tx, $msgs messages)"
		done
	done
done
eb_log "timed in $(($(date +%s) - bench_start)) s"

if [ -n "$PERF_CFG" ] && [ -f "$EB_TMP/perf.data" ]; then
	mkdir -p "$RESULTS_DIR"
	perf_report_backends "$EB_TMP/perf.data" "the last round's $PERF_CFG run" 60 >"$RESULTS_DIR/ingest_perf_$PERF_CFG.txt"
	eb_log "perf report in $RESULTS_DIR/ingest_perf_$PERF_CFG.txt"
fi

# events/s of every run of RUN (a configuration, or baseline)
eps_of() { awk -F'\t' -v c="$1" -v k="$EVENTS_PER_TX" '$3 == c { print $5 * k }' "$RUNS"; }
# per-pair ratios of configuration CFG
ratios_of() {
	awk -F'\t' -v c="$1" '$2 == c && $3 == "baseline" { b[$1] = $5 }
	                      $2 == c && $3 == c { r[$1] = $5 }
	                      END { for (k in r) print r[k] / b[k] }' "$RUNS"
}
# backend CPU µs per event of every run of RUN
cpu_of() { awk -F'\t' -v c="$1" -v hz="$CLK_TCK" '$3 == c { print $8 * 1e6 / hz / $6 }' "$RUNS"; }
# per-pair CPU ratios (baseline CPU per event / configuration CPU per event)
cpu_ratios_of() {
	awk -F'\t' -v c="$1" '$2 == c && $3 == "baseline" { b[$1] = $8 / $6 }
	                      $2 == c && $3 == c { r[$1] = $8 / $6 }
	                      END { for (k in r) print b[k] / r[k] }' "$RUNS"
}
msgs_per_event() { awk -F'\t' -v c="$1" '$3 == c { m += $7; e += $6 } END { printf "%.2f", e ? m / e : 0 }' "$RUNS"; }

BASE_EPS=$(eps_of baseline | median_of)
bench_machine
missed=0
{
	echo "### Ingest benchmark"
	echo
	echo "Build: $BUILD."
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), fsync off, shared_buffers 1GB."
	echo "pgbench -M prepared, $CLIENTS clients, ${SECS} s per run, $ROUNDS rounds; each run of a configuration"
	echo "follows a baseline run (order of configurations rotated per round); tables and outboxes truncated"
	echo "and a CHECKPOINT taken before every run. Figures are medians over rounds; the ratio is the median"
	echo "of the per-pair ratios (configuration events/s / baseline events/s of the run just before it)."
	echo
	echo "Each transaction writes $EVENTS_PER_TX events with $(cut -d' ' -f1 <<<"$DETAIL_BYTES") bytes of detail JSON each (sent as text, parsed by the"
	echo "server on every execution). Bus r<N> has N rules (N/2 on detail-type, N/2 on detail.category, all"
	echo "also on source), each with one queue target; the targets share $NQUEUES queues. Each event matches"
	echo "1 or 2 rules (messages/event below)."
	echo
	echo "- baseline: \`INSERT INTO bench.base_events (bus, source, detail_type, detail) VALUES (...) x $EVENTS_PER_TX\`,"
	echo "  same columns, defaults, CHECK, primary key (id, ingestion_time), daily partitions and default partition"
	echo "  as eventbus.events, no trigger"
	echo "- insert-N: the same INSERT into eventbus.events on bus rN (the routing trigger fans events out)"
	[ "$HAVE_PUT" = 1 ] && echo "- put-N: \`SELECT eventbus.put_events('{\"Entries\": [...$EVENTS_PER_TX entries...]}')\` on bus rN (request $REQ_BYTES bytes, Detail as a JSON string, as EventBridge's API has it)"
	[ "$HAVE_PUT" = 1 ] && [ "$PUT_OBJECT" = 1 ] && echo "- putobj-N: the same with Detail as a JSON object (request $REQOBJ_BYTES bytes): no JSON text inside JSON to parse again"
	if [ "$PGQ" = 1 ]; then
		echo "- pgq: PgQ $PGQ_VERSION (Debian's postgresql-$EB_PG_MAJOR-pgq3), the peer: \`SELECT pgq.insert_event('bench', 'type-<a>', <detail>), ... x $EVENTS_PER_TX\`"
		echo "  (one statement) into PgQ queue \"bench\" ($PGQ_TABLE; no ticker, no consumer); the detail is ev_data, text: PgQ"
		echo "  does not parse it, and routes nothing (a consumer reads the queue's events by position)"
	else
		echo "- pgq: $PGQ_SKIPPED"
	fi
	if [ "$HAVE_PUT" != 1 ]; then
		if [ -n "$PUT_ERROR" ]; then
			echo "- put-N: not run, eventbus.put_events failed: \`$PUT_ERROR\`"
		else
			echo "- put-N: not run, eventbus.put_events(jsonb) does not exist in this build"
		fi
	fi
	echo
	echo "| Run | Rules | Events/s | Tx/s | Messages/event | Ratio to baseline (min-max) | Goal | Server CPU µs/event | Ratio by CPU (min-max) |"
	echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
	awk -v e="$BASE_EPS" -v k="$EVENTS_PER_TX" -v c="$(cpu_of baseline | median_of)" \
		'BEGIN { printf "| baseline (plain INSERT, no trigger) | - | %.0f | %.0f | - | 1.00 | | %.1f | 1.00 |\n", e, e / k, c }'
	for cfg in "${CONFIGS[@]}"; do
		n=${cfg#*-}
		eps=$(eps_of "$cfg" | median_of)
		ratio=$(ratios_of "$cfg" | median_of)
		range=$(ratios_of "$cfg" | range_of)
		goal=$(goal_for "$n")
		verdict=
		if [ "${cfg%-*}" = put ] && [ -n "$goal" ]; then
			if awk -v r="$ratio" -v g="$goal" 'BEGIN { exit !(r >= g) }'; then
				verdict="ok >= $goal"
			else
				verdict="MISSED >= $goal ($(printf '%.3f' "$ratio"))"
				missed=$((missed + 1))
			fi
		elif [ "${cfg%-*}" = insert ] && [ -n "$goal" ]; then
			verdict=$(awk -v r="$ratio" -v g="$goal" 'BEGIN { printf "(%s >= %s without put_events)", (r >= g) ? "ok" : "below", g }')
		fi
		label="INSERT into eventbus.events"
		[ "${cfg%-*}" = put ] && label="put_events"
		[ "${cfg%-*}" = putobj ] && label="put_events, Detail as an object"
		[ "$n" = 0 ] && label="INSERT into eventbus.events, bus without rules"
		mpe=$(msgs_per_event "$cfg")
		if [ "$cfg" = pgq ]; then
			label="PgQ's insert_event"
			n=-
			mpe=-
		fi
		cr=$(cpu_ratios_of "$cfg" | median_of)
		crange=$(cpu_ratios_of "$cfg" | range_of)
		awk -v l="$label ($cfg)" -v n="$n" -v e="$eps" -v k="$EVENTS_PER_TX" -v m="$mpe" \
			-v r="$ratio" -v rg="$range" -v g="$verdict" -v c="$(cpu_of "$cfg" | median_of)" -v cr="$cr" -v crg="$crange" \
			'BEGIN { printf "| %s | %s | %.0f | %.0f | %s | **%.2f** (%s) | %s | %.1f | %.2f (%s) |\n", l, n, e, e / k, m, r, rg, g, c, cr, crg }'
	done
	echo
	echo "Goals: routed ingest through put_events >= 50% of the baseline's events/s with 10 rules, >= 40% with"
	echo "1,000 rules (judged on throughput). Server CPU µs/event: CPU time of the cluster's backends during"
	echo "the run (postmaster's cutime + cstime, clock ticks) / events; pgbench's own CPU is not included. The"
	echo "ratio by CPU (baseline CPU/event over the configuration's) is what throughput would show if the"
	echo "server had the machine to itself; on this shared machine throughput ratios swing with other load."
	if [ "$PGQ" = 1 ]; then
		pgq_ratio=$(ratios_of pgq | median_of)
		echo
		echo "Against PgQ (the issue's moonshot: put_events at least PgQ's insert_event rate, while routing), each"
		echo "configuration's ratio to the baseline over PgQ's ($(awk -v r="$pgq_ratio" 'BEGIN { printf "%.2f", r }')):"
		for cfg in "${CONFIGS[@]}"; do
			[ "$cfg" = pgq ] && continue
			printf '%s %.2f;' "$cfg" "$(awk -v a="$(ratios_of "$cfg" | median_of)" -v b="$pgq_ratio" 'BEGIN { print (b > 0) ? a / b : 0 }')"
		done | sed 's/;$/./; s/;/; /g'
		echo
		echo
	fi
	if [ "$HAVE_PUT" != 1 ]; then
		echo "Not decided: put_events does not exist yet (the insert-N rows show routing without it)."
	elif [ "$missed" -eq 0 ]; then
		echo "All goals met."
	else
		echo "Goals missed: $missed."
	fi
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo "| Round | Pair | Run | Transactions | Tx/s | Events | Messages | Server CPU s |"
	echo "|---:|---|---|---:|---:|---:|---:|---:|"
	awk -F'\t' -v hz="$CLK_TCK" '{ printf "| %s | %s | %s | %s | %.0f | %s | %s | %.2f |\n", $1, $2, $3, $4, $5, $6, $7, $8 / hz }' "$RUNS"
	echo
	echo "</details>"
} >"$EB_TMP/report.md"

bench_write_report
bench_exit "$missed"
