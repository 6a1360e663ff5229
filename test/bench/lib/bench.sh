# shellcheck shell=bash
# shellcheck disable=SC2034  # variables for the benchmarks that source this
# Shared by the benchmarks in test/bench/ (not a benchmark itself: the
# benchmarks are test/bench/*.sh).  Source it first thing; it moves to the
# repository's root and sources test/lib/common.sh (eb_prepare,
# eb_cluster_start, eb_log, eb_psql, ...).
#
# Setup and report (in RESULTS_DIR: test/bench/results, or EB_BENCH_RESULTS_DIR)
#   bench_cluster_start CONF...  eb_cluster_start, and on exit stop the
#                       cluster, showing the server log's errors on failure
#   BENCH_CONF          postgresql.conf lines most benchmarks share (an array)
#   psql_q ARGS...      psql -At, quiet, stop on the first error
#   bench_build         what is measured: commit, uncommitted changes in src/,
#                       when eventbus.so was installed
#   bench_machine       sets CPU (model name) and PGVER (server version)
#   bench_write_report  $EB_TMP/report.md to $RESULTS, and to stdout
#   bench_exit MISSED   exit 1 when MISSED > 0 and EB_BENCH_STRICT is set, else 0
#   BENCH_DETAIL_JSON   ~1 KB of an order's detail, as JSON text
#   BENCH_DETAIL_SQL    CREATE TABLE bench.detail (d jsonb): the same kind of detail
#   BENCH_PARTITIONS_SQL  daily partitions from yesterday, where the build has them
#
# Statistics (of numbers on stdin)
#   median_of [FORMAT [EMPTY]]  the median (printf FORMAT, default %.4f; EMPTY
#                       when there are none, default n/a)
#   range_of            "min-max" (%.2f)
#   percentiles_of P... the P-th percentiles (0-100), space-separated, %.3f,
#                       interpolated as percentile_cont; n/a when there are none
#
# pgbench
#   bench_pgbench ARGS...  pgbench -n -M prepared ARGS as the cluster's owner;
#                       fails on an error or a failed transaction; prints its output
#   pgbench_tx_tps      of pgbench's output on stdin: "transactions tps"
#
# Other work on a shared machine (after bench_cluster_start)
#   bench_quiet_init RETRIES BUDGET  QUIET_MAX, QUIET_WAIT, RETRIES and BUDGET_END
#                       from EB_BENCH_QUIET_MAX, _QUIET_WAIT, _RETRIES, _BUDGET
#                       (defaults 25 %, 30 s, RETRIES, BUDGET s)
#   machine_ticks, machine_busy_ticks, proc_ticks, own_ticks, nchildren,
#   settle, snap, others_pct, own_pct, cpu_busy, wait_quiet, may_retry
#
# CPU time of a set of processes (whose members may come and go)
#   cpu_snapshot PID... "pid starttime ticks" a line for each live process
#   cpu_delta SNAP0 SNAP1  "ticks gone": the ticks (utime + stime) the
#                       processes of SNAP1 used since SNAP0 (all of theirs for
#                       those started since), and how many of SNAP0's are gone
#   ticks_per_item_us TICKS N  CPU microseconds per item (%.1f)
#
# Delivery workers of the current database
#   DBOID=$(bench_dboid) first, then worker_pid, worker_pids, wait_workers N
#   delivery_worker_pids  every delivery worker process of the current
#                       database (pg_stat_activity), whatever its state
#   wait_delivery_workers  until there is at least one
#   put_function_target BUS RULE FUNCTION  the target "t", made with
#                       put_targets, or inserted into eventbus.targets directly
#                       where put_targets does not take function targets;
#                       prints how
#
# HTTP servers and tools
#   bench_need_nginx    nginx, installed (nginx-light) when missing and root
#   nginx_start DIR [LOG]  nginx as an unprivileged process with its own
#                       config in DIR, on a free 127.0.0.1 port: "return 200"
#                       for every path but /_status (stub_status), keep-alive;
#                       access log off, or to the file LOG ("$msec
#                       $http_x_eventbus_event_id" a line); sets NGINX_PORT,
#                       NGINX_URL; nginx_stop (also run from the EXIT trap)
#   nginx_pids          its processes (master and workers)
#   nginx_requests      requests nginx has handled since it started
#   bench_compile_tool NAME DIR  gcc test/bench/tools/NAME.c into DIR/NAME
#                       (-lcurl), prints the path
#
# Peers (other queue software, measured in the same runs)
#   bench_need_pgq      PgQ (Debian's postgresql-$EB_PG_MAJOR-pgq3), installed with
#                       apt-get when missing (root), its files copied into
#                       pg_config's sharedir/extension and pkglibdir when the
#                       package put them elsewhere (a private installation)
#   bench_pgmq_sql FILE pgmq's install script (SQL only) into FILE, from
#                       EB_PGMQ_SQL or the snapshot of github.com/pgmq/pgmq in
#                       EB_PGMQ_REPO; sets PGMQ_FROM (what was used)
#   bench_load_pgmq FILE  run it into the current database (schema pgmq,
#                       no CREATE EXTENSION), without psql meta-commands

