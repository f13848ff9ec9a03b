package dev.grid.metrics;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanNotificationInfo;
import javax.management.MBeanOperationInfo;
import javax.management.ReflectionException;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A read-only MBean whose attributes are one scope's {@link MetricFamilies} (the member's, or one cache's), read
 * afresh from the member on every JMX request: the same names and values the Prometheus endpoint publishes.
 * <p>
 * <b>Threading:</b> called by the MBean server on any thread; it keeps no state besides its source.
 */
final class FamiliesMBean implements DynamicMBean
{
    private final Supplier<MetricFamilies> source;
    private final String description;

    FamiliesMBean(final Supplier<MetricFamilies> source, final String description)
    {
        this.source = source;
        this.description = description;
    }

    @Override
    public Object getAttribute(final String attribute) throws AttributeNotFoundException
    {
        final MetricFamilies.Attribute found = source.get().toAttributes().get(attribute);
        if (found == null)
        {
            throw new AttributeNotFoundException("no attribute " + attribute + " in " + description);
        }
        return found.value();
    }

    @Override
    public void setAttribute(final Attribute attribute) throws AttributeNotFoundException
    {
        throw new AttributeNotFoundException("the attributes of " + description + " are read-only: " +
            attribute.getName());
    }

    @Override
    public AttributeList getAttributes(final String[] attributes)
    {
        final Map<String, MetricFamilies.Attribute> all = source.get().toAttributes();
        final AttributeList list = new AttributeList();
        for (final String name : attributes)
        {
            final MetricFamilies.Attribute found = all.get(name);
            if (found != null)
            {
                list.add(new Attribute(name, found.value()));
            }
        }
        return list;
    }

    @Override
    public AttributeList setAttributes(final AttributeList attributes)
    {
        return new AttributeList();
    }

    @Override
    public Object invoke(final String actionName, final Object[] params, final String[] signature)
        throws ReflectionException
    {
        throw new ReflectionException(new NoSuchMethodException(actionName),
            description + " has no operations, only read-only attributes");
    }

    @Override
    public MBeanInfo getMBeanInfo()
    {
        final Map<String, MetricFamilies.Attribute> all = source.get().toAttributes();
        final MBeanAttributeInfo[] infos = all.entrySet().stream()
            .map(entry -> new MBeanAttributeInfo(entry.getKey(), entry.getValue().value().getClass().getName(),
                entry.getValue().help(), true, false, false))
            .toArray(MBeanAttributeInfo[]::new);
        return new MBeanInfo(getClass().getName(), description, infos, null, new MBeanOperationInfo[0],
            new MBeanNotificationInfo[0]);
    }
}
