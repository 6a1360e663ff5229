#!/usr/bin/env bash
# Upgrades: a database on eventbus 0.1.0 holding data (buses, rules, queue
# and function targets, messages visible and in flight, a dead letter) is
# upgraded with ALTER EXTENSION eventbus UPDATE, keeps every row, and then
# puts, routes, receives and delivers; its extension objects then equal a
# fresh install's, definition by definition (lib/catalog_signature.sql).
# The comparison proves it can tell: one changed comment is a difference.
# On the suite's cluster (preloaded, so the delivery worker runs).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

SIG=$(dirname "$0")/lib/catalog_signature.sql
EB_TMP_SIG=$(mktemp -u /tmp/eb-signature.XXXXXX)
OLD=eb_upgrade_old
NEW=eb_upgrade_fresh
run_on_exit "q 'DROP DATABASE IF EXISTS $OLD WITH (FORCE)'; q 'DROP DATABASE IF EXISTS $NEW WITH (FORCE)'"
q "DROP DATABASE IF EXISTS $OLD WITH (FORCE)" && q "DROP DATABASE IF EXISTS $NEW WITH (FORCE)" || exit 1
q "CREATE DATABASE $OLD" && q "CREATE DATABASE $NEW" || exit 1

section "0.1.0 with data"
q "CREATE EXTENSION eventbus VERSION '0.1.0'" $OLD || exit 1
check "installed 0.1.0" "SELECT extversion = '0.1.0' FROM pg_extension WHERE extname = 'eventbus'" $OLD
install_helpers $OLD || exit 1
q "SELECT public.eb_t_sink('sink_up')" $OLD >/dev/null || exit 1
q "$(cat <<'SQL'
SELECT eventbus.create_event_bus('shop');
SELECT eventbus.put_rule('orders', '{"source": ["shop"], "detail-type": ["OrderPlaced"]}', 'shop');
SELECT eventbus.put_rule('fails', '{"source": ["shop"], "detail-type": ["Broken"]}', 'shop');
SELECT eventbus.put_targets('orders', '[{"Id": "q", "Arn": "queue:orders"},
                                        {"Id": "f", "Arn": "function:public.sink_up"}]', 'shop');
-- an error retrying cannot fix (42501): its message goes to the dead letters at once
CREATE FUNCTION public.denied(p jsonb) RETURNS void LANGUAGE plpgsql
    AS $f$BEGIN RAISE EXCEPTION 'denied' USING ERRCODE = '42501'; END$f$;
SELECT eventbus.put_targets('fails', '[{"Id": "denied", "Arn": "function:public.denied"}]', 'shop');
SELECT eventbus.put_events(jsonb_build_array(
    jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{"n": 1}', 'EventBusName', 'shop'),
    jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{"n": 2}', 'EventBusName', 'shop'),
    jsonb_build_object('Source', 'shop', 'DetailType', 'OrderPlaced', 'Detail', '{"n": 3}', 'EventBusName', 'shop'),
    jsonb_build_object('Source', 'shop', 'DetailType', 'Broken', 'Detail', '{"n": 4}', 'EventBusName', 'shop')));
SQL
)" $OLD >/dev/null || exit 1
wait_for "SELECT count(*) = 3 FROM public.eb_t_received" 20 $OLD
check_ok "0.1.0 delivered the function target's messages" $?
wait_for "SELECT count(*) = 1 FROM eventbus.dead_letters" 20 $OLD
check_ok "0.1.0 dead-lettered the failing function's message" $?
# one message in flight (received, not acked), two visible
inflight=$(q "SELECT message_id FROM eventbus.receive('orders', 1, 600)" $OLD)
check_eq "a message received (in flight)" "$([ -n "$inflight" ] && echo yes)" yes

counts="SELECT concat_ws(' ',
    (SELECT count(*) FROM eventbus.event_buses), (SELECT count(*) FROM eventbus.rules),
    (SELECT count(*) FROM eventbus.targets), (SELECT count(*) FROM eventbus.queues),
    (SELECT count(*) FROM eventbus.events), (SELECT count(*) FROM eventbus.dead_letters),
    (SELECT visible || '/' || in_flight FROM eventbus.queue_depth('orders')))"
before=$(q "$counts" $OLD)
check_eq "counts before the upgrade" "$before" "2 2 3 1 4 1 2/1"

section "ALTER EXTENSION eventbus UPDATE"
q "ALTER EXTENSION eventbus UPDATE" $OLD
check_rc "ALTER EXTENSION eventbus UPDATE" $? "the upgrade failed"
check "now at the default version" \
	"SELECT e.extversion = a.default_version FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'eventbus'" $OLD
check_eq "every row kept" "$(q "$counts" $OLD)" "$before"

section "the upgraded database works"
check "the in-flight message stays hidden" \
	"SELECT count(*) = 0 FROM eventbus.receive('orders', 10, 30) WHERE message_id = $inflight" $OLD
q "SELECT eventbus.put_event('shop', 'OrderPlaced', '{\"n\": 5}', 'shop')" $OLD >/dev/null
wait_for "SELECT count(*) = 4 FROM public.eb_t_received" 20 $OLD
check_ok "a new event is routed and delivered to the function target" $?
check "the new event reached the queue" \
	"SELECT count(*) = 1 FROM eventbus.receive('orders', 10, 30) r WHERE r.payload -> 'detail' ->> 'n' = '5'" $OLD
check "a new rule can be put" \
	"SELECT eventbus.put_rule('more', '{\"source\": [\"x\"]}', 'shop') ? 'RuleArn'" $OLD
check "the dead letter can be redriven" \
	"SELECT eventbus.redrive_dead_letters() = 1" $OLD
wait_for "SELECT count(*) = 1 FROM eventbus.dead_letters WHERE dead_lettered_at > now() - interval '1 minute' AND dead_letter_id > 1" 20 $OLD
check_ok "the redriven message failed again and is a new dead letter (ids go on after 0.1.0's)" $?

section "upgraded catalog = fresh install"
q "CREATE EXTENSION eventbus" $NEW || exit 1
"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $OLD -f "$SIG" >"$EB_TMP_SIG.old" 2>&1
"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $NEW -f "$SIG" >"$EB_TMP_SIG.new" 2>&1
lines=$(wc -l <"$EB_TMP_SIG.new")
check_eq "the signature covers the extension (lines > 1000)" "$([ "$lines" -gt 1000 ] && echo yes)" yes
if diff -u "$EB_TMP_SIG.new" "$EB_TMP_SIG.old" >"$EB_TMP_SIG.diff"; then
	_report 1 "every eventbus object of the upgraded database equals the fresh install's ($lines lines)"
else
	_report 0 "every eventbus object of the upgraded database equals the fresh install's" \
		"differences (- fresh, + upgraded) follow"
	head -n 80 "$EB_TMP_SIG.diff"
fi
# the comparison can fail: one comment changed is one difference
q "COMMENT ON FUNCTION eventbus.put_events(jsonb) IS 'changed'" $NEW
"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $NEW -f "$SIG" >"$EB_TMP_SIG.changed" 2>&1
check_eq "the comparison sees a changed comment" \
	"$(diff "$EB_TMP_SIG.new" "$EB_TMP_SIG.changed" | grep -c '^[<>] member function eventbus.put_events')" 2
rm -f "$EB_TMP_SIG".*

eb_finish
