#!/usr/bin/env bash
# Build Grid (no tests) and unpack the server distribution (grid-dist/target/grid-VERSION.tar.gz) into
# target/dist/grid-VERSION, with target/dist/current pointing at it: scripts/cluster.sh, scripts/admin.sh,
# scripts/java.sh and scripts/demo.sh run members, the admin tool and the examples from it, as a deployment does.
# It also writes examples/target/classpath.txt (the examples' runtime class path), which the load generator of
# ../shared/bench-peers (scripts/run-grid.sh there) puts beside its own jar to reach Grid's thin client.
# Usage: scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp install -DskipTests
mvn -B -q -ntp -pl examples org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
  -Dmdep.outputFile=target/deps.txt -DincludeScope=runtime
printf '%s:%s' "$PWD/examples/target/classes" "$(cat examples/target/deps.txt)" > examples/target/classpath.txt
tarball="$(ls -t grid-dist/target/grid-*.tar.gz | head -1)"
rm -rf target/dist
mkdir -p target/dist
tar -xzf "$tarball" -C target/dist
ln -s "$(basename "$tarball" .tar.gz)" target/dist/current
echo "distribution unpacked in target/dist/current"
