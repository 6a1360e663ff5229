#!/usr/bin/env bash
# API destinations when things go wrong, on a private cluster (it stops and
# kills the instance) with eventbus.http_allowed_networks = '127.0.0.1/32':
#   a  the HTTP server is down for a while, then comes back on the same
#      port: every event is delivered (at least once: the distinct event
#      ids received equal the events put; duplicates are counted and printed)
#   b  pg_ctl stop -m fast while requests to /slow are in flight: the stop
#      is prompt; after the restart every event is delivered
#   c  kill -9 of the postmaster (and every child) while 2,000 events are
#      being delivered: after the restart every event id is received at
#      least once, the outbox drains, no dead letter
# Delivery is at least once: a request may be repeated after a crash or a
# stop, never lost; the event id (X-Eventbus-Event-Id) lets the receiver
# see the repeats.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"
# shellcheck source=test/scripts/lib/http.bash
. "$(dirname "$0")/lib/http.bash"

http_cluster_start
http_start || exit 1
echo "     test HTTP server at $HTTP_URL"

# ids_received NAME: "<requests> <distinct ids> <ids received twice or more>"
# for the events of source http.NAME only
ids_received() {
	http_field '.' 'r["event_id"]' | grep -xFf <(q "SELECT id FROM eventbus.events WHERE source = 'http.$1'") |
		sort | uniq -c | awk '{ req += $1; ids++; if ($1 > 1) dup++ } END { printf "%d %d %d\n", req, ids, dup }'
}
# wait_all NAME N SECS: all N event ids of NAME received
wait_all() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -le "$deadline" ]; do
		[ "$(ids_received "$1" | cut -d' ' -f2)" -ge "$2" ] && return 0
		sleep 0.5
	done
	return 1
}
restart_pg() {
	eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -l "$EB_TMP/server.log" -w -t 60 start >/dev/null 2>&1
}
wait_worker() {
	wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
	            WHERE database = current_database() AND state = 'running')" 15
}

# ---------------------------------------------------------------------
section "a: the server is down for 4 s, then back"
q "SELECT eb_h_dest('down', '$HTTP_URL/ok/down/*', 'POST');
   SELECT eb_h_route('down', '{\"HttpParameters\": {\"PathParameterValues\": [\"\$.id\"]}}')" >/dev/null || exit 1
http_kill
check_eq "the server is down (a connection is refused)" \
	"$( (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && echo up || echo down)" down
http_put_many down 50 >/dev/null
sleep 4
tried=$(q "SELECT coalesce(sum(failed_invocations), 0) FROM eventbus.target_stats WHERE rule = 'down'")
echo "     failed invocations while down: $tried"
check "deliveries were tried (and failed) while it was down" "SELECT $tried > 0"
check "nothing dead-lettered" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'down')"
http_start || exit 1
t0=$SECONDS
check_ok "back: all 50 events received" "$(wait_all down 50 90; echo $?)"
r=$(ids_received down)
echo "     after $((SECONDS - t0)) s: requests, distinct event ids, ids received more than once: $r"
check_eq "distinct event ids received = events put" "$(echo "$r" | cut -d' ' -f2)" 50
check_ok "outbox drained" "$(wait_for "SELECT eb_t_outbox_count('default', 'down', 't') = 0" 15; echo $?)"
check "no dead letter" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'down')"

# ---------------------------------------------------------------------
section "b: pg_ctl stop -m fast with requests in flight to /slow"
q "SELECT eb_h_dest('slow', '$HTTP_URL/slow/3000/*', 'POST', NULL, NULL, 300, 10);
   SELECT eb_h_route('slow', '{\"HttpParameters\": {\"PathParameterValues\": [\"\$.id\"]}}')" >/dev/null || exit 1
http_put_many slow 30 >/dev/null
check_ok "requests in flight (10 or more arrived)" "$(http_wait_count '^/slow/3000/' 10 15; echo $?)"
inflight=$(http_count '^/slow/3000/')
t0=$(date +%s%N)
eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -m fast -w -t 60 stop >/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "     stopped with $inflight requests arrived (each answered after 3 s) in $ms ms"
check_rc "pg_ctl stop -m fast succeeded" "$rc" "exit $rc"
check_eq "the stop did not wait for the 3 s answers (under 2.5 s)" "$([ "$ms" -lt 2500 ] && echo yes)" yes
restart_pg || { echo "restart failed"; tail -n 20 "$EB_TMP/server.log"; exit 1; }
wait_worker
check_ok "after the restart: all 30 events received" "$(wait_all slow 30 60; echo $?)"
check_ok "outbox drained" "$(wait_for "SELECT eb_t_outbox_count('default', 'slow', 't') = 0" 30; echo $?)"
r=$(ids_received slow)
echo "     requests, distinct event ids, ids received more than once (repeated after the stop): $r"
check_eq "distinct event ids received = events put" "$(echo "$r" | cut -d' ' -f2)" 30
check "no dead letter" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'slow')"

# ---------------------------------------------------------------------
section "c: kill -9 of the postmaster during delivery of 2,000 events"
q "SELECT eb_h_dest('crash', '$HTTP_URL/ok/crash', 'POST');
   SELECT eb_h_route('crash')" >/dev/null || exit 1
# crash: SIGKILL the postmaster and every child, wait until all are gone
crash() {
	local pm kids
	pm=$(head -n 1 "$PGDATA_EB/postmaster.pid")
	kill -STOP "$pm" # no new children from here on
	kids=$(pgrep -P "$pm" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one argument per pid
	kill -9 "$pm" $kids
	local deadline=$((SECONDS + 20))
	# shellcheck disable=SC2086
	while kill -0 "$pm" $kids 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && { echo "  processes of the killed instance still alive"; return 1; }
		sleep 0.05
	done
}
check_eq "2000 events put" "$(http_put_many crash 2000)" 2000
check_ok "delivery under way (300 requests arrived)" "$(http_wait_count '^/ok/crash$' 300 30; echo $?)"
before=$(http_count '^/ok/crash$')
crash || exit 1
echo "     killed after $before requests"
check_eq "killed in the middle (fewer than 2000 requests arrived)" "$([ "$before" -lt 2000 ] && echo yes)" yes
restart_pg || { echo "restart failed"; tail -n 20 "$EB_TMP/server.log"; exit 1; }
check_eq "the start ran crash recovery" \
	"$(grep -c 'database system was not properly shut down; automatic recovery in progress' "$EB_TMP/server.log")" 1
wait_worker
check_ok "after the restart: the outbox drains" "$(wait_for "SELECT eb_t_outbox_count('default', 'crash', 't') = 0" 90; echo $?)"
check_ok "all 2000 event ids received" "$(wait_all crash 2000 30; echo $?)"
r=$(ids_received crash)
echo "     requests, distinct event ids, ids received more than once (repeated after the crash): $r"
check_eq "distinct event ids received = events put (lost: 0)" "$(echo "$r" | cut -d' ' -f2)" 2000
check "no dead letter" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'crash')"

eb_finish
