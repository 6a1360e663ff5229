# Helpers shared by the HTTP scripts (test/scripts/http_*.sh,
# delivery_isolation.sh): the local test HTTP server of test/http/server.py
# and questions about its request log.  Not a test itself.
#
# Source it after test/scripts/lib/delivery.bash (it uses run_on_exit,
# EB_TMP and the check helpers when they are there, but works without a
# cluster: test/http/selftest.sh uses it alone).  It gives:
#   http_start [server args...]  start the server on a free port (or on
#                             $HTTP_PORT when set: "come back" on the same
#                             port), logging to $HTTP_LOG (default
#                             $HTTP_DIR/requests.jsonl); waits until it
#                             answers; sets HTTP_PORT HTTP_URL HTTP_PID;
#                             stopped on exit
#   http_stop                 SIGTERM, then SIGKILL after 5 s; waits until gone
#   http_kill                 SIGKILL at once (a crash of the other side)
#   http_restart [args...]    http_stop, then http_start on the same port
#   http_wait_up SECS         0 once the server answers, 1 after SECS
#   http_ctl PATH [METHOD]    a control request (/_control/PATH); prints the body
#   http_reset [truncate]     POST /_control/reset (truncate: also empty the log)
#   http_count REGEX          logged requests whose path matches REGEX
#   http_wait_count REGEX N SECS
#                             0 once at least N requests matched, 1 after SECS
#   http_ids REGEX            "<requests> <distinct event ids> <ids seen twice or more>"
#   http_gaps REGEX           seconds between successive matching requests
#   http_ports REGEX          "<requests> <distinct client ports>"
#   http_field REGEX EXPR     a Python expression over the record r, per request
#   http_load_log TABLE [DB]  (re)create TABLE (n, line jsonb, path, method,
#                             at timestamptz, event_id, status, client_port)
#                             from the log, for questions asked in SQL
#   http_apply_settings NAME VALUE
#                             SHOW NAME is VALUE; otherwise set it with
#                             ALTER SYSTEM and reload; 1 when it cannot be set
# Nothing here talks to anything but 127.0.0.1.

EB_HTTP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../http" && pwd)
HTTP_SERVER_PY=$EB_HTTP_DIR/server.py
HTTP_LOGTOOL=$EB_HTTP_DIR/logtool.py
HTTP_PID=
HTTP_PORT=${HTTP_PORT:-}
HTTP_URL=

_http_dir() {
	if [ -z "${HTTP_DIR:-}" ]; then
		if [ -n "${EB_TMP:-}" ] && [ -d "$EB_TMP" ]; then
			HTTP_DIR=$EB_TMP/http
		else
			HTTP_DIR=$(mktemp -d /tmp/eventbus-http.XXXXXX)
			HTTP_DIR_OWNED=1
		fi
	fi
	mkdir -p "$HTTP_DIR"
	HTTP_LOG=${HTTP_LOG:-$HTTP_DIR/requests.jsonl}
}

