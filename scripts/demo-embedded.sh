#!/usr/bin/env bash
# The in-process demo: three members over Aeron in one JVM (writes, reads, merges, a member leaving, metrics).
# Usage: scripts/demo-embedded.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -Pdemo package -DskipTests -pl examples -am
