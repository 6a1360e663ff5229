#!/usr/bin/env bash
# Delivery to API destinations, end to end, against the local test HTTP
# server (test/http/server.py, see test/http/README.md), on a private
# cluster with eventbus.http_allowed_networks = '127.0.0.1/32':
#   a  the body is the event (Content-Type application/json), with the
#      X-Eventbus-Event-Id header; an InputTransformer'd payload
#   b  each HTTP method of a destination
#   c  HttpParameters: PathParameterValues, HeaderParameters,
#      QueryStringParameters, static and from the event; the connection's
#      InvocationHttpParameters (headers, query string, body fields)
#   d  Basic and API key authorization (right and wrong secrets)
#   e  OAuth client credentials: one token for many requests; revoked,
#      the 401 leads to one refresh and the delivery
#   f  400: dead letter at once with "HTTP 400" and the start of the body
#   g  500 twice then 200: retried and delivered
#   h  429 with Retry-After: 2: the retry waits 2 s (measured in the log)
#   i  a destination timeout of 1 s against /never: retried, then dead-lettered
#   j  InvocationRateLimitPerSecond 5 with 20 events: the request times
#      respect a token bucket of 5/s
#   k  keep-alive: sequential requests reuse one connection
#   l  secrets never appear in the PostgreSQL server log nor in dead letters
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"
# shellcheck source=test/scripts/lib/http.bash
. "$(dirname "$0")/lib/http.bash"

# secrets: each must never be printed by PostgreSQL
S_BASIC=pw-secret-BASIC-7f3a
S_APIKEY=k-secret-APIKEY-91c2
S_OAUTH=oauth-secret-XYZ-55d0
S_HEADER=hdr-secret-VALUE-0b9e
OAUTH_ID=eb-oauth-client

# log_min_messages = debug1: whatever the extension logs, even at DEBUG, is in the log
http_cluster_start "log_min_messages = debug1" "eventbus.delivery_workers = 1"
http_start --client-id "$OAUTH_ID" --client-secret "$S_OAUTH" || exit 1
U=$HTTP_URL
echo "     test HTTP server at $U, log $HTTP_LOG"
qs() { "$EB_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 -f -; }
# field REGEX EXPR: EXPR of the last request whose path matches REGEX
field() { http_field "$1" "$2" | tail -n 1; }
dead_letters() { q "SELECT count(*) FROM eventbus.dead_letters WHERE rule = '$1'"; }
# delivered NAME N SECS: N requests of rule NAME's events answered 2xx
delivered_ok() {
	local name=$1 n=$2 secs=$3 deadline=$((SECONDS + $3))
	while [ $SECONDS -le $deadline ]; do
		[ "$(http_field "^/" "r['status'] is not None and 200 <= r['status'] < 300 and r['event_id']" |
			grep -cxFf <(q "SELECT id FROM eventbus.events WHERE source = 'http.$name'"))" -ge "$n" ] && return 0
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------------
section "a: the body is the event; X-Eventbus-Event-Id; InputTransformer"
q "SELECT eb_h_dest('body', '$U/ok/body', 'POST'); SELECT eb_h_route('body')" >/dev/null || exit 1
id_a=$(http_put body '{"n": 5, "s": "é \"q\"", "list": [1, 2]}')
check_ok "one request to /ok/body" "$(http_wait_count '^/ok/body$' 1 15; echo $?)"
q "CREATE TABLE public.got (body jsonb, ctype text, eid text)"
field '^/ok/body$' 'json.dumps([r["body"], r["headers"].get("Content-Type", ""), r["event_id"]])' |
	python3 -c 'import json,sys; b,c,e=json.loads(sys.stdin.read()); print(json.dumps({"body": b, "ctype": c, "eid": e}))' >"$HTTP_DIR/a.json"
q "INSERT INTO public.got SELECT (j->>'body')::jsonb, j->>'ctype', j->>'eid' FROM (SELECT pg_read_file('$HTTP_DIR/a.json')::jsonb j) s"
check "the body is the event's envelope (id, source, detail-type, detail, time, account, region)" \
	"SELECT g.body = v.envelope FROM public.got g, eventbus.event_envelopes v WHERE v.id = '$id_a'"
check "Content-Type: application/json" "SELECT ctype LIKE 'application/json%' FROM public.got"
check_eq "X-Eventbus-Event-Id is the event id" "$(field '^/ok/body$' 'r["event_id"]')" "$id_a"
check "no dead letter" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'body')"

qs >/dev/null <<SQL || exit 1
SELECT eb_h_dest('xform', '$U/ok/xform', 'POST');
SELECT eb_h_route('xform', '{"InputTransformer": {"InputPathsMap": {"n": "$.detail.n", "src": "$.source"},
                              "InputTemplate": "{\"num\": <n>, \"from\": <src>, \"fixed\": \"x\"}"}}');
