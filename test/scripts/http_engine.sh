#!/usr/bin/env bash
# The delivery workers' HTTP engine (src/target_http.c, src/http_*.c), end
# to end against test/http/server.py on 127.0.0.1, on a private cluster:
#   a  the request: method, "*" path parameters from the event (encoded),
#      query string and headers of the target (static and from the event)
#      and of the connection, Basic authorization, X-Eventbus-Event-Id,
#      Content-Type, the body with the connection's body parameters; GET
#      without a body; path values read from the event under an
#      InputTransformer (the body is the transformed payload)
#   b  outcomes: 400 dead-lettered at once ("HTTP 400", the body's first
#      256 bytes); 500 retried MaximumRetryAttempts times, then
#      dead-lettered; a timeout ("Timeout"); Retry-After honoured; a server
#      that is down (ConnectionError, retried) and comes back: all delivered
#   c  SSRF guard: loopback and metadata addresses refused (RequestDenied,
#      no request made) unless eventbus.http_allowed_networks lists them; a
#      host-name entry; narrowing the setting drops kept-alive connections
#   d  OAuth client credentials: one token for many requests (Basic client
#      credentials, scope in the body); a revoked token: 401, a new token,
#      the request sent again in the same batch, nothing dead-lettered;
#      tokens near their expiry are refreshed before use; the secret is in
#      no log or dead letter
#   e  InvocationRateLimitPerSecond: requests 1/rate apart
#   f  SIGTERM with requests in flight: the worker leaves at once, every
#      event is delivered afterwards (at least once)
#   g  eventbus._api_destination_stats() counts what happened
set -uo pipefail
# shellcheck source=test/scripts/lib/delivery.bash
. "$(dirname "$0")/lib/delivery.bash"
# shellcheck source=test/scripts/lib/http.bash
. "$(dirname "$0")/lib/http.bash"

own_cluster_start "eventbus.retry_base_delay = '100ms'" "eventbus.retry_max_delay = '10s'" \
	"eventbus.http_allowed_networks = '127.0.0.1'"
http_start --client-id cid --client-secret 's3cr3t-client' || exit 1
U=$HTTP_URL
q "SELECT pg_reload_conf()" >/dev/null
q "CREATE EXTENSION eventbus" || exit 1
wait_for "SELECT EXISTS (SELECT FROM eventbus.delivery_workers WHERE state = 'running')" 15 \
	|| { echo "no delivery worker"; exit 1; }

# dest NAME CONNECTION PATH METHOD [RATE [TIMEOUT_S]]
dest() {
	q "SELECT eventbus.create_api_destination('$1', '$2', '$U$3', '$4', ${5:-300}, NULL, ${6:-5})" >/dev/null
}
# rule NAME TARGETS-JSON: a rule on source NAME with these targets
rule() {
	q "SELECT eventbus.put_rule('$1', '{\"source\":[\"$1\"]}')" >/dev/null
	[ "$(q "SELECT eventbus.put_targets('$1', '$2') ->> 'FailedEntryCount'")" = 0 ] \
		|| echo "put_targets of rule $1 failed: $(q "SELECT eventbus.put_targets('$1', '$2')")"
}
# put SOURCE DETAIL [N]: N events (one transaction)
put() {
	q "SELECT eventbus.put_events((SELECT jsonb_agg(jsonb_build_object('Source', '$1',
	       'DetailType', 't', 'Detail', '$2')) FROM generate_series(1, ${3:-1})))" >/dev/null
}
field() { http_field "$1" "$2" | tail -n 1; }
dead() { q "SELECT count(*) FROM eventbus.dead_letters WHERE rule = '$1'"; }

