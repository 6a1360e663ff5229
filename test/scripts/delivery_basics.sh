#!/usr/bin/env bash
# Delivery to push targets, end to end, on a private cluster (it needs
# eventbus.retry_base_delay = 20ms, changes settings with ALTER SYSTEM and
# creates and drops databases):
#   a  transactions: a rolled-back put is never delivered, an uncommitted
#      one not before commit, committed ones exactly once
#   b  a function that fails 3 times, then succeeds: delivered once;
#      target_stats 4 invocations / 3 failed / 3 retry attempts
#   c  a function that always fails, MaximumRetryAttempts 2: dead letter
#      (error, MaximumRetryAttempts, 2 retries, DeadLetterConfig queue);
#      fixed, redrive_dead_letters() -> delivered
#      an event older than MaximumEventAgeInSeconds that fails: dead letter
#   d  a function that is gone: dead letter at once (42883, no retries)
#   e  notify: a listening session gets the payload from the worker;
#      a payload over NOTIFY's limit: dead letter 54000
#   f  bus targets: forwarded and routed on the other bus; a loop of two
#      buses stops after eventbus.max_bus_hops (dead letter 54000)
#   g  Input, InputPath, InputTransformer on function targets
#   k  eventbus.function_timeout cancels a slow call (57014), a target's
#      Config.TimeoutSeconds overrides it, the worker goes on
#   h  eventbus.delivery_workers and pg_stat_activity show the worker
#   i  eventbus.delivery_enabled = off: messages wait; on: delivered
#   j  DROP DATABASE with a running worker is prompt; CREATE EXTENSION
#      starts a worker, DROP EXTENSION stops it, CREATE again restarts it;
#      ALTER DATABASE RENAME is prompt and the worker comes back
# Known failures (bugs in src/, see the comments at the checks): settings
# in postgresql.conf dropped at start; no worker for 30 s after a RENAME.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start "eventbus.retry_base_delay = '20ms'" ${EB_DBG_CONF:+"$EB_DBG_CONF"}
# shellcheck disable=SC2016 # expanded when the script exits
run_on_exit 'kill $(jobs -p)'

section "settings"
# Known bug: eventbus.c's define_settings() calls MarkGUCPrefixReserved
# ("eventbus") before delivery_define_settings() defines the delivery
# settings, so the postmaster drops every eventbus.delivery_*, retry_*,
# function_timeout and max_bus_hops line of postgresql.conf (and of
# postgresql.auto.conf) at start, with a WARNING; a reload applies them.
[ "$(q "SHOW eventbus.retry_base_delay")" = 20ms ]
check_rc "eventbus.retry_base_delay from postgresql.conf applies at server start" $? \
	"it is $(q "SHOW eventbus.retry_base_delay"); server log: $(grep -m1 -o 'invalid configuration parameter name "eventbus[^"]*", removing it' "$EB_TMP/server.log")"
q "SELECT pg_reload_conf()" >/dev/null
check_ok "after a reload it is 20ms" "$(wait_for "SELECT current_setting('eventbus.retry_base_delay') = '20ms'" 5; echo $?)"

q "CREATE EXTENSION eventbus" || exit 1
install_helpers || exit 1
if ! wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
                WHERE database = current_database() AND state = 'running')" 15; then
	echo "no delivery worker started"
	exit 1
fi

# put SOURCE DETAIL [BUS]: put one event in its own transaction, print its id
put() { q "SELECT eventbus.put_event('$1', 'test', '$2'::jsonb, '${3:-default}')"; }
received() { q "SELECT count(*) FROM public.eb_t_received WHERE sink = '$1'"; }
# the worker has seen a reload once it woke up twice after it
worker_reloaded() {
	local t
	for _ in 1 2; do
		t=$(q "SELECT clock_timestamp()")
		wait_for "SELECT bool_and(last_wake > '$t') FROM eventbus.delivery_workers WHERE database = current_database()" 5
	done
}
stat_row() {
	q "SELECT invocations || '/' || failed_invocations || '/' || retry_invocation_attempts || '/' || dead_lettered
	     FROM eventbus.target_stats WHERE rule = '$1' AND target_id = '$2'"
}

