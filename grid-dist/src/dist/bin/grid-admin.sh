#!/usr/bin/env bash
# The admin tool: bin/grid-admin.sh [--host H:P] [--user U --password P] <command> [--json]; --help lists commands.
set -euo pipefail
source "$(dirname "$0")/common.sh"
exec "$JAVA" "${GRID_JVM_FLAGS[@]}" -Dlogback.configurationFile="$GRID_HOME/conf/logback-tools.xml" \
  ${GRID_OPTS:-} -cp "$GRID_CLASSPATH" dev.grid.admin.GridAdmin "$@"
