#!/usr/bin/env bash
# Replay one simulation seed printed by a failing run.
# Usage: scripts/replay-sim.sh 0x1f2e [TestClass[#method]]   (default: ClusterSimulationTest#seededRunsUnderFaultsLoseNothing)
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: scripts/replay-sim.sh SEED [TestClass#method]}
test=${2:-ClusterSimulationTest#seededRunsUnderFaultsLoseNothing}
exec mvn -B -ntp -pl grid-sim -am test -Dgrid.sim.seed="$seed" -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false
