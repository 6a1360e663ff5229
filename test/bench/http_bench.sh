#!/usr/bin/env bash
# shellcheck disable=SC2046  # lists of pids are split into arguments on purpose
# HTTP delivery benchmark: deliveries per second from eventbus to a fast
# local HTTP server (an API destination target), against a plain load
# generator sending the same requests straight at the same server.
#
# The server: nginx (nginx-light, installed when missing), started by this
# script as an unprivileged process with its own configuration in a
# temporary directory, on a free 127.0.0.1 port, one worker process
# (EB_BENCH_NGINX_WORKERS), keep-alive, `return 200` for every request.  Two
# instances: "tp" with its access log off (the throughput runs) and "lat"
# logging "$msec X-Eventbus-Event-Id" per request (the latency phase).
#
# eventbus side: a cluster with eventbus.http_max_in_flight = 64 and
# eventbus.http_allowed_networks = '127.0.0.1/32'; an API_KEY connection, an
# API destination per nginx instance (POST, http://127.0.0.1:P/events) with
# InvocationRateLimitPerSecond EB_BENCH_RATE_LIMIT (default 1000000: none
# in effect; when create_api_destination refuses it, the highest of 100000
# 10000 5000 1000 300 it takes, and the report says so), and one rule per
# destination with one api_destination target ("api-destination:<name>").
#
#   throughput  per run: eventbus.delivery_enabled = off, EB_BENCH_EVENTS
#               events inserted into eventbus.events on bus "http" (the
#               routing trigger leaves one message each in the target's
#               outbox; ~1 KB of detail, BENCH_DETAIL_JSON plus a number),
#               VACUUM ANALYZE, CHECKPOINT; then delivery_enabled = on and
#               the time until the workers' counters (eventbus.
#               _delivery_workers(): delivered + failed) reach the count.
#               Checked: nothing failed, the outbox is empty, nginx counted
#               at least as many requests (its stub_status).
#   baseline    the same number of requests, with the same bodies (the JSON
#               texts of the same events, eventbus.event_envelope) and the
#               same headers (the API key, Content-Type, an id header), sent
#               by test/bench/tools/http_loadgen (libcurl multi, built here
#               with gcc -lcurl) with 64 in flight over keep-alive
#               connections, straight at the same nginx.
#   latency     after the throughput rounds: pgbench -R EB_BENCH_LAT_RATE
#               (Poisson) for EB_BENCH_LAT_SECONDS s, one event per
#               transaction, to the logging destination; latency = nginx's
#               $msec when it logged the request (ms resolution, written once
#               the request is read: it is "request received") minus the
#               producer transaction's commit timestamp (track_commit_timestamp;
#               the transaction id is carried in the detail), first receipt
#               of each event.
#
# Each round runs the baseline and eventbus back to back (the order
# alternates); figures are medians over rounds, the ratio the median of
# per-round ratios.  Also reported: the delivery workers' and nginx's CPU
# per request (from /proc), and the CPU that processes other than this
# cluster, nginx and this script took during each run ("other work"; a run
# above EB_BENCH_QUIET_MAX % is done again, the least disturbed counts).
#
#   EB_SKIP_BUILD=1 bash test/bench/http_bench.sh
#   BENCH_BASELINE_ONLY=1 bash test/bench/http_bench.sh   # no cluster: the load
#       generator alone, with bodies of the same shape made here
#
# InvocationRateLimitPerSecond: EventBridge allows 1 to 300, and so does the
# catalog (contract of issue #9), with no setting that turns the limit off.
# So the throughput runs spread their events over DESTINATIONS destinations
# (rule tp-<i> takes the events whose detail.shard is i; all point at the same
# nginx): 100 at 300/s allow 30,000 requests/s together, more than the
# engine is asked to reach.  One more run ("limited") measures a single
# destination at its limit: it must take LIMITED_SECONDS s.
#
# Without API destinations in the build (no eventbus.create_api_destination),
# the baseline runs alone, with the bodies of real events, and the report
# says so.
#
# Settings (environment):
#   EB_BENCH_EVENTS        events (requests) per run           (default 50000)
#   EB_BENCH_ROUNDS        rounds                              (default 3)
#   EB_BENCH_IN_FLIGHT     requests in flight, both sides      (default 64)
#   EB_BENCH_BATCH_SIZE    eventbus.delivery_batch_size        (default 1000)
#   EB_BENCH_RATE_LIMIT    InvocationRateLimitPerSecond asked  (default 1000000)
#   EB_BENCH_LAT_RATE      events/s of the latency phase       (default 100: below
#                          one destination's highest rate limit, 300)
#   EB_BENCH_LAT_SECONDS   seconds of the latency phase        (default 20; 0: none)
#   EB_BENCH_DESTINATIONS  API destinations sharing the throughput runs' events
#                          (default auto: enough that their rate limits allow
#                          EB_BENCH_UNLIMITED_RATE, default 30000, requests/s)
#   EB_BENCH_LIMITED_SECONDS  seconds of traffic for the one-destination run
#                          at its rate limit (default 10; 0: none)
#   EB_BENCH_TIMEOUT       seconds a drain may take            (default 300)
#   EB_BENCH_NGINX_WORKERS nginx worker processes              (default 1)
#   BENCH_BASELINE_ONLY=1  the baseline alone, without a cluster
#   EB_BENCH_QUIET_MAX, EB_BENCH_QUIET_WAIT, EB_BENCH_RETRIES (default 1),
#   EB_BENCH_BUDGET (default 300): as in the other benchmarks (lib/bench.sh)
#   EB_BENCH_STRICT        exit 1 when a goal is missed
#   EB_KEEP=1              keep the cluster's directory
#
# Output: Markdown on stdout, also written to test/bench/results/http_bench.md
# (http_bench_baseline.md for BENCH_BASELINE_ONLY=1).
set -euo pipefail
shopt -s inherit_errexit
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

