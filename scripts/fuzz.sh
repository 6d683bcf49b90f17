#!/usr/bin/env bash
# Runs every Fuzz target of the module for a while each.
#   scripts/fuzz.sh 5s     short runs (make test)
#   scripts/fuzz.sh 5m     long runs (make soak)
set -euo pipefail
t=${1:-5s}
cd "$(dirname "$0")/.."
fail=0
for pkg in $(go list ./... ); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target ($t)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" >/tmp/courier-fuzz.log 2>&1; then
      cat /tmp/courier-fuzz.log
      fail=1
    fi
  done
done
exit $fail
