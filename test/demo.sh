#!/usr/bin/env bash
# The main job, as a demo: install what is missing, build, install, start a
# throwaway cluster with eventbus preloaded and a partner's webhook (the
# local test HTTP server, test/http/server.py, on 127.0.0.1), then run
# test/demo.sql: the EventBridge pattern language on the banking
# application's events, then real routing: a bus, rules, queue targets,
# put_events, consumers receiving and acknowledging, function targets with
# retries and dead letters, an API destination the workers call over HTTP,
# and the metrics views.  The cluster and the server are removed at the
# end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/common.sh
. test/lib/common.sh

eb_prepare
eb_cluster_start "eventbus.http_allowed_networks = '127.0.0.1/32'"
webhook_pid=
trap '[ -z "$webhook_pid" ] || kill "$webhook_pid" 2>/dev/null; eb_cluster_stop' EXIT
python3 test/http/server.py --port 0 --port-file "$EB_TMP/webhook.port" \
	--log "$EB_TMP/webhook.jsonl" >"$EB_TMP/webhook.out" 2>&1 &
webhook_pid=$!
for _ in $(seq 100); do [ -s "$EB_TMP/webhook.port" ] && break; sleep 0.05; done
webhook_url="http://127.0.0.1:$(cat "$EB_TMP/webhook.port")"
eb_psql -e -v webhook_url="$webhook_url" -f test/demo.sql
eb_log "what the partner's webhook received:"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    body = json.loads(r["body"]) if r.get("body") else {}
    print(" ", r["method"], r["path"], "event", r.get("event_id"), "x-api-key" in {k.lower() for k in r["headers"]} and "(API key header present)" or "", json.dumps(body.get("detail", body))[:80])
' "$EB_TMP/webhook.jsonl"
eb_log "demo finished"
