#!/usr/bin/env bash
# The delivery worker touches only the outbox tables eventbus made and
# registered, survives any value it reads from them, and delivers as the
# target's owner with that owner's rights.  States that no user can create
# any more are made here as the superuser; in each, the worker must keep
# delivering a healthy target next to the broken one and never crash:
#   1  outbox rows with NULL event_id / event_ingestion_time / receive_count
#      (the worker segfaulted on every cycle): InvalidMessage dead letters
#   2  a target whose outbox is a table outside eventbus_outbox (with a
#      trigger that would run as the worker): refused, logged once,
#      the table untouched
#   3  a target whose outbox is a queue's: refused, the queue keeps its messages
#   4  an outbox whose column type was changed: refused until changed back
#   5  a bus target whose owner lacks put_events on the destination: 42501
#      dead letter at once; with the grant, forwarded
#   6  a function target whose owner lost EXECUTE: 42501 dead letter at once
#   7  a DeadLetterConfig queue receives the failed event only while the
#      target's owner holds send on it
# On a private cluster (a regression crashes the server).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start "eventbus.retry_base_delay = 50" "eventbus.retry_max_delay = 200"
q "CREATE EXTENSION eventbus" || exit 1
install_helpers || exit 1
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
                          WHERE database = current_database() AND state = 'running')" 15 \
	|| { echo "no delivery worker"; exit 1; }

segv() { grep -c 'terminated by signal' "$EB_TMP/server.log"; }
log_count() { grep -c "$1" "$EB_TMP/server.log"; }
outbox_of() { q "SELECT outbox FROM eventbus.targets WHERE rule = '$1' AND target_id = '$2'"; }
# as_owner RULE ROLE: the target acts as ROLE, as if ROLE had put it
as_owner() {
	q "UPDATE eventbus.targets SET owner = '$2' WHERE rule = '$1'"
}
# healthy N: put an event for the healthy target and wait until it has N deliveries
healthy() {
	q "SELECT eventbus.put_event('good', 'tick', '{}')" >/dev/null
	wait_for "SELECT count(*) >= $1 FROM public.eb_t_received WHERE sink = 'good_sink'" 15
}

q "CREATE ROLE eb_h_app;
   SELECT eb_t_sink('good_sink'); SELECT eb_t_sink('bad_sink');
   SELECT eventbus.put_rule('good', '{\"source\": [\"good\"]}');
   SELECT eb_t_put_target('good', 'default', 'g', 'function:public.good_sink')" >/dev/null || exit 1
run_on_exit "q 'DROP OWNED BY eb_h_app; DROP ROLE eb_h_app'"
healthy 1
check_ok "the healthy target delivers" $?
base_segv=$(segv)

# ---------------------------------------------------------------------
section "1: NULLs in an outbox row"
q "SELECT eventbus.put_rule('nulls', '{\"source\": [\"nulls\"]}');
   SELECT eb_t_put_target('nulls', 'default', 'n', 'function:public.bad_sink')" >/dev/null
ob=$(outbox_of nulls n)
q "ALTER TABLE $ob ALTER event_id DROP NOT NULL, ALTER event_ingestion_time DROP NOT NULL,
                   ALTER receive_count DROP NOT NULL;
   INSERT INTO $ob (event_id, event_ingestion_time, bus, rule, target_id)
   VALUES (NULL, now(), 'default', 'nulls', 'n'), (gen_random_uuid(), NULL, 'default', 'nulls', 'n');
   INSERT INTO $ob (event_id, event_ingestion_time, bus, rule, target_id, receive_count)
   VALUES (gen_random_uuid(), now(), 'default', 'nulls', 'n', NULL)" || exit 1
wait_for "SELECT count(*) = 3 FROM eventbus.dead_letters WHERE rule = 'nulls'" 15
check_ok "the three rows are dead letters" $?
check "error code InvalidMessage, each naming its NULL; the NULL event id is the nil UUID" \
	"SELECT array_agg(error_message ORDER BY error_message) = ARRAY[
	            'the outbox row cannot be delivered: its event_id is NULL',
	            'the outbox row cannot be delivered: its event_ingestion_time is NULL',
	            'the outbox row cannot be delivered: its receive_count is NULL or negative']
	        AND bool_and(error_code = 'InvalidMessage')
	        AND count(*) FILTER (WHERE event_id = '00000000-0000-0000-0000-000000000000') = 1
	   FROM eventbus.dead_letters WHERE rule = 'nulls'"
check_eq "the outbox is empty" "$(q "SELECT count(*) FROM $ob")" 0
check_eq "nothing was invoked" "$(q "SELECT count(*) FROM public.eb_t_received WHERE sink = 'bad_sink'")" 0
healthy 2
check_ok "the healthy target still delivers" $?
check_eq "no crash" "$(segv)" "$base_segv"