# ---------------------------------------------------------------------
section "a: transactions"
q "SELECT eb_t_sink('sink_a');
   SELECT eventbus.put_rule('r-a', '{\"source\": [\"test.a\"]}');
   SELECT eb_t_put_target('r-a', 'default', 'a1', 'function:public.sink_a')" >/dev/null
rolled_back=$("$EB_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
SELECT eventbus.put_event('test.a', 'test', '{"n": 0}');
ROLLBACK;
SQL
)
# an open transaction: its event must not be delivered before it commits
PGAPPNAME=eb_pending "$EB_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 >"$EB_TMP/pending.out" <<'SQL' &
BEGIN;
SELECT eventbus.put_event('test.a', 'test', '{"n": 99}');
SELECT pg_sleep(3);
COMMIT;
SQL
pending_pid=$!
committed=()
for n in 1 2 3; do committed+=("$(put test.a "{\"n\": $n}")"); done
while read -r id; do committed+=("$id"); done < <(q "SELECT e->>'EventId' FROM jsonb_array_elements(eventbus.put_events('[
    {\"Source\": \"test.a\", \"DetailType\": \"test\", \"Detail\": {\"n\": 4}},
    {\"Source\": \"test.a\", \"DetailType\": \"test\", \"Detail\": {\"n\": 5}}]') -> 'Entries') e")
ids_sql="'{$(IFS=,; echo "${committed[*]}")}'::uuid[]"
wait_for "SELECT count(*) >= 5 FROM public.eb_t_received WHERE sink = 'sink_a' AND event_id = ANY ($ids_sql)" 10
check "5 committed events delivered, each once" \
	"SELECT count(*) = 5 AND count(DISTINCT event_id) = 5 FROM public.eb_t_received
	  WHERE sink = 'sink_a' AND event_id = ANY ($ids_sql)"
check "the open transaction is still open, its event not delivered" \
	"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'eb_pending'
	                   AND query LIKE '%pg_sleep%' AND state = 'active')
	    AND NOT EXISTS (SELECT FROM public.eb_t_received WHERE payload->'detail'->>'n' = '99')"
wait "$pending_pid"
pending_id=$(head -n 1 "$EB_TMP/pending.out")
check_ok "after its commit it is delivered" \
	"$(wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE event_id = '$pending_id'" 10; echo $?)"
check "the rolled-back event is neither stored nor delivered (and nothing waits)" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.events WHERE id = '$rolled_back')
	    AND NOT EXISTS (SELECT FROM public.eb_t_received WHERE event_id = '$rolled_back')
	    AND eb_t_outbox_count('default', 'r-a', 'a1') = 0
	    AND (SELECT count(*) FROM public.eb_t_received WHERE sink = 'sink_a') = 6"

