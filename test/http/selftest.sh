#!/usr/bin/env bash
# The test HTTP server (test/http/server.py) and its shell helpers
# (test/scripts/lib/http.bash) on their own, with curl as the client: every
# behaviour of test/http/README.md, the log, keep-alive, concurrency, the
# control endpoints, stop and come back on the same port.  No PostgreSQL.
#
#   test/http/selftest.sh        exits 1 when any check failed
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

CHECKS=0
FAILS=0
ok() { CHECKS=$((CHECKS + 1)); echo "  ok: $1"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "  FAIL: $1${2:+ ($2)}"; }
expect() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
section() { echo "-- $*"; }

command -v curl >/dev/null || { echo "selftest needs curl"; exit 1; }
# shellcheck source=test/scripts/lib/http.bash
. test/scripts/lib/http.bash

C() { curl --noproxy '*' -s "$@"; }
# status CURL-ARGS...: the status code only
status() { C -o /dev/null -w '%{http_code}' "$@"; }
last() { python3 "$HTTP_LOGTOOL" field "$HTTP_LOG" "$1" "$2" | tail -n 1; }

http_start --token-ttl 30 --client-id cid --client-secret 's3cr:et' || exit 1
echo "server on $HTTP_URL (pid $HTTP_PID), log $HTTP_LOG"
U=$HTTP_URL

section "listening on 127.0.0.1 only"
listen=$(ss -Hltn "sport = :$HTTP_PORT" 2>/dev/null | awk '{print $4}' | sort -u | tr '\n' ' ')
expect "the only listening address is 127.0.0.1:$HTTP_PORT" "$listen" "127.0.0.1:$HTTP_PORT "

section "/ok, methods, the log"
expect "POST /ok -> 200" "$(status -X POST -H 'Content-Type: application/json' -H 'X-Eventbus-Event-Id: 11111111-2222-3333-4444-555555555555' -H 'X-Custom: a b' --data '{"n": 1, "s": "é"}' "$U/ok/a/b?x=1&y=%20z")" 200
expect "logged: method" "$(last '^/ok/a/b$' 'r["method"]')" POST
expect "logged: query (raw)" "$(last '^/ok/a/b$' 'r["query"]')" 'x=1&y=%20z'
expect "logged: body text" "$(last '^/ok/a/b$' 'r["body"]')" '{"n": 1, "s": "é"}'
expect "logged: a header" "$(last '^/ok/a/b$' 'r["headers"]["X-Custom"]')" 'a b'
expect "logged: event_id from X-Eventbus-Event-Id" "$(last '^/ok/a/b$' 'r["event_id"]')" 11111111-2222-3333-4444-555555555555
expect "logged: time is an epoch float near now" "$(last '^/ok/a/b$' 'abs(r["time"] - __import__("time").time()) < 10')" True
expect "logged: client_port is a number" "$(last '^/ok/a/b$' 'isinstance(r["client_port"], int) and r["client_port"] > 0')" True
for m in GET PUT PATCH DELETE OPTIONS; do
	expect "$m /ok -> 200 and logged as $m" "$(status -X $m "$U/ok/m-$m")/$(last "^/ok/m-$m\$" 'r["method"]')" "200/$m"
done
expect "HEAD /ok -> 200, no body" "$(C -I -o /dev/null -w '%{http_code}/%{size_download}' "$U/ok/head")" 200/0
expect "unknown path -> 404" "$(status "$U/nothing/here")" 404

big=$(head -c 3000 /dev/zero | tr '\0' 'x')
expect "a 3000-byte body (curl sends Expect: 100-continue) is read whole" \
	"$(status -H 'Expect: 100-continue' --data "$big" "$U/ok/big")/$(last '^/ok/big$' 'len(r["body"])')" 200/3000
expect "a chunked body is read whole" \
	"$(printf 'chunk%.0s' $(seq 100) | status -H 'Transfer-Encoding: chunked' --data-binary @- "$U/ok/chunked")/$(last '^/ok/chunked$' 'len(r["body"])')" 200/500

