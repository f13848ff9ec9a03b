#!/usr/bin/env bash
# Rebalance benchmark (BENCHMARKS.md shape): a member of 3 persistent members on 127.0.0.1 (every partition on every
# member) leaves, the others take a share of updates, it comes back; catch-up time as a function of the updates it
# missed (historical, WAL history kept) and of the data size (full, history released behind checkpoints).
# Usage: scripts/bench-rebalance.sh [--keys 100000] [--missed-percent 1,5,10,20] [--full-keys 25000,50000,100000]
#        [--concurrency 64] [--runs 3] [--warm-cycles 0]  (--warm-cycles N: m0 leaves and returns N times before the
#        measured cycle, so that every process runs compiled catch-up code)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.RebalanceBenchmark \
  -Dbench.args="$*"
