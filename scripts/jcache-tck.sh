#!/usr/bin/env bash
# Run the JCache 1.1.1 TCK against Grid's provider (grid-jcache), with the harness in ../shared/jcache-tck (copied to
# target/jcache-tck, as shared/ is read-only). Run scripts/build.sh first.
#
#   scripts/jcache-tck.sh embedded     # each cache manager starts a member in the test JVM (about 3 minutes)
#   scripts/jcache-tck.sh client       # starts 3 in-memory member processes, runs the TCK through the thin client
#                                      # (one synchronous backup), stops them (about 1 minute)
#   scripts/jcache-tck.sh MODE --test=CacheTest,Get*Test   # any option of run-tck.sh after the mode
#
# The summary is printed and kept in target/jcache-tck/target/tck-summary.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
mode="${1:-embedded}"; shift || true
harness="${TCK_HARNESS:-$root/../shared/jcache-tck}"
work="$root/target/jcache-tck"
[ -x "$harness/run-tck.sh" ] || { echo "no TCK harness at $harness (set TCK_HARNESS)" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"; cp -r "$harness/." "$work/"
mkdir -p "$work/providers/grid"
flags="$(sed -n 's:.*<jvm.modules>\(.*\)</jvm.modules>.*:\1:p' "$root/pom.xml") -Dchronicle.analytics.disable=true"
cat > "$work/providers/grid/preset.sh" <<PRESET
IMPL_SPEC="pom:$root/grid-jcache"
PROVIDER_CLASS="dev.grid.jcache.GridCachingProvider"
SYSPROPS+=(
  "javax.cache.CacheManager=dev.grid.jcache.GridCacheManager"
  "javax.cache.Cache=dev.grid.jcache.GridCache"
  "javax.cache.Cache.Entry=dev.grid.jcache.GridCacheEntry"
  "grid.jcache.partitions=16"
)
JVM_ARGS+=" $flags"
PRESET
case "$mode" in
  embedded)
    exec "$work/run-tck.sh" grid -Dgrid.jcache.backups=0 "$@" ;;
  client)
    cluster="$root/target/jcache-tck-cluster"
    rm -rf "$cluster"
    trap 'BASE_PORT=${BASE_PORT:-47700} "$here/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true' EXIT
    export BASE_PORT="${BASE_PORT:-47700}" CLIENT_PORT="${CLIENT_PORT:-10900}"
    PERSISTENT=0 "$here/cluster.sh" start 3 "$cluster"
    "$work/run-tck.sh" grid -Dgrid.jcache.backups=1 \
      "-Dgrid.jcache.uri=grid:client://127.0.0.1:$CLIENT_PORT,127.0.0.1:$((CLIENT_PORT + 1)),127.0.0.1:$((CLIENT_PORT + 2))" "$@" ;;
  *) echo "usage: scripts/jcache-tck.sh embedded|client [run-tck.sh options]" >&2; exit 2 ;;
esac
