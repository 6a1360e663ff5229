#!/usr/bin/env bash
# The README's consumer programs (test/examples/consumer.py with psycopg 3,
# test/examples/consumer.js with node-postgres) work as shown: the README's
# code blocks equal the files; each program, run against its own queue,
# processes every event exactly once:
#   - events put before it starts, two of them already processed by
#     "another consumer" that did the work but never acked: one it nacked
#     (back at once), one whose visibility timeout passes (back after 2 s,
#     while the program waits): both are delivered again and skipped by
#     event id;
#   - events put one by one while it waits: with EB_WAIT_SECONDS longer than
#     the whole run, only the queue's NOTIFY can wake it, so a notification
#     lost while it receives would stall it past the test's deadline.
# Each program stops after the expected number of messages or 60 s.
# Needs python3-psycopg, nodejs and node-pg, installed from Debian when
# missing (as root, as test/lib/common.sh does for the build's packages).
# On the suite's cluster.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

EXAMPLES=$EB_ROOT/test/examples
DB=eb_consumer_examples
WORK=$(mktemp -d /tmp/eb-consumers.XXXXXX)
chmod 755 "$WORK"
run_on_exit "rm -rf '$WORK'; q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)'"
BEFORE=6	# events put before a consumer starts
WHILE=20	# events put while it runs

# ---------------------------------------------------------------------------
# Dependencies, from Debian only.
# ---------------------------------------------------------------------------
# deb_install PACKAGE...: apt-get install, as root only
deb_install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "  missing packages: $* (run as root, or install them)"
		return 1
	fi
	local p
	for p in "$@"; do
		if ! apt-cache policy "$p" | grep -q 'Candidate: [0-9]'; then
			apt-get update -qq >/dev/null 2>&1
			break
		fi
	done
	echo "  installing: $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$WORK/apt.log" 2>&1
}

# python3-psycopg is for Debian's python3, which may not be the first on PATH
has_psycopg() { "$1" -c 'import psycopg' 2>/dev/null; }
PYTHON=python3
has_psycopg python3 || has_psycopg /usr/bin/python3 || deb_install python3-psycopg
has_psycopg python3 || PYTHON=/usr/bin/python3
has_psycopg "$PYTHON"
check_rc "$PYTHON has psycopg 3 ($("$PYTHON" -c 'import psycopg; print(psycopg.__version__)' 2>/dev/null))" $? \
	"python3-psycopg is missing"

