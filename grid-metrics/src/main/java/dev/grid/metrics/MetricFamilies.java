package dev.grid.metrics;

import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One collection of a member's metrics, in Prometheus's terms (families of counters, gauges and histograms with
 * labelled points), rendered both as Prometheus snapshots ({@link #toSnapshots}) and as JMX attributes
 * ({@link #toAttributes}), so the two views never disagree on a name or a value.
 * <p>
 * Names follow Prometheus's conventions: base units (seconds, bytes) in the name, counters exposed with
 * {@code _total}, histograms with cumulative buckets. <b>Threading:</b> built and read by one thread.
 */
final class MetricFamilies
{
    /** Upper bounds of latency buckets, in seconds: 50 µs to 10 s (then +Inf). */
    static final double[] LATENCY_BOUNDS_SECONDS = {
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
        Double.POSITIVE_INFINITY};

    enum Kind
    {
        COUNTER, GAUGE, HISTOGRAM
    }

    /**
     * @param labels      label names and values, in order.
     * @param value       of a counter or gauge.
     * @param histogramUs of a histogram, in microseconds; null otherwise.
     */
    record Point(Map<String, String> labels, double value, Histogram histogramUs)
    {
    }

    /**
     * @param name   without {@code _total} for counters.
     * @param kind   counter, gauge or histogram.
     * @param help   one line for operators.
     * @param unit   base unit, or null.
     * @param points labelled values.
     */
    record Family(String name, Kind kind, String help, Unit unit, List<Point> points)
    {
    }

    private final Map<String, Family> families = new LinkedHashMap<>();
    /** Label names and values every point added from now on ends with (a shard's index). */
    private String[] commonLabels = new String[0];

    /**
     * @param namesAndValues label names and values every point added from now on ends with; none to stop.
     */
    void commonLabels(final String... namesAndValues)
    {
        commonLabels = namesAndValues.clone();
    }

    void counter(final String name, final String help, final double value, final String... labels)
    {
        add(name, Kind.COUNTER, help, null, new Point(labels(labels), value, null));
    }

    void counter(final String name, final String help, final Unit unit, final double value, final String... labels)
    {
        add(name, Kind.COUNTER, help, unit, new Point(labels(labels), value, null));
    }

    void gauge(final String name, final String help, final double value, final String... labels)
    {
        add(name, Kind.GAUGE, help, null, new Point(labels(labels), value, null));
    }

    void gauge(final String name, final String help, final Unit unit, final double value, final String... labels)
    {
        add(name, Kind.GAUGE, help, unit, new Point(labels(labels), value, null));
    }

    void histogramSeconds(final String name, final String help, final Histogram us, final String... labels)
    {
        add(name, Kind.HISTOGRAM, help, Unit.SECONDS, new Point(labels(labels), 0, us));
    }

    private void add(final String name, final Kind kind, final String help, final Unit unit, final Point point)
    {
        families.computeIfAbsent(name, n -> new Family(n, kind, help, unit, new ArrayList<>())).points().add(point);
    }

    private Map<String, String> labels(final String... namesAndValues)
    {
        final Map<String, String> labels = new LinkedHashMap<>();
        put(labels, namesAndValues);
        put(labels, commonLabels);
        return labels;
    }

    private static void put(final Map<String, String> labels, final String... namesAndValues)
    {
        if (namesAndValues.length % 2 != 0)
        {
            throw new IllegalArgumentException("labels come in name/value pairs: " + List.of(namesAndValues));
        }
        for (int i = 0; i < namesAndValues.length; i += 2)
        {
            labels.put(namesAndValues[i], namesAndValues[i + 1]);
        }
    }

    List<Family> families()
    {
        return List.copyOf(families.values());
    }

    /** @return the families as Prometheus snapshots. */
    MetricSnapshots toSnapshots()
    {
        final List<MetricSnapshot> snapshots = new ArrayList<>(families.size());
        for (final Family family : families.values())
        {
            snapshots.add(switch (family.kind())
            {
                case COUNTER -> counter(family);
                case GAUGE -> gauge(family);
                case HISTOGRAM -> histogram(family);
            });
        }
        return new MetricSnapshots(snapshots);
    }

    private static Labels prometheusLabels(final Point point)
    {
        return Labels.of(point.labels().keySet().toArray(String[]::new),
            point.labels().values().toArray(String[]::new));
    }

    private static CounterSnapshot counter(final Family family)
    {
        final CounterSnapshot.Builder builder = CounterSnapshot.builder().name(family.name()).help(family.help());
        if (family.unit() != null)
        {
            builder.unit(family.unit());
        }
        family.points().forEach(point -> builder.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
            .value(point.value()).labels(prometheusLabels(point)).build()));
        return builder.build();
    }

    private static GaugeSnapshot gauge(final Family family)
    {
        final GaugeSnapshot.Builder builder = GaugeSnapshot.builder().name(family.name()).help(family.help());
        if (family.unit() != null)
        {
            builder.unit(family.unit());
        }
        family.points().forEach(point -> builder.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
            .value(point.value()).labels(prometheusLabels(point)).build()));
        return builder.build();
    }

    private static HistogramSnapshot histogram(final Family family)
    {
        final HistogramSnapshot.Builder builder = HistogramSnapshot.builder().name(family.name()).help(family.help())
            .unit(family.unit());
        for (final Point point : family.points())
        {
            final Buckets buckets = Buckets.of(point.histogramUs());
            builder.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                .classicHistogramBuckets(ClassicHistogramBuckets.of(LATENCY_BOUNDS_SECONDS, buckets.counts()))
                .sum(buckets.sumSeconds()).labels(prometheusLabels(point)).build());
        }
        return builder.build();
    }

    /**
     * An HdrHistogram's values sorted into {@link #LATENCY_BOUNDS_SECONDS}.
     *
     * @param counts     per bucket, not cumulative.
     * @param count      of all values.
     * @param sumSeconds of all values.
     */
    record Buckets(long[] counts, long count, double sumSeconds)
    {
        static Buckets of(final Histogram us)
        {
            final long[] counts = new long[LATENCY_BOUNDS_SECONDS.length];
            double sumSeconds = 0;
            long count = 0;
            for (final HistogramIterationValue value : us.recordedValues())
            {
                // The bucket by the lowest value HdrHistogram's slot stands for (a value recorded at a bound stays in
                // its bucket), the sum by its middle (within the histogram's 3 significant digits).
                final double lowest = us.lowestEquivalentValue(value.getValueIteratedTo()) / 1_000_000.0;
                final double median = us.medianEquivalentValue(value.getValueIteratedTo()) / 1_000_000.0;
                int bucket = 0;
                while (lowest > LATENCY_BOUNDS_SECONDS[bucket])
                {
                    bucket++;
                }
                counts[bucket] += value.getCountAtValueIteratedTo();
                count += value.getCountAtValueIteratedTo();
                sumSeconds += median * value.getCountAtValueIteratedTo();
            }
            return new Buckets(counts, count, sumSeconds);
        }
    }

    /**
     * One JMX attribute's value and description.
     *
     * @param value a {@link Long} or a {@link Double}.
     * @param help  the family's help.
     */
    record Attribute(Object value, String help)
    {
    }

    /**
     * @return each point as a JMX attribute: the family's name (counters with {@code _total}), then each label's value,
     *     joined by {@code _}; a histogram gives {@code _count}, {@code _sum} and {@code _p99} (seconds, the 99th
     *     percentile).
     */
    Map<String, Attribute> toAttributes()
    {
        final Map<String, Attribute> attributes = new LinkedHashMap<>();
        for (final Family family : families.values())
        {
            final String base = family.name().replaceFirst("^grid_", "") +
                (family.kind() == Kind.COUNTER ? "_total" : "");
            for (final Point point : family.points())
            {
                final StringBuilder name = new StringBuilder(base);
                point.labels().values().forEach(value -> name.append('_').append(value));
                if (family.kind() == Kind.HISTOGRAM)
                {
                    final Histogram us = point.histogramUs();
                    attributes.put(name + "_count", new Attribute(us.getTotalCount(), family.help() + " Count."));
                    attributes.put(name + "_sum", new Attribute(Buckets.of(us).sumSeconds(),
                        family.help() + " Sum, in seconds."));
                    attributes.put(name + "_p99", new Attribute(us.getValueAtPercentile(99) / 1_000_000.0,
                        family.help() + " 99th percentile, in seconds."));
                }
                else
                {
                    attributes.put(name.toString(), new Attribute(point.value(), family.help()));
                }
            }
        }
        return attributes;
    }
}
