#!/usr/bin/env bash
# The test HTTP server of the API destination tests and its shell helpers,
# on their own (no PostgreSQL): test/http/selftest.sh, with curl.
set -uo pipefail
exec bash "$(dirname "$0")/../http/selftest.sh"