command -v node >/dev/null || deb_install nodejs
if ! node -e "require('pg')" 2>/dev/null; then
	if ! deb_install node-pg; then
		# Debian's node-pg needs Debian's nodejs (through node-libpq, for
		# the native bindings these programs do not use): with a nodejs from
		# elsewhere apt refuses it.  Unpack the same Debian packages of its
		# JavaScript code for this run instead.
		tail -n 3 "$WORK/apt.log" 2>/dev/null | sed 's/^/  apt: /'
		echo "  unpacking Debian's node-pg and node-split2 into $WORK/node"
		mkdir -p "$WORK/deb" "$WORK/node"
		(cd "$WORK/deb" && apt-get download -qq node-pg node-split2 >/dev/null 2>&1) \
			&& for deb in "$WORK"/deb/*.deb; do dpkg -x "$deb" "$WORK/node"; done
		export NODE_PATH=$WORK/node/usr/share/nodejs
	fi
fi
node -e "require('pg')" 2>/dev/null
check_rc "node $(node --version 2>/dev/null) has node-postgres (pg)" $? "nodejs or node-pg is missing"
[ "$EB_FAILS" -eq 0 ] || { eb_finish; exit 1; }

# ---------------------------------------------------------------------------
# The README shows the same programs.
# ---------------------------------------------------------------------------
# readme_block LANG: the first ```LANG block of the README's "Pull
# consumers" section
readme_block() {
	awk -v lang="$1" '
		/^### / { inside = ($0 == "### Pull consumers (queues)"); next }
		/^## / { inside = 0 }
		inside && !done && $0 == "```" lang { code = 1; next }
		inside && code && /^```$/ { code = 0; done = 1; next }
		inside && code { print }' "$EB_ROOT/README.md"
}
for f in consumer.py:python consumer.js:js consumer_schema.sql:sql; do
	readme_block "${f#*:}" >"$WORK/readme.${f%%:*}"
	if [ -s "$WORK/readme.${f%%:*}" ] && diff -u "$EXAMPLES/${f%%:*}" "$WORK/readme.${f%%:*}" >"$WORK/diff" 2>&1; then
		_report 1 "the README's ${f#*:} block is test/examples/${f%%:*}"
	else
		_report 0 "the README's ${f#*:} block is test/examples/${f%%:*}" "it differs (- file, + README)"
		head -n 20 "$WORK/diff"
	fi
done

# ---------------------------------------------------------------------------
# The database.
# ---------------------------------------------------------------------------
q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" && q "CREATE DATABASE $DB" || exit 1
q "CREATE EXTENSION eventbus" $DB || exit 1
qf "$EXAMPLES/consumer_schema.sql" $DB || exit 1

# put_orders QUEUE FROM TO: one event per transaction, each a big order
put_orders() {
	local i
	for ((i = $2; i <= $3; i++)); do
		q "SELECT eventbus.put_event('shop', 'OrderPlaced', '{\"id\": $i, \"total\": $((1000 + i))}', '$1')" $DB >/dev/null || return 1
	done
}

# other_consumer QUEUE VISIBILITY: receive one message and do its work (the
# same rows the programs write), without acking it; prints its message_id
other_consumer() {
	q "WITH m AS (SELECT message_id, event_id, payload FROM eventbus.receive('$1', 1, $2)),
	        p AS (INSERT INTO app.processed_events (queue, event_id) SELECT '$1', event_id FROM m)
	   INSERT INTO app.order_log (queue, event_id, order_id, total)
	   SELECT '$1', event_id, (payload -> 'detail' ->> 'id')::integer, (payload -> 'detail' ->> 'total')::numeric
	     FROM m RETURNING (SELECT message_id FROM m)" $DB
}

# run_consumer NAME QUEUE COMMAND...
run_consumer() {
	local name=$1 queue=$2 pid rc t_last t_end expected=$((BEFORE + WHILE))
	shift 2
	section "$name on queue $queue"
	q "SELECT eventbus.create_event_bus('$queue');
	   SELECT eventbus.put_rule('orders', '{\"source\": [\"shop\"]}', '$queue');
	   SELECT eventbus.put_targets('orders', '[{\"Id\": \"q\", \"Arn\": \"queue:$queue\"}]', '$queue')" $DB >/dev/null || return 1
	put_orders "$queue" 1 "$BEFORE" || return 1
	local expiring nacked
	expiring=$(other_consumer "$queue" 2)
	nacked=$(other_consumer "$queue" 600)
	q "SELECT eventbus.nack('$queue', ARRAY[$nacked]::bigint[])" $DB >/dev/null
	check_eq "another consumer did the work of two messages and acked neither" \
		"$(q "SELECT count(*) FROM app.order_log WHERE queue = '$queue'" $DB)/$([ -n "$expiring" ] && [ -n "$nacked" ] && echo ids)" "2/ids"

	PGDATABASE=$DB EB_QUEUE=$queue EB_MAX_MESSAGES=$expected EB_RUN_SECONDS=60 EB_WAIT_SECONDS=120 \
		"$@" >"$WORK/$name.out" 2>&1 &
	pid=$!
	wait_for "SELECT count(*) = $BEFORE FROM app.order_log WHERE queue = '$queue'" 30 $DB
	check_ok "$name processed the messages waiting at its start" $?
	# the expired message comes back while the program waits: no NOTIFY
	wait_for "SELECT visible = 1 AND in_flight = 0 FROM eventbus.queue_depth('$queue')" 10 $DB
	check_ok "the unacked message's visibility timeout passed while $name waits" $?
	# one by one, at random short intervals: some commit while it receives
	local i
	for ((i = BEFORE + 1; i <= expected; i++)); do
		put_orders "$queue" "$i" "$i" || return 1
		sleep "0.0$((RANDOM % 6))"
	done
	t_last=$(date +%s%N)
	wait "$pid"
	rc=$?
	t_end=$(date +%s%N)
	check_rc "$name exited with status 0" $rc "status $rc: $(tail -n 5 "$WORK/$name.out")"
	check_eq "$name finished within 15 s of the last put (woken by NOTIFY, not by its 120 s timeout)" \
		"$([ "$rc" -eq 0 ] && [ $(((t_end - t_last) / 1000000000)) -lt 15 ] && echo yes || echo "no: status $rc after $(((t_end - t_last) / 1000000000)) s")" yes
	check_eq "$name handled every message and skipped the two redelivered ones by event id" \
		"$(grep -o 'handled .*' "$WORK/$name.out")" \
		"handled $expected messages, $((expected - 2)) processed, 2 already processed (skipped)"
	check "every event of the queue was processed exactly once" \
		"SELECT count(*) = $expected AND count(DISTINCT l.event_id) = $expected
		        AND bool_and(l.order_id = (e.detail ->> 'id')::integer AND l.total = (e.detail ->> 'total')::numeric)
		   FROM eventbus.events e JOIN app.order_log l ON l.event_id = e.id AND l.queue = '$queue'
		  WHERE e.bus = '$queue'" $DB
	check "no work row without its event" \
		"SELECT count(*) = $expected FROM app.order_log WHERE queue = '$queue'" $DB
	check "each event id recorded once" \
		"SELECT count(*) = $expected FROM app.processed_events WHERE queue = '$queue'" $DB
	check "the queue is empty (every message acked)" \
		"SELECT visible = 0 AND in_flight = 0 FROM eventbus.queue_depth('$queue')" $DB
	check "the queue's counters: $expected enqueued, $expected acked" \
		"SELECT enqueued = $expected AND acked = $expected FROM eventbus.queue_stats WHERE queue = '$queue'" $DB
}

run_consumer consumer.py ex_py "$PYTHON" "$EXAMPLES/consumer.py"
run_consumer consumer.js ex_js node "$EXAMPLES/consumer.js"
check "nothing was dead-lettered" "SELECT count(*) = 0 FROM eventbus.dead_letters" $DB

eb_finish