# ---------------------------------------------------------------------
section "b: fails 3 times, then succeeds"
q "CREATE SEQUENCE public.flaky_calls;
   CREATE FUNCTION public.flaky(p jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
   BEGIN
       IF nextval('public.flaky_calls') <= 3 THEN
           RAISE EXCEPTION 'flaky failure %', currval('public.flaky_calls');
       END IF;
       INSERT INTO public.eb_t_received (sink, event_id, payload) VALUES ('flaky', (p->>'id')::uuid, p);
   END \$\$;
   SELECT eventbus.put_rule('r-b', '{\"source\": [\"test.b\"]}');
   SELECT eb_t_put_target('r-b', 'default', 'b1', 'function:public.flaky',
                          '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 5}}')" >/dev/null
id_b=$(put test.b '{"n": 1}')
wait_for "SELECT count(*) > 0 FROM public.eb_t_received WHERE sink = 'flaky'" 10
wait_for "SELECT invocations = 4 FROM eventbus.target_stats WHERE rule = 'r-b'" 5
check "delivered once, after 4 calls" \
	"SELECT (SELECT count(*) FROM public.eb_t_received WHERE sink = 'flaky' AND event_id = '$id_b') = 1
	    AND (SELECT last_value FROM public.flaky_calls) = 4"
check_eq "target_stats invocations/failed/retries/dead-lettered" "$(stat_row r-b b1)" "4/3/3/0"
check "outbox empty, no dead letter" \
	"SELECT eb_t_outbox_count('default', 'r-b', 'b1') = 0
	    AND NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-b')"

# ---------------------------------------------------------------------
section "c: always fails, MaximumRetryAttempts 2, then redriven"
q "CREATE FUNCTION public.broken(p jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
   BEGIN
       RAISE EXCEPTION 'broken target' USING ERRCODE = 'P0001';
   END \$\$;
   SELECT eventbus.put_rule('r-c', '{\"source\": [\"test.c\"]}');
   SELECT eb_t_put_target('r-c', 'default', 'c1', 'function:public.broken',
                          '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 2},
                            \"DeadLetterConfig\": {\"Arn\": \"queue:eb-dlq-c\"}}')" >/dev/null
id_c=$(put test.c '{"n": 1}')
check_ok "dead-lettered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-c')" 10; echo $?)"
check "dead letter: P0001, message, MaximumRetryAttempts, 2 retries, attempt times" \
	"SELECT count(*) = 1
	        AND bool_and(event_id = '$id_c' AND target_id = 'c1' AND bus = 'default'
	                     AND error_code = 'P0001' AND error_message = 'broken target'
	                     AND exhausted_condition = 'MaximumRetryAttempts' AND retry_attempts = 2
	                     AND last_attempt_at - first_attempt_at >= interval '30 ms')
	   FROM eventbus.dead_letters WHERE rule = 'r-c'"
wait_for "SELECT dead_lettered = 1 FROM eventbus.target_stats WHERE rule = 'r-c'" 5
check_eq "target_stats invocations/failed/retries/dead-lettered" "$(stat_row r-c c1)" "3/3/2/1"
check "outbox empty" "SELECT eb_t_outbox_count('default', 'r-c', 'c1') = 0"
check "the event is also in the DeadLetterConfig queue" \
	"SELECT count(*) = 1 AND bool_and(event_id = '$id_c' AND payload->>'id' = '$id_c')
	   FROM eventbus.receive('eb-dlq-c', 10)"
q "CREATE OR REPLACE FUNCTION public.broken(p jsonb) RETURNS void LANGUAGE sql AS \$\$
       INSERT INTO public.eb_t_received (sink, event_id, payload) VALUES ('fixed', (p->>'id')::uuid, p)
   \$\$"
check_eq "redrive_dead_letters(rule => 'r-c') redrives 1" \
	"$(q "SELECT eventbus.redrive_dead_letters(bus => 'default', rule => 'r-c')")" 1
check_ok "the redriven event is delivered to the fixed function" \
	"$(wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'fixed' AND event_id = '$id_c'" 10; echo $?)"
check "no dead letter left, outbox empty" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-c')
	    AND eb_t_outbox_count('default', 'r-c', 'c1') = 0"

# an event already older than MaximumEventAgeInSeconds (its ingestion_time
# set back 2 minutes): the first failure ends its retries
q "CREATE FUNCTION public.broken2(p jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
   BEGIN
       RAISE EXCEPTION 'broken target 2';
   END \$\$;
   SELECT eventbus.put_rule('r-c2', '{\"source\": [\"test.c2\"]}');
   SELECT eb_t_put_target('r-c2', 'default', 'c2', 'function:public.broken2',
                          '{\"RetryPolicy\": {\"MaximumEventAgeInSeconds\": 60}}')" >/dev/null
id_c2=$(q "INSERT INTO eventbus.events (source, detail_type, detail, ingestion_time)
           VALUES ('test.c2', 'test', '{}', now() - interval '2 minutes') RETURNING id")
check_ok "an event older than MaximumEventAgeInSeconds: dead-lettered without an attempt" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-c2')" 10; echo $?)"
check "dead letter: MaximumEventAgeExceeded, MaximumEventAgeInSeconds, 0 retries" \
	"SELECT count(*) = 1 AND bool_and(event_id = '$id_c2' AND error_code = 'MaximumEventAgeExceeded'
	                                  AND exhausted_condition = 'MaximumEventAgeInSeconds' AND retry_attempts = 0)
	   FROM eventbus.dead_letters WHERE rule = 'r-c2'"

# ---------------------------------------------------------------------
section "d: the function is gone"
q "CREATE FUNCTION public.gone(p jsonb) RETURNS void LANGUAGE sql AS 'SELECT';
   SELECT eventbus.put_rule('r-d', '{\"source\": [\"test.d\"]}');
   SELECT eb_t_put_target('r-d', 'default', 'd1', 'function:public.gone');
   DROP FUNCTION public.gone(jsonb)" >/dev/null