q "SELECT eventbus.create_connection('basic', 'BASIC',
     '{\"BasicAuthParameters\": {\"Username\": \"u\", \"Password\": \"p w\"},
       \"InvocationHttpParameters\": {
         \"HeaderParameters\": [{\"Key\": \"X-Conn\", \"Value\": \"c1\", \"IsValueSecret\": false}],
         \"QueryStringParameters\": [{\"Key\": \"cq\", \"Value\": \"a b\", \"IsValueSecret\": true}],
         \"BodyParameters\": [{\"Key\": \"extra\", \"Value\": \"yes\", \"IsValueSecret\": false}]}}')" >/dev/null
q "SELECT eventbus.create_connection('key', 'API_KEY',
     '{\"ApiKeyAuthParameters\": {\"ApiKeyName\": \"x-api-key\", \"ApiKeyValue\": \"k123\"}}')" >/dev/null

section "a: the request"
dest d_req basic '/ok/req/*/x/*' PUT
dest d_get key '/auth/apikey/x-api-key/k123' GET
dest d_tr key '/ok/tr/*' PATCH
rule a '[{"Id": "req", "Arn": "api-destination:d_req",
          "HttpParameters": {"PathParameterValues": ["$.detail.id", "static v"],
                             "HeaderParameters": {"X-Det": "$.detail.name", "X-Static": "s", "X-Gone": "$.detail.nope"},
                             "QueryStringParameters": {"q1": "$.detail.id"}}},
         {"Id": "get", "Arn": "arn:aws:events:local:000000000000:api-destination/d_get"},
         {"Id": "tr", "Arn": "api-destination:d_tr",
          "InputTransformer": {"InputPathsMap": {"n": "$.detail.name"}, "InputTemplate": "{\"name\": <n>}"},
          "HttpParameters": {"PathParameterValues": ["$.detail.id"]}}]'
id=$(q "SELECT eventbus.put_events('[{\"Source\": \"a\", \"DetailType\": \"t\", \"Detail\": \"{\\\"id\\\": \\\"a/1 é\\\", \\\"name\\\": \\\"n1\\\"}\"}]') -> 'Entries' -> 0 ->> 'EventId'")
http_wait_count '^/ok/(req|tr)/|^/auth/' 3 10
check_eq "method and path parameters, URL-encoded" "$(field '^/ok/req/' 'r["method"] + " " + r["path"]')" \
	"PUT /ok/req/a%2F1%20%C3%A9/x/static%20v"
check_eq "query string: the target's from the event, then the connection's" "$(field '^/ok/req/' 'r["query"]')" \
	"q1=a%2F1%20%C3%A9&cq=a%20b"
check_eq "headers: the target's (a missing path leaves one out), the connection's, Basic, event id, JSON" \
	"$(field '^/ok/req/' '"|".join(map(str, map(r["headers"].get, ("X-Det", "X-Static", "X-Gone", "X-Conn", "Authorization", "X-Eventbus-Event-Id", "Content-Type"))))')" \
	"n1|s|None|c1|Basic dTpwIHc=|$id|application/json"
check_eq "body: the event with the connection's body parameters" \
	"$(field '^/ok/req/' 'json.loads(r["body"])["extra"] + " " + json.loads(r["body"])["id"] + " " + json.loads(r["body"])["detail"]["name"]')" \
	"yes $id n1"
check_eq "GET: API key header, no body, no Content-Type" \
	"$(field '^/auth/' 'str(r["status"]) + " " + repr(r["body"]) + " " + str(r["headers"].get("Content-Type"))')" "200 '' None"
check_eq "InputTransformer: path from the original event, body the transformed payload" \
	"$(field '^/ok/tr/' 'r["method"] + " " + r["path"] + " " + r["body"]')" 'PATCH /ok/tr/a%2F1%20%C3%A9 {"name": "n1"}'
check "all delivered, nothing dead-lettered" "SELECT count(*) = 0 FROM eventbus.dead_letters"

