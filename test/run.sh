#!/usr/bin/env bash
# The one test command (CI runs exactly this): install what is missing,
# build with warnings as errors, install, start a throwaway cluster with
# shared_preload_libraries = 'eventbus', run the pg_regress suite, the
# isolation specs and every scripted test under test/scripts/, then stop
# and remove the cluster, also on failure.  Exits non-zero on any failure.
#
#   test/run.sh                 everything
#   EB_KEEP=1 test/run.sh       keep the cluster's directory for inspection
#   EB_REGRESS="a b" EB_ISOLATION="c" EB_SCRIPTS="d" test/run.sh
#                               run only these tests ("none" skips a kind)
#   EB_SKIP_BUILD=1 test/run.sh use the build that is already installed
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

# run_regress DESCRIPTION OUTDIR MAKE-ARGS...
run_regress() {
	local what=$1 out=$EB_TMP/$2 log
	shift 2
	mkdir -p "$out"
	log=$(mktemp)
	eb_log "$what"
	# results go to the cluster's directory, so concurrent runs never
	# share files
	if make -s "$@" installcheck EXTRA_REGRESS_OPTS="--outputdir=$out" 2>&1 | tee "$log"; then
		count_pg_regress "$log"
	else
		count_pg_regress "$log"
		# a suite that failed without a per-test failure line still counts
		grep -qE '\.\.\. FAILED|^not ok|\.\.\. failed' "$log" || failed=$((failed + 1))
		failures+=("$what")
		[ -f "$out/regression.diffs" ] && { echo "---- $out/regression.diffs"; cat "$out/regression.diffs"; }
	fi
	rm -f "$log"
}

select_tests() {
	# $1: the selection (empty: all), then the available names
	local sel=$1
	shift
	if [ -z "$sel" ]; then
		echo "$*"
	elif [ "$sel" != none ]; then
		echo "$sel"
	fi
}

regress=$(select_tests "${EB_REGRESS:-}" $(make -s print-regress))
isolation=$(select_tests "${EB_ISOLATION:-}" $(make -s print-isolation))
scripts=$(select_tests "${EB_SCRIPTS:-}" $(ls test/scripts/*.sh 2>/dev/null | xargs -rn1 basename | sed 's/\.sh$//'))

[ -n "$regress" ] && run_regress "pg_regress suite (sql/, expected/)" regress ISOLATION= REGRESS="$regress"
[ -n "$isolation" ] && run_regress "isolation specs (test/isolation/)" isolation REGRESS= ISOLATION="$isolation"

for name in $scripts; do
	script=test/scripts/$name.sh
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