id_d=$(put test.d '{"n": 1}')
check_ok "dead-lettered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-d')" 10; echo $?)"
check "dead letter: 42883, permanent (no exhausted_condition), 0 retries" \
	"SELECT count(*) = 1 AND bool_and(event_id = '$id_d' AND error_code = '42883'
	                                  AND exhausted_condition IS NULL AND retry_attempts = 0)
	   FROM eventbus.dead_letters WHERE rule = 'r-d'"
wait_for "SELECT dead_lettered = 1 FROM eventbus.target_stats WHERE rule = 'r-d'" 5
check_eq "target_stats invocations/failed/retries/dead-lettered" "$(stat_row r-d d1)" "1/1/0/1"

# ---------------------------------------------------------------------
section "e: notify"
q "SELECT eventbus.put_rule('r-e', '{\"source\": [\"test.e\"]}');
   SELECT eb_t_put_target('r-e', 'default', 'e1', 'notify:eb_test_channel')" >/dev/null
{
	echo "LISTEN eb_test_channel;"
	for _ in $(seq 200); do echo "SELECT pg_sleep(0.05);"; done
} >"$EB_TMP/listen.sql"
PGAPPNAME=eb_listener "$EB_BINDIR/psql" -X -A -t -q -f "$EB_TMP/listen.sql" >"$EB_TMP/listen.out" 2>&1 &
listener=$!
wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'eb_listener'
                         AND query LIKE '%pg_sleep%')" 5
id_e=$(put test.e '{"n": 1}')
big=$(put test.e "{\"big\": \"$(head -c 9000 /dev/zero | tr '\0' x)\"}")
deadline=$((SECONDS + 10))
until grep -q "$id_e" "$EB_TMP/listen.out" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
line=$(grep -F "$id_e" "$EB_TMP/listen.out" | head -n 1)
sender_pid=$(printf '%s' "$line" | sed -n 's/.*received from server process with PID \([0-9]*\)\.$/\1/p')
worker_pid=$(q "SELECT pid FROM eventbus.delivery_workers WHERE database = current_database() AND pid = '${sender_pid:-0}'")
case "$line" in
*'Asynchronous notification "eb_test_channel" with payload "{'*"\"source\": \"test.e\""*"received from server process with PID $worker_pid."*)
	_report 1 "the listener got the event's envelope from a worker (PID $worker_pid)" ;;
*) _report 0 "the listener got the event's envelope from the worker" "line: ${line:-none}" ;;
esac
check_ok "the 9000-byte payload is dead-lettered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE event_id = '$big')" 10; echo $?)"
check "dead letter: 54000 'too long for NOTIFY', permanent, 0 retries" \
	"SELECT count(*) = 1 AND bool_and(error_code = '54000' AND exhausted_condition IS NULL
	                                  AND retry_attempts = 0 AND error_message LIKE '%too long for NOTIFY%')
	   FROM eventbus.dead_letters WHERE rule = 'r-e'"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
check_eq "the listener got exactly one notification" \
	"$(grep -c 'Asynchronous notification' "$EB_TMP/listen.out")" 1

# ---------------------------------------------------------------------
section "f: bus targets"
q "SELECT eventbus.create_event_bus('eb-fwd');
   SELECT eb_t_sink('sink_f');
   SELECT eventbus.put_rule('r-f', '{\"source\": [\"test.f\"]}');
   SELECT eb_t_put_target('r-f', 'default', 'f1', 'bus:eb-fwd');
   SELECT eventbus.put_rule('r-f2', '{\"source\": [\"test.f\"]}', 'eb-fwd');
   SELECT eb_t_put_target('r-f2', 'eb-fwd', 'f2', 'function:public.sink_f')" >/dev/null
id_f=$(put test.f '{"n": 1}')
check_ok "an event forwarded to bus eb-fwd reaches that bus's function target" \
	"$(wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'sink_f' AND event_id = '$id_f'" 10; echo $?)"
check "the event is on both buses, hops 0 and 1" \
	"SELECT array_agg(bus || ':' || hops ORDER BY hops) = '{default:0,eb-fwd:1}'
	   FROM eventbus.events WHERE id = '$id_f'"
