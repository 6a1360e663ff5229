#!/usr/bin/env bash
# The whole test suite under AddressSanitizer: builds the extension with
# -fsanitize=address -fno-omit-frame-pointer, installs it, runs test/run.sh
# (every suite, the fuzz harness included) with ASAN_OPTIONS exported, so
# that every cluster it starts (also those that scripts start and restart
# themselves) runs with it, then prints every ASan report.  The next plain
# test/run.sh rebuilds without the sanitizer.
#
#   test/asan.sh                      everything
#   EB_SCRIPTS=fuzz EB_REGRESS=none EB_ISOLATION=none test/asan.sh
#                                     a selection, as test/run.sh takes it
#   EB_ASAN_DIR=DIR                   where the reports go (default: a new
#                                     /tmp/eventbus-asan.XXXXXX, kept)
#
# The ASan runtime comes in as eventbus.so's own dependency (libasan.so,
# loaded with the library into the postmaster and every backend), not with
# LD_PRELOAD: preloaded into PostgreSQL's binaries it deadlocks at program
# start on Debian 12 (it initializes lazily inside a library constructor
# that holds a glibc locale lock), hence verify_asan_link_order=0.  Loaded
# that way its interceptors are not in effect (PostgreSQL keeps glibc's
# malloc and siglongjmp), so stack redzones are not instrumented
# (--param asan-stack=0): an ERROR's siglongjmp over eventbus's frames would
# leave them poisoned and report false stack errors.  Other
# options: detect_leaks=0 (PostgreSQL frees by memory context, at exit or
# never), abort_on_error=1 (a report ends the process with SIGABRT, which the
# postmaster treats as a crash: the suites see it), log_path in the reports
# directory (one file per process).  Exits non-zero when a suite failed or
# ASan reported anything.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/common.sh
. test/lib/common.sh

[ -f "$(gcc -print-file-name=libasan.so)" ] || { eb_log "no ASan runtime: install gcc"; exit 1; }
dir=${EB_ASAN_DIR:-$(mktemp -d /tmp/eventbus-asan.XXXXXX)}
mkdir -p "$dir"
chmod 1777 "$dir"     # the postgres OS user writes its reports here

eb_log "building with AddressSanitizer"
make -s clean >/dev/null
# test/asan_defaults.c: the options for backends that load the library on
# first use (their ASAN_OPTIONS are overwritten by the process title)
objs="$(ls src/*.c | sed 's/\.c$/.o/' | tr '\n' ' ') test/asan_defaults.o"
make -s OBJS="$objs" COPT='-Werror -fsanitize=address -fno-omit-frame-pointer --param asan-stack=0 -g' \
	>/dev/null || exit 1
make -s install >/dev/null || exit 1

eb_log "running test/run.sh under AddressSanitizer; reports in $dir"
export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:abort_on_error=1:disable_coredump=1:log_path=$dir/asan:log_exe_name=1"
EB_SKIP_BUILD=1 test/run.sh
rc=$?

make -s clean >/dev/null
rm -f test/asan_defaults.o

reports=$(grep -l 'ERROR: AddressSanitizer' "$dir"/asan.* 2>/dev/null || true)
n=$(printf '%s\n' "$reports" | grep -c . || true)
echo
echo "== AddressSanitizer: $n report(s) in $dir"
# one stack per distinct report (its kind and first eventbus frames): a
# worker that crashes on every cycle writes the same report many times
declare -A seen=()
for f in $reports; do
	sig="$(grep -m1 -oE 'AddressSanitizer: [A-Za-z-]+' "$f") $(grep -oE ' in [A-Za-z_0-9]+ src/[a-z_]+\.c' "$f" | head -n 3 | tr -d '\n')"
	seen[$sig]=$((${seen[$sig]:-0} + 1))
	[ "${seen[$sig]}" -gt 1 ] && continue
	echo "---- $f"
	grep -E 'ERROR: AddressSanitizer|^ +#[0-9]+ |SUMMARY' "$f" | head -n 16
done
for sig in "${!seen[@]}"; do echo "== ${seen[$sig]} x $sig"; done
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
