#!/usr/bin/env bash
# Run a Java main class on the server distribution's class path (bin/grid-run.sh of the distribution scripts/build.sh
# unpacked, or of GRID_DIST): scripts/java.sh <main class> [arguments]
set -euo pipefail
dist="${GRID_DIST:-$(cd "$(dirname "$0")/.." && pwd)/target/dist/current}"
if [ ! -x "$dist/bin/grid-run.sh" ]; then
  echo "no distribution in $dist: run scripts/build.sh first" >&2
  exit 2
fi
# JAVA_OPTS (heap and the like, as benchmark harnesses set it) goes to the JVM too
GRID_OPTS="${GRID_OPTS:-} ${JAVA_OPTS:-}" exec "$dist/bin/grid-run.sh" "$@"
