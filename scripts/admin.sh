#!/usr/bin/env bash
# The admin tool: scripts/admin.sh [--host H:P] [--user U --password P] <command> [--json]; scripts/admin.sh --help
# lists the commands. The host defaults to 127.0.0.1:10800 (member m0 of scripts/cluster.sh).
set -euo pipefail
exec "$(dirname "$0")/java.sh" dev.grid.admin.GridAdmin "$@"
