#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: static checks, unit and
# integration tests (with -race outside the GUI), the real OS keyring under a
# private D-Bus session, a real window under Xvfb, PostgreSQL, headless
# Chromium, Postman's own tools, and short fuzz runs. Installs what is
# missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/deps.sh test

tags=migrated_fynedo
gobin=$(go env GOPATH)/bin
export CGO_ENABLED=1
export COURIER_NPM_DIR="$root/tools/postman-check"
[ -d "$COURIER_NPM_DIR/node_modules" ] || unset COURIER_NPM_DIR

step() { printf '\n=== %s\n' "$*"; }

step "lint"
bad=$(gofmt -l $(git ls-files '*.go'))
[ -z "$bad" ] || { echo "gofmt would change: $bad"; exit 1; }
go vet -tags "$tags xvfb keyring_integration" ./...
"$gobin/staticcheck" -tags "$tags" ./...
if go list -deps ./app/... | grep -E 'fyne\.io|bbolt|websocket|go-keyring|/keyring$'; then
  echo "app/ must not import GUI, storage, network or keyring code (docs/architecture.md)"; exit 1
fi
if go list -deps ./ui/... | grep -E '/store$|/syncclient$|bbolt'; then
  echo "ui/ must not import the store or the sync client (docs/architecture.md)"; exit 1
fi

gui='/ui($|/)|/cmd/courier$'
step "unit and integration tests (-race)"
# pgstore and courier-server run once, in the PostgreSQL step below.
go test -race -tags "$tags" -timeout 15m $(go list ./... | grep -vE "$gui|/syncserver/pgstore|/cmd/courier-server$")

step "PostgreSQL backend and replicas (throwaway cluster, scripts/pg.sh)"
scripts/pg.sh go test -race -tags "$tags" -count=1 -timeout 10m ./syncserver/pgstore/... ./cmd/courier-server/

step "GUI and app binary tests"
go test -tags "$tags" -timeout 15m $(go list ./... | grep -E "$gui")

step "OS keyring (real Secret Service)"
scripts/keyring-session.sh go test -tags "$tags keyring_integration" -count=1 -run Integration ./keyring/

step "real window under Xvfb"
go test -tags "$tags xvfb" -count=1 -timeout 10m ./ui/smoke/

step "collection link page in headless Chromium"
go test -tags "$tags chromium" -count=1 -run Chromium ./syncserver/

step "short fuzz runs"
scripts/fuzz.sh 4s
