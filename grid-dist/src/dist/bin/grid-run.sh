#!/usr/bin/env bash
# Run another main class on the distribution's class path, e.g. an example program:
#   bin/grid-run.sh dev.grid.examples.ThinClientExample --host 127.0.0.1:10800 create c 1
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [ $# -lt 1 ]; then
  echo "usage: $0 <main class> [arguments]" >&2
  exit 2
fi
exec "$JAVA" "${GRID_JVM_FLAGS[@]}" -Dlogback.configurationFile="$GRID_HOME/conf/logback-tools.xml" \
  ${GRID_OPTS:-} -cp "$GRID_CLASSPATH" "$@"