section "b: outcomes"
dest d_400 key '/status/400' POST
dest d_500 key '/status/500' POST
dest d_slow key '/slow/3000' POST 300 0.5
dest d_ra key '/retry-after/2' POST
rule b '[{"Id": "s400", "Arn": "api-destination:d_400"},
         {"Id": "s500", "Arn": "api-destination:d_500", "RetryPolicy": {"MaximumRetryAttempts": 2}},
         {"Id": "slow", "Arn": "api-destination:d_slow", "RetryPolicy": {"MaximumRetryAttempts": 1}},
         {"Id": "ra", "Arn": "api-destination:d_ra"}]'
put b '{}'
wait_for "SELECT count(*) = 3 FROM eventbus.dead_letters WHERE rule = 'b'" 20
check "400: dead letter at once, HTTP 400 and the body's first 256 bytes" \
	"SELECT error_code = 'HTTP 400' AND retry_attempts = 0 AND octet_length(error_message) = 256
	        AND error_message LIKE 'status 400 Bad Request%'
	   FROM eventbus.dead_letters WHERE target_id = 's400'"
check_eq "500: 3 requests (2 retries)" "$(http_count '^/status/500$')" 3
check "500: dead letter HTTP 500 after 2 retries" \
	"SELECT error_code = 'HTTP 500' AND retry_attempts = 2 FROM eventbus.dead_letters WHERE target_id = 's500'"
check "a timeout: Timeout, retried once" \
	"SELECT error_code = 'Timeout' AND retry_attempts = 1 FROM eventbus.dead_letters WHERE target_id = 'slow'"
http_wait_count '^/retry-after/2$' 2 10
gap=$(http_gaps '^/retry-after/2$' | head -n 1)
check_rc "Retry-After: 2 is honoured (the retry $gap s later)" \
	"$(python3 -c "import sys; sys.exit(0 if 2.0 <= float('$gap') < 4.0 else 1)"; echo $?)" "gap $gap"
http_stop
put a '{"id": "down", "name": "n"}' 5
sleep 1.5
check "server down: ConnectionError, retried" \
	"SELECT count(*) FILTER (WHERE last_error_code = 'ConnectionError') = 5
	   FROM $(q "SELECT outbox FROM eventbus.targets WHERE target_id = 'req'")"
http_start --client-id cid --client-secret 's3cr3t-client' || exit 1
wait_for "SELECT count(*) = 0 FROM $(q "SELECT outbox FROM eventbus.targets WHERE target_id = 'req'")" 15
check_ok "the server is back: all 5 delivered" $?
check_eq "none dead-lettered" "$(dead a)" 0

section "c: SSRF guard"
q "SELECT eventbus.create_api_destination('d_meta', 'key', 'http://169.254.169.254/latest/meta-data', 'GET', 300, NULL, 5)" >/dev/null
q "SELECT eventbus.create_api_destination('d_local', 'key', 'http://localhost:$HTTP_PORT/ok/local', 'POST', 300, NULL, 5)" >/dev/null
rule c '[{"Id": "meta", "Arn": "api-destination:d_meta"}, {"Id": "local", "Arn": "api-destination:d_local"},
         {"Id": "lo", "Arn": "api-destination:d_get"}]'
http_apply_settings eventbus.http_allowed_networks '' || echo "could not set eventbus.http_allowed_networks"
sleep 0.5
http_reset truncate
put c '{}'
wait_for "SELECT count(*) = 3 FROM eventbus.dead_letters WHERE rule = 'c'" 10
check "cloud metadata address refused, naming the address and the setting" \
	"SELECT error_code = 'RequestDenied' AND retry_attempts = 0
	        AND error_message LIKE '%169.254.169.254 (the cloud metadata address) is not allowed; add it to eventbus.http_allowed_networks%'
	   FROM eventbus.dead_letters WHERE target_id = 'meta'"
check "loopback refused, also on a connection kept alive from before" \
	"SELECT error_code = 'RequestDenied' AND error_message LIKE '%127.0.0.1 (a loopback address)%'
	   FROM eventbus.dead_letters WHERE target_id = 'lo'"
