#!/usr/bin/env bash
# The server-side request forgery guard of API destinations, on a private
# cluster that starts with eventbus.http_allowed_networks = '' (nothing
# private allowed):
#   a  destinations at loopback (127.0.0.1, 127.1.2.3, 0.0.0.0, [::1],
#      [::ffff:127.0.0.1], localhost), private ranges (10.x, 172.16.x,
#      192.168.x, [fd12::1]), link-local and cloud metadata (169.254.169.254,
#      [fd00:ec2::254]) are refused at delivery: a dead letter with a clear
#      error at once, and no request reaches the test server
#   b  with 127.0.0.1/32 allowed: the same 127.0.0.1 destination delivers;
#      127.1.2.3 and 169.254.169.254 are still refused (only what is listed)
#   c  redirects are not followed: a 302 with a Location is the answer
#      (dead letter HTTP 302), nothing is requested at the Location
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"
# shellcheck source=test/scripts/lib/http.bash
. "$(dirname "$0")/lib/http.bash"

HTTP_ALLOWED_NETWORKS=
http_cluster_start
http_start || exit 1
P=$HTTP_PORT
echo "     test HTTP server on 127.0.0.1:$P"
# a refusal says why: the setting, or that the address is not allowed
REFUSAL='(http_allowed_networks|not allowed|refus|denied|forbidden|blocked|not permitted)'

# name -> endpoint; every one points at the test server's port, so a
# request that got through to 127.0.0.1 would be in its log
declare -A EP=(
	[lo4]="http://127.0.0.1:$P/ok/ssrf/lo4"
	[lo4b]="http://127.1.2.3:$P/ok/ssrf/lo4b"
	[any4]="http://0.0.0.0:$P/ok/ssrf/any4"
	[lo6]="http://[::1]:$P/ok/ssrf/lo6"
	[mapped]="http://[::ffff:127.0.0.1]:$P/ok/ssrf/mapped"
	[localhost]="http://localhost:$P/ok/ssrf/localhost"
	[p10]="http://10.1.2.3:$P/ok/ssrf/p10"
	[p172]="http://172.16.5.4:$P/ok/ssrf/p172"
	[p192]="http://192.168.1.1:$P/ok/ssrf/p192"
	[ula]="http://[fd12::1]:$P/ok/ssrf/ula"
	[meta4]="http://169.254.169.254/latest/meta-data/"
	[meta6]="http://[fd00:ec2::254]/latest/meta-data/"
)
names="lo4 lo4b any4 lo6 mapped localhost p10 p172 p192 ula meta4 meta6"

section "a: nothing private allowed"
for n in $names; do
	q "SELECT eb_h_dest('$n', '${EP[$n]}', 'POST');
	   SELECT eb_h_route('$n', '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 0}}')" >/dev/null || exit 1
	http_put "$n" '{}' >/dev/null
done
for n in $names; do
	wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = '$n')" 15
	row=$(q "SELECT error_code || ' | ' || error_message FROM eventbus.dead_letters WHERE rule = '$n' LIMIT 1")
	printf '     %-10s %-45s -> %s\n' "$n" "${EP[$n]}" "${row:-(no dead letter)}"
	check "$n (${EP[$n]}): refused with a clear error" \
		"SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = '$n' AND error_message ~* '$REFUSAL')"
done
check "none of them was delivered or is still waiting" \
	"SELECT bool_and(eb_t_outbox_count('default', r, 't') = 0) FROM unnest(string_to_array('$names', ' ')) r"
sleep 1
check_eq "no request reached the test server" "$(http_count '.')" 0

section "b: 127.0.0.1/32 allowed"
q "ALTER SYSTEM SET eventbus.http_allowed_networks = '127.0.0.1/32'" && q "SELECT pg_reload_conf()" >/dev/null
wait_for "SELECT current_setting('eventbus.http_allowed_networks') = '127.0.0.1/32'" 5
# the worker has seen the reload once it woke up twice after it
for _ in 1 2; do
	t=$(q "SELECT clock_timestamp()")
	http_put meta4 '{"wake": 1}' >/dev/null
	wait_for "SELECT last_wake > '$t' FROM eventbus.delivery_workers WHERE database = current_database()" 5
done
id_ok=$(http_put lo4 '{"after": "allowed"}')
check_ok "the 127.0.0.1 destination delivers" "$(http_wait_count '^/ok/ssrf/lo4$' 1 15; echo $?)"
check_eq "... the event that was put after the change" "$(http_field '^/ok/ssrf/lo4$' 'r["event_id"]')" "$id_ok"
check_eq "redriving its dead letter delivers the first event too" \
	"$(q "SELECT eventbus.redrive_dead_letters(bus => 'default', rule => 'lo4')")/$(http_wait_count '^/ok/ssrf/lo4$' 2 15; echo $?)" 1/0
before=$(q "SELECT count(*) FROM eventbus.dead_letters WHERE rule IN ('lo4b', 'meta4')")
http_put lo4b '{}' >/dev/null
http_put meta4 '{}' >/dev/null
wait_for "SELECT count(*) >= $before + 2 FROM eventbus.dead_letters WHERE rule IN ('lo4b', 'meta4')" 15
check "127.1.2.3 (loopback, not in 127.0.0.1/32) and 169.254.169.254 are still refused" \
	"SELECT count(*) = 2 FROM (SELECT DISTINCT ON (rule) rule, error_message FROM eventbus.dead_letters
	                            WHERE rule IN ('lo4b', 'meta4') ORDER BY rule, dead_letter_id DESC) d
	  WHERE error_message ~* '$REFUSAL'"
check_eq "nothing reached /ok/ssrf/lo4b" "$(http_count '^/ok/ssrf/lo4b$')" 0

section "c: redirects are not followed"
q "SELECT eb_h_dest('redirect', '$HTTP_URL/status/302/redirect', 'POST');
   SELECT eb_h_route('redirect', '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 0}}')" >/dev/null || exit 1
http_put redirect '{}' >/dev/null
wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'redirect')" 15
echo "     $(q "SELECT error_code || ' | ' || left(error_message, 60) FROM eventbus.dead_letters WHERE rule = 'redirect'")"
check "the 302 is the outcome: dead letter HTTP 302" \
	"SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'redirect' AND error_code = 'HTTP 302')"
sleep 1
check_eq "one request to /status/302/redirect, none to its Location" \
	"$(http_count '^/status/302/redirect$')/$(http_count '^/ok/redirected')" 1/0

eb_finish
