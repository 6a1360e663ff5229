#!/usr/bin/env bash
# Dropping an old partition never holds up puts for long: while a
# transaction that put an event stays open (its lock on eventbus.events
# blocks the drop's ACCESS EXCLUSIVE lock), drop_event_partitions waits at
# most 50 ms, keeps the partition with a NOTICE and returns; a put made
# meanwhile waits no longer than that either.  Once the transaction ends,
# the partition is dropped.  Making partitions ahead while such a
# transaction is open does not wait at all.  On the suite's cluster.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

DB=eb_partition_locks
run_on_exit "q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)'"
q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" && q "CREATE DATABASE $DB" && q "CREATE EXTENSION eventbus" $DB || exit 1
q "SELECT eventbus.create_event_partitions(0, '2002-02-01');
   INSERT INTO eventbus.events (source, detail_type, ingestion_time) VALUES ('pl.test', 'Old', '2002-02-01 12:00:00+00')" $DB >/dev/null || exit 1

ms() { echo $(($(date +%s%N) / 1000000)); }

section "a put's transaction stays open"
"$EB_BINDIR/psql" -X -q -d $DB -c "BEGIN; INSERT INTO eventbus.events (source, detail_type) VALUES ('pl.test', 'Held'); SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1 &
holder=$!
run_on_exit "kill $holder"
wait_for "SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.datname = '$DB' AND l.relation = 'eventbus.events'::regclass AND l.mode = 'RowExclusiveLock' AND a.query LIKE 'BEGIN; INSERT%'" 5 $DB
check_ok "the open transaction holds its lock on eventbus.events" $?

t0=$(ms)
out=$("$EB_BINDIR/psql" -X -At -q -d $DB -c "SELECT * FROM eventbus.drop_event_partitions('30 days')" 2>&1)
t1=$(ms)
check_eq "the drop kept the partition, saying why" "$(echo "$out" | grep -c 'kept eventbus.events_p20020201: it is in use')" 1
check "the partition is still there" "SELECT to_regclass('eventbus.events_p20020201') IS NOT NULL" $DB
check_eq "the drop returned within 1 s ($((t1 - t0)) ms)" "$([ $((t1 - t0)) -lt 1000 ] && echo yes)" yes

# a put racing with a drop: start the drop, then put at once
"$EB_BINDIR/psql" -X -q -d $DB -c "SELECT * FROM eventbus.drop_event_partitions('30 days')" >/dev/null 2>&1 &
dropper=$!
t0=$(ms)
q "SELECT eventbus.put_event('pl.test', 'Racing', '{}')" $DB >/dev/null
rc=$?
t1=$(ms)
wait $dropper
check_rc "a put while the drop asks for its lock succeeds" $rc "put failed"
check_eq "and waits less than 1 s ($((t1 - t0)) ms)" "$([ $((t1 - t0)) -lt 1000 ] && echo yes)" yes

t0=$(ms)
out=$("$EB_BINDIR/psql" -X -At -q -d $DB -c "SELECT count(*) FROM eventbus.create_event_partitions(9)" 2>&1)
t1=$(ms)
check_eq "making partitions ahead while it is open made the 2 missing days" "$out" 2
check_eq "without waiting for it ($((t1 - t0)) ms)" "$([ $((t1 - t0)) -lt 1000 ] && echo yes)" yes
check "the open transaction was still open then" "SELECT count(*) = 0 FROM eventbus.events WHERE detail_type = 'Held'" $DB

section "the transaction ends: the partition goes"
wait $holder
check "the held put committed" "SELECT count(*) = 1 FROM eventbus.events WHERE detail_type = 'Held'" $DB
check "the drop now drops it" "SELECT array_agg(d) = '{eventbus.events_p20020201}' FROM eventbus.drop_event_partitions('30 days') d" $DB
eb_finish
