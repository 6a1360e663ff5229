# Helpers of test/scripts/security.sh (not a test itself): run SQL as a
# given role over a real login and compare what happened -- the result, or
# the SQLSTATE and message of the error -- with what the privilege model
# says.  Source it after lib/delivery.bash.
#
#   outcome ROLE SQL [psql args...]
#       runs SQL (read from stdin, so psql variables given as -v h=... can
#       be interpolated with :'h') as ROLE, each statement in its own
#       transaction, and prints one line:
#         OK:<output, lines joined by |>       no error
#         <SQLSTATE>: <message>                the first error
#         LOST: <what psql said>               the connection broke (a crash)
#   as ROLE SQL             q (delivery.bash) as ROLE: the output
#   expect_err NAME ROLE SQL "SQLSTATE: message"   exact
#   expect_err_re NAME ROLE SQL REGEX   the outcome matches an anchored ERE
#   expect_ok NAME ROLE SQL             no error
#   expect_val NAME ROLE SQL WANT       no error and the output is WANT
#   expect_target_denied NAME ROLE RULE BUS TARGETS_JSON ID MESSAGE
#       put_targets refuses target ID: either the whole call raises 42501
#       MESSAGE, or it answers with ID as its only failed entry, ErrorCode
#       AccessDeniedException and ErrorMessage MESSAGE (MESSAGE is an ERE)

outcome() {
	local role=$1 sql=$2 out err rc line
	shift 2
	err=$(mktemp)
	out=$(printf '%s\n' "$sql" | PGUSER=$role "$EB_BINDIR/psql" -X -A -t -q \
		-v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$@" -f - 2>"$err")
	rc=$?
	if [ "$rc" -eq 0 ]; then
		printf 'OK:%s\n' "$(printf '%s' "$out" | paste -sd '|')"
	else
		line=$(grep -m1 -E '(ERROR|FATAL|PANIC):  ' "$err" | sed -E 's/^.*(ERROR|FATAL|PANIC):  //')
		if [ -n "$line" ] && ! grep -qE 'server closed the connection|terminating connection because of crash' "$err"; then
			printf '%s\n' "$line"
		else
			printf 'LOST: %s\n' "$(head -n 3 "$err" | paste -sd ' ')"
		fi
	fi
	rm -f "$err"
}

as() {
	local role=$1
	shift
	PGUSER=$role q "$@"
}

expect_err() {
	check_eq "$1" "$(outcome "$2" "$3")" "$4"
}

expect_err_re() {
	local got
	got=$(outcome "$2" "$3")
	if printf '%s' "$got" | grep -qzE "^($4)$"; then
		_report 1 "$1"
	else
		_report 0 "$1" "got '$got', want /$4/"
	fi
}

expect_ok() {
	local got
	got=$(outcome "$2" "$3")
	case $got in
		OK:*) _report 1 "$1" ;;
		*) _report 0 "$1" "got '$got'" ;;
	esac
}

expect_val() {
	check_eq "$1" "$(outcome "$2" "$3")" "OK:$4"
}

expect_target_denied() {
	local name=$1 role=$2 rule=$3 bus=$4 targets=$5 id=$6 msg=$7 got
	got=$(outcome "$role" "SELECT r->>'FailedEntryCount', r#>>'{FailedEntries,0,TargetId}',
	                              r#>>'{FailedEntries,0,ErrorCode}', r#>>'{FailedEntries,0,ErrorMessage}'
	                         FROM eventbus.put_targets('$rule', '$targets'::jsonb, '$bus') r")
	if printf '%s' "$got" | grep -qzE "^(42501: $msg|OK:1\|$id\|AccessDeniedException\|$msg)$"; then
		_report 1 "$name"
	else
		_report 0 "$name" "got '$got', want 42501 or a failed entry $id AccessDeniedException, /$msg/"
	fi
}

# sentinel_start: a session that sleeps through the whole script; any
# backend crash resets the cluster and ends it.  sentinel_alive: t when it
# is still there (same pid, same backend start).
sentinel_start() {
	PGAPPNAME=eb_sentinel "$EB_BINDIR/psql" -X -q -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 &
	EB_SENTINEL_PSQL=$!
	run_on_exit "kill $EB_SENTINEL_PSQL"
	wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'eb_sentinel')" 10 || return 1
	EB_SENTINEL=$(q "SELECT pid || '/' || backend_start FROM pg_stat_activity WHERE application_name = 'eb_sentinel'")
}

sentinel_alive() {
	q "SELECT EXISTS (SELECT FROM pg_stat_activity
	                   WHERE application_name = 'eb_sentinel'
	                     AND pid || '/' || backend_start = '$EB_SENTINEL')"
}

# producer_start ROLE BUS SOURCE FILE: put an event every 0.3 s as ROLE
# until producer_stop; the ids of the events put go to FILE, one a line.
producer_start() {
	local role=$1 bus=$2 src=$3 file=$4
	: >"$file"
	(
		i=0
		while [ ! -e "$file.stop" ]; do
			i=$((i + 1))
			id=$(PGUSER=$role q "SELECT eventbus.put_event('$src', 'tick', '{\"n\": $i}', '$bus')" 2>/dev/null)
			[ -n "$id" ] && echo "$id" >>"$file"
			sleep 0.3
		done
	) &
	EB_PRODUCERS+=("$!:$file")
	run_on_exit "kill $!"
}

producers_stop() {
	local p
	for p in "${EB_PRODUCERS[@]}"; do touch "${p#*:}.stop"; done
	for p in "${EB_PRODUCERS[@]}"; do wait "${p%%:*}" 2>/dev/null; done
	EB_PRODUCERS=()
}
EB_PRODUCERS=()

# uuid_or_zero TEXT: TEXT when it is a UUID, else the nil UUID (so that a
# failed put leaves checks that find nothing rather than broken SQL)
uuid_or_zero() {
	if printf '%s' "$1" | grep -qxE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'; then
		printf '%s\n' "$1"
	else
		echo 00000000-0000-0000-0000-000000000000
	fi
}