# perf
#   perf_available      perf is installed (else says so)
#   perf_keep_symbols   keep the loaded eventbus.so's symbols (reinstalls)
#   perf_backends FILE DELAY SECONDS  record the pgbench backends
#   perf_report_backends DATA TITLE ROWS  self and inclusive time, as text
#   perf_report_worker DATA TITLE  a delivery worker's profile, as text

cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit 1
# shellcheck source=test/lib/common.sh
. test/lib/common.sh

# The cluster lives in /tmp/eventbus-bench.*, not /tmp/eventbus-test.*:
# clean-ups of test clusters must not pull a running benchmark's data
# directory away.
export EB_TMP_PREFIX=${EB_TMP_PREFIX:-eventbus-bench}
# Where reports go (EB_BENCH_RESULTS_DIR: elsewhere, e.g. for a trial run).
RESULTS_DIR=${EB_BENCH_RESULTS_DIR:-test/bench/results}

psql_q() { eb_psql -At "$@"; }

# ---------------------------------------------------------------------------
# Setup and report.
# ---------------------------------------------------------------------------
# On failure, show what the server said (a crashed worker, say).
bench_on_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ] && [ -n "${EB_TMP:-}" ] && [ -f "$EB_TMP/server.log" ]; then
		eb_log "failed; from the server log:"
		grep -E 'PANIC|FATAL|ERROR|WARNING|terminated by signal|exited with exit code' "$EB_TMP/server.log" | tail -20 >&2 || true
	fi
	nginx_stop
	eb_cluster_stop
}

# Room for the data in memory, no checkpoint and no JIT during a run.
BENCH_CONF=("shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" "jit = off")

bench_cluster_start() {
	# benchmarks put up to 10,000 rules on one bus: past the default quota
	eb_cluster_start "$@" "eventbus.max_rules_per_bus = 100000" || return 1
	trap bench_on_exit EXIT
}

bench_build() {
	echo "git $(git -C "$EB_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$EB_ROOT" status --porcelain -- src 2>/dev/null | grep -q . && echo " plus uncommitted changes in src/"), eventbus.so installed $(date -u -r "$(pg_config --pkglibdir)/eventbus.so" "+%Y-%m-%d %H:%M:%S UTC")"
}

bench_machine() {
	CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
	PGVER=$(psql_q -c "SHOW server_version")
}

bench_write_report() {
	mkdir -p "$RESULTS_DIR"
	cp "$EB_TMP/report.md" "$RESULTS"
	cat "$RESULTS"
	eb_log "written to $RESULTS"
}

bench_exit() {
	if [ "${1:-0}" -ne 0 ] && [ -n "${EB_BENCH_STRICT:-}" ]; then
		exit 1
	fi
	exit 0
}

