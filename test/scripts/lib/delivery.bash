# Helpers shared by the delivery scripts (test/scripts/delivery_*.sh,
# crash_*.sh).  Not a test itself: test/run.sh runs test/scripts/*.sh only.
#
# Source it from a script; it sources test/lib/common.sh.  It gives:
#   q SQL [DB]                psql -XAtq, stop on error, print the result
#   qf FILE [DB]              the same for a file
#   wait_for SQL SECS [DB]    poll (every 0.1 s) until SQL returns t; 1 on timeout
#   check NAME SQL [DB]       SQL returns t: "ok: NAME", else "FAIL: NAME"
#   check_eq NAME GOT WANT    compare two strings the same way
#   check_ok NAME STATUS      STATUS (an exit status, e.g. of wait_for) is 0
#   check_rc NAME STATUS WHY  STATUS 0: ok; else a failure, WHY says what went wrong
#   eb_finish                 print the tally; exit 1 when any check failed
#   own_cluster_start [conf lines...]
#                             a private cluster for this script (its own
#                             EXIT trap stops it; run_on_exit adds cleanups)
#   install_helpers [DB]      the SQL helpers below in public of DB
#
# SQL helpers (public schema, SECURITY INVOKER):
#   eb_t_put_target(rule, bus, id, arn, extra jsonb DEFAULT '{}')
#       put one target with put_targets (as the calling role, which becomes
#       its owner); raises unless it was stored.
#   eb_t_sink(name)  a function public.<name>(jsonb) that writes a row per
#       invocation into public.eb_t_received (sink, event_id, payload,
#       current_user, session_user).
#   eb_t_outbox_count(bus, rule, id)  messages waiting in a target's outbox.

# shellcheck source=test/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

EB_CHECKS=0
EB_FAILS=0
EB_T0=$(date +%s%N)
EB_ON_EXIT=()

q() {
	local sql=$1 db=${2:-${PGDATABASE:-postgres}}
	"$EB_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" -c "$sql"
}

qf() {
	local file=$1 db=${2:-${PGDATABASE:-postgres}}
	"$EB_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" -f "$file"
}

elapsed() {
	local ms=$((($(date +%s%N) - EB_T0) / 1000000))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# wait_for SQL SECONDS [DB]: 0 once SQL returns t, 1 after SECONDS
wait_for() {
	local sql=$1 secs=$2 db=${3:-${PGDATABASE:-postgres}} deadline r
	deadline=$(($(date +%s%N) + ${secs%.*} * 1000000000))
	while :; do
		r=$(q "$sql" "$db" 2>/dev/null || true)
		[ "$r" = t ] && return 0
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

_report() {
	local ok=$1 name=$2 detail=${3:-}
	EB_CHECKS=$((EB_CHECKS + 1))
	if [ "$ok" = 1 ]; then
		echo "  ok: $name"
	else
		EB_FAILS=$((EB_FAILS + 1))
		echo "  FAIL: $name${detail:+ ($detail)}"
	fi
}

# check NAME SQL [DB]: the check passes when SQL returns t
check() {
	local name=$1 sql=$2 db=${3:-${PGDATABASE:-postgres}} r
	r=$(q "$sql" "$db" 2>&1)
	if [ "$r" = t ]; then _report 1 "$name"; else _report 0 "$name" "got: $r"; fi
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then _report 1 "$1"; else _report 0 "$1" "got '$2', want '$3'"; fi
}

# check_ok NAME STATUS: passes when STATUS (an exit status) is 0
check_ok() {
	if [ "$2" -eq 0 ]; then _report 1 "$1"; else _report 0 "$1" "${3:-timed out}"; fi
}


# check_rc NAME RC DETAIL: ok when the command just before returned 0.
check_rc() {
	if [ "$2" -eq 0 ]; then _report 1 "$1"; else _report 0 "$1" "$3"; fi
}

section() { echo "-- $* [$(elapsed)s]"; }

eb_finish() {
	echo "$(basename "$0" .sh): $EB_CHECKS checks, $EB_FAILS failed, $(elapsed)s"
	[ "$EB_FAILS" -eq 0 ]
}

run_on_exit() { EB_ON_EXIT+=("$*"); }

_eb_exit() {
	local rc=$? c
	for c in "${EB_ON_EXIT[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	if [ -n "${EB_TMP:-}" ]; then
		# a failing script shows the end of its server log
		[ "$rc" -ne 0 ] && [ -f "$EB_TMP/server.log" ] && { echo "---- tail of $EB_TMP/server.log"; tail -n 30 "$EB_TMP/server.log"; }
		eb_cluster_stop
	fi
	exit "$rc"
}

# own_cluster_start [postgresql.conf lines...]: a private cluster, stopped
# and removed on exit.  This script is its own process (test/run.sh runs
# it with bash), so the outer cluster's settings are simply replaced here.
own_cluster_start() {
	unset EB_TMP
	eb_cluster_start "$@" || exit 1
	trap _eb_exit EXIT
}

# plain cleanups for scripts on the shared cluster
trap _eb_exit EXIT

install_helpers() {
	local db=${1:-${PGDATABASE:-postgres}}
	q "$(cat <<'SQL'
CREATE TABLE IF NOT EXISTS public.eb_t_received (
    n          bigserial,
    sink       text NOT NULL,
    event_id   uuid,
    payload    jsonb,
    cur_user   name,
    sess_user  name,
    at         timestamptz DEFAULT clock_timestamp()
);
GRANT SELECT, INSERT ON public.eb_t_received TO PUBLIC;
GRANT USAGE ON SEQUENCE public.eb_t_received_n_seq TO PUBLIC;

CREATE OR REPLACE FUNCTION public.eb_t_sink(name text)
RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE format($s$
        CREATE OR REPLACE FUNCTION public.%I(p jsonb) RETURNS void
        LANGUAGE sql AS $b$
            INSERT INTO public.eb_t_received (sink, event_id, payload, cur_user, sess_user)
            VALUES (%L, (p->>'id')::uuid, p, current_user, session_user)
        $b$ $s$, name, name);
END $f$;

CREATE OR REPLACE FUNCTION public.eb_t_put_target(p_rule text, p_bus text, p_id text,
                                                  p_arn text, p_extra jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    r jsonb;
BEGIN
    r := eventbus.put_targets(p_rule,
            jsonb_build_array(jsonb_build_object('Id', p_id, 'Arn', p_arn) || p_extra), p_bus);
    IF (r ->> 'FailedEntryCount')::int = 0 THEN
        RETURN 'put_targets';
    END IF;
    RAISE EXCEPTION 'put_targets failed: %', r;
END $f$;

CREATE OR REPLACE FUNCTION public.eb_t_outbox_count(p_bus text, p_rule text, p_id text)
RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE
    ob regclass;
    n bigint;
BEGIN
    SELECT outbox INTO ob FROM eventbus.targets
     WHERE bus = p_bus AND rule = p_rule AND target_id = p_id;
    EXECUTE format('SELECT count(*) FROM %s', ob) INTO n;
    RETURN n;
END $f$;
SQL
)" "$db"
}