hops=$(q "SHOW eventbus.max_bus_hops")
q "SELECT eventbus.create_event_bus('eb-loop-a');
   SELECT eventbus.create_event_bus('eb-loop-b');
   SELECT eventbus.put_rule('r-loop', '{\"source\": [\"test.loop\"]}', 'eb-loop-a');
   SELECT eb_t_put_target('r-loop', 'eb-loop-a', 'to-b', 'bus:eb-loop-b');
   SELECT eventbus.put_rule('r-loop', '{\"source\": [\"test.loop\"]}', 'eb-loop-b');
   SELECT eb_t_put_target('r-loop', 'eb-loop-b', 'to-a', 'arn:aws:events:local:000000000000:event-bus/eb-loop-a')" >/dev/null
id_loop=$(put test.loop '{"n": 1}' eb-loop-a)
check_ok "a loop of two buses ends in a dead letter" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE event_id = '$id_loop')" 15; echo $?)"
wait_for "SELECT eb_t_outbox_count('eb-loop-a', 'r-loop', 'to-b') + eb_t_outbox_count('eb-loop-b', 'r-loop', 'to-a') = 0" 5
check "dead letter 54000 (permanent) after max_bus_hops = $hops forwards" \
	"SELECT count(*) = 1 AND bool_and(error_code = '54000' AND exhausted_condition IS NULL
	                                  AND error_message LIKE '%max_bus_hops ($hops)%')
	   FROM eventbus.dead_letters WHERE event_id = '$id_loop'"
check "the event was stored $((hops + 1)) times (hops 0..$hops), and no more" \
	"SELECT count(*) = $hops + 1 AND max(hops) = $hops
	        AND eb_t_outbox_count('eb-loop-a', 'r-loop', 'to-b') = 0
	        AND eb_t_outbox_count('eb-loop-b', 'r-loop', 'to-a') = 0
	   FROM eventbus.events WHERE id = '$id_loop'"

# ---------------------------------------------------------------------
section "g: input transformation on push targets"
q "SELECT eb_t_sink('sink_g_path');
   SELECT eb_t_sink('sink_g_tr');
   SELECT eb_t_sink('sink_g_const');
   SELECT eventbus.put_rule('r-g', '{\"source\": [\"test.g\"]}');
   SELECT eb_t_put_target('r-g', 'default', 'g-path', 'function:public.sink_g_path',
                          '{\"InputPath\": \"$.detail\"}');
   SELECT eb_t_put_target('r-g', 'default', 'g-tr', 'function:public.sink_g_tr',
                          '{\"InputTransformer\": {\"InputPathsMap\": {\"n\": \"$.detail.n\", \"src\": \"$.source\"},
                                                 \"InputTemplate\": \"{\\\"num\\\": <n>, \\\"from\\\": \\\"<src>\\\", \\\"rule\\\": \\\"<aws.events.rule-name>\\\"}\"}}');
   SELECT eb_t_put_target('r-g', 'default', 'g-const', 'function:public.sink_g_const',
                          '{\"Input\": \"{\\\"fixed\\\": true}\"}')" >/dev/null
put test.g '{"n": 7, "who": "x"}' >/dev/null
wait_for "SELECT count(*) = 3 FROM public.eb_t_received WHERE sink LIKE 'sink_g%'" 10
check_eq "InputPath \$.detail" \
	"$(q "SELECT payload FROM public.eb_t_received WHERE sink = 'sink_g_path'")" '{"n": 7, "who": "x"}'
check_eq "InputTransformer" \
	"$(q "SELECT payload FROM public.eb_t_received WHERE sink = 'sink_g_tr'")" '{"num": 7, "from": "test.g", "rule": "r-g"}'
check_eq "Input" \
	"$(q "SELECT payload FROM public.eb_t_received WHERE sink = 'sink_g_const'")" '{"fixed": true}'

# ---------------------------------------------------------------------
section "k: function timeout"
q "ALTER SYSTEM SET eventbus.function_timeout = '300ms'"
q "SELECT pg_reload_conf()" >/dev/null
q "CREATE FUNCTION public.slow(p jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
   BEGIN
       PERFORM pg_sleep((p->'detail'->>'sleep')::float8);
       INSERT INTO public.eb_t_received (sink, event_id, payload) VALUES ('slow', (p->>'id')::uuid, p);
   END \$\$;
   SELECT eventbus.put_rule('r-k', '{\"source\": [\"test.k\"]}');
   SELECT eb_t_put_target('r-k', 'default', 'k-global', 'function:public.slow',
                          '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 0}}');
   SELECT eventbus.put_rule('r-k2', '{\"source\": [\"test.k\"]}');
   SELECT eb_t_put_target('r-k2', 'default', 'k-own', 'function:public.slow',
                          '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 0}, \"Config\": {\"TimeoutSeconds\": 3}}')" >/dev/null
wait_for "SELECT current_setting('eventbus.function_timeout') = '300ms'" 5
worker_reloaded
id_k=$(put test.k '{"sleep": 1}')
check_ok "a call over eventbus.function_timeout (300 ms) is cancelled and dead-lettered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-k')" 10; echo $?)"
check "dead letter 57014 (statement timeout), MaximumRetryAttempts, 0 retries" \
	"SELECT count(*) = 1 AND bool_and(event_id = '$id_k' AND error_code = '57014'
	                                  AND exhausted_condition = 'MaximumRetryAttempts' AND retry_attempts = 0)
	   FROM eventbus.dead_letters WHERE rule = 'r-k'"