SQL
id_x=$(http_put xform '{"n": 7}')
check_ok "one request to /ok/xform" "$(http_wait_count '^/ok/xform$' 1 15; echo $?)"
check_eq "InputTransformer: the body is the transformed payload" \
	"$(field '^/ok/xform$' 'json.loads(r["body"]) == {"num": 7, "from": "http.xform", "fixed": "x"}')" True
check_eq "... and still carries X-Eventbus-Event-Id" "$(field '^/ok/xform$' 'r["event_id"]')" "$id_x"

# ---------------------------------------------------------------------
section "b: methods"
for m in POST PUT PATCH DELETE GET HEAD OPTIONS; do
	q "SELECT eb_h_dest('m-$m', '$U/ok/method/$m', '$m'); SELECT eb_h_route('m-$m')" >/dev/null || exit 1
	http_put "m-$m" '{}' >/dev/null
done
for m in POST PUT PATCH DELETE GET HEAD OPTIONS; do
	http_wait_count "^/ok/method/$m\$" 1 15
	check_eq "a $m destination sends $m" "$(field "^/ok/method/$m\$" 'r["method"]')" "$m"
done
check_eq "POST, PUT, PATCH carry the event as body" \
	"$(for m in POST PUT PATCH; do field "^/ok/method/$m\$" 'json.loads(r["body"])["source"]'; done | tr '\n' ' ')" \
	"http.m-POST http.m-PUT http.m-PATCH "

# ---------------------------------------------------------------------
section "c: HttpParameters and the connection's InvocationHttpParameters"
qs >/dev/null <<SQL || exit 1
SELECT eventbus.create_connection('params-conn', 'API_KEY',
  '{"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "$S_APIKEY"},
    "InvocationHttpParameters": {
      "HeaderParameters": [{"Key": "X-Conn-Header", "Value": "conn-value", "IsValueSecret": false},
                           {"Key": "X-Conn-Secret", "Value": "$S_HEADER", "IsValueSecret": true}],
      "QueryStringParameters": [{"Key": "conn_q", "Value": "conn qv", "IsValueSecret": false}],
      "BodyParameters": [{"Key": "conn_field", "Value": "bf", "IsValueSecret": false}]}}');
SELECT eventbus.create_api_destination('params', 'params-conn', '$U/ok/params/*/mid/*', 'POST');
SELECT eb_h_route('params', '{"HttpParameters": {
    "PathParameterValues": ["$.detail.seg", "static-seg"],
    "HeaderParameters": {"X-Static": "s-value", "X-From-Event": "$.detail.h"},
    "QueryStringParameters": {"q_static": "qs", "q_event": "$.detail.q"}}}');
SQL
id_c=$(http_put params '{"seg": "a b/c", "h": "header-from-event", "q": "q&v=1"}')
check_ok "one request to /ok/params/..." "$(http_wait_count '^/ok/params/' 1 15; echo $?)"
check_eq "PathParameterValues fill the *s in order, URL-encoded" \
	"$(field '^/ok/params/' 'r["path"]')" "/ok/params/a%20b%2Fc/mid/static-seg"
check_eq "static and event HeaderParameters" \
	"$(field '^/ok/params/' 'r["headers"].get("X-Static"), r["headers"].get("X-From-Event")')" "('s-value', 'header-from-event')"
check_eq "static and event QueryStringParameters, URL-encoded; the connection's query string too" \
	"$(field '^/ok/params/' 'sorted(__import__("urllib.parse").parse.parse_qsl(r["query"]))')" \
	"[('conn_q', 'conn qv'), ('q_event', 'q&v=1'), ('q_static', 'qs')]"
check_eq "the connection's headers (plain and secret) and its API key" \
	"$(field '^/ok/params/' 'r["headers"].get("X-Conn-Header"), r["headers"].get("X-Conn-Secret") == "'"$S_HEADER"'", r["headers"].get("x-api-key") == "'"$S_APIKEY"'"')" \
	"('conn-value', True, True)"
check_eq "the connection's BodyParameters merged into the event body" \
	"$(field '^/ok/params/' 'json.loads(r["body"]).get("conn_field"), json.loads(r["body"]).get("id")')" "('bf', '$id_c')"

