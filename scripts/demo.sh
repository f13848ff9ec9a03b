#!/usr/bin/env bash
# Build Grid and run the main job: a simulated three-member cluster under faults (issue 3 replaces it with real
# members). Usage: scripts/demo.sh [seed]   e.g. scripts/demo.sh 0x1f2e to replay one run exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -Pdemo package -DskipTests -Ddemo.args="${1:-}"
