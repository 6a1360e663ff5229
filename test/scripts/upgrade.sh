#!/usr/bin/env bash
# Upgrades, along both paths to the current version: a database on
# eventbus 0.1.0 (updated through 0.2.0), one on 0.2.0, one on 0.3.0 and one on 0.4.0, each holding data
# (buses, rules, queue and function targets, messages visible and in
# flight, a dead letter; on 0.2.0 also a grant), are upgraded with ALTER
# EXTENSION eventbus UPDATE, keep every row, and then put, route, receive
# and deliver, and take the current version's objects (a connection, an
# API destination and a target using it); their extension objects then
# equal a fresh install's, definition by definition
# (lib/catalog_signature.sql).  The comparison proves it can tell: one
# changed comment is a difference.  On the suite's cluster (preloaded, so
# the delivery worker runs).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

SIG=$(dirname "$0")/lib/catalog_signature.sql
EB_TMP_SIG=$(mktemp -u /tmp/eb-signature.XXXXXX)
FROM01=eb_upgrade_from010
FROM02=eb_upgrade_from020
FROM03=eb_upgrade_from030
FROM04=eb_upgrade_from040
NEW=eb_upgrade_fresh
ROLE=eb_upgrade_reader
run_on_exit "q 'DROP DATABASE IF EXISTS $FROM01 WITH (FORCE)'; q 'DROP DATABASE IF EXISTS $FROM02 WITH (FORCE)'; q 'DROP DATABASE IF EXISTS $FROM03 WITH (FORCE)'; q 'DROP DATABASE IF EXISTS $FROM04 WITH (FORCE)'; q 'DROP DATABASE IF EXISTS $NEW WITH (FORCE)'; q 'DROP ROLE IF EXISTS $ROLE'; rm -f $EB_TMP_SIG.*"
for db in $FROM01 $FROM02 $FROM03 $FROM04 $NEW; do
	q "DROP DATABASE IF EXISTS $db WITH (FORCE)" && q "CREATE DATABASE $db" || exit 1
done
q "DROP ROLE IF EXISTS $ROLE" && q "CREATE ROLE $ROLE" || exit 1

q "CREATE EXTENSION eventbus" $NEW || exit 1
"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $NEW -f "$SIG" >"$EB_TMP_SIG.new" 2>&1
lines=$(wc -l <"$EB_TMP_SIG.new")
check_eq "the signature of a fresh install covers the extension (lines > 1000)" "$([ "$lines" -gt 1000 ] && echo yes)" yes

counts="SELECT concat_ws(' ',
    (SELECT count(*) FROM eventbus.event_buses), (SELECT count(*) FROM eventbus.rules),
    (SELECT count(*) FROM eventbus.targets), (SELECT count(*) FROM eventbus.queues),
    (SELECT count(*) FROM eventbus.events), (SELECT count(*) FROM eventbus.dead_letters),
    (SELECT visible || '/' || in_flight FROM eventbus.queue_depth('orders')))"

