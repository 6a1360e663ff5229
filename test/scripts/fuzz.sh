#!/usr/bin/env bash
# Bad input never crashes the server: replays the fuzz harness's regression
# corpus (test/fuzz/corpus/*.sql, reproductions of past crashes and edge
# cases), then fuzzes for a bounded time (test/fuzz/fuzz.py: patterns,
# put_events, targets, transforms, every function of schema eventbus,
# adversarial relations, the delivery worker).  Fails when the server
# crashed (a "terminated by signal" or a crash reset in the log, or a new
# postmaster start time); errors are fine.  On a private cluster (a crash
# resets every session).
#
#   EB_FUZZ_SECONDS=30   how long to fuzz (after the corpus)
#   EB_FUZZ_SEED=1       the generator's seed (fixed: runs repeat)
#   EB_FUZZ_OUT=DIR      where crash reproductions are written
#                        (default: the cluster's directory, printed)
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"

# fuzz.conf lets the harness pause delivery while a worker crashes on
# every cycle, to clean up
# (and a long query text in the log names the input that crashed)
own_cluster_start "include_if_exists = 'fuzz.conf'" "track_activity_query_size = 65536" || exit 1

seconds=${EB_FUZZ_SECONDS:-30}
seed=${EB_FUZZ_SEED:-1}
out=${EB_FUZZ_OUT:-$EB_TMP/fuzz-findings}
echo "-- fuzz: ${seconds} s, seed ${seed}, findings in ${out}"
python3 "$EB_ROOT/test/fuzz/fuzz.py" --seconds "$seconds" --seed "$seed" \
	--log "$EB_TMP/server.log" --pgdata "$PGDATA_EB" --out "$out" \
	--psql "$EB_BINDIR/psql"
rc=$?
if [ $rc -ne 0 ] && [ -z "${EB_FUZZ_OUT:-}" ] && [ -d "$out" ]; then
	# the cluster's directory goes away at exit: show the reproductions
	for f in "$out"/*.sql; do echo "---- $f"; cut -c1-2000 "$f"; done
fi
exit $rc
