#!/usr/bin/env bash
# A replay survives the crash of the worker running it: 100,000 archived
# events are replayed to a queue target, the worker that runs the replay
# is killed (SIGKILL: the postmaster resets the cluster) mid-replay, and
# once the new worker has finished it the queue holds every event exactly
# once (the batch in flight was rolled back with its cursor), and
# replayed_count is 100,000.  On a private cluster (it crashes the server).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start
N=100000
q "CREATE EXTENSION eventbus" || exit 1
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers
            WHERE database = current_database() AND worker = 0 AND state = 'running')" 15 ||
	{ echo "no delivery worker started"; exit 1; }
q "SELECT eventbus.create_archive('arch', 'default')" >/dev/null || exit 1
q "INSERT INTO eventbus.events (source, detail_type, detail)
   SELECT 'crash.test', 'T', jsonb_build_object('n', g) FROM generate_series(1, $N) g" || exit 1
q "SELECT eventbus.put_rule('r', '{\"source\": [\"crash.test\"]}');
   SELECT eventbus.put_targets('r', '[{\"Id\": \"q\", \"Arn\": \"queue:crash\"}]')" >/dev/null || exit 1

section "kill the replaying worker mid-replay"
old=$(q "SELECT pid FROM eventbus.delivery_workers WHERE database = current_database() AND worker = 0")
q "SELECT eventbus.start_replay('r1', 'arch', now() - interval '1 day', now(),
       jsonb_build_object('Arn', eventbus.event_bus_arn('default')))" >/dev/null || exit 1
wait_for "SELECT replayed_count >= 2000 FROM eventbus.replays WHERE name = 'r1'" 60
check_ok "the replay runs" $?
done_before=$(q "SELECT replayed_count FROM eventbus.replays WHERE name = 'r1'")
kill -9 "$old"
echo "     killed worker $old after at least $done_before events"
sleep 1
wait_for "SELECT true" 30
check_ok "the cluster is back" $?
check "the crash was a crash (the postmaster reset the cluster)" \
	"SELECT $(grep -c 'all server processes terminated; reinitializing' "$EB_TMP/server.log") = 1"

section "the new worker finishes it"
wait_for "SELECT state NOT IN ('STARTING', 'RUNNING') FROM eventbus.replays WHERE name = 'r1'" 120
check_ok "the replay ended" $?
check_eq "COMPLETED" "$(q "SELECT state FROM eventbus.replays WHERE name = 'r1'")" COMPLETED
check "replayed_count is $N" "SELECT replayed_count = $N FROM eventbus.replays WHERE name = 'r1'"
check "the queue holds every event exactly once" \
	"SELECT count(*) = $N AND count(DISTINCT event_id) = $N FROM eventbus_outbox.queue_crash"
check "and only archived events" \
	"SELECT count(*) = $N FROM eventbus_outbox.queue_crash q
	   JOIN eventbus.events e ON e.id = q.event_id AND e.ingestion_time = q.event_ingestion_time
	   JOIN eventbus.events o ON o.id = e.id AND o.replay_name IS NULL
	  WHERE e.replay_name = 'r1'"
check "the worker that finished it is a new one" \
	"SELECT pid <> $old FROM eventbus.delivery_workers WHERE database = current_database() AND worker = 0"

eb_finish
