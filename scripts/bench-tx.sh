#!/usr/bin/env bash
# Transaction benchmark (BENCHMARKS.md shape): 3 members on 127.0.0.1 (2 processes plus the load generator's own),
# the bank with 10,000 accounts, 8 threads making transfers; per mode: pessimistic, optimistic (serializable),
# predicate. Reports transfers/s and latency percentiles.
# Usage: scripts/bench-tx.sh [--warmup-s 10] [--measure-s 20] [--threads 8] [--accounts 10000]
#        [--modes pessimistic,optimistic,predicate] [--backups 1]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.TransferBenchmark \
  -Dbench.args="$*"
