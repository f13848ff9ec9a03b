#!/usr/bin/env bash
# Build Grid (no tests) and unpack the server distribution (grid-dist/target/grid-VERSION.tar.gz) into
# target/dist/grid-VERSION, with target/dist/current pointing at it: scripts/cluster.sh, scripts/admin.sh,
# scripts/java.sh and scripts/demo.sh run members, the admin tool and the examples from it, as a deployment does.
# Usage: scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp install -DskipTests
tarball="$(ls -t grid-dist/target/grid-*.tar.gz | head -1)"
rm -rf target/dist
mkdir -p target/dist
tar -xzf "$tarball" -C target/dist
ln -s "$(basename "$tarball" .tar.gz)" target/dist/current
echo "distribution unpacked in target/dist/current"
