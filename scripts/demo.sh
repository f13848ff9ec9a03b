#!/usr/bin/env bash
# Build Grid and run the main job: a local cluster of three members over Aeron on 127.0.0.1 (writes, reads, merges,
# a member leaving, metrics, clean shutdown). Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -Pdemo package -DskipTests -pl grid-node -am
