#!/usr/bin/env bash
# Backup and restore: a database holding buses, rules, targets of every
# kind (queue, function, bus, notify, api_destination), a connection with
# its secrets, an API destination and grants, queues with visible and in-flight
# messages, a push message waiting for its retry, dead letters, events in a
# daily partition and in the default partition, is dumped with pg_dump and
# restored two ways (pg_dump -Fc + pg_restore, and plain SQL + psql), each
# into a new database while the delivery workers run.  Every restore is clean (psql ON_ERROR_STOP, pg_restore
# --exit-on-error) and brings back every row: each table's contents (md5
# of its ordered rows) and each sequence equal the source's (which stays
# still while it is dumped: nothing is due), sequences go on past the old
# ids, and each
# restored database then puts, routes, delivers and receives.  The server
# log has no ERROR or FATAL line from the restores or the workers, and
# shows that each restored database's worker waited for its restore.
# On a private cluster (preloaded), with retries an hour apart so that the
# parked message stays put.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start "eventbus.retry_base_delay = '1h'" "eventbus.retry_max_delay = '2h'" "eventbus.delivery_naptime = '200ms'"
SRC=eb_src
DUMPS=$EB_TMP/dumps
mkdir -p "$DUMPS" && chmod 777 "$DUMPS"
LOG=$EB_TMP/server.log

q "CREATE DATABASE $SRC" || exit 1
q "CREATE ROLE eb_alice" || exit 1

section "the source database"
q "CREATE EXTENSION eventbus" $SRC || exit 1
install_helpers $SRC || exit 1
q "$(cat <<'SQL'
SELECT public.eb_t_sink('sink_main');
-- retried: not an error class that goes to the dead letters at once
CREATE FUNCTION public.flaky(p jsonb) RETURNS void LANGUAGE plpgsql
    AS $f$BEGIN RAISE EXCEPTION 'flaky target' USING ERRCODE = 'P0001'; END$f$;
-- goes to the dead letters at once (42501)
CREATE FUNCTION public.denied(p jsonb) RETURNS void LANGUAGE plpgsql
    AS $f$BEGIN RAISE EXCEPTION 'denied' USING ERRCODE = '42501'; END$f$;
GRANT EXECUTE ON FUNCTION public.sink_main(jsonb) TO eb_alice;
-- eb_alice owns bus shop (so she may put targets on its rules) and one
-- target: the restore must keep both owners
GRANT eventbus_user TO eb_alice;
SET ROLE eb_alice;
SELECT eventbus.create_event_bus('shop', 'the shop');
RESET ROLE;
SELECT eventbus.create_event_bus('audit');
SELECT eventbus.create_queue('spare', 5);
SELECT eventbus.put_rule('orders', '{"source": ["shop"], "detail-type": ["OrderPlaced"]}', 'shop',
                         description => 'orders');
SELECT eventbus.put_rule('broken', '{"source": ["shop"], "detail-type": ["Broken"]}', 'shop');
SELECT eventbus.put_rule('off', '{"source": ["never"]}', 'shop', 'DISABLED');
SELECT eventbus.put_rule('audit-all', '{"source": ["shop"]}', 'audit');
SELECT eventbus.put_targets('orders', '[
    {"Id": "q", "Arn": "queue:orders"},
    {"Id": "qt", "Arn": "queue:orders-small", "InputPath": "$.detail"},
    {"Id": "fwd", "Arn": "bus:audit"},
    {"Id": "note", "Arn": "notify:eb_orders"}
]', 'shop');
SELECT eventbus.put_rule('orders-retry', '{"source": ["shop"], "detail-type": ["OrderPlaced"]}', 'shop');
SELECT eventbus.put_targets('orders-retry', '[
    {"Id": "flaky", "Arn": "function:public.flaky", "DeadLetterConfig": {"Arn": "queue:orders-dlq"}}
]', 'shop');
SELECT eventbus.put_targets('broken', '[{"Id": "denied", "Arn": "function:public.denied"}]', 'shop');
SELECT eventbus.put_targets('audit-all', '[{"Id": "aq", "Arn": "queue:audit"}]', 'audit');
SET ROLE eb_alice;
SELECT eventbus.put_targets('orders', '[{"Id": "f", "Arn": "function:public.sink_main"}]', 'shop');
-- a connection (its secrets apart) and an API destination of eb_alice's;
-- the target on the disabled rule never gets a message
SELECT eventbus.create_connection('hooks', 'OAUTH_CLIENT_CREDENTIALS',
    '{"OAuthParameters": {"AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST",
                          "ClientParameters": {"ClientID": "eventbus", "ClientSecret": "dump-secret"}},
      "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-Token", "Value": "dump-header-secret", "IsValueSecret": true}]}}',
    'webhooks');
