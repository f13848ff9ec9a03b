#!/usr/bin/env bash
# A local cluster of member processes on 127.0.0.1, everything of it (configuration, data, logs, pids) under one
# folder, each member started by the server distribution's bin/grid-member.sh (scripts/build.sh unpacks it in
# target/dist/current; GRID_DIST picks another). Run scripts/build.sh first.
#
#   scripts/cluster.sh start N [DIR]         start members m0..m(N-1) and wait until each joined
#   scripts/cluster.sh stop [DIR]            stop every running member (SIGTERM: each leaves cleanly)
#   scripts/cluster.sh stop-member I [DIR]   stop member mI
#   scripts/cluster.sh start-member I [DIR]  start member mI again (on its data directory)
#   scripts/cluster.sh status [DIR]          which members run
#
# DIR defaults to ./local-cluster. Member mI listens on UDP port BASE_PORT+I (default 47500) and serves clients on
# TCP port CLIENT_PORT+I (default 10800). A member's output is DIR/mI.out, its log DIR/mI.log (and GC log
# DIR/mI-gc.log), its data DIR/data/mI (PERSISTENT=0: in-memory members, no data directory). With RESP_PORT set, member
# mI also serves the Redis protocol on RESP_PORT+I; with METRICS_PORT, Prometheus metrics on METRICS_PORT+I. Each member
# has GRID_HEAP of heap (default 1g).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dist="${GRID_DIST:-$here/../target/dist/current}"
if [ ! -x "$dist/bin/grid-member.sh" ]; then
  echo "no distribution in $dist: run scripts/build.sh first" >&2
  exit 2
fi
base_port="${BASE_PORT:-47500}"
client_port="${CLIENT_PORT:-10800}"

write_config() { # index count dir
  local i=$1 n=$2 dir=$3 seeds=""
  for ((s = 0; s < n; s++)); do seeds="${seeds:+$seeds,}127.0.0.1:$((base_port + s))"; done
  local data="data.directory = $dir/data/m$i"
  [ "${PERSISTENT:-1}" = 0 ] && data="# in-memory"
  cat > "$dir/m$i.properties" <<CONF
member.id = m$i
port = $((base_port + i))
seeds = $seeds
$data
client.port = $((client_port + i))
heartbeat.interval.ms = 200
failure.detection.timeout.ms = 3000
checkpoint.interval.ms = 10000
CONF
  if [ -n "${RESP_PORT:-}" ]; then
    echo "resp.port = $((RESP_PORT + i))" >> "$dir/m$i.properties"
  fi
  if [ -n "${METRICS_PORT:-}" ]; then
    echo "metrics.port = $((METRICS_PORT + i))" >> "$dir/m$i.properties"
  fi
}

start_member() { # index dir
  local i=$1 dir=$2
  if [ -f "$dir/m$i.pid" ] && kill -0 "$(cat "$dir/m$i.pid")" 2>/dev/null; then
    echo "m$i already runs (pid $(cat "$dir/m$i.pid"))"
    return
  fi
  : > "$dir/m$i.out"
  GRID_LOG_DIR="$dir" GRID_HEAP="${GRID_HEAP:-1g}" nohup "$dist/bin/grid-member.sh" "$dir/m$i.properties" \
    > "$dir/m$i.out" 2>&1 < /dev/null &
  echo $! > "$dir/m$i.pid"
}

await_ready() { # index dir
  local i=$1 dir=$2
  for ((t = 0; t < 600; t++)); do
    if grep -q '^READY' "$dir/m$i.out" 2>/dev/null; then
      echo "m$i ready (pid $(cat "$dir/m$i.pid"), clients on 127.0.0.1:$((client_port + i)))"
      return
    fi
    if ! kill -0 "$(cat "$dir/m$i.pid")" 2>/dev/null; then
      echo "m$i failed to start; see $dir/m$i.out and $dir/m$i.log" >&2
      tail -5 "$dir/m$i.out" "$dir/m$i.log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  echo "m$i did not become ready within 60 s; see $dir/m$i.log" >&2
  exit 1
}

stop_member() { # index dir
  local i=$1 dir=$2
  [ -f "$dir/m$i.pid" ] || return 0
  local pid
  pid="$(cat "$dir/m$i.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for ((t = 0; t < 300; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "m$i did not stop within 30 s; killing it" >&2
      kill -KILL "$pid" || true
    fi
    echo "m$i stopped"
  fi
  rm -f "$dir/m$i.pid"
}

command="${1:-}"
case "$command" in
  start)
    n="${2:?usage: cluster.sh start N [DIR]}"
    dir="$(mkdir -p "${3:-local-cluster}" && cd "${3:-local-cluster}" && pwd)"
    mkdir -p "$dir/data"
    for ((i = 0; i < n; i++)); do write_config "$i" "$n" "$dir"; done
    for ((i = 0; i < n; i++)); do start_member "$i" "$dir"; done
    for ((i = 0; i < n; i++)); do await_ready "$i" "$dir"; done
    ;;
  stop)
    dir="${2:-local-cluster}"
    for pidfile in "$dir"/m*.pid; do
      [ -e "$pidfile" ] || continue
      i="${pidfile##*/m}"; i="${i%.pid}"
      stop_member "$i" "$dir"
    done
    ;;
  stop-member)
    stop_member "${2:?usage: cluster.sh stop-member I [DIR]}" "${3:-local-cluster}"
    ;;
  start-member)
    i="${2:?usage: cluster.sh start-member I [DIR]}"
    dir="$(cd "${3:-local-cluster}" && pwd)"
    start_member "$i" "$dir"
    await_ready "$i" "$dir"
    ;;
  status)
    dir="${2:-local-cluster}"
    for pidfile in "$dir"/m*.pid; do
      [ -e "$pidfile" ] || { echo "no member runs"; exit 0; }
      echo "${pidfile##*/} $(kill -0 "$(cat "$pidfile")" 2>/dev/null && echo running || echo gone)"
    done
    ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
