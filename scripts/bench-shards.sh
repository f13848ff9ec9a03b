#!/usr/bin/env bash
# Shard scale-up benchmark (issue 22): one in-memory member in the benchmark's JVM with 1 shard, then 2, alternating,
# an embedded load of 8 threads, 100,000 keys of 100-byte values; put and get, each warmed up then measured.
# Usage: scripts/bench-shards.sh [--warmup-s 20] [--measure-s 20] [--threads 8] [--keys 100000] [--value-bytes 100]
#        [--rounds 2] [--max-shards 2]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.ShardBenchmark \
  -Dbench.args="$*"