section "/status/<code>"
for code in 200 204 400 401 404 409 500 503; do
	expect "/status/$code -> $code" "$(status "$U/status/$code/x")" "$code"
done
body=$(C "$U/status/400/body")
expect "a 4xx body starts with 'status 400 Bad Request' and is 300 bytes" "${body:0:22}/${#body}" "status 400 Bad Request/300"
expect "logged status" "$(last '^/status/400/body$' 'r["status"]')" 400
expect "/status/302 carries a Location" "$(C -o /dev/null -w '%{redirect_url}' "$U/status/302/r1")" "$U/ok/redirected/status/302/r1"
C -o /dev/null "$U/status/302/r2"
expect "... which curl without -L does not follow (one request logged, none to /ok/redirected)" \
	"$(http_count '^/status/302/r2$')/$(http_count '^/ok/redirected/status/302/r2$')" 1/0
expect "/status/99 -> 400 (not a status)" "$(status "$U/status/99/x")" 400

section "/retry-after/<seconds>"
h=$(C -D - -o /dev/null "$U/retry-after/3/p1" | tr -d '\r')
expect "first request per path: 429" "$(echo "$h" | head -n 1 | cut -d' ' -f2)" 429
expect "... with Retry-After: 3" "$(echo "$h" | grep -i '^retry-after:' | cut -d' ' -f2)" 3
expect "second request on the same path: 200" "$(status "$U/retry-after/3/p1")" 200
expect "third: 200" "$(status "$U/retry-after/3/p1")" 200
expect "another path: 429 again" "$(status "$U/retry-after/3/p2")" 429
expect "the query string does not make a path distinct" "$(status "$U/retry-after/3/p2?a=1")" 200

section "/flaky/<n>"
got=
for _ in 1 2 3 4; do got="$got $(status -X POST -d '{}' "$U/flaky/2/f1")"; done
expect "/flaky/2: 500 500 200 200" "$got" " 500 500 200 200"
expect "/flaky/0: 200 at once" "$(status "$U/flaky/0/f2")" 200

