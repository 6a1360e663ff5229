#!/usr/bin/env bash
# Without shared_preload_libraries, eventbus still works on first use:
# CREATE EXTENSION, the pattern language, put_events, routing into queues,
# receive/ack and the catalog; only what needs shared memory is absent
# (the counters of the metrics views stay at zero, no delivery worker).
# On a cluster of its own, started without the preload.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/lib/common.sh
. test/lib/common.sh

EB_NO_PRELOAD=1 eb_cluster_start || exit 1
failed=0
check() {
	# check NAME SQL EXPECTED
	local got
	got=$(eb_psql -At -c "SET search_path = public, eventbus; $2" 2>&1)
	if [ "$got" = "$3" ]; then
		echo "  ok: $1"
	else
		echo "  FAIL: $1 (got '$got', want '$3')"
		failed=$((failed + 1))
	fi
}

check "shared_preload_libraries is empty" "SHOW shared_preload_libraries" ""
check "CREATE EXTENSION works" "CREATE EXTENSION eventbus; SELECT e.extversion = a.default_version FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'eventbus'" "t"
check "the pattern-match operator works" \
	"SELECT '{\"source\": \"a\", \"detail\": {\"n\": 5}}'::jsonb =~ '{\"detail\": {\"n\": [{\"numeric\": [\">\", 1]}]}}'" "t"
check "an invalid pattern is refused with its reason" \
	"SELECT eventbus.is_valid_event_pattern('{\"source\": \"a\"}')" "f"
check "rules and queue targets can be put" \
	"SELECT eventbus.put_rule('np', '{\"source\": [\"np\"]}') IS NOT NULL
	    AND (eventbus.put_targets('np', '[{\"Id\": \"q\", \"Arn\": \"queue:np\"}]') ->> 'FailedEntryCount') = '0'" "t"
check "put_events routes into the queue" \
	"SELECT eventbus.put_events('[{\"Source\": \"np\", \"DetailType\": \"t\", \"Detail\": \"{}\"},
	                              {\"Source\": \"other\", \"DetailType\": \"t\", \"Detail\": \"{}\"}]') ->> 'FailedEntryCount'" "0"
check "receive and ack" \
	"SELECT eventbus.ack('np', array_agg(message_id)) FROM eventbus.receive('np', 10, 30)" "1"
check "a long-polling receive looks again every 100 ms and times out empty" \
	"SELECT count(*) || ' ' || (clock_timestamp() - statement_timestamp() BETWEEN interval '0.95 s' AND interval '3 s')
	   FROM eventbus.receive('np', 10, 30, 1)" "0 true"
check "metrics counters are zero without shared memory" \
	"SELECT matched_events FROM eventbus.rule_stats WHERE rule = 'np'" "0"
check "no delivery worker" "SELECT count(*) FROM eventbus.delivery_workers" "0"
check "push targets can be put (delivered once the library is preloaded)" \
	"CREATE FUNCTION public.np_sink(e jsonb) RETURNS void LANGUAGE sql AS '';
	 SELECT eventbus.put_targets('np', '[{\"Id\": \"f\", \"Arn\": \"function:public.np_sink\"}]') ->> 'FailedEntryCount'" "0"

eb_cluster_stop
trap - EXIT
echo "not_preloaded: $failed failed"
[ "$failed" -eq 0 ]