# ---------------------------------------------------------------------
section "d: Basic and API key"
qs >/dev/null <<SQL || exit 1
SELECT eb_h_dest('basic', '$U/auth/basic/alice/$S_BASIC/x', 'POST', 'BASIC',
                 '{"BasicAuthParameters": {"Username": "alice", "Password": "$S_BASIC"}}');
SELECT eb_h_route('basic');
SELECT eb_h_dest('basic-bad', '$U/auth/basic/alice/$S_BASIC/y', 'POST', 'BASIC',
                 '{"BasicAuthParameters": {"Username": "alice", "Password": "not-$S_BASIC"}}');
SELECT eb_h_route('basic-bad', '{"RetryPolicy": {"MaximumRetryAttempts": 1}}');
SELECT eb_h_dest('apikey', '$U/auth/apikey/x-api-key/$S_APIKEY/x', 'POST', 'API_KEY',
                 '{"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "$S_APIKEY"}}');
SELECT eb_h_route('apikey');
SQL
http_put basic '{}' >/dev/null
http_put basic-bad '{}' >/dev/null
http_put apikey '{}' >/dev/null
check_ok "Basic: delivered (200)" "$(delivered_ok basic 1 15; echo $?)"
check_ok "API key: delivered (200)" "$(delivered_ok apikey 1 15; echo $?)"
check_ok "Basic with a wrong password: 401 is retried (once), then dead-lettered" \
	"$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'basic-bad')" 15; echo $?)"
check_eq "... after 2 requests, both 401" "$(http_field '/auth/basic/alice/[^/]*/y$' 'r["status"]' | tr '\n' ' ')" "401 401 "
echo "     dead letter: $(q "SELECT error_code || ' / ' || left(error_message, 60) FROM eventbus.dead_letters WHERE rule = 'basic-bad'")"
check "... dead letter naming the 401, 1 retry" \
	"SELECT bool_and(error_code LIKE '%401%' AND retry_attempts = 1) FROM eventbus.dead_letters WHERE rule = 'basic-bad'"

# ---------------------------------------------------------------------
section "e: OAuth client credentials"
qs >/dev/null <<SQL || exit 1
SELECT eb_h_dest('oauth', '$U/oauth/protected/*', 'POST', 'OAUTH_CLIENT_CREDENTIALS',
  '{"OAuthParameters": {"AuthorizationEndpoint": "$U/oauth/token", "HttpMethod": "POST",
      "ClientParameters": {"ClientID": "$OAUTH_ID", "ClientSecret": "$S_OAUTH"},
      "OAuthHttpParameters": {"BodyParameters": [{"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": false},
                                                 {"Key": "scope", "Value": "events:write", "IsValueSecret": false}]}}}');
SELECT eb_h_route('oauth', '{"HttpParameters": {"PathParameterValues": ["$.id"]}}');
SQL
for _ in 1 2 3 4 5; do http_put oauth '{}' >/dev/null; done
check_ok "5 events delivered with a Bearer token (200)" "$(delivered_ok oauth 5 20; echo $?)"
check_eq "one token request for the 5" "$(http_count '^/oauth/token$')" 1
check_eq "... answered 200" "$(field '^/oauth/token$' 'r["status"]')" 200
check_eq "... a client credentials grant with the scope, credentials sent (Basic or body)" \
	"$(field '^/oauth/token$' '"grant_type=client_credentials" in r["body"] and "scope=events" in r["body"] and ("Authorization" in r["headers"] or "client_secret" in r["body"])')" True
check_eq "the 5 requests carry the same token" \
	"$(http_field '^/oauth/protected/' 'r["headers"].get("Authorization")' | sort -u | wc -l)" 1
revoked=$(http_ctl revoke_tokens POST)
echo "     /_control/revoke_tokens: $revoked"
for _ in 1 2 3; do
	before=$(http_count '^/oauth/protected/')
	http_put oauth '{}' >/dev/null
	http_wait_count '^/oauth/protected/' $((before + 1)) 15
	sleep 0.3
done
check_ok "after the revocation: the 3 new events delivered too (200)" "$(delivered_ok oauth 8 30; echo $?)"
check "... no dead letter" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'oauth')"
n401=$(http_field '^/oauth/protected/' 'r["status"]' | grep -c '^401$')
echo "     protected requests: $(http_count '^/oauth/protected/'), of which 401: $n401; token requests: $(http_count '^/oauth/token$')"
check_eq "the revoked token got 401 (once: the next one used the new token)" "$n401" 1
check_eq "one refresh after the 401 (2 token requests in all)" "$(http_count '^/oauth/token$')" 2