BENCH_NOTES=$(printf 'lorem ipsum dolor sit amet %.0s' {1..11})
BENCH_DETAIL_JSON='{"order-id": "ORD-000123456", "status": "shipped", "amount": 123.45, "currency": "USD", "quantity": 3, "customer": {"id": "C-0012345", "name": "Alice Smith", "email": "alice.smith@example.com", "tier": "gold", "vip": false, "address": {"street": "1234 Main Street", "city": "Seattle", "postcode": "98101", "country": "US"}}, "items": [{"sku": "SKU-000123", "qty": 1, "price": 19.99, "tags": ["c-12", "promo-1"]}, {"sku": "SKU-004567", "qty": 2, "price": 5.49, "tags": ["c-3", "promo-0"]}], "sourceIPAddress": "10.1.2.3", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "flags": {"gift": false, "express": true, "fragile": false}, "metrics": {"latency-ms": 123, "retries": 0, "score": 0.734}, "notes": "'"$BENCH_NOTES"'"}'
BENCH_DETAIL_SQL="CREATE TABLE bench.detail AS SELECT '$BENCH_DETAIL_JSON'::jsonb AS d;"
BENCH_PARTITIONS_SQL="SELECT count(*) FROM eventbus.create_event_partitions(2, (now() AT TIME ZONE 'UTC')::date - 1)
 WHERE to_regprocedure('eventbus.create_event_partitions(integer, date)') IS NOT NULL;"

# ---------------------------------------------------------------------------
# Statistics.
# ---------------------------------------------------------------------------
median_of() {
	sort -g | awk -v f="${1:-%.4f}" -v empty="${2:-n/a}" '{ v[NR] = $1 } END {
		if (NR == 0) { printf "%s", empty; exit }
		if (NR % 2) printf f, v[(NR + 1) / 2];
		else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

range_of() {
	sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'
}

percentiles_of() {
	sort -g | awk -v ps="$*" '{ v[NR] = $1 } END {
		n = split(ps, p, " ");
		for (i = 1; i <= n; i++) {
			if (NR == 0)
				out = "n/a";
			else {
				pos = p[i] / 100 * (NR - 1) + 1; lo = int(pos);
				out = sprintf("%.3f", (lo >= NR) ? v[NR] : v[lo] + (pos - lo) * (v[lo + 1] - v[lo]))
			}
			printf "%s%s", (i > 1) ? " " : "", out
		}
		printf "\n" }'
}

# ---------------------------------------------------------------------------
# pgbench.
# ---------------------------------------------------------------------------
bench_pgbench() {
	local out
	out=$(eb_as_owner "$EB_BINDIR/pgbench" -n -M prepared "$@" 2>&1) || { echo "$out" >&2; return 1; }
	if grep -q 'number of failed transactions: [1-9]' <<<"$out"; then
		echo "$out" >&2
		return 1
	fi
	echo "$out"
}

# "12345" after -T, "12345/12345" after -t: the transactions processed
pgbench_tx_tps() {
	awk '/number of transactions actually processed/ { split($NF, a, "/"); tx = a[1] }
	     /^tps = .*without initial connection time/ { tps = $3 }
	     END { print tx, tps }'
}

# ---------------------------------------------------------------------------
# Other work on the machine (it may be shared) skews every figure.  Before
# each timed run, wait (up to EB_BENCH_QUIET_WAIT s) until the CPUs have been
# at most EB_BENCH_QUIET_MAX % busy for a second; during the run, measure the
# CPU time that processes other than this cluster and this script took
# ("other work", in % of all CPUs).  A run that other work took more than
# EB_BENCH_QUIET_MAX % of is done again, up to EB_BENCH_RETRIES times.  No
# waiting and no retries once EB_BENCH_BUDGET seconds have passed since the
# start.  The report shows the other work of every run it counts.
# ---------------------------------------------------------------------------
bench_quiet_init() {
	QUIET_MAX=${EB_BENCH_QUIET_MAX:-25}
	QUIET_WAIT=${EB_BENCH_QUIET_WAIT:-30}
	RETRIES=${EB_BENCH_RETRIES:-$1}
	BUDGET_END=$(($(date +%s) + ${EB_BENCH_BUDGET:-$2}))
}

postmaster_pid() { head -1 "$PGDATA_EB/postmaster.pid"; }
machine_ticks() {		# all CPUs: total and idle clock ticks
	awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}
