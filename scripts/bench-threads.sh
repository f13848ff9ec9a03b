#!/usr/bin/env bash
# Where the CPU of a peers-harness run goes, per thread, and (with --syscalls) which system calls each process makes
# (issue 22), in the BENCHMARKS.md shape: the peers harness runs Grid (3 members, 8 load threads, 100,000 keys of
# 100 bytes, 20 s warm-up, 30 s measured); 5 s into the measured window, every thread's CPU ticks and voluntary and
# involuntary context switches are read from /proc, again 10 s later, and the differences printed per process
# (threads with more than 50 ms of CPU or 1,000 switches). With --syscalls, `perf stat` counts each process's system
# calls by kind over the same 10 s instead (perf's tracepoints cost little, but the two are not taken together).
# Usage: PEERS_HOME=<writable copy of ../shared/bench-peers> scripts/bench-threads.sh [put|get|mixed|tx] [--syscalls]
# Run scripts/build.sh first: the harness starts members from target/dist/current. Divide by the operations of the
# 10 s (the run's throughput times 10) for per-operation figures.
set -euo pipefail
cd "$(dirname "$0")/.."
grid_home="$(pwd)"
peers_home="${PEERS_HOME:?set PEERS_HOME to a writable copy of ../shared/bench-peers}"
workload="${1:-put}"
syscalls="${2:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source scripts/peers-run.sh
start_peers_run "$workload" 30
# The warm-up's 20 s, then 5 s into the measured window.
sleep 25
pids="$(pgrep -f "dev.grid.node.Main|bench.peers.Main" || true)"
# Told apart now: the processes are gone when the figures are printed.
for pid in $pids; do
  if ps -o args= -p "$pid" | grep -q bench.peers.Main; then echo driver; else echo member; fi > "$work/$pid.kind"
done
kind_of() { cat "$work/$1.kind"; }
# One line per thread: tid name ticks voluntary involuntary.
threads() {
  for task in /proc/"$1"/task/*; do
    printf '%s %s %s %s\n' "$(basename "$task")" "$(tr ' ' '_' < "$task/comm")" \
      "$(awk '{print $14 + $15}' "$task/stat")" \
      "$(awk '/^voluntary_ctxt/ {v=$2} /^nonvoluntary_ctxt/ {n=$2} END {print v, n}' "$task/status")"
  done 2>/dev/null | sort
}
if [ "$syscalls" = "--syscalls" ]; then
  events="raw_syscalls:sys_enter,context-switches"
  for call in recvfrom sendto read write epoll_wait futex sched_yield recvmsg sendmsg; do
    events="$events,syscalls:sys_enter_$call"
  done
  counting=()
  for pid in $pids; do
    perf stat -e "$events" -p "$pid" -o "$work/$(kind_of "$pid")-$pid.perf" -- sleep 10 &
    counting+=("$!")
  done
  wait "${counting[@]}"
else
  for pid in $pids; do threads "$pid" > "$work/$pid.t0"; done
  sleep 10
  for pid in $pids; do threads "$pid" > "$work/$pid.t1"; done
fi
wait "$run"
grep -E "throughput|cpu" "$work/out.txt"
hz="$(getconf CLK_TCK)"
for pid in $pids; do
  echo "== $(kind_of "$pid") $pid"
  if [ "$syscalls" = "--syscalls" ]; then
    awk '/sys_enter|context-switches/ {printf "%14s %s\n", $1, $2}' "$work/"*"-$pid.perf"
  else
    echo "thread CPU-ms voluntary-switches involuntary-switches (over 10 s)"
    # Joined by thread id: id name ticks voluntary involuntary, then name ticks voluntary involuntary 10 s later.
    join "$work/$pid.t0" "$work/$pid.t1" | awk -v hz="$hz" '{ms = ($7 - $3) * 1000 / hz; v = $8 - $4; n = $9 - $5;
      if (ms > 50 || v > 1000) printf "%-24s %7.0f %9d %9d\n", $2, ms, v, n}' | sort -k2 -n -r
  fi
done
