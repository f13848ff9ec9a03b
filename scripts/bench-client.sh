#!/usr/bin/env bash
# Thin-client benchmark (BENCHMARKS.md shape): three in-memory member processes on 127.0.0.1 (scripts/cluster.sh,
# under target/bench-client-cluster), one client process with 8 threads: put, get, 90/10 mixed and transfer
# transactions on 100,000 keys of 100 bytes with one backup, 10 s warm-up and 20 s measured per mode.
# Usage: scripts/bench-client.sh [ClientBenchmark options, e.g. --threads 16 --measure-s 30]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
client_port="${CLIENT_PORT:-10800}"
dir="$PWD/target/bench-client-cluster"
rm -rf "$dir"
mkdir -p "$dir"
trap 'scripts/cluster.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
PERSISTENT=0 scripts/cluster.sh start 3 "$dir"
mvn -B -q -ntp -DskipTests install -pl grid-bench -am
mvn -B -q -ntp -DskipTests -pl grid-bench -Prun-bench package -Dbench.class=dev.grid.bench.ClientBenchmark \
  -Dbench.args="--hosts 127.0.0.1:$client_port,127.0.0.1:$((client_port + 1)),127.0.0.1:$((client_port + 2)) $*"