machine_busy_ticks() { machine_ticks | awk '{ print $1 - $2 }'; }
proc_ticks() {			# proc_ticks PID CHILDREN: user + system (+ reaped children's) ticks
	awk -v c="$2" '{ print $14 + $15 + (c ? $16 + $17 : 0) }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# own_ticks [PID...]: CPU ticks of this cluster (the postmaster, its
# children and the children it reaped), of this script and the children it
# reaped, and of the processes PID (and theirs); children first: one reaped
# meanwhile is then counted twice, never missed; without a cluster,
# this script's and the PIDs' alone
own_ticks() {
	local sum=0 p t pm=""
	# no cluster (a benchmark's part that runs without one): this script and PIDs
	[ -n "${PGDATA_EB:-}" ] && [ -f "$PGDATA_EB/postmaster.pid" ] && pm=$(postmaster_pid)
	if [ -n "$pm" ]; then
		for p in $(ps -o pid= --ppid "$pm"); do
			t=$(proc_ticks "$p" 0)
			sum=$((sum + ${t:-0}))
		done
	fi
	for p in $pm $$ "$@"; do
		t=$(proc_ticks "$p" 1)
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
nchildren() { ps -o pid= --ppid "$(postmaster_pid)" | wc -l; }
settle() {			# settle N: until the postmaster has at most N children (0.5 s at most)
	local i
	for ((i = 0; i < 25; i++)); do
		[ "$(nchildren)" -le "$1" ] && return 0
		sleep 0.02
	done
}
snap() { echo "$(machine_ticks) $(own_ticks "$@")"; }
# others_pct SNAP0 SNAP1: other work between the two snapshots, % of all CPUs
others_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1];
		o = (t > 0) ? 100 * ((t - (y[2] - x[2])) - (y[3] - x[3])) / t : 0;
		printf "%.0f", (o < 0) ? 0 : o }'
}
# own_pct SNAP0 SNAP1 SECONDS: this cluster's and script's CPU, % of one core
own_pct() {
	awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.0f", 100 * (y[3] - x[3]) / hz / s }'
}
cpu_busy() {			# percent of all CPUs busy during one second
	local a b
	a=$(machine_ticks)
	sleep 1
	b=$(machine_ticks)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; i = y[2] - x[2];
		printf "%.0f", (t > 0) ? 100 * (t - i) / t : 0 }'
}
wait_quiet() {
	local busy until=$(($(date +%s) + QUIET_WAIT))
	[ "$until" -le "$BUDGET_END" ] || until=$BUDGET_END
	busy=$(cpu_busy)
	[ "$busy" -le "$QUIET_MAX" ] && return 0
	eb_log "  the machine is ${busy}% busy (other work): waiting for it"
	while [ "$busy" -gt "$QUIET_MAX" ] && [ "$(date +%s)" -lt "$until" ]; do
		busy=$(cpu_busy)
	done
	[ "$busy" -le "$QUIET_MAX" ] || eb_log "  still ${busy}% busy: running anyway"
	return 0
}
may_retry() {			# may_retry OTHERS ATTEMPT
	[ "$1" -gt "$QUIET_MAX" ] && [ "$2" -le "$RETRIES" ] && [ "$(date +%s)" -lt "$BUDGET_END" ]
}

# ---------------------------------------------------------------------------
# CPU time of a set of processes.  A process is known by its pid and its
# start time (field 22 of /proc/PID/stat), so a pid reused meanwhile is not
# mistaken for the old process.
# ---------------------------------------------------------------------------
cpu_snapshot() {
	local p
	for p in "$@"; do
		awk -v p="$p" '{ print p, $22, $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true
	done
}
cpu_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, "\n"); for (i = 1; i <= n; i++) { split(x[i], f, " "); if (f[1] != "") before[f[1] " " f[2]] = f[3] }
		m = split(b, y, "\n"); for (i = 1; i <= m; i++) { split(y[i], f, " "); if (f[1] == "") continue;
			k = f[1] " " f[2]; t += f[3] - ((k in before) ? before[k] : 0); seen[k] = 1 }
		for (k in before) if (!(k in seen)) gone++;
		printf "%d %d\n", t, gone }'
}
ticks_per_item_us() {
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (n > 0) ? t * 1e6 / hz / n : 0 }'
}

