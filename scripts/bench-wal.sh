#!/usr/bin/env bash
# WAL benchmark (BENCHMARKS.md shape): Chronicle Queue WAL append throughput per mode, FSYNC group commit (records per
# sync, sync latency), and recovery replay speed; ~170-byte records (a put of a 16-byte key and a 100-byte value).
# Usage: scripts/bench-wal.sh [--records 1000000] [--record-bytes 170] [--dir /tmp]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.WalBenchmark -Dbench.args="$*"
