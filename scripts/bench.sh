#!/usr/bin/env bash
# JMH micro-benchmarks of grid-core: affinity assignment and lookup, key-to-partition hashing, counter updates.
# Usage: scripts/bench.sh [JMH arguments]   default: -f 1 -wi 3 -w 2s -i 5 -r 2s
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -DskipTests install -pl grid-core -am
if [ $# -gt 0 ]; then
  mvn -B -q -ntp -pl grid-core -Pbench test-compile -Dbench.args="$*"
else
  mvn -B -q -ntp -pl grid-core -Pbench test-compile
fi