# ---------------------------------------------------------------------------
# Delivery workers of the current database.
# ---------------------------------------------------------------------------
bench_dboid() { psql_q -c "SELECT oid FROM pg_database WHERE datname = current_database()"; }
worker_pid() {
	psql_q -c "SELECT pid FROM eventbus._delivery_workers() WHERE database_oid = $DBOID AND state = 'running' AND pid IS NOT NULL ORDER BY worker LIMIT 1"
}
worker_pids() {
	psql_q -c "SELECT string_agg(pid::text, ' ') FROM eventbus._delivery_workers() WHERE database_oid = $DBOID AND state = 'running'"
}
delivery_worker_pids() {
	psql_q -c "SELECT coalesce(string_agg(pid::text, ' ' ORDER BY pid), '') FROM pg_stat_activity
	            WHERE backend_type = 'eventbus delivery worker' AND datname = current_database()"
}
# wait_delivery_workers: until the current database has a delivery worker
# process (whatever the engine calls its state)
wait_delivery_workers() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -n "$(delivery_worker_pids)" ] && return 0
		sleep 0.1
	done
	eb_log "no delivery worker started for this database"
	psql_q -c "SELECT * FROM eventbus._delivery_workers()" >&2
	return 1
}
# wait_workers N: until exactly N workers of this database are running
wait_workers() {
	local n i
	for ((i = 0; i < 300; i++)); do
		n=$(psql_q -c "SELECT count(*) FROM eventbus._delivery_workers() WHERE database_oid = $DBOID AND state = 'running' AND pid IS NOT NULL")
		[ "$n" = "$1" ] && return 0
		sleep 0.1
	done
	eb_log "expected $1 running delivery workers, found $n"
	psql_q -c "SELECT * FROM eventbus._delivery_workers()" >&2
	return 1
}

put_function_target() {
	psql_q -v bus="$1" -v rule="$2" -v fn="$3" 2>&1 <<'SQL' | sed -n 's/^NOTICE: *HOW //p'
SET bench.bus = :'bus';
SET bench.rule = :'rule';
SET bench.fn = :'fn';
DO $$
DECLARE
    bus text := current_setting('bench.bus');
    rule text := current_setting('bench.rule');
    fn text := current_setting('bench.fn');
    res jsonb;
BEGIN
    BEGIN
        res := eventbus.put_targets(rule, jsonb_build_array(jsonb_build_object('Id', 't', 'Arn', 'function:' || fn)), bus);
        IF (res ->> 'FailedEntryCount')::int > 0 THEN
            RAISE EXCEPTION '%', res;
        END IF;
        RAISE NOTICE 'HOW put_targets';
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO eventbus.targets (bus, rule, target_id, arn, kind, destination, outbox, retry_policy)
        VALUES (bus, rule, 't', 'function:' || fn, 'function', fn || '(jsonb)',
                eventbus._create_outbox(format('push_%s_%s_t', replace(fn, '.', '_'), bus)),
                '{"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}');
        RAISE NOTICE 'HOW direct insert into eventbus.targets (put_targets said: %)', SQLERRM;
    END;
END;
$$;
SQL
}

