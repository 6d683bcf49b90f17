#!/usr/bin/env bash
# Whole-suite benchmarks: every Go benchmark five times (compare medians,
# each beside its baseline sub-benchmark), then the cold start of the app
# under Xvfb beside a hello-world Fyne window.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
out=${BENCH_OUT:-bench.txt}
tags=migrated_fynedo
go test -tags "$tags" -run '^$' -bench . -benchmem -count 5 -timeout 60m ./... | tee "$out"
# The PostgreSQL backend's benchmarks, on a throwaway cluster.
scripts/pg.sh go test -tags "$tags" -run '^$' -bench . -benchmem -count 5 -timeout 30m ./syncserver/pgstore/ | tee -a "$out"
if [ -d ui/smoke ]; then
  go test -tags "$tags xvfb" -run '^$' -bench ColdStart -count 5 -timeout 30m ./ui/smoke/ | tee -a "$out"
fi
echo "results in $out (compare medians with benchstat)"
