#!/usr/bin/env bash
# Run a Java main class of Grid with the JVM flags it needs and the class path scripts/build.sh wrote.
# Usage: scripts/java.sh <main class> [arguments]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cp_file="$root/examples/target/classpath.txt"
if [ ! -f "$cp_file" ]; then
  echo "no $cp_file: run scripts/build.sh first" >&2
  exit 2
fi
# The flags of the root pom's jvm.flags (Agrona and Chronicle Queue on Java 17).
flags="--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED \
--add-exports=java.base/jdk.internal.util=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED \
--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED \
--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED -Dchronicle.analytics.disable=true -Dchronicle.announcer.disable=true"
# shellcheck disable=SC2086
exec java $flags ${JAVA_OPTS:-} -cp "$(cat "$cp_file")" "$@"
