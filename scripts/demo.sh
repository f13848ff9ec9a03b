#!/usr/bin/env bash
# The main job: build Grid and its server distribution, unpack the distribution in a temporary directory, start from
# it a local cluster of three persistent member processes, load data through the thin
# client, stop one member, write more while it is away, restart it, and show with the admin tool that it caught up
# historically (only the updates it missed were streamed) and that the consistency check is clean. Then stop.
# Usage: scripts/demo.sh   (ports: BASE_PORT, default 47500, and CLIENT_PORT, default 10800, for m0..m2)
set -euo pipefail
cd "$(dirname "$0")/.."
client_port="${CLIENT_PORT:-10800}"
step() { printf '\n== %s\n' "$*"; }

step "building"
scripts/build.sh
dir="$PWD/target/demo-cluster"
rm -rf "$dir"
mkdir -p "$dir"
GRID_DIST_TMP="$(mktemp -d)"
trap 'scripts/cluster.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$GRID_DIST_TMP"' EXIT

step "unpacking the server distribution in $GRID_DIST_TMP"
tar -xzf "$(ls -t grid-dist/target/grid-*.tar.gz | head -1)" -C "$GRID_DIST_TMP"
GRID_DIST="$(echo "$GRID_DIST_TMP"/grid-*)"
export GRID_DIST
ls "$GRID_DIST"
hosts=(--host "127.0.0.1:$client_port" --host "127.0.0.1:$((client_port + 1))" --host "127.0.0.1:$((client_port + 2))")
admin() { scripts/admin.sh --host "127.0.0.1:$client_port" "$@"; }
client() { scripts/java.sh dev.grid.examples.ThinClientExample "${hosts[@]}" "$@"; }

step "starting members m0, m1, m2 (data, logs and configuration in $dir)"
scripts/cluster.sh start 3 "$dir"
admin state

step "the baseline: these three own the data, so one that is away is waited for, not replaced"
admin baseline set m0 m1 m2

step "loading 20,000 keys through the thin client (one backup per partition)"
client create demo 1
client load demo 0 20000 first

step "stopping m2"
scripts/cluster.sh stop-member 2 "$dir"
admin baseline

step "writing 1,000 updates m2 misses"
client load demo 0 1000 second

step "restarting m2 on its data directory"
scripts/cluster.sh start-member 2 "$dir"
admin rebalance --wait
admin rebalance
json="$(admin rebalance --json)"
m2="$(printf '%s' "$json" | grep -o '"memberId":"m2"[^}]*')"
historical="$(printf '%s' "$m2" | sed -E 's/.*"totalHistorical":([0-9]+).*/\1/')"
full="$(printf '%s' "$m2" | sed -E 's/.*"totalFull":([0-9]+).*/\1/')"
echo "m2 caught up $historical partitions historically and $full fully"
if [ "$historical" -eq 0 ] || [ "$full" -ne 0 ]; then
  echo "expected a historical catch-up only" >&2
  exit 1
fi

step "the consistency check, and every key's value"
admin verify demo
client check demo 0 1000 second
client check demo 1000 20000 first
scripts/java.sh dev.grid.examples.AdminSessionExample "127.0.0.1:$((client_port + 2))"

step "stopping the cluster"
scripts/cluster.sh stop "$dir"
trap - EXIT
rm -rf "$GRID_DIST_TMP"
echo "demo done"
