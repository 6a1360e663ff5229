#!/usr/bin/env bash
# Differential test of the event-pattern matcher (test/differential/): random
# patterns and events from a fixed seed, every operator, events mutated to
# nearly match, answered by an independent reference matcher and compared
# with eventbus.is_valid_event_pattern() and the =~ operator.  Prints the
# counts, every class of disagreement with a minimal example, up to 20
# disagreements in full; fails on any disagreement.
#
#   EB_DIFF_SECONDS=45   how long to generate cases (default 45)
#   EB_DIFF_SEED=1       the generator's seed
#   EB_DIFF_ARGS=...     more driver options, e.g. "--without dotted"
#
# Runs on the suite's cluster, in a database of its own whose LC_CTYPE and
# LC_COLLATE are C: case-insensitive matching must not depend on the locale.
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

DB=eb_pattern_differential
cleanup() { q "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres; }
cleanup >/dev/null 2>&1
run_on_exit cleanup
q "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" postgres || exit 1
q "CREATE EXTENSION eventbus" "$DB" || exit 1

# shellcheck disable=SC2086 # EB_DIFF_ARGS is a list of options
python3 "$(dirname "$0")/../differential/driver.py" \
	--seconds "${EB_DIFF_SECONDS:-45}" --seed "${EB_DIFF_SEED:-1}" \
	--dbname "$DB" --psql "$EB_BINDIR/psql" ${EB_DIFF_ARGS:-}
