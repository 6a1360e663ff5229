#!/usr/bin/env bash
# The scan floor of an outbox (src/outbox_floor.c) never passes a message
# that is still to be committed: a producer transaction that drew a
# message id and commits after later ones (a long transaction) keeps the
# floor below its message, which is received once it commits.  Then four
# producers whose transactions commit out of order (random pauses inside
# them) and two consumers (receive + ack) run at once: every event put is
# received exactly once, and the floor ends just below the queue's end.
# On the suite's cluster (preloaded: the first delivery worker keeps the
# floors).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

DB=eb_outbox_floor
TMP=$(mktemp -d /tmp/eb-outbox-floor.XXXXXX)
run_on_exit "q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' postgres; rm -rf $TMP"
q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" && q "CREATE DATABASE $DB" || exit 1
export PGDATABASE=$DB
q "CREATE EXTENSION eventbus" || exit 1
q "SELECT eventbus.create_queue('fl', 1000);
   SELECT eventbus.put_rule('fl', '{\"source\": [\"floor.test\"]}');
   SELECT eventbus.put_targets('fl', '[{\"Id\": \"q\", \"Arn\": \"queue:fl\"}]');
   CREATE TABLE public.produced (event_id uuid PRIMARY KEY);
   CREATE TABLE public.got (event_id uuid NOT NULL);
   CREATE FUNCTION public.put_one(tag text) RETURNS uuid LANGUAGE sql AS \$\$
       INSERT INTO public.produced
       SELECT (eventbus.put_events(jsonb_build_object('Entries', jsonb_build_array(
                   jsonb_build_object('Source', 'floor.test', 'DetailType', 'T',
                                      'Detail', jsonb_build_object('tag', tag)::text))))
               -> 'Entries' -> 0 ->> 'EventId')::uuid
       RETURNING event_id \$\$" >/dev/null || exit 1
FLOOR="SELECT eventbus._outbox_floor('eventbus_outbox.queue_fl')"

# drain: receive and ack until the queue gives nothing
drain() {
	local n
	while :; do
		n=$(q "WITH r AS (SELECT * FROM eventbus.receive('fl', 100, 30)),
		            g AS (INSERT INTO public.got SELECT event_id FROM r)
		       SELECT count(*) FROM r")
		[ "$n" = 0 ] && break
		q "SELECT eventbus.ack('fl', ARRAY(SELECT message_id FROM eventbus_outbox.queue_fl o
		                                    WHERE o.event_id IN (SELECT event_id FROM public.got)))" >/dev/null
	done
}

section "a late commit keeps the floor below its message"
q "SELECT public.put_one('before-' || n) FROM generate_series(1, 300) n" >/dev/null
drain
wait_for "SELECT (SELECT count(*) FROM eventbus.receive('fl', 1, 0)) >= 0 AND ($FLOOR) = 300" 10
check_ok "the floor rises to the last message acked (300)" $?
"$EB_BINDIR/psql" -X -q -d $DB -c "BEGIN" -c "SELECT public.put_one('late')" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null 2>&1 &
late_pid=$!
sleep 0.5
q "SELECT public.put_one('after-' || n) FROM generate_series(1, 300) n" >/dev/null
drain
# the floor has had time to rise (it is kept every 200 ms, in two steps)
sleep 1
drain
floor_before=$(q "$FLOOR")
wait $late_pid
late_id=$(q "SELECT message_id FROM eventbus_outbox.queue_fl WHERE event_id = (SELECT p.event_id FROM public.produced p
             WHERE NOT EXISTS (SELECT FROM public.got g WHERE g.event_id = p.event_id))")
check_eq "the late message is in the outbox, still to be received" "$([ -n "$late_id" ] && echo yes)" yes
check "the floor stayed below the late message (floor $floor_before, message ${late_id:-none})" "SELECT $floor_before < ${late_id:-0}"
check "the late message is received" \
	"SELECT count(*) = 1 FROM eventbus.receive('fl', 10, 30) r WHERE r.message_id = ${late_id:-0}"
q "SELECT eventbus.ack('fl', ARRAY[${late_id:-0}]::bigint[])" >/dev/null
q "TRUNCATE public.got; TRUNCATE public.produced" >/dev/null

section "producers committing out of order, consumers at once"
cat >"$TMP/floor_producer.sql" <<'SQL'
BEGIN;
SELECT public.put_one('a');
SELECT pg_sleep(random() * 0.02);
SELECT public.put_one('b');
COMMIT;
SQL
cat >"$TMP/floor_consumer.sql" <<'SQL'
BEGIN;
SELECT coalesce(array_agg(message_id), '{}') AS ids, coalesce(array_agg(event_id), '{}') AS events
  FROM eventbus.receive('fl', 10, 30) \gset
INSERT INTO public.got SELECT unnest(:'events'::uuid[]);
SELECT eventbus.ack('fl', :'ids'::bigint[]);
COMMIT;
SQL
"$EB_BINDIR/pgbench" -n -c 4 -t 150 -f "$TMP/floor_producer.sql" $DB >"$TMP/floor_producer.log" 2>&1 &
producers=$!
"$EB_BINDIR/pgbench" -n -c 2 -T 8 -f "$TMP/floor_consumer.sql" $DB >"$TMP/floor_consumer.log" 2>&1
wait $producers
check_rc "the producers ran" $? "$(tail -3 "$TMP/floor_producer.log")"
sleep 1
drain
check "every event put (1,200) was received" \
	"SELECT count(*) = 1200 FROM public.produced p WHERE EXISTS (SELECT FROM public.got g WHERE g.event_id = p.event_id)"
check "none was received twice" "SELECT count(*) = count(DISTINCT event_id) FROM public.got"
check "the queue is empty" "SELECT NOT EXISTS (SELECT FROM eventbus_outbox.queue_fl)"
wait_for "SELECT (SELECT count(*) FROM eventbus.receive('fl', 1, 0)) >= 0 AND ($FLOOR) = (SELECT last_value FROM eventbus_outbox.queue_fl_message_id_seq)" 10
check_ok "the floor ends at the last message id" $?

eb_finish
