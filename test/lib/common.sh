# Shared by test/run.sh, test/demo.sh and the benchmarks: install what is
# missing, build and install the extension, and run a throwaway cluster.
#
# Source it, then call:
#   eb_prepare          apt-get what is missing (root only), build, install
#   eb_cluster_start    initdb in a temporary directory (/tmp/$EB_TMP_PREFIX.*,
#                       default eventbus-test), free port, start;
#                       exports PGHOST PGPORT PGUSER PGDATABASE
#                       (EB_NO_PRELOAD=1: without shared_preload_libraries)
#   eb_cluster_stop     stop and remove the cluster (also run from the EXIT trap)
#   eb_as_owner CMD...  run a command as the cluster's OS user
#   eb_psql ...         psql quiet, stop on the first error

EB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EB_PG_MAJOR=${EB_PG_MAJOR:-15}

eb_log() { printf '== %s\n' "$*" >&2; }

eb_need_packages() {
	# What the build and the tests really use.  postgresql-client-15 already
	# ships pgxs.mk and pg_isolation_regress, so their presence says nothing
	# about the server headers: look for postgres.h itself.
	local missing=()
	local incdir
	incdir=$(pg_config --includedir-server 2>/dev/null || true)
	[ -n "$incdir" ] && [ -f "$incdir/postgres.h" ] || missing+=("postgresql-server-dev-$EB_PG_MAJOR")
	[ -f "$(pg_config --pgxs 2>/dev/null || echo /nonexistent)" ] || missing+=("postgresql-server-dev-$EB_PG_MAJOR")
	[ -x "$(pg_config --pkglibdir 2>/dev/null)/pgxs/src/test/isolation/pg_isolation_regress" ] \
		|| missing+=("postgresql-client-$EB_PG_MAJOR")
	command -v gcc >/dev/null || missing+=(gcc)
	command -v make >/dev/null || missing+=(make)
	# HTTP targets link libcurl: its development files (header and curl-config)
	if ! command -v curl-config >/dev/null \
		|| ! { [ -f /usr/include/curl/curl.h ] || [ -f "/usr/include/$(gcc -dumpmachine 2>/dev/null)/curl/curl.h" ]; }; then
		missing+=(libcurl4-openssl-dev)
	fi
	# the differential and fuzz tests are Python scripts
	command -v python3 >/dev/null || missing+=(python3)
	# the test HTTP server's self-test (test/http/selftest.sh) is a curl client
	command -v curl >/dev/null || missing+=(curl)
	if [ -n "${EB_EXTRA_PACKAGES:-}" ]; then
		for p in $EB_EXTRA_PACKAGES; do
			dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
		done
	fi
	printf '%s\n' "${missing[@]}" | sort -u | grep -v '^$' || true
}

eb_prepare() {
	local missing
	missing=$(eb_need_packages)
	if [ -n "$missing" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			eb_log "missing packages: $missing (run as root, or install them)"
			return 1
		fi
		eb_log "installing: $missing"
		apt-get update -qq
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
	if [ -n "${EB_SKIP_BUILD:-}" ]; then
		eb_log "EB_SKIP_BUILD set: using the installed build"
		return 0
	fi
	eb_log "building (warnings are errors)"
	make -C "$EB_ROOT" -s clean >/dev/null
	make -C "$EB_ROOT" -s COPT='-Werror' >/dev/null
	make -C "$EB_ROOT" -s install >/dev/null
}

EB_BINDIR=$(pg_config --bindir 2>/dev/null || echo "/usr/lib/postgresql/$EB_PG_MAJOR/bin")

eb_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

eb_free_port() {
	local port lo hi
	# below the kernel's ephemeral range: a port there can be taken by a
	# client socket between this probe and the server's bind
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 21024 ] 2>/dev/null || lo=32768
	for port in $(shuf -i 20000-$((lo - 1)) -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# eb_cluster_start [extra postgresql.conf lines...]
eb_cluster_start() {
	EB_TMP=$(mktemp -d "/tmp/${EB_TMP_PREFIX:-eventbus-test}.XXXXXX")
	chmod 755 "$EB_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$EB_TMP"
	export PGDATA_EB="$EB_TMP/data"
	export PGPORT
	PGPORT=$(eb_free_port)
	export PGHOST="$EB_TMP"
	export PGUSER=postgres
	export PGDATABASE=postgres
	trap eb_cluster_stop EXIT
	eb_log "starting a throwaway cluster in $EB_TMP on port $PGPORT"
	eb_as_owner "$EB_BINDIR/initdb" -D "$PGDATA_EB" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$EB_TMP/initdb.log" 2>&1 \
		|| { cat "$EB_TMP/initdb.log"; return 1; }
	{
		echo "port = $PGPORT"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$EB_TMP'"
		[ -n "${EB_NO_PRELOAD:-}" ] || echo "shared_preload_libraries = 'eventbus'"
		echo "max_prepared_transactions = 10"
		# every database with eventbus runs eventbus.delivery_workers workers
		# (2), and more on demand: the default 8 is soon used up
		echo "max_worker_processes = 32"
		echo "fsync = off"
		echo "log_min_messages = warning"
		for line in "$@"; do echo "$line"; done
	} | eb_as_owner tee -a "$PGDATA_EB/postgresql.conf" >/dev/null
	eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -l "$EB_TMP/server.log" -w -t 60 start >/dev/null \
		|| { cat "$EB_TMP/server.log"; return 1; }
}

eb_cluster_stop() {
	[ -n "${EB_TMP:-}" ] || return 0
	if [ -f "$PGDATA_EB/postmaster.pid" ]; then
		eb_as_owner "$EB_BINDIR/pg_ctl" -D "$PGDATA_EB" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${EB_KEEP:-}" ]; then
		eb_log "kept $EB_TMP"
	else
		rm -rf "$EB_TMP"
	fi
	EB_TMP=
}

eb_psql() {
	"$EB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
