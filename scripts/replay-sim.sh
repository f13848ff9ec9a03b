#!/usr/bin/env bash
# Replay one simulation seed printed by a failing run.
# Usage: scripts/replay-sim.sh 0x1f2e [TestClass[#method]]
#   (default: ClusterSimulationTest#seededRunsWithCrashesLeavesAndJoinsKeepEveryAcknowledgedWrite)
# The modules it needs are installed first, so that a test name that matches nothing fails instead of passing empty.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: scripts/replay-sim.sh SEED [TestClass#method]}
test=${2:-ClusterSimulationTest#seededRunsWithCrashesLeavesAndJoinsKeepEveryAcknowledgedWrite}
mvn -B -q -ntp -pl grid-sim -am install -DskipTests
exec mvn -B -ntp -pl grid-sim test -Dgrid.sim.seed="$seed" -Dtest="$test"