check "localhost refused" \
	"SELECT error_code = 'RequestDenied' AND error_message LIKE '%(a loopback address)%'
	   FROM eventbus.dead_letters WHERE target_id = 'local'"
check_eq "no request reached the server" "$(http_count '.')" 0
http_apply_settings eventbus.http_allowed_networks 'localhost'
sleep 0.5
put c '{}'
http_wait_count '^/ok/local$' 1 10
check_ok "a host-name entry allows that name (localhost)" $?
wait_for "SELECT count(*) = 5 FROM eventbus.dead_letters WHERE rule = 'c'" 10
check "... and no other (127.0.0.1 still refused)" \
	"SELECT count(*) = 2 FROM eventbus.dead_letters WHERE target_id = 'lo' AND error_code = 'RequestDenied'"
http_apply_settings eventbus.http_allowed_networks '127.0.0.0/8, localhost'

section "d: OAuth client credentials"
q "SELECT eventbus.create_connection('oauth', 'OAUTH_CLIENT_CREDENTIALS',
     '{\"OAuthParameters\": {\"AuthorizationEndpoint\": \"$U/oauth/token\", \"HttpMethod\": \"POST\",
        \"ClientParameters\": {\"ClientID\": \"cid\", \"ClientSecret\": \"s3cr3t-client\"},
        \"OAuthHttpParameters\": {\"BodyParameters\": [{\"Key\": \"scope\", \"Value\": \"read write\", \"IsValueSecret\": false}]}}}')" >/dev/null
dest d_oauth oauth '/oauth/protected' POST
rule d '[{"Id": "oauth", "Arn": "api-destination:d_oauth"}]'
http_reset truncate
put d '{}' 5
http_wait_count '^/oauth/protected$' 5 10
put d '{}' 3
http_wait_count '^/oauth/protected$' 8 10
nw=$(q "SELECT count(*) FROM eventbus.delivery_workers")
check_rc "tokens cached: $(http_count '^/oauth/token$') token requests for 8 requests, $nw workers" \
	"$([ "$(http_count '^/oauth/token$')" -le "$nw" ]; echo $?)" "$(http_count '^/oauth/token$') tokens"
check_eq "token request: client credentials in Basic, grant_type and scope in a form body" \
	"$(field '^/oauth/token$' 'r["headers"]["Authorization"] + " " + r["headers"]["Content-Type"] + " " + r["body"]')" \
	"Basic Y2lkOnMzY3IzdC1jbGllbnQ= application/x-www-form-urlencoded grant_type=client_credentials&scope=read%20write"
http_ctl revoke_tokens POST >/dev/null
http_reset truncate
# a worker with a cached token is the one that meets the 401 (each worker
# caches its own): put events one by one until one does
for i in 1 2 3 4 5 6 7 8 9 10; do
	put d '{}'
	http_wait_count '^/oauth/protected$' "$i" 10
	sleep 0.2
	http_field '^/oauth/protected$' 'r["status"]' | grep -q '^401$' && break
done
refused=$(http_field '^/oauth/protected$' 'r["event_id"] if r["status"] == 401 else ""' | grep -m1 .)
check_eq "a revoked token: 401, a new token, the same event sent again and delivered" \
	"$(http_field '^/oauth/' 'r["path"] + ":" + str(r["status"]) + (":refused" if r["event_id"] == "'"$refused"'" else "")' | grep -A2 ':401:refused' | paste -sd ' ')" \
	"/oauth/protected:401:refused /oauth/token:200 /oauth/protected:200:refused"
