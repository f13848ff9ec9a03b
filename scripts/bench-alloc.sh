#!/usr/bin/env bash
# Bytes allocated per operation on the members and in the load generator (issue 22), in the BENCHMARKS.md shape: the
# peers harness runs Grid (3 members, 8 load threads, 100,000 keys of 100 bytes), a JFR recording is started in every
# process once the warm-up has ended, and dev.grid.bench.AllocationPerOp divides each process's allocated bytes
# (jdk.ThreadAllocationStatistics, every thread) by the operations of the recording's span.
# Usage: PEERS_HOME=<writable copy of ../shared/bench-peers> scripts/bench-alloc.sh [get|put|mixed] [measure-seconds]
# Run scripts/build.sh first: the harness starts members from target/dist/current. JFR's profile settings slow every
# process, so read the bytes per operation from this script, and throughput from a run without it.
set -euo pipefail
cd "$(dirname "$0")/.."
grid_home="$(pwd)"
peers_home="${PEERS_HOME:?set PEERS_HOME to a writable copy of ../shared/bench-peers}"
workload="${1:-get}"
seconds="${2:-30}"
record_s=$((seconds / 2))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Compiled and its class path resolved before the run, so that nothing builds while it is measured.
mvn -B -q -ntp -o -DskipTests compile -pl grid-bench
mvn -B -q -ntp -o -pl grid-bench \
  org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath -Dmdep.outputFile="$work/cp.txt" -DincludeScope=runtime
source scripts/peers-run.sh
# The harness says when the warm-up starts; the recording starts 2 s after it ends, within the measured window.
start_peers_run "$workload" "$seconds"
sleep 22
pids="$(pgrep -f "dev.grid.node.Main|bench.peers.Main" || true)"
for pid in $pids; do jcmd "$pid" JFR.start name=alloc settings=profile > /dev/null; done
sleep "$record_s"
for pid in $pids; do
  kind=member; ps -o args= -p "$pid" | grep -q bench.peers.Main && kind=driver
  jcmd "$pid" JFR.stop name=alloc filename="$work/$kind-$pid.jfr" > /dev/null
done
wait "$run"
grep -E "throughput|cpu" "$work/out.txt"
ops="$(awk '/^throughput:/ {print $2}' "$work/out.txt")"
java -cp "grid-bench/target/classes:$(cat "$work/cp.txt")" dev.grid.bench.AllocationPerOp "$ops" "$work"/*.jfr
