#!/usr/bin/env bash
# The one test command (CI runs exactly this): install what is missing,
# build with warnings as errors, install, start a throwaway cluster with
# shared_preload_libraries = 'eventbus', run the pg_regress suite, the
# isolation specs and every scripted test under test/scripts/, then stop
# and remove the cluster, also on failure.  Exits non-zero on any failure.
#
#   test/run.sh                 everything
#   EB_KEEP=1 test/run.sh       keep the cluster's directory for inspection
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/common.sh
. test/lib/common.sh

eb_prepare || exit 1
eb_cluster_start || exit 1

passed=0
failed=0
failures=()

count_pg_regress() {
	# pg_regress prints one line per test: "test x ... ok" / "... FAILED"
	# (PostgreSQL 15) or "ok N - x" / "not ok N - x" (16 and later).
	local log=$1 ok bad
	ok=$(grep -cE '\.\.\. ok|^ok [0-9]' "$log" || true)
	bad=$(grep -cE '\.\.\. FAILED|^not ok [0-9]|\.\.\. failed' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
}

run_regress() {
	local what=$1 log
	shift
	log=$(mktemp)
	eb_log "$what"
	if make -s "$@" installcheck 2>&1 | tee "$log"; then
		count_pg_regress "$log"
	else
		count_pg_regress "$log"
		# a suite that failed without a per-test failure line still counts
		grep -qE '\.\.\. FAILED|^not ok|\.\.\. failed' "$log" || failed=$((failed + 1))
		failures+=("$what")
		for d in regression.diffs output_iso/regression.diffs; do
			[ -f "$d" ] && { echo "---- $d"; cat "$d"; }
		done
	fi
	rm -f "$log"
}

run_regress "pg_regress suite (sql/, expected/)" ISOLATION=
if ls test/isolation/specs/*.spec >/dev/null 2>&1; then
	run_regress "isolation specs (test/isolation/)" REGRESS=
fi

for script in test/scripts/*.sh; do
	[ -e "$script" ] || continue
	name=$(basename "$script" .sh)
	eb_log "scripted test: $name"
	if bash "$script"; then
		passed=$((passed + 1))
		echo "ok: $name"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAILED: $name"
	fi
done

eb_cluster_stop
trap - EXIT

[ ${#failures[@]} -gt 0 ] && printf 'failed suite: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