EVENTS=${EB_BENCH_EVENTS:-50000}
ROUNDS=${EB_BENCH_ROUNDS:-3}
[ "$ROUNDS" -ge 1 ] || ROUNDS=1
IN_FLIGHT=${EB_BENCH_IN_FLIGHT:-64}
BATCH=${EB_BENCH_BATCH_SIZE:-1000}
RATE_LIMIT=${EB_BENCH_RATE_LIMIT:-1000000}
DESTINATIONS=${EB_BENCH_DESTINATIONS:-auto}
# with DESTINATIONS auto: enough destinations for this rate under their limits
UNLIMITED_RATE=${EB_BENCH_UNLIMITED_RATE:-30000}
LAT_RATE=${EB_BENCH_LAT_RATE:-100}
LAT_SECS=${EB_BENCH_LAT_SECONDS:-20}
LIMITED_SECS=${EB_BENCH_LIMITED_SECONDS:-10}
TIMEOUT=${EB_BENCH_TIMEOUT:-300}
BASELINE_ONLY=${BENCH_BASELINE_ONLY:-}
API_KEY_NAME=x-api-key
API_KEY_VALUE=bench-not-a-secret
if [ -n "$BASELINE_ONLY" ]; then
	RESULTS=$RESULTS_DIR/http_bench_baseline.md
else
	RESULTS=$RESULTS_DIR/http_bench.md
fi

# Goals (issue #9): on 2 cores, and against the baseline.
GOAL_RATE=5000
GOAL_RATIO=0.5

bench_need_nginx
bench_quiet_init "${EB_BENCH_RETRIES:-1}" 300

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------------------
# Setup: the cluster (or, for the baseline alone, a directory), nginx, the
# load generator.
# ---------------------------------------------------------------------------
HAVE_HTTP=
if [ -n "$BASELINE_ONLY" ]; then
	EB_TMP=$(mktemp -d "/tmp/${EB_TMP_PREFIX}.XXXXXX")
	chmod 755 "$EB_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$EB_TMP"
	trap 'nginx_stop; [ -n "${EB_KEEP:-}" ] || rm -rf "$EB_TMP"' EXIT
	BUILD="none (BENCH_BASELINE_ONLY: the load generator alone)"
	PGVER="-"
else
	eb_prepare
	bench_cluster_start "${BENCH_CONF[@]}" \
		"max_worker_processes = 16" \
		"track_commit_timestamp = on" \
		"eventbus.retry_base_delay = '20ms'" \
		"eventbus.http_max_in_flight = $IN_FLIGHT" \
		"eventbus.http_allowed_networks = '127.0.0.1/32'"
	BUILD=$(bench_build)
	PGVER=$(psql_q -c "SHOW server_version")
fi

LOADGEN=$(bench_compile_tool http_loadgen "$EB_TMP")
nginx_start "$EB_TMP/nginx-tp"
TP_URL=$NGINX_URL TP_DIR=$NGINX_DIR
# the second instance (its own directory and port)
NGINX_DIR=
nginx_start "$EB_TMP/nginx-lat" "$EB_TMP/nginx-lat/access.log"
LAT_URL=$NGINX_URL LAT_DIR=$NGINX_DIR
# both stopped on exit
nginx_stop_both() { NGINX_DIR=$LAT_DIR; nginx_stop; NGINX_DIR=$TP_DIR; nginx_stop; }
NGINX_DIR=$TP_DIR NGINX_URL=$TP_URL
if [ -n "$BASELINE_ONLY" ]; then
	trap 'nginx_stop_both; [ -n "${EB_KEEP:-}" ] || rm -rf "$EB_TMP"' EXIT
else
	trap 'nginx_stop_both; bench_on_exit' EXIT