# ---------------------------------------------------------------------------
# HTTP servers and tools.
# ---------------------------------------------------------------------------
NGINX_BIN=
bench_need_nginx() {
	NGINX_BIN=$(command -v nginx || true)
	[ -z "$NGINX_BIN" ] && [ -x /usr/sbin/nginx ] && NGINX_BIN=/usr/sbin/nginx
	if [ -z "$NGINX_BIN" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			eb_log "nginx is missing (run as root to install nginx-light, or install it)"
			return 1
		fi
		eb_log "installing nginx-light"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
		NGINX_BIN=/usr/sbin/nginx
	fi
}

NGINX_DIR="" NGINX_PORT="" NGINX_URL=""
NGINX_WORKERS=${EB_BENCH_NGINX_WORKERS:-1}
nginx_start() {
	local dir=$1 log=${2:-} access i
	[ -n "$NGINX_BIN" ] || bench_need_nginx || return 1
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	NGINX_PORT=$(eb_free_port)
	if [ -n "$log" ]; then access="access_log $log eb;"; else access="access_log off;"; fi
	cat >"$dir/nginx.conf" <<EOF
# written by test/bench/lib/bench.sh: the benchmark's own instance
worker_processes $NGINX_WORKERS;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1000; }
http {
    log_format eb '\$msec \$http_x_eventbus_event_id';
    $access
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    client_body_buffer_size 64k;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / { return 200; }
        location = /_status { stub_status; }
    }
}
EOF
	eb_as_owner "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
		|| { cat "$dir/error.log" >&2 2>/dev/null; return 1; }
	NGINX_DIR=$dir
	NGINX_URL="http://127.0.0.1:$NGINX_PORT"
	for ((i = 0; i < 100; i++)); do
		curl -fsS -o /dev/null "$NGINX_URL/_status" 2>/dev/null && break
		sleep 0.05
	done
	curl -fsS -o /dev/null "$NGINX_URL/_status" || { eb_log "nginx did not answer on port $NGINX_PORT"; return 1; }
	eb_log "nginx (pid $(cat "$dir/nginx.pid"), $NGINX_WORKERS worker process(es)) on $NGINX_URL"
}
nginx_stop() {
	local pid i
	[ -n "${NGINX_DIR:-}" ] && [ -f "$NGINX_DIR/nginx.pid" ] || return 0
	pid=$(cat "$NGINX_DIR/nginx.pid")
	kill -QUIT "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	NGINX_DIR=
}
# the pids of nginx's processes (master and workers)
nginx_pids() {
	local m
	m=$(cat "$NGINX_DIR/nginx.pid")
	echo "$m $(ps -o pid= --ppid "$m" | tr '\n' ' ')"
}
nginx_requests() {
	curl -fsS "$NGINX_URL/_status" | awk 'NR == 3 { print $3 }'
}

bench_compile_tool() {
	local out=$2/$1
	gcc -O2 -Wall -Wextra -Werror -o "$out" "$EB_ROOT/test/bench/tools/$1.c" -lcurl \
		|| { eb_log "could not build test/bench/tools/$1.c (libcurl4-openssl-dev installed?)"; return 1; }
	echo "$out"
}

# ---------------------------------------------------------------------------
# Peers.
# ---------------------------------------------------------------------------
# PgQ from Debian's package.  The package installs into the system
# PostgreSQL's directories; a private installation (the pg_config on PATH)
# gets a copy of the package's extension scripts, control file and
# libraries.  Fails (saying why) when it cannot be had.
bench_need_pgq() {
	local share lib pkg=postgresql-$EB_PG_MAJOR-pgq3 f
	share=$(pg_config --sharedir)/extension
	lib=$(pg_config --pkglibdir)
	[ -f "$share/pgq.control" ] && [ -f "$lib/pgq_lowlevel.so" ] && return 0
	if ! dpkg -s "$pkg" >/dev/null 2>&1; then
		if [ "$(id -u)" -ne 0 ]; then
			eb_log "PgQ is missing (run as root to install $pkg, or install it)"
			return 1
		fi
		eb_log "installing $pkg"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null \
			|| { eb_log "could not install $pkg"; return 1; }
	fi
	while read -r f; do
		[ -f "$f" ] || continue
		case "$f" in
			*/extension/pgq.control | */extension/pgq--*.sql)
				[ -e "$share/${f##*/}" ] || cp "$f" "$share/" ;;
			*/lib/pgq*.so)
				[ -e "$lib/${f##*/}" ] || cp "$f" "$lib/" ;;
		esac
	done < <(dpkg -L "$pkg")
	if [ ! -f "$share/pgq.control" ] || [ ! -f "$lib/pgq_lowlevel.so" ]; then
		eb_log "$pkg is installed but pgq.control or pgq_lowlevel.so is not in $share, $lib"
		return 1
	fi
	eb_log "PgQ $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$share/pgq.control") in $share, $lib"
}