# upgrade_path VERSION DB: install VERSION with data in DB, update it to
# the default version, check its rows and that it works, and compare its
# objects with the fresh install's.
upgrade_path() {
	local version=$1 db=$2 before inflight

	section "$version with data ($db)"
	q "CREATE EXTENSION eventbus VERSION '$version'" $db || exit 1
	check "installed $version" "SELECT extversion = '$version' FROM pg_extension WHERE extname = 'eventbus'" $db
	install_helpers $db || exit 1
	q "SELECT public.eb_t_sink('sink_up')" $db >/dev/null || exit 1
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
)" $db >/dev/null || exit 1
	if [ "$version" != 0.1.0 ]; then
		# 0.2.0's privileges: a grant that must survive
		q "SELECT eventbus.grant_event_bus_privilege('shop', 'read_events', '$ROLE')" $db >/dev/null || exit 1
	fi
	wait_for "SELECT count(*) = 3 FROM public.eb_t_received" 20 $db
	check_ok "$version delivered the function target's messages" $?
	wait_for "SELECT count(*) = 1 FROM eventbus.dead_letters" 20 $db
	check_ok "$version dead-lettered the failing function's message" $?
	# one message in flight (received, not acked), two visible
	inflight=$(q "SELECT message_id FROM eventbus.receive('orders', 1, 600)" $db)
	check_eq "a message received (in flight)" "$([ -n "$inflight" ] && echo yes)" yes

	before=$(q "$counts" $db)
	check_eq "counts before the upgrade" "$before" "2 2 3 1 4 1 2/1"

	section "ALTER EXTENSION eventbus UPDATE ($version -> default)"
	q "ALTER EXTENSION eventbus UPDATE" $db
	check_rc "ALTER EXTENSION eventbus UPDATE" $? "the upgrade failed"
	check "now at the default version" \
		"SELECT e.extversion = a.default_version FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'eventbus'" $db
	check_eq "every row kept" "$(q "$counts" $db)" "$before"
	if [ "$version" != 0.1.0 ]; then
		check "the grant is kept and still holds" \
			"SELECT count(*) = 1 AND eventbus.has_event_bus_privilege('shop', 'read_events', '$ROLE') FROM eventbus.grants" $db
	fi

	section "the upgraded database works ($version)"
	check "the in-flight message stays hidden" \
		"SELECT count(*) = 0 FROM eventbus.receive('orders', 10, 30) WHERE message_id = $inflight" $db
	q "SELECT eventbus.put_event('shop', 'OrderPlaced', '{\"n\": 5}', 'shop')" $db >/dev/null
	wait_for "SELECT count(*) = 4 FROM public.eb_t_received" 20 $db
	check_ok "a new event is routed and delivered to the function target" $?
	check "the new event reached the queue" \
		"SELECT count(*) = 1 FROM eventbus.receive('orders', 10, 30) r WHERE r.payload -> 'detail' ->> 'n' = '5'" $db
	check "a new rule can be put" \
		"SELECT eventbus.put_rule('more', '{\"source\": [\"x\"]}', 'shop') ? 'RuleArn'" $db
	check "the dead letter can be redriven" \
		"SELECT eventbus.redrive_dead_letters() = 1" $db
	wait_for "SELECT count(*) = 1 FROM eventbus.dead_letters WHERE dead_lettered_at > now() - interval '1 minute' AND dead_letter_id > 1" 20 $db
	check_ok "the redriven message failed again and is a new dead letter (ids go on after $version's)" $?
	check "a connection can be created" \
		"SELECT eventbus.create_connection('hooks', 'API_KEY', '{\"ApiKeyAuthParameters\": {\"ApiKeyName\": \"x-api-key\", \"ApiKeyValue\": \"upgrade-secret\"}}') ->> 'ConnectionState' = 'AUTHORIZED'" $db
	check "an API destination can be created on it" \
		"SELECT eventbus.create_api_destination('hook', 'hooks', 'http://127.0.0.1:9/hook', 'POST') ->> 'ApiDestinationState' = 'ACTIVE'" $db
	check "a rule's target can name the API destination" \
		"SELECT (eventbus.put_targets('more', '[{\"Id\": \"h\", \"Arn\": \"api-destination:hook\", \"HttpParameters\": {\"HeaderParameters\": {\"x-n\": \"\$.detail.n\"}}}]', 'shop') ->> 'FailedEntryCount')::int = 0" $db
	check "the target is an api_destination target with its HttpParameters" \
		"SELECT kind = 'api_destination' AND destination = 'hook' AND http_parameters IS NOT NULL FROM eventbus.targets WHERE target_id = 'h'" $db
	# the objects made above are data, not part of the signature
	q "SELECT eventbus.remove_targets('more', '{h}', 'shop'); SELECT eventbus.delete_api_destination('hook'); SELECT eventbus.delete_connection('hooks')" $db >/dev/null

	section "upgraded catalog = fresh install ($version)"
	"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $db -f "$SIG" >"$EB_TMP_SIG.$db" 2>&1
	if diff -u "$EB_TMP_SIG.new" "$EB_TMP_SIG.$db" >"$EB_TMP_SIG.diff"; then
		_report 1 "every eventbus object of the database upgraded from $version equals the fresh install's ($lines lines)"
	else
		_report 0 "every eventbus object of the database upgraded from $version equals the fresh install's" \
			"differences (- fresh, + upgraded) follow"
		head -n 80 "$EB_TMP_SIG.diff"
	fi
}

# 0.1.0 -> 0.2.0 -> 0.3.0 ... and 0.2.0 -> 0.3.0 ...
upgrade_path 0.1.0 $FROM01
check "the update from 0.1.0 went through 0.2.0" \
	"SELECT path LIKE '0.1.0--0.2.0--%' FROM pg_extension_update_paths('eventbus') WHERE source = '0.1.0' AND target = (SELECT default_version FROM pg_available_extensions WHERE name = 'eventbus')" $FROM01
upgrade_path 0.2.0 $FROM02
upgrade_path 0.3.0 $FROM03
upgrade_path 0.4.0 $FROM04

# the comparison can fail: one comment changed is one difference
q "COMMENT ON FUNCTION eventbus.put_events(jsonb) IS 'changed'" $NEW
"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $NEW -f "$SIG" >"$EB_TMP_SIG.changed" 2>&1
check_eq "the comparison sees a changed comment" \
	"$(diff "$EB_TMP_SIG.new" "$EB_TMP_SIG.changed" | grep -c '^[<>] member function eventbus.put_events')" 2

eb_finish