http_wait_up() {
	local secs=${1:-10} deadline
	deadline=$(($(date +%s%N) + ${secs%.*} * 1000000000))
	while :; do
		python3 "$HTTP_LOGTOOL" ctl "$HTTP_URL/_control/ping" >/dev/null 2>&1 && return 0
		[ -n "$HTTP_PID" ] && ! kill -0 "$HTTP_PID" 2>/dev/null && return 1
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

http_start() {
	_http_dir
	local portfile=$HTTP_DIR/port
	rm -f "$portfile"
	# a port of our own when none is given; the server binds it (a race
	# with another process is possible, then we try another)
	for _ in 1 2 3 4 5; do
		local want=${HTTP_PORT:-0}
		setsid python3 "$HTTP_SERVER_PY" --port "$want" --log "$HTTP_LOG" \
			--port-file "$portfile" "$@" >>"$HTTP_DIR/server.out" 2>&1 &
		HTTP_PID=$!
		# no job notice ("Killed") when a test kills it on purpose
		disown "$HTTP_PID" 2>/dev/null
		local deadline=$((SECONDS + 10))
		while [ ! -s "$portfile" ] && kill -0 "$HTTP_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.05
		done
		if [ -s "$portfile" ]; then
			HTTP_PORT=$(cat "$portfile")
			HTTP_URL=http://127.0.0.1:$HTTP_PORT
			if http_wait_up 10; then
				return 0
			fi
		fi
		# could not bind (a port in TIME_WAIT without SO_REUSEADDR's
		# help, or taken): a given port is retried, 0 never fails this way
		kill -9 "$HTTP_PID" 2>/dev/null
		_http_wait_gone 5
		HTTP_PID=
		sleep 0.5
	done
	echo "http_start: the test HTTP server did not start; $HTTP_DIR/server.out:" >&2
	tail -n 20 "$HTTP_DIR/server.out" >&2
	return 1
}

_http_wait_gone() {
	local secs=$1 deadline=$((SECONDS + $1))
	while kill -0 "$HTTP_PID" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
	return 0
}

http_stop() {
	[ -n "$HTTP_PID" ] || return 0
	kill -TERM "$HTTP_PID" 2>/dev/null
	if ! _http_wait_gone 5; then
		kill -9 "$HTTP_PID" 2>/dev/null
		_http_wait_gone 5
	fi
	HTTP_PID=
}

http_kill() {
	[ -n "$HTTP_PID" ] || return 0
	kill -9 "$HTTP_PID" 2>/dev/null
	_http_wait_gone 5
	HTTP_PID=
}

http_restart() {
	http_stop
	http_start "$@"
}

_http_cleanup() {
	http_stop
	[ -n "${HTTP_DIR_OWNED:-}" ] && [ -z "${EB_KEEP:-}" ] && rm -rf "$HTTP_DIR"
	return 0
}
if declare -F run_on_exit >/dev/null; then
	run_on_exit _http_cleanup
else
	trap _http_cleanup EXIT
fi

http_ctl() {
	python3 "$HTTP_LOGTOOL" ctl "$HTTP_URL/_control/$1" "${2:-GET}"
}

http_reset() {
	if [ "${1:-}" = truncate ]; then
		http_ctl "reset?log=truncate" POST >/dev/null
	else
		http_ctl reset POST >/dev/null
	fi
}

http_count() { python3 "$HTTP_LOGTOOL" count "$HTTP_LOG" "$1"; }
http_ids() { python3 "$HTTP_LOGTOOL" ids "$HTTP_LOG" "$1"; }
http_gaps() { python3 "$HTTP_LOGTOOL" gaps "$HTTP_LOG" "$1"; }
http_ports() { python3 "$HTTP_LOGTOOL" ports "$HTTP_LOG" "$1"; }
http_field() { python3 "$HTTP_LOGTOOL" field "$HTTP_LOG" "$1" "$2"; }

http_wait_count() {
	local regex=$1 n=$2 secs=$3 deadline
	deadline=$(($(date +%s%N) + ${secs%.*} * 1000000000))
	while :; do
		[ "$(http_count "$regex")" -ge "$n" ] && return 0
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

http_load_log() {
	local table=$1 db=${2:-${PGDATABASE:-postgres}}
	# CSV with a quote and a delimiter that never occur in the log's
	# ASCII JSON lines: each line is read as it is
	"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL >/dev/null
SET client_min_messages = warning;
DROP TABLE IF EXISTS $table;
CREATE TABLE $table (n bigserial, line jsonb);
\\copy $table (line) FROM '$HTTP_LOG' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')
ALTER TABLE $table
    ADD COLUMN path text GENERATED ALWAYS AS (line->>'path') STORED,
    ADD COLUMN method text GENERATED ALWAYS AS (line->>'method') STORED,
    ADD COLUMN status int GENERATED ALWAYS AS ((line->>'status')::int) STORED,
    ADD COLUMN client_port int GENERATED ALWAYS AS ((line->>'client_port')::int) STORED,
    ADD COLUMN event_id text GENERATED ALWAYS AS (line->>'event_id') STORED;
ALTER TABLE $table ADD COLUMN at timestamptz;
UPDATE $table SET at = to_timestamp((line->>'time')::float8);
SQL
}

http_apply_settings() {
	local name=$1 value=$2
	[ "$(q "SHOW $name" 2>/dev/null)" = "$value" ] && return 0
	q "ALTER SYSTEM SET $name = '$value'" >/dev/null || return 1
	q "SELECT pg_reload_conf()" >/dev/null
	wait_for "SELECT current_setting('$name') = '$value'" 5
}

# ---------------------------------------------------------------------
# For the scripts on a cluster (after delivery.bash):
#   http_cluster_start [conf lines...]
#                             a private cluster (own_cluster_start) with
#                             eventbus.retry_base_delay = 20ms and
#                             eventbus.http_allowed_networks =
#                             $HTTP_ALLOWED_NETWORKS (default 127.0.0.1/32;
#                             set it empty for the SSRF tests), the
#                             extension, the delivery helpers, the SQL
#                             helpers below and a running delivery worker;
#                             checks that the settings applied at start
#   install_http_helpers [DB] the SQL helpers (public schema):
#     eb_h_dest(name, endpoint, method DEFAULT 'POST', auth_type DEFAULT NULL,
#               auth jsonb DEFAULT NULL, rate int DEFAULT 300, timeout numeric DEFAULT NULL)
#         connection "<name>-conn" (auth NULL: an API key nobody checks)
#         and API destination <name>
#     eb_h_route(name, extra jsonb DEFAULT '{}')
#         rule <name> for source "http.<name>" with target "t" whose Arn is
#         "api-destination:<name>" (extra: more target keys)
#   http_put NAME DETAIL      put one event from source http.NAME, print its id
#   http_put_many NAME N      N events (detail {"i": 1..N}) in one INSERT
#   http_ids_of NAME          the ids of the events put from source http.NAME (SQL array)
HTTP_ALLOWED_NETWORKS=${HTTP_ALLOWED_NETWORKS-127.0.0.1/32}

http_cluster_start() {
	own_cluster_start "eventbus.retry_base_delay = '20ms'" \
		"eventbus.http_allowed_networks = '$HTTP_ALLOWED_NETWORKS'" "$@"
	local got
	got=$(q "SHOW eventbus.http_allowed_networks" 2>&1)
	check_eq "eventbus.http_allowed_networks from postgresql.conf applies at start" "$got" "$HTTP_ALLOWED_NETWORKS"
	[ "$got" = "$HTTP_ALLOWED_NETWORKS" ] || http_apply_settings eventbus.http_allowed_networks "$HTTP_ALLOWED_NETWORKS"
	q "CREATE EXTENSION eventbus" || exit 1
	install_helpers || exit 1
	install_http_helpers "${PGDATABASE:-postgres}" || exit 1
	if ! wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
	                WHERE database = current_database() AND state = 'running')" 15; then
		echo "no delivery worker started"
		exit 1
	fi
}

install_http_helpers() {
	local db=${1:-${PGDATABASE:-postgres}}
	q "$(cat <<'SQL'
CREATE OR REPLACE FUNCTION public.eb_h_dest(p_name text, p_endpoint text, p_method text DEFAULT 'POST',
                                            p_auth_type text DEFAULT NULL, p_auth jsonb DEFAULT NULL,
                                            p_rate integer DEFAULT 300, p_timeout numeric DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM eventbus.create_connection(p_name || '-conn', coalesce(p_auth_type, 'API_KEY'),
        coalesce(p_auth, '{"ApiKeyAuthParameters": {"ApiKeyName": "x-unchecked-key", "ApiKeyValue": "unchecked"}}'));
    PERFORM eventbus.create_api_destination(p_name, p_name || '-conn', p_endpoint, p_method,
                                            p_rate, NULL, p_timeout);
    RETURN p_name;
END $f$;

CREATE OR REPLACE FUNCTION public.eb_h_route(p_name text, p_extra jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM eventbus.put_rule(p_name, jsonb_build_object('source', jsonb_build_array('http.' || p_name)));
    PERFORM public.eb_t_put_target(p_name, 'default', 't', 'api-destination:' || p_name, p_extra);
    RETURN p_name;
END $f$;
SQL
)" "$db" >/dev/null
}

http_put() { q "SELECT eventbus.put_event('http.$1', 'test', '$2'::jsonb)"; }

http_put_many() {
	# an INSERT routes like put_events, without its 10 entries per call
	q "WITH e AS (INSERT INTO eventbus.events (source, detail_type, detail)
	              SELECT 'http.$1', 'test', jsonb_build_object('i', i) FROM generate_series(1, $2) i
	              RETURNING 1) SELECT count(*) FROM e"
}

http_ids_of() { echo "(SELECT array_agg(id::text) FROM eventbus.events WHERE source = 'http.$1')"; }
