#!/usr/bin/env bash
# Build Grid (no tests) and write the class path of the member, client, admin and example programs to
# examples/target/classpath.txt, which scripts/cluster.sh, scripts/admin.sh and scripts/demo.sh use: the runtime
# class path (no test frameworks), as a deployment has.
# Usage: scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp install -DskipTests
mvn -B -q -ntp -pl examples org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
  -Dmdep.outputFile=target/deps.txt -DincludeScope=runtime
printf '%s:%s' "$PWD/examples/target/classes" "$(cat examples/target/deps.txt)" > examples/target/classpath.txt
