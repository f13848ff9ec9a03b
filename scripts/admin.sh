#!/usr/bin/env bash
# The admin tool: scripts/admin.sh [--host H:P] [--user U --password P] <command> [--json]; scripts/admin.sh --help
# lists the commands. The host defaults to 127.0.0.1:10800 (member m0 of scripts/cluster.sh). It runs the
# distribution's bin/grid-admin.sh (scripts/build.sh unpacks it; GRID_DIST picks another).
set -euo pipefail
dist="${GRID_DIST:-$(cd "$(dirname "$0")/.." && pwd)/target/dist/current}"
if [ ! -x "$dist/bin/grid-admin.sh" ]; then
  echo "no distribution in $dist: run scripts/build.sh first" >&2
  exit 2
fi
exec "$dist/bin/grid-admin.sh" "$@"