# ---------------------------------------------------------------------
section "f: 400 -> dead letter at once"
q "SELECT eb_h_dest('s400', '$U/status/400/x', 'POST'); SELECT eb_h_route('s400')" >/dev/null || exit 1
id_f=$(http_put s400 '{}')
check_ok "dead-lettered" "$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 's400')" 15; echo $?)"
q "SELECT error_code, retry_attempts, exhausted_condition, length(error_message), left(error_message, 40)
     FROM eventbus.dead_letters WHERE rule = 's400'" | sed 's/^/     dead letter: /'
check "... error_code 'HTTP 400', no retry, the event id" \
	"SELECT count(*) = 1 AND bool_and(error_code = 'HTTP 400' AND retry_attempts = 0 AND event_id = '$id_f')
	   FROM eventbus.dead_letters WHERE rule = 's400'"
check "... error_message: the start of the body (at most 256 bytes)" \
	"SELECT bool_and(error_message LIKE 'status 400 Bad Request 0123456789%' AND octet_length(error_message) BETWEEN 100 AND 256)
	   FROM eventbus.dead_letters WHERE rule = 's400'"
sleep 1
check_eq "one request only" "$(http_count '^/status/400/x$')" 1

# ---------------------------------------------------------------------
section "g: 500 twice, then 200"
q "SELECT eb_h_dest('flaky', '$U/flaky/2/*', 'POST');
   SELECT eb_h_route('flaky', '{\"HttpParameters\": {\"PathParameterValues\": [\"\$.id\"]}}')" >/dev/null || exit 1
id_g=$(http_put flaky '{}')
check_ok "delivered" "$(delivered_ok flaky 1 20; echo $?)"
check_eq "after 3 requests: 500 500 200" "$(http_field "^/flaky/2/$id_g\$" 'r["status"]' | tr '\n' ' ')" "500 500 200 "
check "no dead letter" "SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'flaky')"

# ---------------------------------------------------------------------
section "h: 429 with Retry-After: 2"
q "SELECT eb_h_dest('ra', '$U/retry-after/2/*', 'POST');
   SELECT eb_h_route('ra', '{\"HttpParameters\": {\"PathParameterValues\": [\"\$.id\"]}}')" >/dev/null || exit 1
id_h=$(http_put ra '{}')
check_ok "delivered" "$(delivered_ok ra 1 20; echo $?)"
check_eq "2 requests: 429 then 200" "$(http_field "^/retry-after/2/$id_h\$" 'r["status"]' | tr '\n' ' ')" "429 200 "
gap=$(http_gaps "^/retry-after/2/$id_h\$" | head -n 1)
echo "     gap between the 429 and the retry: ${gap:-none} s"
check_eq "the retry came 2 s (Retry-After) or more later, and under 5 s" \
	"$(awk -v g="${gap:-0}" 'BEGIN { print (g >= 1.95 && g < 5) ? "yes" : "no" }')" yes

# ---------------------------------------------------------------------
section "i: timeout (timeout_seconds 1, /never)"
q "SELECT eb_h_dest('never', '$U/never/x', 'POST', NULL, NULL, 300, 1);
   SELECT eb_h_route('never', '{\"RetryPolicy\": {\"MaximumRetryAttempts\": 2}}')" >/dev/null || exit 1
t0=$(date +%s)
http_put never '{}' >/dev/null
check_ok "dead-lettered after the retries" "$(wait_for "SELECT EXISTS (SELECT FROM eventbus.dead_letters WHERE rule = 'never')" 30; echo $?)"
echo "     after $(($(date +%s) - t0)) s: $(q "SELECT error_code || ' / ' || left(error_message, 80) || ' / retries ' || retry_attempts FROM eventbus.dead_letters WHERE rule = 'never'")"
check "... 2 retries, MaximumRetryAttempts" \
	"SELECT bool_and(retry_attempts = 2 AND exhausted_condition = 'MaximumRetryAttempts') FROM eventbus.dead_letters WHERE rule = 'never'"
check_eq "3 requests reached /never" "$(http_count '^/never/x$')" 3
gaps=$(http_gaps '^/never/x$' | tr '\n' ' ')
check_eq "each attempt waited for its 1 s timeout (gaps: $gaps)" \
	"$(echo "$gaps" | awk '{ ok = NF == 2; for (i = 1; i <= NF; i++) if ($i < 0.95) ok = 0; print ok ? "yes" : "no" }')" yes