fi

BODIES=$EB_TMP/bodies.txt
if [ -n "$BASELINE_ONLY" ]; then
	# The JSON text eventbus sends for such an event (its envelope), in the
	# key order jsonb gives it, with the benchmark's detail.
	eb_log "making $EVENTS request bodies"
	awk -v n="$EVENTS" -v detail="$BENCH_DETAIL_JSON" -v t="$(date -u +%Y-%m-%dT%H:%M:%SZ)" 'BEGIN {
		srand(1);
		sub(/^\{/, "", detail);
		for (i = 1; i <= n; i++) {
			id = sprintf("%08x-%04x-4%03x-a%03x-%012x", int(rand() * 4294967295), int(rand() * 65535),
			             int(rand() * 4095), int(rand() * 4095), int(rand() * 281474976710655));
			printf "{\"id\": \"%s\", \"time\": \"%s\", \"source\": \"bench.http\", \"detail\": {\"n\": %d, %s, \"region\": \"us-east-1\", \"account\": \"000000000000\", \"version\": \"0\", \"resources\": [], \"detail-type\": \"Tick\"}\n", id, t, i, detail
		}
	}' >"$BODIES"
else
	eb_log "setting up"
	psql_q >/dev/null <<SQL
CREATE EXTENSION eventbus;
CREATE SCHEMA bench;
SELECT eventbus.create_event_bus('http');
SELECT eventbus.put_rule('lat', '{"source": ["bench.http.latency"]}', event_bus_name => 'http');
SELECT eventbus.put_rule('limited', '{"source": ["bench.http.limited"]}', event_bus_name => 'http');
-- nginx's log of the latency phase: when it had read each request
CREATE TABLE bench.received (msec numeric NOT NULL, event_id text);
$BENCH_PARTITIONS_SQL
SQL
	psql_q -c "SELECT eventbus._wake_launcher()" >/dev/null
	DBOID=$(bench_dboid)
	if [ -n "$(psql_q -c "SELECT 1 FROM pg_proc WHERE proname = 'create_api_destination' AND pronamespace = 'eventbus'::regnamespace")" ]; then
		HAVE_HTTP=1
	else
		eb_log "this build has no eventbus.create_api_destination: the baseline runs alone"
	fi
fi

# ---------------------------------------------------------------------------
# The eventbus side.
# ---------------------------------------------------------------------------
set_delivery() {
	psql_q -c "ALTER SYSTEM SET eventbus.delivery_enabled = $1" \
		-c "ALTER SYSTEM SET eventbus.delivery_batch_size = $BATCH" \
		-c "SELECT pg_reload_conf()" >/dev/null
}

RATE_LIMIT_USED="" RATE_LIMIT_REFUSED="" RATE_GUC=""
if [ -n "$HAVE_HTTP" ]; then
	psql_q >/dev/null <<SQL
SELECT eventbus.create_connection('bench', 'API_KEY',
       '{"ApiKeyAuthParameters": {"ApiKeyName": "$API_KEY_NAME", "ApiKeyValue": "$API_KEY_VALUE"}}');
SQL
	# The highest InvocationRateLimitPerSecond the catalog takes, from the one asked.
	for limit in "$RATE_LIMIT" 100000 10000 5000 1000 300; do
		[ "$limit" -le "$RATE_LIMIT" ] || continue
		if err=$(psql_q -c "SELECT eventbus.create_api_destination('nginx-limited', 'bench', '$TP_URL/limited', 'POST', $limit)" 2>&1 >/dev/null); then
			RATE_LIMIT_USED=$limit
			break
		fi
		[ -n "$RATE_LIMIT_REFUSED" ] || RATE_LIMIT_REFUSED="$limit refused: $(echo "$err" | head -1)"
	done
	[ -n "$RATE_LIMIT_USED" ] || { eb_log "create_api_destination refused every rate limit: $RATE_LIMIT_REFUSED"; exit 1; }
	# "No rate limit", as the benchmark asks: eventbus.http_rate_limits = off
	# where the engine has it (then one destination takes every event);
	# else enough destinations that their limits together do not bind: each
	# takes every DESTINATIONS-th event (rule tp-<i>: detail.shard = i).
	RATE_LIMITS_OFF=
	if [ "$(psql_q -c "SELECT count(*) FROM pg_settings WHERE name = 'eventbus.http_rate_limits'")" = 1 ]; then
		psql_q -c "ALTER SYSTEM SET eventbus.http_rate_limits = off" >/dev/null
		psql_q -c "SELECT pg_reload_conf()" >/dev/null
		RATE_LIMITS_OFF=1
		[ "$DESTINATIONS" != auto ] || DESTINATIONS=1
		# the one-destination run at its limit needs the limits
		LIMITED_SECS=0
	fi
	if [ "$DESTINATIONS" = auto ]; then
		DESTINATIONS=$(((UNLIMITED_RATE + RATE_LIMIT_USED - 1) / RATE_LIMIT_USED))
	fi
	psql_q -v limit="$RATE_LIMIT_USED" -v d="$DESTINATIONS" -v tp="$TP_URL" -v lat="$LAT_URL" >/dev/null <<'SQL'