# pgmq is SQL only and never part of this repository: its install script is
# read at run time, from the file EB_PGMQ_SQL, or else from a snapshot of
# github.com/pgmq/pgmq (a git directory, EB_PGMQ_REPO; the search tool's
# `fetch` of github:pgmq/pgmq makes one), whose newest install script is
# pgmq-extension/sql/pgmq.sql at HEAD.
EB_PGMQ_REPO=${EB_PGMQ_REPO:-/work/.mirror/pgmq+pgmq/repo}
PGMQ_FROM=
bench_pgmq_sql() {
	local out=$1 commit version
	if [ -n "${EB_PGMQ_SQL:-}" ]; then
		[ -r "$EB_PGMQ_SQL" ] || { eb_log "EB_PGMQ_SQL=$EB_PGMQ_SQL is not a readable file"; return 1; }
		cp "$EB_PGMQ_SQL" "$out"
		PGMQ_FROM="$EB_PGMQ_SQL (sha256 $(sha256sum "$out" | cut -c1-12))"
	elif git -C "$EB_PGMQ_REPO" cat-file -e HEAD:pgmq-extension/sql/pgmq.sql 2>/dev/null; then
		git -C "$EB_PGMQ_REPO" show HEAD:pgmq-extension/sql/pgmq.sql >"$out"
		commit=$(git -C "$EB_PGMQ_REPO" log -1 --format='%h, %cs' HEAD)
		# the newest version its upgrade scripts lead to (pgmq.sql is that version)
		version=$(git -C "$EB_PGMQ_REPO" ls-tree --name-only HEAD pgmq-extension/sql/ \
			| sed -n 's/.*pgmq--[0-9.]*--\([0-9.]*\)\.sql$/\1/p' | sort -V | tail -1)
		PGMQ_FROM="pgmq-extension/sql/pgmq.sql of a snapshot of github.com/pgmq/pgmq (commit $commit; version ${version:-unknown})"
	else
		eb_log "pgmq's SQL not found: set EB_PGMQ_SQL to its install script (pgmq-extension/sql/pgmq.sql of github.com/pgmq/pgmq) or EB_PGMQ_REPO to a git snapshot of that repository"
		return 1
	fi
}

# pgmq's script creates schema pgmq itself when it is not an extension; psql
# meta-commands (\echo, \quit of an extension script) are dropped.
bench_load_pgmq() {
	grep -v '^[[:space:]]*\\' "$1" | psql_q -v ON_ERROR_STOP=1 >/dev/null
}

# ---------------------------------------------------------------------------
# perf.
# ---------------------------------------------------------------------------
# Keep the eventbus.so this cluster loaded in perf's build-id cache: when
# the library is installed again while the benchmark runs (a shared tree),
# perf still finds the symbols of the mapped (now deleted) file.
perf_available() {
	command -v perf >/dev/null && return 0
	eb_log "perf not found: no profile"
	return 1
}

PERF_BUILDID_MMAP=
perf_keep_symbols() {
	command -v perf >/dev/null || return 0
	# build ids taken from the mappings: symbols of a replaced library resolve
	perf record --help 2>/dev/null | grep -q -- --buildid-mmap && PERF_BUILDID_MMAP=--buildid-mmap
	perf buildid-cache --add "$(pg_config --pkglibdir)/eventbus.so" >/dev/null 2>&1 || true
}

