package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.io.File;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Member processes that tests start run on a runtime class path: no test output, no test framework. */
class RuntimeClassPathTest
{
    @Test
    void testOutputAndTestFrameworksAreLeftOut()
    {
        final String classPath = String.join(File.pathSeparator,
            "/repo/grid-node/target/test-classes",
            "/repo/grid-node/target/classes",
            "/m2/org/junit/jupiter/junit-jupiter-api/6.1.3/junit-jupiter-api-6.1.3.jar",
            "/m2/org/opentest4j/opentest4j/1.3.0/opentest4j-1.3.0.jar",
            "/m2/dev/grid/grid-core/0.1.0-SNAPSHOT/grid-core-0.1.0-SNAPSHOT-tests.jar",
            "/m2/dev/grid/grid-core/0.1.0-SNAPSHOT/grid-core-0.1.0-SNAPSHOT.jar",
            "/m2/org/agrona/agrona/2.4.1/agrona-2.4.1.jar");
        assertEquals(String.join(File.pathSeparator,
            "/repo/grid-node/target/classes",
            "/m2/dev/grid/grid-core/0.1.0-SNAPSHOT/grid-core-0.1.0-SNAPSHOT.jar",
            "/m2/org/agrona/agrona/2.4.1/agrona-2.4.1.jar"), Main.runtimeClassPath(classPath));
    }

    @Test
    void thisTestsOwnClassPathLosesJUnit()
    {
        final String runtime = Main.runtimeClassPath(System.getProperty("java.class.path"));
        assertFalse(runtime.contains("junit-jupiter"), runtime);
        assertFalse(runtime.contains("test-classes"), runtime);
    }
}