check_ok "the target with Config.TimeoutSeconds 3 delivers the 1 s call" \
	"$(wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'slow' AND event_id = '$id_k'" 10; echo $?)"
check "... and was not dead-lettered" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'r-k2')"
q "ALTER SYSTEM RESET eventbus.function_timeout"
q "SELECT pg_reload_conf()" >/dev/null
id_k2=$(put test.a '{"after": "timeout"}')
check_ok "the worker goes on delivering after a cancelled call" \
	"$(wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE event_id = '$id_k2'" 10; echo $?)"

# ---------------------------------------------------------------------
section "h: the worker is visible"
check "delivery_workers: eventbus.delivery_workers running workers with a pid, messages delivered, no backlog" \
	"SELECT count(*) = current_setting('eventbus.delivery_workers')::int
	        AND bool_and(pid IS NOT NULL AND backlog = 0 AND activity IN ('idle', 'delivering', 'invoking'))
	        AND sum(delivered) > 0
	   FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running'"
check "pg_stat_activity: that pid is an 'eventbus delivery worker' in this database" \
	"SELECT EXISTS (SELECT FROM pg_stat_activity a JOIN eventbus.delivery_workers w ON w.pid = a.pid
	                 WHERE a.backend_type = 'eventbus delivery worker' AND a.datname = current_database()
	                   AND w.database = current_database())"
check "pg_stat_activity: one 'eventbus launcher'" \
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'eventbus launcher'"

# ---------------------------------------------------------------------
section "i: eventbus.delivery_enabled"
q "SELECT eb_t_sink('sink_i');
   SELECT eventbus.put_rule('r-i', '{\"source\": [\"test.i\"]}');
   SELECT eb_t_put_target('r-i', 'default', 'i1', 'function:public.sink_i')" >/dev/null
q "ALTER SYSTEM SET eventbus.delivery_enabled = off"
q "SELECT pg_reload_conf()" >/dev/null
wait_for "SELECT current_setting('eventbus.delivery_enabled') = 'off'" 5
worker_reloaded
for n in 1 2 3; do put test.i "{\"n\": $n}" >/dev/null; done
if wait_for "SELECT count(*) > 0 FROM public.eb_t_received WHERE sink = 'sink_i'" 2; then
	_report 0 "delivery off: nothing delivered for 2 s" "delivered"
else
	_report 1 "delivery off: nothing delivered for 2 s"
fi
check "delivery off: the 3 messages wait in the outbox, backlog 3" \
	"SELECT eb_t_outbox_count('default', 'r-i', 'i1') = 3
	    AND (SELECT max(backlog) FROM eventbus.delivery_workers WHERE database = current_database()) = 3"
q "ALTER SYSTEM RESET eventbus.delivery_enabled" && q "SELECT pg_reload_conf()" >/dev/null
check_ok "delivery on again: the 3 are delivered" \
	"$(wait_for "SELECT count(*) = 3 FROM public.eb_t_received WHERE sink = 'sink_i'" 10; echo $?)"

