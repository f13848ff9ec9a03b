#!/usr/bin/env bash
# Cluster throughput benchmark (BENCHMARKS.md shape): 3 member processes (-Xms1g -Xmx1g) on 127.0.0.1, the load
# generator embedded in one of them with 8 threads, 100,000 keys, 100-byte values, 1 backup; put, get, mixed.
# Usage: scripts/bench-cluster.sh [--warmup-s 20] [--measure-s 20] [--threads 8] [--keys 100000] [--value-bytes 100]
#        [--workloads put,get,mixed] [--checkpoint-ms 0]
# --checkpoint-ms: 0 in-memory members; N persistent members (LOG_ONLY WAL) checkpointing every N ms; -1 WAL only.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.ClusterBenchmark \
  -Dbench.args="$*"