section "/slow/<ms>"
t=$(C -o /dev/null -w '%{http_code} %{time_total}' "$U/slow/400/s1")
expect "/slow/400: 200" "${t% *}" 200
expect "... after 0.4 s or more (and under 3 s)" "$(awk -v t="${t#* }" 'BEGIN { print (t >= 0.4 && t < 3) ? "yes" : t }')" yes
t0=$(date +%s%N)
pids=()
for i in $(seq 20); do C -o /dev/null "$U/slow/700/par-$i" & pids+=($!); done
wait "${pids[@]}"
ms=$((($(date +%s%N) - t0) / 1000000))
expect "20 parallel /slow/700 requests are served at once (threads): $ms ms < 3000" "$([ "$ms" -lt 3000 ] && echo yes)" yes
expect "... all 20 logged" "$(http_count '^/slow/700/par-')" 20

section "/never"
t0=$(date +%s%N)
C -m 1 -o /dev/null "$U/never/n1"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
expect "/never: the client times out (curl exit 28)" "$rc" 28
expect "... after its 1 s timeout ($ms ms)" "$([ "$ms" -ge 900 ] && [ "$ms" -lt 3000 ] && echo yes)" yes
expect "... logged with status null" "$(last '^/never/n1$' 'r["status"]')" None
expect "the server goes on answering" "$(status "$U/ok/after-never")" 200

section "/auth/basic and /auth/apikey"
expect "basic, right credentials: 200" "$(status -u 'alice:pa ss' "$U/auth/basic/alice/pa%20ss/x")" 200
expect "basic, wrong password: 401" "$(status -u 'alice:nope' "$U/auth/basic/alice/pa%20ss/x")" 401
expect "basic, none: 401" "$(status "$U/auth/basic/alice/pa%20ss/x")" 401
expect "api key, right value: 200" "$(status -H 'x-api-key: k-123' "$U/auth/apikey/x-api-key/k-123/x")" 200
expect "api key, header name in another case: 200" "$(status -H 'X-Api-Key: k-123' "$U/auth/apikey/x-api-key/k-123/x")" 200
expect "api key, wrong value: 401" "$(status -H 'x-api-key: k-124' "$U/auth/apikey/x-api-key/k-123/x")" 401
expect "api key, missing: 401" "$(status "$U/auth/apikey/x-api-key/k-123/x")" 401

section "OAuth client credentials"
tok() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
r=$(C -X POST -u 'cid:s3cr:et' -d 'grant_type=client_credentials&scope=a%20b' "$U/oauth/token")
t1=$(echo "$r" | tok access_token)
expect "POST, Basic client credentials: a token" "$([ ${#t1} -ge 20 ] && echo yes)" yes
expect "... token_type Bearer, expires_in 30, scope echoed" \
	"$(echo "$r" | tok token_type)/$(echo "$r" | tok expires_in)/$(echo "$r" | tok scope)" "Bearer/30/a b"
r=$(C -X POST -d 'grant_type=client_credentials&client_id=cid&client_secret=s3cr%3Aet' "$U/oauth/token")
expect "POST, client_id and client_secret in a form body: a token" "$([ -n "$(echo "$r" | tok access_token)" ] && echo yes)" yes
r=$(C -X POST -H 'Content-Type: application/json' -d '{"grant_type": "client_credentials", "client_id": "cid", "client_secret": "s3cr:et"}' "$U/oauth/token")
expect "POST, JSON body: a token" "$([ -n "$(echo "$r" | tok access_token)" ] && echo yes)" yes
r=$(C "$U/oauth/token?grant_type=client_credentials&client_id=cid&client_secret=s3cr%3Aet")
expect "GET, query string: a token" "$([ -n "$(echo "$r" | tok access_token)" ] && echo yes)" yes
expect "wrong secret: 401" "$(status -X POST -u 'cid:wrong' -d 'grant_type=client_credentials' "$U/oauth/token")" 401
expect "another grant type: 400" "$(status -X POST -u 'cid:s3cr:et' -d 'grant_type=password' "$U/oauth/token")" 400
expect "protected, valid token: 200" "$(status -H "Authorization: Bearer $t1" "$U/oauth/protected/p")" 200
expect "protected, no token: 401" "$(status "$U/oauth/protected/p")" 401
expect "protected, unknown token: 401" "$(status -H "Authorization: Bearer made-up" "$U/oauth/protected/p")" 401
expect "stats: 4 tokens issued, 4 valid" \
	"$(http_ctl stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["tokens_issued"], s["tokens_valid"])')" "4 4"
expect "/_control/revoke_tokens revokes the 4" "$(http_ctl revoke_tokens POST | tok revoked)" 4
expect "protected, revoked token: 401" "$(status -H "Authorization: Bearer $t1" "$U/oauth/protected/p")" 401
t2=$(C -X POST -u 'cid:s3cr:et' -d 'grant_type=client_credentials' "$U/oauth/token" | tok access_token)
expect "a new token after the revocation: 200" "$(status -H "Authorization: Bearer $t2" "$U/oauth/protected/p")" 200
http_ctl "config?token_ttl=1" POST >/dev/null
t3=$(C -X POST -u 'cid:s3cr:et' "$U/oauth/token" | tok access_token)
expect "token_ttl 1 (POST /_control/config): valid at once" "$(status -H "Authorization: Bearer $t3" "$U/oauth/protected/p")" 200
sleep 1.3
expect "... expired 1.3 s later: 401" "$(status -H "Authorization: Bearer $t3" "$U/oauth/protected/p")" 401
http_ctl "config?token_ttl=30" POST >/dev/null
expect "token requests are logged like every request" "$(http_count '^/oauth/token$')" 8

section "keep-alive"
C -o /dev/null -o /dev/null -o /dev/null "$U/ok/ka-1" "$U/ok/ka-2" "$U/ok/ka-3"
expect "three requests of one curl: one client port" "$(http_ports '^/ok/ka-')" "3 1"
expect "... the third is request 3 of its connection" "$(last '^/ok/ka-3$' 'r["conn_request"]')" 3
C -o /dev/null -o /dev/null -X POST -d 'x' "$U/status/500/ka-4" "$U/ok/ka-5"
expect "an error response keeps the connection (Content-Length always set)" "$(http_ports '^/(ok|status/500)/ka-[45]$')" "2 1"

section "log questions (lib/http.bash)"
for e in aaaa aaaa bbbb; do C -o /dev/null -H "X-Eventbus-Event-Id: $e" "$U/ok/ids/$e"; done
C -o /dev/null "$U/ok/ids/none"
expect "http_ids: requests, distinct event ids, ids seen twice" "$(http_ids '^/ok/ids/')" "4 2 1"
C -o /dev/null "$U/ok/gap"; sleep 0.5; C -o /dev/null "$U/ok/gap"
expect "http_gaps: the 0.5 s between two requests" "$(http_gaps '^/ok/gap$' | awk '{ print ($1 >= 0.45 && $1 < 1.5) ? "yes" : $1 }')" yes
expect "http_wait_count: times out (1) when too few came" "$(http_wait_count '^/ok/gap$' 3 1; echo $?)" 1
expect "http_wait_count: 0 when enough came" "$(http_wait_count '^/ok/gap$' 2 1; echo $?)" 0

section "control endpoints"
s=$(http_ctl stats)
expect "stats: /retry-after/3/p1 counted 3 times" "$(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["paths"]["/retry-after/3/p1"])')" 3
expect "control requests are not logged" "$(http_count '^/_control')" 0
n_before=$(http_count '.')
http_reset
expect "after /_control/reset: a seen path starts over (429 again)" "$(status "$U/retry-after/3/p1")" 429
expect "... and the stats too" "$(http_ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')" 1
expect "... the log is kept" "$(http_count '.')" $((n_before + 1))
expect "unknown control endpoint: 404" "$(status "$U/_control/nope")" 404

section "stop and come back on the same port"
port=$HTTP_PORT
pid=$HTTP_PID
C -o /dev/null "$U/ok/before-stop"
http_stop
expect "stopped: a request cannot connect (curl exit 7)" "$(C -o /dev/null "$U/ok/while-down"; echo $?)" 7
http_start --client-id cid --client-secret 's3cr:et' || exit 1
expect "started again on the same port" "$HTTP_PORT" "$port"
expect "... as a new process" "$([ "$HTTP_PID" != "$pid" ] && echo yes)" yes
expect "it answers" "$(status "$U/ok/after-restart")" 200
expect "the log goes on (entries of before the stop kept)" "$(http_count '^/ok/before-stop$')/$(http_count '^/ok/after-restart$')" 1/1
# a connection held open by /never does not keep the port from coming back
C -m 5 -o /dev/null "$U/never/held" &
cpid=$!
http_wait_count '^/never/held$' 1 5
http_kill
expect "killed (SIGKILL) with a held connection: gone" "$(kill -0 "$pid" 2>/dev/null || echo gone)" gone
wait $cpid 2>/dev/null
http_start --client-id cid --client-secret 's3cr:et' || exit 1
expect "back on the same port after SIGKILL" "$HTTP_PORT/$(status "$U/ok/after-kill")" "$port/200"
expect "in-memory state starts over (/retry-after/3/p1: 429)" "$(status "$U/retry-after/3/p1")" 429
http_reset truncate
expect "/_control/reset?log=truncate empties the log" "$(http_count '.')" 0
status "$U/ok/after-truncate" >/dev/null
expect "... which then goes on" "$(http_count '.')" 1
http_stop

section "--fast"
HTTP_LOG=$HTTP_DIR/fast.jsonl
HTTP_PORT=
http_start --fast || exit 1
expect "--fast: every path answers 200" "$(status "$HTTP_URL/status/500/x")/$(status -X POST -d '{}' "$HTTP_URL/never/x")" 200/200
expect "--fast: nothing logged" "$(http_count .)" 0
expect "--fast: stats still count" "$(http_ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')" 2
http_stop

echo "selftest: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
