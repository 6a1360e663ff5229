#!/usr/bin/env bash
# Scheduled rules in a real cluster: a rate(1 minute) rule's first tick is
# put within a second of its due time (its "time" is the due time, its
# ingestion time when it was put) and reaches the rule's function target;
# the next tick, due while the server is stopped for a few seconds, fires
# once after the restart (late by less than the one-minute grace), and the
# schedule goes on from there on its grid.  Ticks later than a minute are
# never fired (sql/scheduled_rules.sql shows them counted as missed).
# On a private cluster (it restarts the server).
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

own_cluster_start
q "CREATE EXTENSION eventbus" || exit 1
install_helpers || exit 1
q "SELECT public.eb_t_sink('ticks')" >/dev/null || exit 1
q "SELECT eventbus.put_rule('every_minute', NULL, schedule_expression => 'rate(1 minute)');
   SELECT eb_t_put_target('every_minute', 'default', 'f', 'function:public.ticks')" >/dev/null || exit 1

section "the first tick of rate(1 minute)"
wait_for "SELECT next_fire_at IS NOT NULL FROM eventbus.scheduled_rules WHERE name = 'every_minute'" 5
check_ok "the scheduler took the rule up" $?
due=$(q "SELECT next_fire_at FROM eventbus.scheduled_rules WHERE name = 'every_minute'")
check "its first tick is due a minute after it was taken up" \
	"SELECT s.next_fire_at = s.anchor + interval '1 minute' AND s.anchor <= now() AND s.anchor > now() - interval '5 seconds'
	   FROM eventbus.rule_schedules s JOIN eventbus.rules r USING (rule_id) WHERE r.name = 'every_minute'"
wait_for "SELECT count(*) = 1 FROM public.eb_t_received WHERE sink = 'ticks'" 70
check_ok "the tick reached the function target" $?
check "the tick was put within a second of its due time" \
	"SELECT e.ingestion_time >= '$due'::timestamptz AND e.ingestion_time < '$due'::timestamptz + interval '1 second'
	   FROM eventbus.events e WHERE e.source = 'aws.events' AND e.detail_type = 'Scheduled Event'"
echo "   late by $(q "SELECT round(extract(epoch FROM e.ingestion_time - '$due'::timestamptz) * 1000) FROM eventbus.events e WHERE e.source = 'aws.events'") ms"
check "its envelope is EventBridge's Scheduled Event, time = the due time" \
	"SELECT payload ->> 'source' = 'aws.events' AND payload ->> 'detail-type' = 'Scheduled Event'
	        AND payload -> 'resources' = jsonb_build_array(eventbus.rule_arn('every_minute'))
	        AND payload -> 'detail' = '{}' AND (payload ->> 'time')::timestamptz = date_trunc('second', '$due'::timestamptz)
	   FROM public.eb_t_received WHERE sink = 'ticks'"
check "the rule's state counts one tick" \
	"SELECT ticks_fired = 1 AND ticks_missed = 0 AND next_fire_at = '$due'::timestamptz + interval '1 minute' FROM eventbus.scheduled_rules WHERE name = 'every_minute'"

section "a tick due while the server is down"
# move the grid so that the next tick is due 2 s from now, then stop for 5 s
q "UPDATE eventbus.rule_schedules s
      SET anchor = date_trunc('second', now()) + interval '2 seconds' - interval '1 minute',
          next_fire_at = date_trunc('second', now()) + interval '2 seconds'
     FROM eventbus.rules r WHERE r.rule_id = s.rule_id AND r.name = 'every_minute'" >/dev/null
due=$(q "SELECT next_fire_at FROM eventbus.scheduled_rules WHERE name = 'every_minute'")
eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -m fast -w -t 60 stop >/dev/null
check_rc "the server stopped" $? "pg_ctl stop failed"
sleep 5
eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -l "$EB_TMP/server.log" -w -t 60 start >/dev/null
check_rc "the server started again" $? "pg_ctl start failed"
wait_for "SELECT count(*) = 2 FROM public.eb_t_received WHERE sink = 'ticks'" 20
check_ok "the tick missed by seconds fired once after the restart" $?
check "it kept its due time, and was put after the restart (so late)" \
	"SELECT (r.payload ->> 'time')::timestamptz = '$due'::timestamptz
	        AND e.ingestion_time >= '$due'::timestamptz + interval '3 seconds'
	        AND e.ingestion_time >= pg_postmaster_start_time()
	   FROM public.eb_t_received r JOIN eventbus.events e ON e.id = r.event_id
	  WHERE r.sink = 'ticks' ORDER BY r.n DESC LIMIT 1"
check "the schedule goes on on its grid: next tick a minute after the late one" \
	"SELECT ticks_fired = 2 AND ticks_missed = 0 AND next_fire_at = '$due'::timestamptz + interval '1 minute' FROM eventbus.scheduled_rules WHERE name = 'every_minute'"
sleep 2
check "and no more ticks came" "SELECT count(*) = 2 FROM public.eb_t_received WHERE sink = 'ticks'"

eb_finish