# ---------------------------------------------------------------------
section "j: InvocationRateLimitPerSecond 5, 20 events"
q "SELECT eb_h_dest('rate', '$U/ok/rate/*', 'POST', NULL, NULL, 5);
   SELECT eb_h_route('rate', '{\"HttpParameters\": {\"PathParameterValues\": [\"\$.id\"]}}')" >/dev/null || exit 1
http_put_many rate 20 >/dev/null
check_ok "20 requests" "$(http_wait_count '^/ok/rate/' 20 30; echo $?)"
http_load_log public.http_log
# a token bucket of 5/s with a burst of at most 5: any k successive
# requests span at least (k - 5) / 5 s (20 ms of tolerance per request)
q "CREATE TABLE public.rate_t AS SELECT row_number() OVER (ORDER BY at) k, at FROM public.http_log WHERE path LIKE '/ok/rate/%'"
span=$(q "SELECT round(extract(epoch FROM max(at) - min(at))::numeric, 2) FROM public.rate_t")
worst=$(q "SELECT round(max((b.k - a.k + 1 - 5) / 5.0 - extract(epoch FROM b.at - a.at))::numeric, 3)
             FROM public.rate_t a JOIN public.rate_t b ON b.k > a.k")
echo "     20 requests in $span s; largest excess over a 5/s bucket of 5: $worst s"
check "the 20 requests took 3 s or more (15 after a burst of 5, at 5/s) and under 8 s" \
	"SELECT $span >= 2.9 AND $span < 8"
check "no run of requests came faster than the bucket allows" "SELECT $worst <= 0.1"
check_eq "each event once" "$(http_ids '^/ok/rate/')" "20 20 0"

# ---------------------------------------------------------------------
section "k: keep-alive"
q "SELECT eb_h_dest('ka', '$U/ok/ka/*', 'POST');
   SELECT eb_h_route('ka', '{\"HttpParameters\": {\"PathParameterValues\": [\"\$.id\"]}}')" >/dev/null || exit 1
for i in $(seq 10); do
	http_put ka "{\"i\": $i}" >/dev/null
	http_wait_count '^/ok/ka/' "$i" 10
done
ports=$(http_ports '^/ok/ka/')
echo "     requests, distinct client ports: $ports"
check_eq "10 sequential requests over at most 2 connections" \
	"$(echo "$ports" | awk '{ print ($1 == 10 && $2 <= 2) ? "yes" : "no" }')" yes
reused=$(http_field '^/ok/ka/' 'r["conn_request"] > 1' | grep -c True)
check_eq "at least 8 of the 10 came on a connection already used before ($reused)" \
	"$([ "$reused" -ge 8 ] && echo yes)" yes

# ---------------------------------------------------------------------
section "l: secrets"
tokens=$(http_field '^/oauth/protected/' 'r["headers"].get("Authorization", "").split(" ")[-1]' | sort -u | grep -v '^$')
basic64=$(printf '%s' "alice:$S_BASIC" | base64)
oauth64=$(printf '%s' "$OAUTH_ID:$S_OAUTH" | base64)
leaks=
for s in "$S_BASIC" "$S_APIKEY" "$S_OAUTH" "$S_HEADER" "$basic64" "$oauth64" $tokens; do
	grep -qF -- "$s" "$EB_TMP/server.log" && leaks="$leaks ${s:0:12}..."
done
echo "     server log: $(wc -l <"$EB_TMP/server.log") lines searched for 4 secrets, 2 Basic credentials and $(echo "$tokens" | wc -w) access tokens"
check_eq "no secret or access token in the PostgreSQL server log" "${leaks:-none}" none
check "no secret in dead letters" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters d
	    WHERE d::text LIKE ANY (ARRAY['%$S_BASIC%', '%$S_APIKEY%', '%$S_OAUTH%', '%$S_HEADER%']))"
check "no secret in describe_connection or list_connections" \
	"SELECT NOT (x LIKE ANY (ARRAY['%$S_BASIC%', '%$S_APIKEY%', '%$S_OAUTH%', '%$S_HEADER%']))
	   FROM (SELECT eventbus.describe_connection('basic-conn')::text || eventbus.describe_connection('params-conn')::text
	                || eventbus.describe_connection('oauth-conn')::text || eventbus.list_connections()::text AS x) s"

eb_finish