SELECT eventbus.create_api_destination('nginx-lat', 'bench', :'lat' || '/events', 'POST', :limit);
SELECT eventbus.put_targets('lat', '[{"Id": "t", "Arn": "api-destination:nginx-lat"}]', 'http');
SELECT eventbus.put_targets('limited', '[{"Id": "t", "Arn": "api-destination:nginx-limited"}]', 'http');
SELECT count(*) FROM generate_series(1, :d) AS i,
       LATERAL eventbus.create_api_destination('nginx-tp-' || i, 'bench', :'tp' || '/events', 'POST', :limit),
       LATERAL eventbus.put_rule('tp-' || i, jsonb_build_object('source', jsonb_build_array('bench.http'),
                                                               'detail', jsonb_build_object('shard', jsonb_build_array(i))),
                                 event_bus_name => 'http'),
       LATERAL eventbus.put_targets('tp-' || i, jsonb_build_array(jsonb_build_object('Id', 't', 'Arn', 'api-destination:nginx-tp-' || i)), 'http');
SQL
	# a setting that turns rate limiting off, if the engine has one
	RATE_GUC=$(psql_q -c "SELECT coalesce(string_agg(name || ' (' || vartype || ')', ', '), '') FROM pg_settings
		WHERE name LIKE 'eventbus.%' AND name ~ 'rate_limit'")
	eb_log "API destinations made; InvocationRateLimitPerSecond $RATE_LIMIT_USED${RATE_LIMIT_REFUSED:+ ($RATE_LIMIT_REFUSED)}"
	OUTBOX=$(psql_q -c "SELECT string_agg(outbox::text, ', ') FROM eventbus.targets WHERE bus = 'http' AND rule LIKE 'tp-%'")
	LIMITED_OUTBOX=$(psql_q -c "SELECT outbox::text FROM eventbus.targets WHERE bus = 'http' AND rule = 'limited'")
	LAT_OUTBOX=$(psql_q -c "SELECT outbox::text FROM eventbus.targets WHERE bus = 'http' AND rule = 'lat'")
	SETTINGS=$(psql_q -F ' ' -c "SELECT string_agg(name || ' = ' || setting || coalesce(unit, ''), ', ' ORDER BY name)
		FROM pg_settings WHERE name IN ('eventbus.delivery_batch_size', 'eventbus.delivery_workers',
		     'eventbus.http_max_in_flight', 'eventbus.http_timeout', 'eventbus.http_rate_limits')")
fi
[ "$DESTINATIONS" != auto ] || DESTINATIONS=1

# Polled by psql's \watch while the workers drain (as in
# delivery_throughput_bench.sh): "drained" once this database's workers
# have handled target messages since base, "timeout" past the deadline.
if [ -z "$BASELINE_ONLY" ]; then
	psql_q >/dev/null <<'SQL'
CREATE FUNCTION bench.check_drained(base bigint, target bigint, deadline timestamptz)
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    d bigint;
BEGIN
    SELECT coalesce(sum(w.delivered + w.failed), 0) - base INTO d
      FROM eventbus._delivery_workers() w
     WHERE w.database_oid = (SELECT oid FROM pg_database WHERE datname = current_database());
    IF d >= target THEN
        RAISE EXCEPTION 'drained';
    END IF;
    IF clock_timestamp() > deadline THEN
        RAISE EXCEPTION 'timeout: % of % messages handled', d, target;
    END IF;
    RETURN d;
END;
$fn$;
SQL
fi

# drain BASE N SECONDS: until this database's workers have handled N
# messages since BASE (polled every 20 ms by one psql session that holds no
# snapshot between polls); fails after SECONDS
drain() {
	local out
	# the deadline a literal: \watch runs the same text again and again
	out=$(printf 'SELECT bench.check_drained(%s, %s, %s)\n\\watch 0.02\n' \
		"$1" "$2" "'$(date -u -d "+$3 seconds" '+%Y-%m-%d %H:%M:%S.%N')+00'" | psql_q 2>&1 >/dev/null || true)
	case "$out" in
		*"ERROR:  drained"*) return 0 ;;
		*) eb_log "not drained: $out"; return 1 ;;
	esac
}

handled() {
	psql_q -c "SELECT coalesce(sum(delivered + failed), 0) FROM eventbus._delivery_workers() WHERE database_oid = $DBOID"
}
failed_count() {
	psql_q -c "SELECT coalesce(sum(failed), 0) FROM eventbus._delivery_workers() WHERE database_oid = $DBOID"
}