http_ctl "config?token_ttl=2" POST >/dev/null
http_ctl revoke_tokens POST >/dev/null
http_reset truncate
for i in 1 2 3 4 5 6 7 8 9 10; do put d '{}'; sleep 0.4; done
http_wait_count '^/oauth/protected$' 10 10
# each worker's token (they cache their own) gets one 401 after the
# revocation; then tokens of 2 s are refreshed 1 s before they expire, so
# none is refused again
n401=$(http_field '^/oauth/protected$' 'r["status"]' | grep -c '^401$')
ntok=$(http_count '^/oauth/token$')
check_rc "tokens of 2 s refreshed before they expire: $ntok tokens, $n401 refused requests in 4 s" \
	"$([ "$ntok" -ge 3 ] && [ "$n401" -le "$(q "SELECT count(*) FROM eventbus.delivery_workers")" ]; echo $?)" "$ntok tokens, $n401 401s"
check_eq "OAuth: nothing dead-lettered" "$(dead d)" 0
check_eq "the client secret is in no server log line" "$(grep -c 's3cr3t-client' "$EB_TMP/server.log")" 0
check "... nor in a dead letter or outbox" \
	"SELECT NOT EXISTS (SELECT FROM eventbus.dead_letters WHERE error_message LIKE '%s3cr3t%')"

section "e: rate limit"
dest d_rate key '/ok/rate' POST 5
rule e '[{"Id": "rate", "Arn": "api-destination:d_rate"}]'
http_reset truncate
put e '{}' 8
http_wait_count '^/ok/rate$' 8 15
mingap=$(http_gaps '^/ok/rate$' | sort -n | head -n 1)
check_rc "5 per second: requests at least 0.19 s apart (closest $mingap s)" \
	"$(python3 -c "import sys; sys.exit(0 if float('$mingap') >= 0.19 else 1)"; echo $?)" "closest $mingap"
check "rate_limited_waits counted" \
	"SELECT rate_limited_waits >= 6 FROM eventbus._api_destination_stats() WHERE name = 'd_rate'"

section "f: SIGTERM with requests in flight"
dest d_hold key '/slow/3000' POST 300 10
rule f '[{"Id": "hold", "Arn": "api-destination:d_hold"}]'
http_reset truncate
put f '{}' 5
http_wait_count '^/slow/3000$' 5 10
pid=$(q "SELECT pid FROM eventbus.delivery_workers WHERE activity = 'invoking' LIMIT 1")
t0=$(date +%s%N)
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null && [ $((($(date +%s%N) - t0) / 1000000)) -lt 5000 ]; do sleep 0.01; done
ms=$((($(date +%s%N) - t0) / 1000000))
check_rc "the worker left ${ms} ms after SIGTERM, requests of 3 s in flight" "$([ "$ms" -lt 1000 ]; echo $?)" "${ms} ms"
wait_for "SELECT count(*) = 0 FROM $(q "SELECT outbox FROM eventbus.targets WHERE target_id = 'hold'")" 20
check_ok "all 5 delivered afterwards" $?
read -r nreq nids _ <<<"$(http_ids '^/slow/3000$')"
check_rc "each event sent again (at least once): $nreq requests for $nids events" "$([ "$nids" = 5 ] && [ "$nreq" -ge 10 ]; echo $?)" "$nreq/$nids"
check_eq "nothing dead-lettered" "$(dead f)" 0

section "g: metrics"
check "d_500: 3 requests, 3 5xx" \
	"SELECT requests = 3 AND responses_5xx = 3 FROM eventbus._api_destination_stats() WHERE name = 'd_500'"
check "d_slow: 2 timeouts" \
	"SELECT timeouts = 2 AND responses_2xx = 0 FROM eventbus._api_destination_stats() WHERE name = 'd_slow'"
check "d_req: 2xx and network errors; latency percentiles" \
	"SELECT responses_2xx >= 6 AND network_errors >= 5 AND latency_p50_ms > 0
	        AND latency_p50_ms <= latency_p95_ms AND latency_p95_ms <= latency_p99_ms AND in_flight = 0
	   FROM eventbus._api_destination_stats() WHERE name = 'd_req'"

eb_finish