SELECT eventbus.create_api_destination('hook', 'hooks', 'https://hooks.example.com/orders/*', 'PUT', 10,
                                       timeout_seconds => 2);
SELECT eventbus.grant_api_destination_privilege('hook', 'invoke', 'PUBLIC');
RESET ROLE;
SELECT eventbus.put_targets('off', '[{"Id": "h", "Arn": "api-destination:hook",
    "HttpParameters": {"PathParameterValues": ["$.detail.n"], "HeaderParameters": {"X-N": "$.detail.n"}}}]', 'shop');

SELECT eventbus.put_events(jsonb_build_array(
    jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{"n": 1}', 'EventBusName', 'shop'),
    jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{"n": 2, "s": "ä\"\\"}', 'EventBusName', 'shop'),
    jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{"n": 3}', 'EventBusName', 'shop'),
    jsonb_build_object('Source', 'shop', 'DetailType', 'Broken', 'Detail', '{"n": 4}', 'EventBusName', 'shop')));
-- an old event: no daily partition holds its day, so it lands in the
-- default partition (routed all the same)
INSERT INTO eventbus.events (bus, source, detail_type, detail, ingestion_time, "time")
VALUES ('shop', 'shop', 'OrderPlaced', '{"n": 0, "old": true}',
        now() - interval '40 days', now() - interval '40 days');
SQL
)" $SRC >/dev/null || exit 1