# outbox_count OUTBOXES: messages in them
outbox_count() {
	psql_q -c "SELECT $(sed 's/\([^, ][^,]*\)/(SELECT count(*) FROM \1)/g; s/, */ + /g' <<<"$1")"
}

# fill [N [SOURCE [OUTBOXES]]]: N (EVENTS) events on bus http from SOURCE
# (bench.http, spread over the tp-<i> destinations by detail.shard), with
# delivery off: they wait in OUTBOXES (the tp ones)
fill() {
	local total=${1:-$EVENTS} source=${2:-bench.http} outboxes=${3:-${OUTBOX:-}} left chunk n
	left=$total
	psql_q -c "TRUNCATE eventbus.events${OUTBOX:+, $OUTBOX}${LIMITED_OUTBOX:+, $LIMITED_OUTBOX}${LAT_OUTBOX:+, $LAT_OUTBOX}" >/dev/null
	while [ "$left" -gt 0 ]; do
		chunk=$((left > 50000 ? 50000 : left))
		psql_q -v n="$chunk" -v d="$BENCH_DETAIL_JSON" -v shards="$DESTINATIONS" -v source="$source" >/dev/null <<'SQL'
INSERT INTO eventbus.events (bus, source, detail_type, detail)
SELECT 'http', :'source', 'Tick', jsonb_build_object('n', i, 'shard', i % :shards + 1) || :'d'::jsonb
  FROM generate_series(1, :n) AS i;
SQL
		left=$((left - chunk))
	done
	if [ -n "$outboxes" ]; then
		n=$(outbox_count "$outboxes")
		[ "$n" = "$total" ] || { eb_log "the outboxes hold $n messages, expected $total (was delivery really off?)"; return 1; }
		psql_q -c "VACUUM ANALYZE" >/dev/null
	fi
	psql_q -c "VACUUM ANALYZE eventbus.events" -c "CHECKPOINT" >/dev/null
}

# run_eventbus: "seconds others worker_us nginx_us requests"
run_eventbus() {
	local base failed0 t0 t1 s0 s1 n0 me=$BASHPID w0 w1 x0 x1 r0 r1 left failed
	set_delivery off
	sleep 1				# every worker has read the reloaded settings
	fill
	wait_quiet
	base=$(handled)
	failed0=$(failed_count)
	r0=$(nginx_requests)
	w0=$(cpu_snapshot $(delivery_worker_pids))
	x0=$(cpu_snapshot $(nginx_pids))
	n0=$(nchildren)
	s0=$(snap "$me" $(nginx_pids))
	t0=$(now)
	set_delivery on
	drain "$base" "$EVENTS" "$TIMEOUT" || { eb_log "eventbus run did not drain"; return 1; }
	t1=$(now)
	w1=$(cpu_snapshot $(delivery_worker_pids))
	x1=$(cpu_snapshot $(nginx_pids))
	r1=$(nginx_requests)
	settle "$n0"
	s1=$(snap "$me" $(nginx_pids))
	left=$(outbox_count "$OUTBOX")
	failed=$(($(failed_count) - failed0))
	if [ "$left" != 0 ] || [ "$failed" != 0 ]; then
		eb_log "eventbus run: $left messages left, $failed failed; from the server log:"
		grep -E 'ERROR|WARNING' "$EB_TMP/server.log" | tail -5 >&2 || true
		return 1
	fi
	# nginx's count includes this function's one stub_status request
	r1=$((r1 - r0 - 1))
	[ "$r1" -ge "$EVENTS" ] || { eb_log "nginx received $r1 requests, $EVENTS delivered"; return 1; }
	printf '%s\t%s\t%s\t%s\t%s\n' "$(elapsed "$t0" "$t1")" "$(others_pct "$s0" "$s1")" \
		"$(ticks_per_item_us "$(cpu_delta "$w0" "$w1" | cut -d' ' -f1)" "$EVENTS")" \
		"$(ticks_per_item_us "$(cpu_delta "$x0" "$x1" | cut -d' ' -f1)" "$r1")" "$r1"
}