# ---------------------------------------------------------------------
section "2: a target pointed at a table outside eventbus_outbox"
q "CREATE TABLE public.victim (LIKE $ob INCLUDING DEFAULTS);
   ALTER TABLE public.victim ADD PRIMARY KEY (message_id);
   CREATE SEQUENCE public.victim_seq;
   ALTER TABLE public.victim ALTER message_id SET DEFAULT nextval('public.victim_seq');
   INSERT INTO public.victim (event_id, event_ingestion_time, bus, rule, target_id)
   VALUES (gen_random_uuid(), now(), 'default', 'nulls', 'n');
   CREATE TABLE public.touched (who name, at timestamptz DEFAULT now());
   CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS
       \$\$BEGIN INSERT INTO public.touched VALUES (current_user); RETURN NULL; END\$\$;
   CREATE TRIGGER touch AFTER UPDATE OR DELETE ON public.victim
       FOR EACH STATEMENT EXECUTE FUNCTION public.touch();
   UPDATE eventbus.targets SET outbox = 'public.victim' WHERE rule = 'nulls'" >/dev/null || exit 1
wait_log() {
	local deadline=$((SECONDS + $3))
	until [ "$(log_count "$1")" -ge "$2" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
}
wait_log 'relation public.victim is not an eventbus outbox table' 1 15
check_eq "the worker refuses it, logged once" \
	"$(log_count 'relation public.victim is not an eventbus outbox table')" 1
healthy 3
check_ok "the healthy target still delivers" $?
sleep 1
check_eq "logged once, however many cycles" \
	"$(log_count 'relation public.victim is not an eventbus outbox table')" 1
check_eq "the table was not touched (its trigger never ran)" "$(q "SELECT count(*) FROM public.touched")" 0
check_eq "its row is still there" "$(q "SELECT count(*) FROM public.victim")" 1

# ---------------------------------------------------------------------
section "3: a target pointed at a queue's outbox"
q "SELECT eventbus.create_queue('h_queue');
   SELECT eventbus._enqueue(outbox, gen_random_uuid(), now(), 'default', 'x', 'y', '{}')
     FROM eventbus.queues WHERE name = 'h_queue';
   -- (the trigger that retires a target's old outbox would refuse public.victim)
   ALTER TABLE eventbus.targets DISABLE TRIGGER target_removed;
   UPDATE eventbus.targets SET outbox = (SELECT outbox FROM eventbus.queues WHERE name = 'h_queue')
    WHERE rule = 'nulls';
   ALTER TABLE eventbus.targets ENABLE TRIGGER target_removed" >/dev/null || exit 1
wait_log 'is also the outbox of a queue or another target' 1 15
check_eq "the worker refuses it, logged once" \
	"$(log_count 'is also the outbox of a queue or another target')" 1
healthy 4
check_ok "the healthy target still delivers" $?
check_eq "the queue keeps its message" "$(q "SELECT count(*) FROM eventbus_outbox.queue_h_queue")" 1
check_eq "nothing was invoked" "$(q "SELECT count(*) FROM public.eb_t_received WHERE sink = 'bad_sink'")" 0
q "ALTER TABLE eventbus.targets DISABLE TRIGGER target_removed;
   DELETE FROM eventbus.targets WHERE rule = 'nulls';
   ALTER TABLE eventbus.targets ENABLE TRIGGER target_removed" >/dev/null

# ---------------------------------------------------------------------
section "4: an outbox whose column type was changed"
q "SELECT eventbus.put_rule('shape', '{\"source\": [\"shape\"]}');
   SELECT eb_t_put_target('shape', 'default', 's', 'function:public.bad_sink')" >/dev/null
ob=$(outbox_of shape s)
q "ALTER TABLE $ob ALTER receive_count TYPE bigint;
   SELECT eventbus.put_event('shape', 'x', '{}')" >/dev/null || exit 1
check_eq "routing still writes into it (its INSERT's columns are intact)" "$(q "SELECT count(*) FROM $ob")" 1
wait_log 'delivery to target "s" of rule "shape" on event bus "default" failed: relation' 1 15
check_eq "the worker refuses it, logged once" \
	"$(log_count 'delivery to target "s" of rule "shape" on event bus "default" failed: relation')" 1
healthy 5
check_ok "the healthy target still delivers" $?
check_eq "the message waits" "$(q "SELECT count(*) FROM $ob")" 1
q "ALTER TABLE $ob ALTER receive_count TYPE integer" >/dev/null
wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'bad_sink'" 15
check_ok "changed back: delivered" $?
# a column the INSERT writes: routing refuses too (22023), nothing is stored
q "ALTER TABLE $ob ALTER payload TYPE json" >/dev/null
r=$(q "SELECT eventbus.put_event('shape', 'y', '{}')" 2>&1)
check_eq "with payload changed to json, routing refuses to write into it" \
	"$(echo "$r" | grep -c 'its column payload is of type json, not jsonb')" 1
q "ALTER TABLE $ob ALTER payload TYPE jsonb" >/dev/null
check_eq "no crash" "$(segv)" "$base_segv"

# ---------------------------------------------------------------------
section "5: a bus target's owner needs put_events on the destination"
q "SELECT eventbus.create_event_bus('h-dest');
   SELECT eventbus.put_rule('fwd', '{\"source\": [\"fwd\"]}');
   SELECT eb_t_put_target('fwd', 'default', 'b', 'bus:h-dest');
   SELECT eventbus.put_rule('arrived', '{\"source\": [\"fwd\"]}', 'h-dest');
   SELECT eb_t_put_target('arrived', 'h-dest', 'a', 'function:public.good_sink')" >/dev/null || exit 1
as_owner fwd eb_h_app >/dev/null
q "SELECT eventbus.put_event('fwd', 'one', '{}')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'fwd')" 15
check "dead letter 42501 at once (no retry), naming the bus and the role" \
	"SELECT error_code = '42501' AND retry_attempts = 0 AND exhausted_condition IS NULL
	        AND error_message = 'permission denied for event bus \"h-dest\"'
	   FROM eventbus.dead_letters WHERE rule = 'fwd'"
check_eq "nothing reached h-dest" "$(q "SELECT count(*) FROM eventbus.events WHERE bus = 'h-dest'")" 0
q "SELECT eventbus.grant_event_bus_privilege('h-dest', 'put_events', 'eb_h_app');
   SELECT eventbus.put_event('fwd', 'two', '{}')" >/dev/null
wait_for "SELECT count(*) = 1 FROM eventbus.events WHERE bus = 'h-dest'" 15
check_ok "with the grant the event is forwarded" $?
check "the forwarded event keeps its id" \
	"SELECT (SELECT id FROM eventbus.events WHERE bus = 'h-dest')
	      = (SELECT id FROM eventbus.events WHERE bus = 'default' AND detail_type = 'two')"

# ---------------------------------------------------------------------
section "6: a function target whose owner lost EXECUTE"
q "SELECT eb_t_sink('exec_sink');
   REVOKE EXECUTE ON FUNCTION public.exec_sink(jsonb) FROM PUBLIC;
   SELECT eventbus.put_rule('exec', '{\"source\": [\"exec\"]}');
   SELECT eb_t_put_target('exec', 'default', 'e', 'function:public.exec_sink')" >/dev/null || exit 1
as_owner exec eb_h_app >/dev/null
q "SELECT eventbus.put_event('exec', 'x', '{}')" >/dev/null
wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'exec')" 15
check "dead letter 42501 at once (no retry): permission denied for the function" \
	"SELECT error_code = '42501' AND retry_attempts = 0 AND error_message LIKE 'permission denied for function exec_sink'
	   FROM eventbus.dead_letters WHERE rule = 'exec'"
check_eq "the function never ran" "$(q "SELECT count(*) FROM public.eb_t_received WHERE sink = 'exec_sink'")" 0

# ---------------------------------------------------------------------
section "7: a DeadLetterConfig queue needs send for the target's owner"
q "CREATE FUNCTION public.always_fails(p jsonb) RETURNS void LANGUAGE plpgsql
       AS \$f\$BEGIN RAISE EXCEPTION 'no' USING ERRCODE = '42501'; END\$f\$;
   SELECT eventbus.create_queue('h_dlq');
   SELECT eventbus.put_rule('dlq', '{\"source\": [\"dlq\"]}');
   SELECT eb_t_put_target('dlq', 'default', 'd', 'function:public.always_fails',
                          '{\"DeadLetterConfig\": {\"Arn\": \"queue:h_dlq\"}}')" >/dev/null || exit 1
as_owner dlq eb_h_app >/dev/null
q "SELECT eventbus.put_event('dlq', 'one', '{}')" >/dev/null
wait_for "SELECT count(*) = 1 FROM eventbus.dead_letters WHERE rule = 'dlq'" 15
check_ok "the failed event is a dead letter" $?
check_eq "without send, the DeadLetterConfig queue gets nothing" \
	"$(q "SELECT count(*) FROM eventbus_outbox.queue_h_dlq")" 0
q "SELECT eventbus.grant_queue_privilege('h_dlq', 'send', 'eb_h_app');
   SELECT eventbus.put_event('dlq', 'two', '{}')" >/dev/null
wait_for "SELECT count(*) = 2 FROM eventbus.dead_letters WHERE rule = 'dlq'" 15
wait_for "SELECT count(*) = 1 FROM eventbus_outbox.queue_h_dlq" 5
check_ok "with send, it gets the next failed event" $?

check_eq "no crash in the whole run" "$(segv)" "$base_segv"
eb_finish
