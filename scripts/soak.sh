#!/usr/bin/env bash
# Long runs: every fuzz target for minutes, and the long variants of tests
# that take a COURIER_SOAK setting.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
COURIER_SOAK=1 go test -tags migrated_fynedo -race -timeout 120m -count=1 $(go list ./... | grep -vE '/ui($|/)|/cmd/courier$')
scripts/fuzz.sh "${FUZZTIME:-2m}"