# run_baseline: "seconds others p50 p99 nginx_us requests"
run_baseline() {
	local out s0 s1 x0 x1 me=$BASHPID secs r0 r1
	[ -n "$BASELINE_ONLY" ] || { set_delivery off; sleep 1; }
	wait_quiet
	r0=$(nginx_requests)
	x0=$(cpu_snapshot $(nginx_pids))
	s0=$(snap "$me" $(nginx_pids))
	out=$("$LOADGEN" --url "$TP_URL/events" --bodies "$BODIES" --requests "$EVENTS" --parallel "$IN_FLIGHT" \
		--header "$API_KEY_NAME: $API_KEY_VALUE" --id-header X-Eventbus-Event-Id) \
		|| { eb_log "the load generator failed: $out"; return 1; }
	s1=$(snap "$me" $(nginx_pids))
	x1=$(cpu_snapshot $(nginx_pids))
	r1=$(($(nginx_requests) - r0 - 1))
	[ "$r1" -ge "$EVENTS" ] || { eb_log "nginx received $r1 requests, $EVENTS sent"; return 1; }
	secs=$(awk '$1 == "seconds" { print $2 }' <<<"$out")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$secs" \
		"$(others_pct "$s0" "$s1")" \
		"$(awk '$1 == "latency_p50_ms" { print $2 }' <<<"$out")" "$(awk '$1 == "latency_p99_ms" { print $2 }' <<<"$out")" \
		"$(ticks_per_item_us "$(cpu_delta "$x0" "$x1" | cut -d' ' -f1)" "$r1")" "$r1"
}

# The bodies of the baseline: the JSON texts of the same events.
if [ -z "$BASELINE_ONLY" ]; then
	eb_log "putting $EVENTS events to take their bodies"
	set_delivery off
	OUTBOX=${OUTBOX:-}
	fill
	psql_q -c "SELECT eventbus.event_envelope(e)::text FROM eventbus.events e WHERE e.bus = 'http' ORDER BY e.detail -> 'n'" >"$BODIES"
	[ "$(wc -l <"$BODIES")" = "$EVENTS" ] || { eb_log "expected $EVENTS bodies"; exit 1; }
fi
BODY_BYTES=$(awk '{ s += length($0) } END { printf "%.0f", s / NR }' "$BODIES")

# ---------------------------------------------------------------------------
# The timed runs.
# ---------------------------------------------------------------------------
TIMINGS=$EB_TMP/timings.tsv
: >"$TIMINGS"
KINDS="baseline"
[ -z "$HAVE_HTTP" ] || KINDS="baseline eventbus"
for ((r = 1; r <= ROUNDS; r++)); do
	order=$KINDS
	[ -n "$HAVE_HTTP" ] && ((r % 2 == 0)) && order="eventbus baseline"
	for kind in $order; do
		eb_log "round $r: $kind, $EVENTS requests"
		attempt=1 best="" best_others=""
		while :; do
			out=$("run_$kind")
			others=$(cut -f2 <<<"$out")
			eb_log "  $(cut -f1 <<<"$out") s, $(awk -v n="$EVENTS" -v s="$(cut -f1 <<<"$out")" 'BEGIN { printf "%.0f", n / s }') requests/s, other work ${others}%"
			if [ -z "$best" ] || { [ "$others" != - ] && [ "$others" -lt "$best_others" ]; }; then
				best=$out best_others=$others
			fi
			[ "$others" != - ] && may_retry "$others" "$attempt" || break
			eb_log "  disturbed by other work: again"
			attempt=$((attempt + 1))
		done
		printf '%s\t%s\t%s\t%s\n' "$r" "$kind" "$best" "$attempt" >>"$TIMINGS"
	done
done

