#!/usr/bin/env bash
# The README's quick start runs as pasted: the ```sql blocks between the
# "## Quick start" heading and the next "## " heading of README.md are
# taken from the README itself (so it cannot drift from what works), run
# with psql -v ON_ERROR_STOP=1 in a fresh database of the suite's cluster
# (preloaded, so the delivery worker runs), and their effects checked: the
# order row, the NOTIFY that psql shows after the commit, the one message
# received and acked from the queue, the function target invoked by the
# worker for the big order only, and the counters in target_stats.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

README=$EB_ROOT/README.md
DB=eb_readme_quickstart
SQL=$(mktemp /tmp/eb-quickstart.XXXXXX)
OUT=$SQL.out
run_on_exit "rm -f '$SQL' '$OUT'; q 'DROP DATABASE IF EXISTS $DB WITH (FORCE)'"

# extract_quickstart FILE: the quick start's SQL blocks, in order
extract_quickstart() {
	awk '
		/^## / { inside = ($0 == "## Quick start"); next }
		inside && /^```sql[[:space:]]*$/ { code = 1; blocks++; next }
		inside && code && /^```[[:space:]]*$/ { code = 0; next }
		inside && code { print }
		END { if (code) exit 2; if (!blocks) exit 3 }' "$1"
}

section "extract the quick start from README.md"
extract_quickstart "$README" >"$SQL"
check_rc "README.md has a quick start with closed sql blocks" $? "no ## Quick start with a complete \`\`\`sql block"
check_eq "the quick start creates the extension itself" \
	"$(grep -c '^CREATE EXTENSION eventbus;' "$SQL")" 1
echo "  ($(wc -l <"$SQL") lines of SQL)"

section "run it in a fresh database, as pasted into psql"
q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" && q "CREATE DATABASE $DB" || exit 1
# No -q: psql prints what a user sees, asynchronous notifications included.
"$EB_BINDIR/psql" -X -v ON_ERROR_STOP=1 -d "$DB" -f "$SQL" >"$OUT" 2>&1
rc=$?
check_rc "psql -v ON_ERROR_STOP=1 ran the whole quick start" $rc "psql exited with $rc"
[ "$rc" -eq 0 ] || { echo "---- psql output"; cat "$OUT"; }

section "its effects"
check "the application's rows were written" \
	"SELECT array_agg(id ORDER BY id) = '{42,43}' FROM app.orders" $DB
check "two events were put on bus orders" \
	"SELECT count(*) = 2 FROM eventbus.events WHERE bus = 'orders'" $DB
check_eq "psql showed the queue's notification after the commit" \
	"$(grep -c 'Asynchronous notification "eventbus.order-review" received' "$OUT")" 1
check_eq "receive returned the big order's message as message_id 1" \
	"$(grep -cE '^ +1 \| [0-9a-f-]{36} \| \{"id": 42, "total": 1250\}' "$OUT")" 1
check "ack deleted it: the queue is empty" \
	"SELECT visible = 0 AND in_flight = 0 FROM eventbus.queue_depth('order-review')" $DB
check "the queue counted one message enqueued, received and acked" \
	"SELECT (enqueued, received, acked) = (1::bigint, 1::bigint, 1::bigint) FROM eventbus.queue_stats WHERE queue = 'order-review'" $DB
wait_for "SELECT count(*) = 1 FROM app.sales_alerts" 10 $DB
check_ok "the worker invoked app.on_big_order" $?
check "for the big order only, with its event id" \
	"SELECT bool_and(a.order_id = 42 AND a.total = 1250 AND a.event_id = e.id) AND count(*) = 1
	   FROM app.sales_alerts a JOIN eventbus.events e ON e.detail ->> 'id' = '42'" $DB
check "target_stats counted one invocation of the function, none failed" \
	"SELECT invocations = 1 AND failed_invocations = 0 FROM eventbus.target_stats WHERE target_id = 'notify-sales'" $DB
check_eq "psql printed the alert the quick start selects" \
	"$(grep -cE '^ +42 \| +1250$' "$OUT")" 1
check "nothing was dead-lettered" "SELECT count(*) = 0 FROM eventbus.dead_letters" $DB

eb_finish
