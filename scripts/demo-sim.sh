#!/usr/bin/env bash
# The simulated demo: toy replicating members under message loss, partitions and crashes in the deterministic
# simulator. Usage: scripts/demo-sim.sh [seed]   e.g. scripts/demo-sim.sh 0x1f2e replays one run exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -Psim-demo package -DskipTests -pl grid-sim -am -Ddemo.args="${1:-}"