# Push targets settle: the sink gets n = 1..3; the old event is past every
# push target's MaximumEventAgeInSeconds (4 dead letters, and the flaky
# target's DeadLetterConfig queue gets it); the Broken event is a dead
# letter (denied); the flaky target's 3 messages wait an hour for a retry;
# the bus target forwards 3 events to queue audit.
FLAKY=$(q "SELECT outbox FROM eventbus.targets WHERE target_id = 'flaky'" $SRC)
wait_for "SELECT count(*) = 3 FROM public.eb_t_received" 30 $SRC
check_ok "source: the function target got the three new events" $?
wait_for "SELECT (SELECT count(*) FROM eventbus.dead_letters) = 5
             AND eb_t_outbox_count('shop', 'orders', 'fwd') = 0
             AND eb_t_outbox_count('shop', 'orders', 'note') = 0
             AND (SELECT count(*) FROM eventbus_outbox.queue_audit) = 3
             AND (SELECT count(*) FROM eventbus_outbox.\"queue_orders-dlq\") = 1
             AND (SELECT count(*) FILTER (WHERE receive_count = 1) FROM $FLAKY) = 3" 30 $SRC
check_ok "source: push targets settled (forwarded, notified, dead letters, retries parked)" $?
# two messages in flight on queue orders (received, not acked: n = 1, 2),
# two visible (n = 3 and the old event)
inflight=$(q "SELECT string_agg(message_id::text, ',') FROM eventbus.receive('orders', 2, 3600)" $SRC)
check_eq "source: two messages received (in flight)" "$(echo "$inflight" | tr ',' '\n' | grep -c .)" 2

check "source: events in a daily partition and in the default partition" \
	"SELECT count(*) FILTER (WHERE tableoid = 'eventbus.events_default'::regclass) = 1
	    AND count(*) FILTER (WHERE tableoid <> 'eventbus.events_default'::regclass) = 7
	   FROM eventbus.events" $SRC
check "source: every target kind is there" \
	"SELECT array_agg(DISTINCT kind ORDER BY kind) = '{api_destination,bus,function,notify,queue}' FROM eventbus.targets" $SRC

# contents: one line per table (name, row count, md5 of its ordered rows),
# sequences (name, last_value, is_called); as of the snapshot given
CONTENTS_SQL=$(cat <<'SQL'
CREATE OR REPLACE FUNCTION pg_temp.contents() RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
    r record;
    line text;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind
               FROM pg_class c
              WHERE (c.relnamespace IN ('eventbus'::regnamespace, 'eventbus_outbox'::regnamespace)
                     AND c.relkind IN ('r', 'S') AND c.relname <> '_restore_sessions')
                 OR c.oid = 'public.eb_t_received'::regclass
              ORDER BY c.oid::regclass::text LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('SELECT format(''sequence %%s %%s %%s'', %L, last_value, is_called) FROM %s', r.rel, r.rel)
               INTO line;
        ELSIF r.rel = 'eventbus.event_buses'::regclass THEN
            -- "default" is made by CREATE EXTENSION, not dumped
            EXECUTE format('SELECT format(''table %%s %%s %%s'', %L, count(*), md5(string_agg(t::text, E''\n'' ORDER BY t::text))) FROM %s t WHERE name <> ''default''', r.rel, r.rel)
               INTO line;
        ELSE
            EXECUTE format('SELECT format(''table %%s %%s %%s'', %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), ''''))) FROM %s t', r.rel, r.rel)
               INTO line;
        END IF;
        RETURN NEXT line;
    END LOOP;
END $f$;
SELECT * FROM pg_temp.contents();
SQL
)

section "pg_dump (custom and plain)"
src_contents=$(q "$CONTENTS_SQL" $SRC)
"$EB_BINDIR/pg_dump" -Fc -d $SRC -f "$DUMPS/src.dump"
check_rc "pg_dump -Fc" $? "pg_dump failed"
"$EB_BINDIR/pg_dump" -d $SRC -f "$DUMPS/src.sql"
check_rc "pg_dump (plain)" $? "pg_dump failed"
check_eq "the source did not change while it was dumped" "$(q "$CONTENTS_SQL" $SRC)" "$src_contents"
echo "     tables and sequences compared: $(echo "$src_contents" | grep -c .)"
check_eq "the contents cover the outboxes, partitions and sequences" \
	"$(echo "$src_contents" | grep -cE 'eventbus_outbox\.queue_orders |events_default |table eventbus\.events_p[0-9]{8} [1-9]|rules_rule_id_seq |dead_letters_dead_letter_id_seq ')" 5

log_from=$(($(wc -l <"$LOG") + 1))

section "restore: pg_restore, psql"
for db in eb_fc eb_plain; do q "CREATE DATABASE $db" || exit 1; done
"$EB_BINDIR/pg_restore" --exit-on-error -d eb_fc "$DUMPS/src.dump" >"$DUMPS/fc.out" 2>&1
check_rc "pg_restore --exit-on-error: clean" $? "$(head -c 600 "$DUMPS/fc.out")"
"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d eb_plain -f "$DUMPS/src.sql" >"$DUMPS/plain.out" 2>&1
check_rc "psql -v ON_ERROR_STOP=1 -f dump.sql: clean" $? "$(head -c 600 "$DUMPS/plain.out")"

for db in eb_fc eb_plain; do
	section "$db: contents"
	got=$(q "$CONTENTS_SQL" $db)
	diff <(echo "$src_contents" | grep .) <(echo "$got" | grep .) >"$DUMPS/$db.diff"
	check_rc "$db: every table's rows and every sequence equal the source's" $? "$(head -c 800 "$DUMPS/$db.diff")"
	check "$db: the daily partitions are attached, with their own primary key" \
		"SELECT count(*) = 8 AND bool_and(EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p.oid AND i.indisprimary))
		   FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhrelid
		  WHERE h.inhparent = 'eventbus.events'::regclass AND p.relname ~ '^events_p[0-9]{8}$'" $db
	check "$db: every outbox a catalog names is a table of the restored database" \
		"SELECT bool_and(c.relnamespace = 'eventbus_outbox'::regnamespace)
		   FROM (SELECT outbox FROM eventbus.queues UNION ALL SELECT outbox FROM eventbus.targets) o
		   LEFT JOIN pg_class c ON c.oid = o.outbox" $db
	check "$db: the target put by eb_alice still runs as eb_alice, and her bus is hers" \
		"SELECT owner = 'eb_alice' FROM eventbus.targets WHERE target_id = 'f'
		    AND (SELECT owner = 'eb_alice'::regrole FROM eventbus.event_buses WHERE name = 'shop')" $db
	check "$db: the connection keeps its secrets and owner, the API destination its grant and settings" \
		"SELECT (SELECT auth_parameters #>> '{OAuthParameters,ClientParameters,ClientSecret}' = 'dump-secret'
		          FROM eventbus.connection_secrets WHERE connection = 'hooks')
		    AND (SELECT owner = 'eb_alice' FROM eventbus.connections WHERE name = 'hooks')
		    AND eventbus.has_api_destination_privilege('hook', 'invoke', 'pg_monitor'::regrole)
		    AND (SELECT timeout_ms = 2000 AND invocation_rate_limit_per_second = 10 FROM eventbus.api_destinations)
		    AND (SELECT http_parameters -> 'HeaderParameters' ->> 'X-N' = '\$.detail.n' FROM eventbus.targets WHERE target_id = 'h')" $db
	check "$db: the old event (default partition) gives its queue message a payload" \
		"SELECT count(*) = 1 FROM eventbus_outbox.queue_orders o
		   JOIN eventbus.events e ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time
		  WHERE e.tableoid = 'eventbus.events_default'::regclass AND e.detail ->> 'old' = 'true'" $db
done

section "the restored databases work"
for db in eb_fc eb_plain; do
	wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers WHERE database = current_database() AND state = 'running')
	             AND NOT EXISTS (SELECT FROM eventbus._restore_sessions)" 30 $db
	check_ok "$db: its worker runs and has seen the restore end" $?
	old_rule=$(q "SELECT max(rule_id) FROM eventbus.rules" $db)
	old_dead=$(q "SELECT max(dead_letter_id) FROM eventbus.dead_letters" $db)
	old_msg=$(q "SELECT max(message_id) FROM eventbus_outbox.queue_orders" $db)
	check "$db: the in-flight messages stay hidden" \
		"SELECT count(*) = 2 FROM eventbus_outbox.queue_orders
		  WHERE message_id IN ($inflight) AND visible_at > now() + interval '30 minutes'" $db
	check_eq "$db: the parked retries still wait (messages, of them due in the next 10 minutes)" \
		"$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE visible_at < now() + interval '10 minutes') FROM $FLAKY" $db)" "3 0"
	q "SELECT eventbus.put_rule('later', '{\"source\": [\"later\"]}', 'shop')" $db >/dev/null
	check "$db: a new rule gets an id past the old ones" \
		"SELECT rule_id > $old_rule FROM eventbus.rules WHERE name = 'later'" $db
	q "SELECT eventbus.put_events(jsonb_build_array(
	       jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{\"n\": 10}', 'EventBusName', 'shop'),
	       jsonb_build_object('Source', 'shop', 'DetailType', 'Broken', 'Detail', '{\"n\": 11}', 'EventBusName', 'shop')))" $db >/dev/null
	wait_for "SELECT count(*) = 4 FROM public.eb_t_received" 20 $db
	check_ok "$db: the function target got the new event" $?
	wait_for "SELECT count(*) = 1 FROM eventbus.dead_letters WHERE dead_letter_id > $old_dead" 20 $db
	check_ok "$db: the failing target's new dead letter gets an id past the old ones" $?
	wait_for "SELECT eb_t_outbox_count('shop', 'orders', 'fwd') = 0 AND eb_t_outbox_count('shop', 'orders', 'note') = 0
	             AND (SELECT count(*) FROM eventbus_outbox.queue_audit) = 4" 20 $db
	check_ok "$db: the bus target forwarded it and the notify target sent it" $?
	check "$db: the queue receives the two visible restored messages, with their payloads, and the new one" \
		"WITH r AS (SELECT * FROM eventbus.receive('orders', 10, 30))
		 SELECT count(*) = 3
		        AND count(*) FILTER (WHERE payload -> 'detail' ->> 'n' = '3') = 1
		        AND count(*) FILTER (WHERE payload -> 'detail' ->> 'old' = 'true') = 1
		        AND count(*) FILTER (WHERE payload -> 'detail' ->> 'n' = '10' AND message_id > $old_msg) = 1
		   FROM r" $db
done

section "the server log"
new_log=$(tail -n +"$log_from" "$LOG")
bad=$(echo "$new_log" | grep -E '(ERROR|FATAL|PANIC):' || true)
check_eq "no ERROR or FATAL line since the restores began" "$bad" ""
for db in eb_fc eb_plain; do
	check_eq "$db: the worker waited for the restore, then delivered" \
		"$(echo "$new_log" | grep -c "delivery in database \"$db\" waits until its restore is over")/$(echo "$new_log" | grep -c "the restore of database \"$db\" is over")" "1/1"
done

eb_finish
