package dev.grid.sim;

import com.puppycrawl.tools.checkstyle.Checker;
import com.puppycrawl.tools.checkstyle.ConfigurationLoader;
import com.puppycrawl.tools.checkstyle.PropertiesExpander;
import com.puppycrawl.tools.checkstyle.api.AuditEvent;
import com.puppycrawl.tools.checkstyle.api.AuditListener;
import com.puppycrawl.tools.checkstyle.api.CheckstyleException;
import com.puppycrawl.tools.checkstyle.api.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The build's style rules (config/checkstyle/checkstyle.xml, run by every module's verify) catch what they promise:
 * a planted line over 120 columns, method over 80 lines and class over 1,000 lines each fail, and code within the
 * limits passes.
 */
class StyleRulesTest
{
    private static final Path CONFIG = Path.of("..", "config", "checkstyle", "checkstyle.xml");

    @Test
    void plantedViolationsFailTheRules(@TempDir final Path dir) throws Exception
    {
        final StringBuilder source = new StringBuilder("package fixture;\n\nfinal class Planted\n{\n");
        source.append("    static final String LONG = \"").append("x".repeat(120)).append("\";\n\n");
        source.append("    void longMethod()\n    {\n");
        for (int i = 0; i < 85; i++)
        {
            source.append("        System.out.println(").append(i).append(");\n");
        }
        source.append("    }\n");
        for (int i = 0; i < 1000; i++)
        {
            source.append("    int field").append(i).append(";\n");
        }
        source.append("}\n");
        final List<String> violations = check(dir, "Planted.java", source.toString());
        assertTrue(violations.stream().anyMatch(v -> v.contains("LineLength")), violations.toString());
        assertTrue(violations.stream().anyMatch(v -> v.contains("MethodLength")), violations.toString());
        assertTrue(violations.stream().anyMatch(v -> v.contains("FileLength")), violations.toString());
        assertEquals(3, violations.size(), violations.toString());
    }

    @Test
    void codeWithinTheLimitsPasses(@TempDir final Path dir) throws Exception
    {
        final String source = "package fixture;\n\nfinal class Small\n{\n    int size()\n    {\n        return 1;\n    }\n}\n";
        assertEquals(List.of(), check(dir, "Small.java", source));
    }

    private static List<String> check(final Path dir, final String name, final String source)
        throws IOException, CheckstyleException
    {
        final Path file = dir.resolve(name);
        Files.writeString(file, source);
        final Path suppressions = dir.resolve("suppressions.xml");
        Files.writeString(suppressions, "<?xml version=\"1.0\"?>\n<!DOCTYPE suppressions PUBLIC " +
            "\"-//Checkstyle//DTD SuppressionFilter Configuration 1.2//EN\" " +
            "\"https://checkstyle.org/dtds/suppressions_1_2.dtd\">\n<suppressions/>\n");
        final Properties properties = new Properties();
        properties.setProperty("checkstyle.suppressions.file", suppressions.toString());
        final Configuration configuration = ConfigurationLoader.loadConfiguration(CONFIG.toString(),
            new PropertiesExpander(properties), ConfigurationLoader.IgnoredModulesOptions.OMIT);
        final List<String> violations = new ArrayList<>();
        final Checker checker = new Checker();
        try
        {
            checker.setModuleClassLoader(Checker.class.getClassLoader());
            checker.configure(configuration);
            checker.addListener(new AuditListener()
            {
                public void auditStarted(final AuditEvent event)
                {
                }

                public void auditFinished(final AuditEvent event)
                {
                }

                public void fileStarted(final AuditEvent event)
                {
                }

                public void fileFinished(final AuditEvent event)
                {
                }

                public void addError(final AuditEvent event)
                {
                    violations.add(event.getLine() + ": " + event.getViolation().getModuleId() + " " +
                        event.getSourceName() + " " + event.getMessage());
                }

                public void addException(final AuditEvent event, final Throwable throwable)
                {
                    violations.add("exception: " + throwable);
                }
            });
            checker.process(List.of(file.toFile()));
        }
        finally
        {
            checker.destroy();
        }
        return violations;
    }
}