# ---------------------------------------------------------------------------
# One destination under its rate limit, when the limit binds: the time
# LIMITED_SECS s worth of its events take.
# ---------------------------------------------------------------------------
LIMITED_RATE=""
if [ -n "$HAVE_HTTP" ] && [ "$RATE_LIMIT_USED" -le 10000 ] && [ "$LIMITED_SECS" -gt 0 ]; then
	LIMITED_N=$((RATE_LIMIT_USED * LIMITED_SECS))
	eb_log "one destination limited to $RATE_LIMIT_USED requests/s: $LIMITED_N events"
	set_delivery off
	sleep 1
	fill "$LIMITED_N" bench.http.limited "$LIMITED_OUTBOX"
	base=$(handled)
	t0=$(now)
	set_delivery on
	drain "$base" "$LIMITED_N" $((LIMITED_SECS * 10 + 30)) || { eb_log "the limited run did not drain"; exit 1; }
	t1=$(now)
	LIMITED_RATE=$(awk -v n="$LIMITED_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
	eb_log "  $LIMITED_RATE requests/s"
fi

# The engine's own figures for the destinations, when it has them.
dest_stats() {			# dest_stats NAME_LIKE
	[ -n "$(psql_q -c "SELECT to_regprocedure('eventbus._api_destination_stats()')")" ] || return 0
	psql_q -F ' ' -c "SELECT sum(requests), sum(responses_2xx), sum(responses_4xx + responses_5xx), sum(timeouts + network_errors),
	                         sum(rate_limited_waits), round(max(latency_p50_ms)::numeric, 2), round(max(latency_p99_ms)::numeric, 2)
	                    FROM eventbus._api_destination_stats() WHERE name LIKE '$1'"
}

# ---------------------------------------------------------------------------
# Latency at a steady rate.
# ---------------------------------------------------------------------------
LAT_LINE=""
if [ -n "$HAVE_HTTP" ] && [ "$LAT_SECS" -gt 0 ]; then
	eb_log "latency: $LAT_RATE events/s for $LAT_SECS s to the logging nginx"
	set_delivery on
	psql_q -c "TRUNCATE eventbus.events, $OUTBOX, $LIMITED_OUTBOX, $LAT_OUTBOX" >/dev/null
	echo "SELECT eventbus.put_event('bench.http.latency', 'Tick', jsonb_build_object('xid', pg_current_xact_id(), 'order', :d::jsonb), 'http');" \
		>"$EB_TMP/producer.sql"
	base=$(handled)
	: >"$LAT_DIR/access.log"
	w0=$(cpu_snapshot $(delivery_worker_pids))
	"$EB_BINDIR/pgbench" -n -M prepared -c 4 -j 2 -R "$LAT_RATE" -T "$LAT_SECS" -D d="$BENCH_DETAIL_JSON" \
		-f "$EB_TMP/producer.sql" >"$EB_TMP/pgbench-lat.log" 2>&1 || { cat "$EB_TMP/pgbench-lat.log" >&2; exit 1; }
	produced=$(sed -n 's/^number of transactions actually processed: *\([0-9]*\).*/\1/p' "$EB_TMP/pgbench-lat.log")
	drain "$base" "$produced" 60 || { eb_log "the latency phase did not drain"; exit 1; }
	w1=$(cpu_snapshot $(delivery_worker_pids))
	LAT_WORKER_US=$(ticks_per_item_us "$(cpu_delta "$w0" "$w1" | cut -d' ' -f1)" "$produced")
	psql_q -c "\\copy bench.received (msec, event_id) FROM '$LAT_DIR/access.log' WITH (FORMAT text, DELIMITER ' ', NULL '-')"
	LAT_LINE=$(psql_q -F ' ' -c "
		SELECT count(*), (SELECT count(*) FROM bench.received),
		       round(percentile_cont(0.50) WITHIN GROUP (ORDER BY l)::numeric, 2),
		       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 2),
		       round(max(l)::numeric, 2)
		  FROM (SELECT (min(r.msec) - extract(epoch FROM pg_xact_commit_timestamp((e.detail ->> 'xid')::xid8::xid))) * 1000 AS l
		          FROM bench.received r JOIN eventbus.events e ON e.id::text = r.event_id
		         WHERE e.source = 'bench.http.latency'
		         GROUP BY e.id, e.detail) s")
	read -r LAT_N LAT_RECEIVED LAT_P50 LAT_P99 LAT_MAX <<<"$LAT_LINE"
	[ "$LAT_N" = "$produced" ] || eb_log "latency phase: $produced events put, $LAT_N of them received"
fi

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
col_median() {			# col_median KIND COLUMN [FORMAT]
	awk -F'\t' -v k="$1" -v c="$2" '$2 == k { print $c }' "$TIMINGS" | median_of "${3:-%.3f}"
}
rate_range() {
	awk -F'\t' -v k="$1" -v n="$EVENTS" '$2 == k { print n / $3 }' "$TIMINGS" | sort -g \
		| awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'
}
rate_median() {
	awk -F'\t' -v k="$1" -v n="$EVENTS" '$2 == k { print n / $3 }' "$TIMINGS" | median_of %.0f
}
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
missed=0
{
	echo "### HTTP delivery benchmark"
	echo
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'); PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores)."
	echo "Build: $BUILD."
	echo "Server: nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///'), $NGINX_WORKERS worker process, keep-alive, \`return 200\`, access log off (throughput)."
	echo "$EVENTS requests per run, bodies of $BODY_BYTES bytes on average (event envelopes with ~1 KB of detail), $IN_FLIGHT in flight;"
	echo "$ROUNDS round(s), medians over rounds (the ratio: median of the per-round ratios)."
	if [ -n "$HAVE_HTTP" ]; then
		if [ -n "$RATE_LIMITS_OFF" ]; then
			echo "eventbus: API_KEY connection; $DESTINATIONS API destination(s) POST $TP_URL/events, rate limits off"
			echo "(eventbus.http_rate_limits = off), one rule and api_destination target; settings: $SETTINGS."
		else
			echo "eventbus: API_KEY connection; $DESTINATIONS API destination(s) POST $TP_URL/events, each with InvocationRateLimitPerSecond"
			echo "$RATE_LIMIT_USED${RATE_LIMIT_REFUSED:+ (asked $RATE_LIMIT; $RATE_LIMIT_REFUSED)}, the events spread evenly over them (one rule and"
			echo "api_destination target each, on detail.shard): together at most $((DESTINATIONS * RATE_LIMIT_USED)) requests/s; settings: $SETTINGS."
			echo "Settings of the engine that turn rate limiting off: ${RATE_GUC:-none}."
		fi
	elif [ -n "$BASELINE_ONLY" ]; then
		echo "**The baseline alone (BENCH_BASELINE_ONLY=1).**"
	else
		echo "**This build has no API destinations (eventbus.create_api_destination): the baseline alone, with the"
		echo "bodies of real events.**"
	fi
	echo "Baseline: test/bench/tools/http_loadgen (libcurl $(curl-config --version 2>/dev/null | sed 's/libcurl //') multi interface), same bodies and headers."
	echo
	echo "| Sender | Requests/s (median) | Range | nginx CPU per request (µs) | Delivery workers' CPU per delivery (µs) | Client latency p50 / p99 ms |"
	echo "|---|---:|---:|---:|---:|---:|"
	brate=$(rate_median baseline)
	printf '| baseline: http_loadgen, %s in flight | **%s** | %s | %s | - | %s / %s |\n' "$IN_FLIGHT" "$brate" \
		"$(rate_range baseline)" \
		"$(col_median baseline 7 %.1f)" "$(col_median baseline 5 %.2f)" "$(col_median baseline 6 %.2f)"
	if [ -n "$HAVE_HTTP" ]; then
		erate=$(rate_median eventbus)
		printf '| **eventbus** (api_destination target) | **%s** | %s | %s | %s | - |\n' "$erate" \
			"$(rate_range eventbus)" \
			"$(col_median eventbus 6 %.1f)" "$(col_median eventbus 5 %.1f)"
		ratio=$(awk -F'\t' '{ s[$1, $2] = $3; r[$1] = 1 } END { for (i in r) if ((i, "eventbus") in s) print s[i, "baseline"] / s[i, "eventbus"] }' "$TIMINGS" | median_of %.2f)
		echo
		echo "Ratio eventbus / baseline (deliveries/s over requests/s): **$ratio**."
		st=$(dest_stats 'nginx-tp-%')
		if [ -n "$st" ]; then
			read -r s_req s_2xx s_err s_net s_waits s_p50 s_p99 <<<"$st"
			echo "The engine's metrics of the throughput destinations (all rounds together):"
			echo "$s_req requests, $s_2xx 2xx, $s_err 4xx/5xx, $s_net timeouts or network errors, $s_waits rate-limited waits;"
			echo "request latency p50 $s_p50 ms, p99 $s_p99 ms (the highest of the destinations)."
		fi
		if [ -n "$LIMITED_RATE" ]; then
			echo
			echo "One destination at its InvocationRateLimitPerSecond $RATE_LIMIT_USED, $LIMITED_N events waiting: $LIMITED_RATE"
			echo "requests/s ($(awk -v r="$LIMITED_RATE" -v l="$RATE_LIMIT_USED" 'BEGIN { printf "%s", (r <= l * 1.02) ? "within the limit" : "ABOVE THE LIMIT" }'))."
		fi
		if [ -n "$LAT_LINE" ]; then
			echo
			if [ "$LAT_RATE" -gt "$RATE_LIMIT_USED" ]; then
				echo "**The latency phase's $LAT_RATE events/s exceed its destination's rate limit ($RATE_LIMIT_USED/s): a backlog"
				echo "grows, and the latency shows it.**"
			fi
			echo "Latency, COMMIT -> request received by nginx (its \$msec, ms resolution), $LAT_RATE events/s (pgbench -R,"
			echo "one event per transaction) for $LAT_SECS s: $LAT_N events ($LAT_RECEIVED requests received),"
			echo "p50 **$LAT_P50 ms**, p99 **$LAT_P99 ms**, max $LAT_MAX ms; delivery workers' CPU $LAT_WORKER_US µs per event."
		fi
		echo
		goal=$(awk -v e="$erate" -v g="$GOAL_RATE" -v r="$ratio" -v gr="$GOAL_RATIO" 'BEGIN {
			printf "%s >= %d deliveries/s (%d), %s >= %s of the baseline (%s)", (e >= g) ? "ok" : "MISSED", g, e, (r >= gr) ? "ok" : "MISSED", gr, r }')
		echo "Goals: $goal."
		case "$goal" in *MISSED*) missed=1 ;; esac
	fi
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo "| Round | Sender | Seconds | Requests/s | Requests nginx counted | Other work (% of the CPUs) | Attempts |"
	echo "|---:|---|---:|---:|---:|---:|---:|"
	awk -F'\t' -v n="$EVENTS" '{ req = ($2 == "eventbus") ? $7 : $8; att = ($2 == "eventbus") ? $8 : $9;
		printf "| %s | %s | %.2f | %.0f | %s | %s | %s |\n", $1, $2, $3, n / $3, req, $4, att }' "$TIMINGS"
	echo
	echo "</details>"
} >"$EB_TMP/report.md"

bench_write_report
bench_exit "$missed"