# perf_backends FILE DELAY SECONDS: after DELAY s, record the cluster's
# pgbench backends (and nothing else on the machine) with call graphs
perf_backends() {
	local pids
	sleep "$2"
	pids=$(psql_q -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
	                   WHERE backend_type = 'client backend' AND application_name = 'pgbench'")
	perf record -g $PERF_BUILDID_MMAP -p "$pids" -o "$1" -- sleep "$3" >/dev/null 2>&1 || true
}

# perf_report_backends DATA TITLE ROWS: ROWS symbols of self time, 80 inclusive
perf_report_backends() {
	echo "# perf record -g of the pgbench backends during $2"
	echo "# self time by shared object and symbol:"
	perf report -i "$1" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
		| awk -v n="$3" '/^ +[0-9]/ && ++k <= n'
	echo
	echo "# inclusive time (children) by symbol:"
	perf report -i "$1" --children --sort symbol --stdio -g none 2>/dev/null \
		| awk '/^ +[0-9]/ && ++k <= 80'
}

# The delivery path's functions, shown with their inclusive share.
PERF_FOCUS="delivery_run_cycle load_push_targets claim_messages deliver_batch delete_delivered
next_due_of reschedule dead_letter lookup_function outbox_name invoke_in_subtransaction target_function_invoke target_notify_invoke
target_bus_invoke to_regprocedure SPI_execute_with_args SPI_execute SPI_execute_plan
SPI_execute_plan_with_paramlist _SPI_execute_plan GetCachedPlan raw_parser
parse_analyze_fixedparams pg_analyze_and_rewrite_fixedparams pg_plan_queries standard_planner
standard_ExecutorStart standard_ExecutorRun standard_ExecutorEnd fmgr_sql
BeginInternalSubTransaction ReleaseCurrentSubTransaction RollbackAndReleaseCurrentSubTransaction
StartTransactionCommand CommitTransactionCommand heap_lock_tuple heap_delete heap_insert
ExecLockRows ExecModifyTable XLogInsert stats_count_target stats_record_latency
NewGUCNestLevel AtEOXact_GUC enable_timeout_after disable_timeout pgstat_report_stat
pgstat_report_activity WaitLatch WaitEventSetWait"

# perf_report_worker DATA TITLE: self and inclusive time, and the delivery
# path's functions with their inclusive share, as text (PERF_CALLGRAPH and
# PERF_FREQ: how it was recorded)
perf_report_worker() {
	local data=$1 title=$2
	echo "# perf profile: $title"
	echo "# perf record --call-graph $PERF_CALLGRAPH -F $PERF_FREQ -p <worker pid>; PostgreSQL $(psql_q -c 'SHOW server_version')."
	echo "# postgres is stripped: its static functions show as hex addresses or under the nearest exported symbol."
	perf report -i "$data" --stdio -g none 2>/dev/null | grep -m1 '^# Samples' || true
	echo
	echo "## The delivery path: inclusive (children) and self share of the worker's samples"
	echo "## (\"inlined\": static functions of src/delivery.c that the compiler inlined into delivery_run_cycle)"
	echo
	perf report -i "$data" --stdio --children -g none --percent-limit 0 --sort symbol 2>/dev/null \
		| awk -v focus="$PERF_FOCUS" 'BEGIN { n = split(focus, f, /[ \n]+/); for (i = 1; i <= n; i++) want[f[i]] = i }
			/^ *[0-9.]+%/ { sym = $4; if ((sym in want) && !(sym in seen)) { seen[sym] = 1; printf "%8s %8s  %s%s\n", $1, $2, sym, ($5 == "(inlined)") ? " (inlined)" : "" } }' \
		| sort -t% -k1,1 -gr
	echo
	echo "## Self time by symbol (perf report --no-children, >= 0.7%)"
	echo
	perf report -i "$data" --stdio --no-children -g none --percent-limit 0.7 --sort dso,symbol 2>/dev/null \
		| grep -v '^#' | grep -v '^$' | sed 's/ *- *- *$//' | head -50
	echo
	echo "## Inclusive time by symbol (perf report --children, >= 2%)"
	echo
	perf report -i "$data" --stdio --children -g none --percent-limit 2 --sort symbol 2>/dev/null \
		| grep -v '^#' | grep -v '^$' | sed 's/ *- *- *$//' | grep -v '\] 0x0000' | head -80
}

# ---------------------------------------------------------------------------
# Timed consumer runs (queues that may answer a receive with nothing: FIFO
# queues whose groups are held by other consumers).
#   bench_consume_timed SCRIPT CLIENTS SECONDS COUNT_SQL
#                       pgbench -T SECONDS with CLIENTS clients running
#                       SCRIPT; COUNT_SQL counts what is left to consume.
#                       Prints "consumed seconds transactions"
# ---------------------------------------------------------------------------
bench_consume_timed() {
	local script=$1 c=$2 seconds=$3 count_sql=$4 before after out tx tps
	before=$(psql_q -c "$count_sql")
	out=$(bench_pgbench -c "$c" -j "$c" -T "$seconds" -f "$script") || return 1
	after=$(psql_q -c "$count_sql")
	read -r tx tps <<<"$(pgbench_tx_tps <<<"$out")"
	awk -v m="$((before - after))" -v tx="$tx" -v tps="$tps" 'BEGIN { printf "%d %.3f %d\n", m, tx / tps, tx }'
}
