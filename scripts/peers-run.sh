# Sourced by the scripts that measure inside a peers-harness run (bench-threads.sh, bench-alloc.sh): the harness's
# Grid run as issue 22 fixes it (3 members, 8 load threads, 100,000 keys of 100 bytes, 20 s warm-up).
# Needs grid_home, peers_home and work (a scratch directory) set; leaves the run's figures in $work/out.txt.

# Start the run in the background (run: its pid) and return once its warm-up has begun.
# Arguments: the workload (put, get, mixed, tx) and the measured seconds.
start_peers_run() {
  (cd "$peers_home" && GRID_HOME="$grid_home" scripts/run-grid.sh --members 3 --workload "$1" --threads 8 \
    --seconds "$2" --warmup 20 --keys 100000 --value-bytes 100 > "$work/out.txt" 2> "$work/err.txt") &
  run=$!
  until grep -q "warmup" "$work/err.txt" 2>/dev/null; do
    kill -0 "$run" 2>/dev/null || { cat "$work/err.txt"; exit 1; }
    sleep 1
  done
}
