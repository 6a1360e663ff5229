#!/usr/bin/env bash
# Archives and replays end to end (src/replay.c, run by the first delivery
# worker): 100,000 events archived on a bus, replayed through rules to
# queue targets:
#   - every archived event reaches the FilterArns rule's queue exactly once
#     (100,000 messages, the original ids), a rule outside FilterArns gets
#     none, and a FilterArns rule matching {"replay-name": [...]} sees them
#     all; the archive's EventCount stays 100,000 (replayed events are in
#     no archive);
#   - a replay cancelled while running ends CANCELLED with fewer events
#     replayed than the window holds, its queue holds exactly the events it
#     replayed, and no message arrives after;
#   - a replay whose owner loses put_events on the bus while it runs ends
#     FAILED with the reason, having replayed part of the window.
# On the suite's cluster (preloaded: the first delivery worker runs replays).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

DB=eb_replay
N=100000
run_on_exit "q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' postgres"
q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres && q "CREATE DATABASE $DB" postgres || exit 1
export PGDATABASE=$DB
q "CREATE EXTENSION eventbus" || exit 1

state() { q "SELECT state FROM eventbus.replays WHERE name = '$1'"; }
count() { q "SELECT count(*) FROM eventbus_outbox.queue_$1"; }

section "archive $N events"
q "SELECT eventbus.create_archive('arch', 'default')" >/dev/null || exit 1
q "INSERT INTO eventbus.events (source, detail_type, detail)
   SELECT 'rp.test', 'T', jsonb_build_object('n', g) FROM generate_series(1, $N) g" || exit 1
q "SELECT eventbus.put_rule('to-all', '{\"source\": [\"rp.test\"]}');
   SELECT eventbus.put_targets('to-all', '[{\"Id\": \"q\", \"Arn\": \"queue:rp_all\"}]');
   SELECT eventbus.put_rule('not-chosen', '{\"source\": [\"rp.test\"]}');
   SELECT eventbus.put_targets('not-chosen', '[{\"Id\": \"q\", \"Arn\": \"queue:rp_other\"}]');
   SELECT eventbus.put_rule('sees-replay', '{\"replay-name\": [\"r1\"]}');
   SELECT eventbus.put_targets('sees-replay', '[{\"Id\": \"q\", \"Arn\": \"queue:rp_seen\"}]')" >/dev/null || exit 1
check "the archive holds $N events" \
	"SELECT (eventbus.describe_archive('arch') ->> 'EventCount')::bigint = $N"

section "replay them through FilterArns rules"
q "SELECT eventbus.start_replay('r1', 'arch', now() - interval '1 day', now(),
       jsonb_build_object('Arn', eventbus.event_bus_arn('default'),
                          'FilterArns', jsonb_build_array(eventbus.rule_arn('to-all'), eventbus.rule_arn('sees-replay'))))" >/dev/null || exit 1
wait_for "SELECT state NOT IN ('STARTING', 'RUNNING') FROM eventbus.replays WHERE name = 'r1'" 300
check_ok "replay r1 ended" $?
check_eq "replay r1 COMPLETED" "$(state r1)" COMPLETED
check_eq "the FilterArns rule's queue has exactly $N messages" "$(count rp_all)" $N
section "replay r1 done"
check "each is one archived event, once" \
	"WITH a AS MATERIALIZED (SELECT id FROM eventbus.archive_events('arch'))
	 SELECT count(DISTINCT q.event_id) = $N AND count(*) = $N
	   FROM eventbus_outbox.queue_rp_all q JOIN a ON a.id = q.event_id"
check_eq "the rule outside FilterArns got none" "$(count rp_other)" 0
check_eq "the rule matching {\"replay-name\": [\"r1\"]} saw them all" "$(count rp_seen)" $N
check "replayed_count is $N and EventLastReplayedTime the last event's ingestion time" \
	"SELECT r.replayed_count = $N
	        AND r.event_last_replayed_time = (SELECT max(ingestion_time) FROM eventbus.archive_events('arch'))
	   FROM eventbus.replays r WHERE r.name = 'r1'"
check "the archive still holds $N events" \
	"SELECT (eventbus.describe_archive('arch') ->> 'EventCount')::bigint = $N"

section "cancel a running replay"
q "SELECT eventbus.start_replay('r2', 'arch', now() - interval '1 day', now(),
       jsonb_build_object('Arn', eventbus.event_bus_arn('default'),
                          'FilterArns', jsonb_build_array(eventbus.rule_arn('not-chosen'))))" >/dev/null || exit 1
wait_for "SELECT replayed_count > 0 FROM eventbus.replays WHERE name = 'r2'" 60
check_ok "replay r2 runs" $?
q "SELECT eventbus.cancel_replay('r2') ->> 'State'" >/dev/null
wait_for "SELECT state NOT IN ('STARTING', 'RUNNING', 'CANCELLING') FROM eventbus.replays WHERE name = 'r2'" 60
check_ok "replay r2 ended" $?
check_eq "replay r2 CANCELLED" "$(state r2)" CANCELLED
replayed=$(q "SELECT replayed_count FROM eventbus.replays WHERE name = 'r2'")
[ "$replayed" -lt $N ]
check_rc "it replayed fewer than $N events" $? "replayed_count $replayed"
check_eq "its queue holds exactly the events it replayed" "$(count rp_other)" "$replayed"
sleep 2
check_eq "no message after the cancel" "$(count rp_other)" "$replayed"
check_eq "the other queues got nothing from r2" "$(count rp_all)/$(count rp_seen)" "$N/$N"

section "a right lost while a replay runs"
q "CREATE ROLE eb_replay_owner;
   SELECT eventbus.grant_event_bus_privilege('default', 'read_events', 'eb_replay_owner');
   SELECT eventbus.grant_event_bus_privilege('default', 'put_events', 'eb_replay_owner')" >/dev/null || exit 1
run_on_exit "q 'DROP ROLE IF EXISTS eb_replay_owner' postgres"
q "SET ROLE eb_replay_owner;
   SELECT eventbus.start_replay('r3', 'arch', now() - interval '1 day', now(),
       jsonb_build_object('Arn', eventbus.event_bus_arn('default'),
                          'FilterArns', jsonb_build_array(eventbus.rule_arn('not-chosen'))))" >/dev/null || exit 1
wait_for "SELECT replayed_count > 0 FROM eventbus.replays WHERE name = 'r3'" 60
check_ok "replay r3 runs" $?
q "SELECT eventbus.revoke_event_bus_privilege('default', 'put_events', 'eb_replay_owner')" >/dev/null
wait_for "SELECT state NOT IN ('STARTING', 'RUNNING') FROM eventbus.replays WHERE name = 'r3'" 60
check_ok "replay r3 ended" $?
check_eq "replay r3 FAILED" "$(state r3)" FAILED
# the worker's check before a batch, or (when the revoke's cache
# invalidation arrives after the check) row-level security on the insert
check "with the reason: the right is gone" \
	"SELECT state_reason IN ('Role eb_replay_owner no longer holds privilege put_events on event bus default.',
	                         'The replay failed: new row violates row-level security policy for table \"events\" (SQLSTATE 42501)')
	   FROM eventbus.replays WHERE name = 'r3'"
check "having replayed part of the window" \
	"SELECT replayed_count > 0 AND replayed_count < $N FROM eventbus.replays WHERE name = 'r3'"
q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres >/dev/null

eb_finish