# ---------------------------------------------------------------------
section "j: databases and extensions come and go"
# a database with eventbus has eventbus.delivery_workers workers (and more
# while the launcher runs some on demand for slow targets, as section k's)
W=$(q "SHOW eventbus.delivery_workers")
worker_in() {
	local cmp="= 0"
	[ "$2" -eq 0 ] || cmp=">= $W"
	echo "SELECT count(*) $cmp FROM pg_stat_activity WHERE backend_type = 'eventbus delivery worker' AND datname = '$1'"
}
q "CREATE DATABASE eb_drop_me" && q "CREATE EXTENSION eventbus" eb_drop_me
wait_for "$(worker_in eb_drop_me 1)" 10
old_pid=$(q "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'eventbus delivery worker' AND datname = 'eb_drop_me'")
check_eq "a worker runs in the new database" "$([ -n "$old_pid" ] && echo yes)" yes
t0=$(date +%s%N)
q "DROP DATABASE eb_drop_me"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "DROP DATABASE with a running worker succeeds" "$rc" 0
if [ "$ms" -lt 3000 ]; then _report 1 "... promptly (${ms} ms)"; else _report 0 "... promptly" "${ms} ms"; fi
check "its workers are gone" "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = ANY ('{${old_pid:-0}}'::int[]))"

q "CREATE DATABASE eb_new"
t0=$(date +%s%N)
q "CREATE EXTENSION eventbus" eb_new
wait_for "$(worker_in eb_new 1)" 10
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "CREATE EXTENSION starts a worker in the new database" "$rc" 0
if [ "$rc" -eq 0 ] && [ "$ms" -lt 5000 ]; then _report 1 "... within a few seconds (${ms} ms)"; else _report 0 "... within a few seconds" "${ms} ms"; fi
check "delivery_workers (seen from another database) shows it running" \
	"SELECT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = 'eb_new' AND state = 'running' AND pid IS NOT NULL)"
q "DROP EXTENSION eventbus" eb_new
check_ok "DROP EXTENSION makes the worker go away" "$(wait_for "$(worker_in eb_new 0)" 10; echo $?)"
check "delivery_workers shows the database as absent, without a pid" \
	"SELECT count(*) = 1 AND bool_and(state = 'absent' AND pid IS NULL)
	   FROM eventbus.delivery_workers WHERE database = 'eb_new'"
q "CREATE EXTENSION eventbus" eb_new
check_ok "CREATE EXTENSION again: the worker is back" "$(wait_for "$(worker_in eb_new 1)" 10; echo $?)"
q "SELECT eventbus.put_rule('r-j', '{\"source\": [\"test.j\"]}')" eb_new >/dev/null
install_helpers eb_new
q "SELECT eb_t_sink('sink_j'); SELECT eb_t_put_target('r-j', 'default', 'j1', 'function:public.sink_j')" eb_new >/dev/null
q "SELECT eventbus.put_event('test.j', 'test', '{}')" eb_new >/dev/null
check_ok "... and delivers there" \
	"$(wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'sink_j'" 10 eb_new; echo $?)"
t0=$(date +%s%N)
q "DROP DATABASE eb_new"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" -eq 0 ] && [ "$ms" -lt 3000 ]; then _report 1 "DROP DATABASE again prompt (${ms} ms)"; else _report 0 "DROP DATABASE again prompt" "rc $rc, ${ms} ms"; fi
check "the first database's worker still runs" "$(worker_in postgres 1)"

q "CREATE DATABASE eb_rename_me" && q "CREATE EXTENSION eventbus" eb_rename_me
wait_for "$(worker_in eb_rename_me 1)" 10
t0=$(date +%s%N)
q "ALTER DATABASE eb_rename_me RENAME TO eb_renamed"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" -eq 0 ] && [ "$ms" -lt 3000 ]; then _report 1 "ALTER DATABASE RENAME with a running worker is prompt (${ms} ms)"; else _report 0 "ALTER DATABASE RENAME with a running worker is prompt" "rc $rc, ${ms} ms"; fi
# Known bug: the utility hook leaves the database's slots "stopping"; the
# launcher frees them only 30 s later (launcher_scan, SLOT_STOPPING), so
# the renamed database has no worker for 30-40 s.
wait_for "$(worker_in eb_renamed 1)" 5
check_rc "a worker runs again in the renamed database within 5 s" $? \
	"none after 5 s: state $(q "SELECT state FROM eventbus.delivery_workers WHERE database = 'eb_renamed'"); worker.c leaves the slot SLOT_STOPPING for 30 s"
q "DROP DATABASE eb_renamed"

eb_finish
