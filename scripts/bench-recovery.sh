#!/usr/bin/env bash
# Recovery benchmark (BENCHMARKS.md shape): one member with a LOG_ONLY WAL loads N puts (16-byte keys, 100-byte values),
# stops, and starts again; reports how fast start-up replays the WAL into copies and counters (records/s, MB/s).
# Usage: scripts/bench-recovery.sh [--records 1000000] [--value-bytes 100] [--dir /tmp]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.RecoveryBenchmark \
  -Dbench.args="$*"
