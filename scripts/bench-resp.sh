#!/usr/bin/env bash
# The Redis protocol beside Redis itself, in one sitting: redis-benchmark (Debian's redis-tools) against
#   1. one redis-server process, no replica, no persistence;
#   2. a redis-server with one replica, appendonly yes and appendfsync everysec on both;
#   3. Grid: 3 in-memory member processes (-Xms1g -Xmx1g), one synchronous backup, RESP on each; the benchmark talks
#      to member m0, which forwards a key's command to its primary like any other member request.
# All on 127.0.0.1 and the same 2 cores. Run scripts/build.sh first (apt-get install redis-server redis-tools).
# Usage: scripts/bench-resp.sh [REQUESTS=200000] [CLIENTS=50] [PIPELINE=16] [KEYSPACE=100000]
# Prints redis-benchmark's CSV per system (requests per second and latency percentiles in ms).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
requests="${1:-200000}"; clients="${2:-50}"; pipeline="${3:-16}"; keyspace="${4:-100000}"
work="$(mktemp -d /tmp/grid-bench-resp.XXXXXX)"
tests="set,get,incr,mset"
bench() { # port label
  echo "== $2"
  redis-benchmark -h 127.0.0.1 -p "$1" -n "$requests" -c "$clients" -P "$pipeline" -r "$keyspace" -d 100 \
    -t "$tests" --csv 2>/dev/null | tee "$work/$2.csv"
}
redis_up() { # port extra-args...
  local port=$1; shift
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --dbfilename "dump-$port.rdb" --daemonize yes \
    --pidfile "$work/redis-$port.pid" --logfile "$work/redis-$port.log" --save "" "$@"
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-server on $port did not start" >&2; exit 1
}
redis_down() { for p in "$@"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done; }
cleanup() {
  redis_down 6390 6391 6392
  BASE_PORT=47800 "$here/cluster.sh" stop "$work/grid" >/dev/null 2>&1 || true
}
trap cleanup EXIT

redis_up 6390 --appendonly no
bench 6390 redis-single
redis_down 6390

redis_up 6391 --appendonly yes --appendfsync everysec --appendfilename "aof-6391"
redis_up 6392 --appendonly yes --appendfsync everysec --appendfilename "aof-6392" --replicaof 127.0.0.1 6391
for _ in $(seq 100); do
  redis-cli -p 6392 info replication | grep -q 'master_link_status:up' && break; sleep 0.1
done
bench 6391 redis-replica-aof-everysec
redis_down 6392 6391

JAVA_OPTS="-Xms1g -Xmx1g" PERSISTENT=0 BASE_PORT=47800 CLIENT_PORT=10950 RESP_PORT=6400 \
  "$here/cluster.sh" start 3 "$work/grid" >/dev/null
bench 6400 grid-3-members-1-backup
echo "results in $work"
