# Sourced by the other scripts: GRID_HOME, the JVM, and the flags every Grid JVM needs on Java 17 (Agrona and
# Chronicle Queue reach into the JDK).
GRID_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
GRID_JVM_FLAGS=(
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.util=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  -Dchronicle.analytics.disable=true -Dchronicle.announcer.disable=true
  # G1 without concurrent refinement threads: a member's store keeps new entries reachable from old tree nodes, so
  # every put dirties cards; refining them at the young pause instead of on refinement threads beside the member
  # thread took puts from about 35,000 to 45,000-49,000 per second on 2 cores, with no longer pauses (benchmarks.md)
  -XX:G1ConcRefinementThreads=0
)
GRID_CLASSPATH="$GRID_HOME/lib/*"
