#!/usr/bin/env bash
# Benchmark of the pattern-match operator (event =~ pattern).
#
# Builds and installs the extension (unless EB_SKIP_BUILD=1), starts a
# throwaway cluster, loads a table of synthetic EventBridge events (about
# 1 KB of JSON each, values spread so that most patterns select ~10% of the
# rows), caches it in shared_buffers, then times, for each operator family,
#
#   pattern    SELECT count(*) FROM events WHERE event =~ '<pattern>'
#   baseline   SELECT count(*) FROM events WHERE event->'detail' ? 'x'
#   bare       SELECT count(*) FROM events
#
# interleaved round after round (baseline, pattern, bare, next family ...)
# on one backend with parallel query and JIT off, and reports medians.
# "Operator evals/s" is rows / (pattern time - bare scan time): the rate
# at which one core evaluates the operator, scan overhead excluded.
#
#   EB_SKIP_BUILD=1 bash test/bench/pattern_bench.sh
#
# Settings (environment):
#   EB_BENCH_ROWS     rows in the table              (default 100000)
#   EB_BENCH_ROUNDS   timed rounds per query         (default 15, at least 5)
#   EB_BENCH_STRICT   exit 1 when a goal is missed   (default: report only)
#   EB_KEEP=1         keep the cluster's directory
#
# Output: a Markdown table on stdout, also written to
# test/bench/results/pattern_bench.md.
set -euo pipefail
# shellcheck source=test/bench/lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"

ROWS=${EB_BENCH_ROWS:-100000}
ROUNDS=${EB_BENCH_ROUNDS:-15}
[ "$ROUNDS" -ge 5 ] || ROUNDS=5
RESULTS=$RESULTS_DIR/pattern_bench.md

# Goals stated by the project.
GOAL_EVALS=1000000				# operator evaluations per second per core ...
GOAL_EVALS_FAMILIES=" exact-source exact-detail prefix numeric "	# ... for these
GOAL_RATIO=2.0					# pattern scan time / baseline scan time, all families

# Keep the whole table in shared_buffers: a sequential scan of a table
# larger than a quarter of shared_buffers goes through a small ring buffer.
SB_MB=$((ROWS * 6 / 1000))
[ "$SB_MB" -ge 1024 ] || SB_MB=1024

eb_prepare
bench_cluster_start "shared_buffers = '${SB_MB}MB'" \
	"max_parallel_workers_per_gather = 0" \
	"jit = off" \
	"autovacuum = off"

