package dev.grid.node;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;

/**
 * This build's version (Maven writes it into {@code version.properties}) and the member attributes through which every
 * member tells the others its version and start time, for {@code grid-admin members}. Stateless.
 */
public final class GridVersion
{
    /** The member attribute holding a member's Grid version. */
    public static final String VERSION_ATTRIBUTE = "grid.version";
    /** The member attribute holding when a member started (wall clock, ms since the epoch). */
    public static final String STARTED_ATTRIBUTE = "grid.started.ms";

    private static final String CURRENT = read();

    private GridVersion()
    {
    }

    /** @return this build's version, or "unknown" if the build did not record it. */
    public static String current()
    {
        return CURRENT;
    }

    /**
     * @param attributes a member's attributes.
     * @return when it started, or 0 if it did not say.
     */
    static long startedAtMs(final Map<String, String> attributes)
    {
        try
        {
            final String value = attributes.get(STARTED_ATTRIBUTE);
            return value == null ? 0 : Long.parseLong(value);
        }
        catch (final NumberFormatException ex)
        {
            return 0;
        }
    }

    private static String read()
    {
        try (InputStream in = GridVersion.class.getResourceAsStream("version.properties"))
        {
            final Properties properties = new Properties();
            if (in != null)
            {
                properties.load(in);
            }
            return properties.getProperty("version", "unknown");
        }
        catch (final IOException ex)
        {
            return "unknown";
        }
    }
}
