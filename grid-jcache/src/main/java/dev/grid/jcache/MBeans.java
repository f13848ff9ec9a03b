package dev.grid.jcache;

import javax.cache.CacheException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;

/**
 * Registers JCache's MBeans on the platform MBean server under the standard names
 * {@code javax.cache:type=CacheConfiguration|CacheStatistics,CacheManager=<uri>,Cache=<name>}, where ',', ':', '='
 * and newlines in the URI and name become '.'. Stateless.
 */
final class MBeans
{
    /** The configuration MBean's type. */
    static final String CONFIGURATION = "CacheConfiguration";
    /** The statistics MBean's type. */
    static final String STATISTICS = "CacheStatistics";

    private MBeans()
    {
    }

    /**
     * @param type    {@link #CONFIGURATION} or {@link #STATISTICS}.
     * @param manager the cache's manager.
     * @param cache   the cache's name.
     * @return the MBean's name.
     */
    static ObjectName name(final String type, final GridCacheManager manager, final String cache)
    {
        try
        {
            return new ObjectName("javax.cache:type=" + type + ",CacheManager=" +
                sanitize(manager.getURI().toString()) + ",Cache=" + sanitize(cache));
        }
        catch (final MalformedObjectNameException ex)
        {
            throw new CacheException("cannot name the MBean of cache '" + cache + "': " + ex.getMessage(), ex);
        }
    }

    /**
     * @param bean to register, replacing none.
     * @param name its name; already registered is not an error.
     */
    static void register(final Object bean, final ObjectName name)
    {
        final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try
        {
            if (!server.isRegistered(name))
            {
                server.registerMBean(bean, name);
            }
        }
        catch (final JMException ex)
        {
            throw new CacheException("cannot register MBean " + name + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @param name of an MBean to unregister; none of that name is not an error.
     */
    static void unregister(final ObjectName name)
    {
        final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try
        {
            server.unregisterMBean(name);
        }
        catch (final InstanceNotFoundException ex)
        {
            // Not registered: nothing to undo.
        }
        catch (final JMException ex)
        {
            throw new CacheException("cannot unregister MBean " + name + ": " + ex.getMessage(), ex);
        }
    }

    private static String sanitize(final String text)
    {
        return text.replaceAll("[,:=\n]", ".");
    }
}