# ---------------------------------------------------------------------------
# The patterns: family, pattern (tab-separated).  Expected selectivity ~10%
# except $or (~14%) and the three-key pattern (~3%).
# ---------------------------------------------------------------------------
PATTERNS=$(cat <<'EOF'
exact-source	{"source":["com.example.orders"]}
exact-detail	{"detail":{"status":["shipped"]}}
prefix	{"region":[{"prefix":"ap-"}]}
suffix	{"detail":{"customer":{"email":[{"suffix":"@example.org"}]}}}
equals-ignore-case	{"detail":{"currency":[{"equals-ignore-case":"usd"}]}}
wildcard	{"resources":[{"wildcard":"arn:aws:ec2:*:instance/*"}]}
anything-but	{"detail":{"status":[{"anything-but":["placed","paid","packed","shipped","in-transit","delivered","returned","cancelled","refunded"]}]}}
numeric	{"detail":{"amount":[{"numeric":[">=",100,"<",200]}]}}
exists	{"detail":{"coupon":[{"exists":true}]}}
cidr	{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/16"}]}}
$or	{"$or":[{"detail-type":["Payment Failed"]},{"detail":{"amount":[{"numeric":[">=",950]}]}}]}
multi-3-keys	{"source":["com.example.orders"],"detail-type":["Order Placed"],"detail":{"status":["placed","paid","packed","shipped"]}}
EOF
)

BASELINE_SQL="SELECT count(*) FROM events WHERE event->'detail' ? 'x';"
BARE_SQL="SELECT count(*) FROM events;"

# ---------------------------------------------------------------------------
# The data.  Every value is a hash of the row number, so a run is
# reproducible and the counts are the same from run to run.
# ---------------------------------------------------------------------------
eb_log "generating $ROWS events"
gen_start=$(date +%s)
psql_q -v rows="$ROWS" <<'SQL'
CREATE EXTENSION eventbus;
CREATE TABLE events (id bigint NOT NULL, event jsonb NOT NULL);	-- no index: every query is a seq scan

-- A pseudo-random integer in [0, n) for row i and a salt.
CREATE FUNCTION pg_temp.h(i bigint, salt int, n int) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT ((hashint8(i * 7919 + salt) & 2147483647) % n)::int $$;

INSERT INTO events
SELECT i, jsonb_build_object(
  'version', '0',
  'id', md5(i::text)::uuid,
  -- mostly the detail-type that goes with the source, sometimes another
  'detail-type', CASE WHEN pg_temp.h(i, 2, 5) = 0
      THEN (ARRAY['Order Placed', 'Order Shipped', 'Order Cancelled', 'Payment Authorized', 'Payment Failed',
                  'Stock Adjusted', 'User Signed Up', 'EC2 Instance State-change Notification',
                  'Object Created', 'Invoice Issued'])[1 + pg_temp.h(i, 3, 10)]
      ELSE (ARRAY['Order Placed', 'Payment Authorized', 'Stock Adjusted', 'Order Shipped', 'User Signed Up',
                  'EC2 Instance State-change Notification', 'Object Created', 'Payment Failed',
                  'Invoice Issued', 'Order Cancelled'])[1 + s.src] END,
  'source', (ARRAY['com.example.orders', 'com.example.payments', 'com.example.inventory', 'com.example.shipping',
                   'com.example.users', 'aws.ec2', 'aws.s3', 'com.example.billing', 'partner.acme.invoices',
                   'com.example.returns'])[1 + s.src],
  'account', (ARRAY['123456789012', '210987654321', '111122223333', '444455556666', '777788889999',
                    '135791357913', '246802468024', '314159265358', '271828182845', '161803398874'])[1 + pg_temp.h(i, 4, 10)],
  'time', to_char(timestamp '2024-01-01 00:00:00' + make_interval(secs => i * 7), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'region', s.region,
  'resources', CASE pg_temp.h(i, 5, 3)
      WHEN 0 THEN jsonb_build_array(s.arn1)
      WHEN 1 THEN jsonb_build_array(s.arn1, 'arn:aws:s3:::bucket-' || pg_temp.h(i, 6, 50) || '/key-' || i)
      ELSE jsonb_build_array(s.arn1, 'arn:aws:s3:::bucket-' || pg_temp.h(i, 6, 50) || '/key-' || i,
                             'arn:aws:sqs:' || s.region || ':123456789012:queue-' || pg_temp.h(i, 7, 20)) END,
  'detail', jsonb_build_object(
    'order-id', 'ORD-' || lpad(i::text, 9, '0'),
    'status', (ARRAY['placed', 'paid', 'packed', 'shipped', 'in-transit', 'delivered', 'returned', 'cancelled',
                     'refunded', 'on-hold'])[1 + pg_temp.h(i, 8, 10)],
    'amount', round(pg_temp.h(i, 9, 100000) / 100.0, 2),
    'currency', (ARRAY['USD', 'usd', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK',
                       'HUF', 'BRL', 'MXN', 'INR', 'CNY', 'SGD', 'NZD'])[1 + pg_temp.h(i, 10, 20)],
    'quantity', 1 + pg_temp.h(i, 11, 12),
    'customer', jsonb_build_object(
      'id', 'C-' || lpad(pg_temp.h(i, 12, 1000000)::text, 7, '0'),
      'name', (ARRAY['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy'])[1 + pg_temp.h(i, 13, 10)]
              || ' ' || (ARRAY['Smith', 'Jones', 'Brown', 'Taylor', 'Wilson', 'Davies', 'Evans', 'Thomas', 'Roberts',
                               'Walker'])[1 + pg_temp.h(i, 14, 10)],
      'email', 'user' || pg_temp.h(i, 15, 100000)
               || (ARRAY['@example.com', '@example.org', '@mail.test', '@corp.example', '@shop.test', '@example.net',
                         '@users.example', '@inbox.test', '@acme.example', '@web.test'])[1 + pg_temp.h(i, 16, 10)],
      'tier', (ARRAY['bronze', 'silver', 'gold', 'platinum'])[1 + pg_temp.h(i, 17, 4)],
      'vip', pg_temp.h(i, 18, 20) = 0,
      'address', jsonb_build_object(
        'street', (100 + pg_temp.h(i, 19, 9000)) || ' Main Street',
        'city', (ARRAY['Seattle', 'Dublin', 'Frankfurt', 'Tokyo', 'Sydney', 'Toronto', 'Paris', 'Madrid', 'Oslo',
                       'Lima'])[1 + pg_temp.h(i, 20, 10)],
        'postcode', lpad(pg_temp.h(i, 21, 99999)::text, 5, '0'),
        'country', (ARRAY['US', 'IE', 'DE', 'JP', 'AU', 'CA', 'FR', 'ES', 'NO', 'PE'])[1 + pg_temp.h(i, 20, 10)])),
    'items', (SELECT jsonb_agg(jsonb_build_object(
                 'sku', 'SKU-' || lpad(pg_temp.h(i, 30 + k, 100000)::text, 6, '0'),
                 'qty', 1 + pg_temp.h(i, 40 + k, 5),
                 'price', round(pg_temp.h(i, 50 + k, 50000) / 100.0, 2),
                 'tags', jsonb_build_array('cat-' || pg_temp.h(i, 60 + k, 30), 'promo-' || pg_temp.h(i, 70 + k, 5))))
              FROM generate_series(1, 1 + pg_temp.h(i, 22, 3) / 2) AS k),
    'sourceIPAddress', '10.' || pg_temp.h(i, 23, 10) || '.' || pg_temp.h(i, 24, 256) || '.' || pg_temp.h(i, 25, 256),
    'userAgent', (ARRAY['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
                        'aws-sdk-java/2.25.1 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.9',
                        'Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11',
                        'curl/8.4.0'])[1 + pg_temp.h(i, 26, 4)],
    'flags', jsonb_build_object('gift', pg_temp.h(i, 27, 7) = 0, 'express', pg_temp.h(i, 28, 3) = 0,
                                'fragile', pg_temp.h(i, 29, 9) = 0),
    'metrics', jsonb_build_object('latency-ms', pg_temp.h(i, 80, 2000), 'retries', pg_temp.h(i, 81, 4),
                                  'score', round(pg_temp.h(i, 82, 1000) / 1000.0, 3)),
    'notes', rpad('Note ' || i || ': ', 16 + pg_temp.h(i, 83, 64), 'lorem ipsum dolor sit amet ')
  ) || CASE WHEN pg_temp.h(i, 90, 10) = 0
            THEN jsonb_build_object('coupon', 'SAVE' || (5 + pg_temp.h(i, 92, 30)),
                                    'discount-percent', 5 + pg_temp.h(i, 92, 30))
            ELSE '{}'::jsonb END)
FROM generate_series(1, :rows) AS i,
LATERAL (SELECT pg_temp.h(i, 1, 10) AS src,
                (ARRAY['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2',
                       'sa-east-1', 'ca-central-1', 'eu-north-1', 'us-west-1'])[1 + pg_temp.h(i, 0, 10)] AS region) AS r0,
LATERAL (SELECT r0.src, r0.region,
                CASE pg_temp.h(i, 100, 10)
                  WHEN 0 THEN 'arn:aws:ec2:' || r0.region || ':123456789012:instance/i-0' || substr(md5('i' || i), 1, 16)
                  WHEN 1 THEN 'arn:aws:lambda:' || r0.region || ':123456789012:function:handler-' || pg_temp.h(i, 101, 40)
                  WHEN 2 THEN 'arn:aws:dynamodb:' || r0.region || ':123456789012:table/orders-' || pg_temp.h(i, 101, 40)
                  WHEN 3 THEN 'arn:aws:ec2:' || r0.region || ':123456789012:volume/vol-0' || substr(md5('v' || i), 1, 16)
                  WHEN 4 THEN 'arn:aws:sns:' || r0.region || ':123456789012:topic-' || pg_temp.h(i, 101, 40)
                  WHEN 5 THEN 'arn:aws:states:' || r0.region || ':123456789012:stateMachine:flow-' || pg_temp.h(i, 101, 40)
                  WHEN 6 THEN 'arn:aws:kinesis:' || r0.region || ':123456789012:stream/events-' || pg_temp.h(i, 101, 40)
                  WHEN 7 THEN 'arn:aws:ecs:' || r0.region || ':123456789012:service/cluster/svc-' || pg_temp.h(i, 101, 40)
                  WHEN 8 THEN 'arn:aws:rds:' || r0.region || ':123456789012:db:orders-' || pg_temp.h(i, 101, 40)
                  ELSE 'arn:aws:events:' || r0.region || ':123456789012:rule/rule-' || pg_temp.h(i, 101, 40) END AS arn1) AS s;

VACUUM ANALYZE events;
SQL
eb_log "generated in $(($(date +%s) - gen_start)) s"

IFS=$'\t' read -r NROWS AVG_BYTES AVG_TEXT TABLE_SIZE TOASTED < <(psql_q -F $'\t' -c "
	SELECT count(*), round(avg(pg_column_size(event))), round(avg(octet_length(event::text))),
		   pg_size_pretty(pg_table_size('events')),
		   count(*) FILTER (WHERE pg_column_compression(event) IS NOT NULL)
	FROM events")
eb_log "$NROWS events, $AVG_BYTES bytes of jsonb on average ($AVG_TEXT bytes as text), table $TABLE_SIZE, $TOASTED compressed"

# ---------------------------------------------------------------------------
# Warm-up: bring every page into shared_buffers, then check that a scan
# reads nothing from outside them.
# ---------------------------------------------------------------------------
eb_log "warming up"
psql_q >/dev/null <<SQL
$BASELINE_SQL
$BASELINE_SQL
$BARE_SQL
SQL
PLAN=$(psql_q -c "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) $BARE_SQL")
BUFLINE=$(grep -m1 'Buffers:' <<<"$PLAN" | sed 's/^ *//')
eb_log "cached? $BUFLINE"
case "$BUFLINE" in
	*read=*) eb_log "WARNING: the table is not fully cached in shared_buffers" ;;
esac

# Every timed query must be a plain, non-parallel sequential scan.
first_pattern=$(head -1 <<<"$PATTERNS" | cut -f2)
for q in "$BARE_SQL" "$BASELINE_SQL" \
	"SELECT count(*) FROM events WHERE event =~ \$p\$$first_pattern\$p\$;"; do
	PLAN=$(psql_q -c "SET search_path = public, eventbus" -c "EXPLAIN (COSTS OFF) $q")
	if ! grep -q 'Seq Scan on events' <<<"$PLAN" || grep -qE 'Gather|Index|JIT' <<<"$PLAN"; then
		eb_log "unexpected plan for $q"
		echo "$PLAN" >&2
		exit 1
	fi
done

# ---------------------------------------------------------------------------
# The timed runs, all in one session: rounds outer, families inner, each
# family as baseline, pattern, bare.  psql's \timing gives the elapsed time
# of each statement (parse, plan, execute, one-row result).
# ---------------------------------------------------------------------------
SCRIPT=$EB_TMP/bench.sql
TIMINGS=$EB_TMP/timings.tsv
{
	echo "SET search_path = public, eventbus;"
	echo "SET max_parallel_workers_per_gather = 0;"
	echo "SET jit = off;"
	printf '%s\n' '\timing on'
	for ((r = 1; r <= ROUNDS; r++)); do
		while IFS=$'\t' read -r family pattern; do
			printf '\\echo @@ %s %s baseline\n' "$r" "$family"
			echo "$BASELINE_SQL"
			printf '\\echo @@ %s %s pattern\n' "$r" "$family"
			echo "SELECT count(*) FROM events WHERE event =~ \$p\$$pattern\$p\$;"
			printf '\\echo @@ %s %s bare\n' "$r" "$family"
			echo "$BARE_SQL"
		done <<<"$PATTERNS"
	done
} >"$SCRIPT"

eb_log "timing ${ROUNDS} rounds of $(wc -l <<<"$PATTERNS") families (baseline, pattern, bare scan each)"
bench_start=$(date +%s)
psql_q -f "$SCRIPT" | awk '
	/^@@ / { round = $2; family = $3; kind = $4; count = ""; next }
	/^Time: / { printf "%s\t%s\t%s\t%s\t%s\n", round, family, kind, count, $2; next }
	/^[0-9]+$/ { count = $1 }
' >"$TIMINGS"
eb_log "timed in $(($(date +%s) - bench_start)) s"

expected=$((ROUNDS * $(wc -l <<<"$PATTERNS") * 3))
if [ "$(wc -l <"$TIMINGS")" -ne "$expected" ]; then
	eb_log "expected $expected timings, got $(wc -l <"$TIMINGS")"
	exit 1
fi

# median FAMILY KIND (FAMILY may be "*" for all families)
median() {
	awk -F'\t' -v f="$1" -v k="$2" '(f == "*" || $2 == f) && $3 == k { print $5 }' "$TIMINGS" \
		| median_of %.3f
}

# counts FAMILY: the match count, checked to be the same in every round
counts() {
	awk -F'\t' -v f="$1" '$2 == f && $3 == "pattern" { print $4 }' "$TIMINGS" | sort -u
}

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
BARE_ALL=$(median '*' bare)
BASE_ALL=$(median '*' baseline)
bench_machine
missed=0

{
	echo "### Pattern-match operator benchmark"
	echo
	echo "$NROWS events of $AVG_BYTES bytes of jsonb on average ($AVG_TEXT bytes as JSON text, table $TABLE_SIZE, cached in shared_buffers),"
	echo "PostgreSQL $PGVER, ${CPU:-unknown CPU} ($(nproc) cores), one backend, no parallel query, no JIT."
	echo "Medians of $ROUNDS rounds, each family's queries interleaved (baseline, pattern, bare scan)."
	echo
	echo "- bare scan \`SELECT count(*) FROM events\`: **$BARE_ALL ms** ($(awk -v n="$NROWS" -v t="$BARE_ALL" 'BEGIN { printf "%.1f", n / t / 1000 }') M rows/s)"
	echo "- baseline \`SELECT count(*) FROM events WHERE event->'detail' ? 'x'\`: **$BASE_ALL ms** ($(awk -v n="$NROWS" -v t="$BASE_ALL" -v b="$BARE_ALL" 'BEGIN { printf "%.1f M rows/s; the filter alone %.2f M evals/s", n / t / 1000, n / (t - b) / 1000 }'))"
	echo
	echo "| Family | Pattern | Matches | Pattern ms | Baseline ms | Ratio | Rows/s scanned | Operator evals/s/core | Goal |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	while IFS=$'\t' read -r family pattern; do
		c=$(counts "$family")
		if [ "$(wc -l <<<"$c")" -ne 1 ]; then
			eb_log "$family: the match count differs between rounds: $(tr '\n' ' ' <<<"$c")"
			exit 1
		fi
		p=$(median "$family" pattern)
		b=$(median "$family" baseline)
		z=$(median "$family" bare)
		need_evals=0
		case "$GOAL_EVALS_FAMILIES" in *" $family "*) need_evals=1 ;; esac
		line=$(awk -v fam="$family" -v pat="$pattern" -v c="$c" -v n="$NROWS" \
			-v p="$p" -v b="$b" -v z="$z" -v ge="$GOAL_EVALS" -v gr="$GOAL_RATIO" -v ne="$need_evals" 'BEGIN {
				ratio = p / b
				evals = (p > z) ? n / (p - z) * 1000 : 0
				ok = (ratio <= gr) && (!ne || evals >= ge)
				goal = sprintf("%s ratio <= %.1f", (ratio <= gr) ? "ok" : "MISSED", gr)
				if (ne)
					goal = goal sprintf(", %s >= %.0fM evals/s", (evals >= ge) ? "ok" : "MISSED", ge / 1e6)
				printf "%d\t| %s | `%s` | %d (%.1f%%) | %.2f | %.2f | %.2f | %.2fM | %s | %s |\n",
					ok, fam, pat, c, 100 * c / n, p, b, ratio, n / p / 1000, \
					(evals > 0) ? sprintf("%.2fM", evals / 1e6) : "n/a", goal
			}')
		[ "${line%%$'\t'*}" = 1 ] || missed=$((missed + 1))
		echo "${line#*$'\t'}"
	done <<<"$PATTERNS"
	echo
	echo "Rows/s scanned = rows / pattern time.  Operator evals/s/core = rows / (pattern time - bare scan time),"
	echo "the bare scan being timed in the same rounds.  Ratio = pattern time / baseline time."
	echo "Goals: >= $((GOAL_EVALS / 1000000))M operator evaluations/s/core for single-field exact, prefix and numeric"
	echo "patterns; every pattern scan within ${GOAL_RATIO}x the baseline scan."
	echo
	if [ "$missed" -eq 0 ]; then
		echo "All goals met."
	else
		echo "Goals missed by $missed families."
	fi
} >"$EB_TMP/report.md"

bench_write_report
bench_exit "$missed"
