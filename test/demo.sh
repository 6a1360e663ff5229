#!/usr/bin/env bash
# The main job, as a demo: install what is missing, build, install, start a
# throwaway cluster with eventbus preloaded, then run test/demo.sql: the
# EventBridge pattern language on the banking application's events, then
# real routing: a bus, rules, queue targets, put_events, consumers
# receiving and acknowledging, and the metrics views.  The cluster is
# removed at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/common.sh
. test/lib/common.sh

eb_prepare
eb_cluster_start
eb_psql -e -f test/demo.sql
eb_log "demo finished"
