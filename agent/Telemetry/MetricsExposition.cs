using System.Diagnostics.Metrics;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// How EdgeMl instruments become Prometheus families. The OpenTelemetry exporter names them as the hand-made exporter
/// did (dots to <c>_</c>, <c>s</c> to <c>_seconds</c>, <c>By</c> to <c>_bytes</c>, counters <c>_total</c>, <c>{…}</c>
/// annotations dropped); what it would add beyond that (scope labels, <c>target_info</c>) the IoT Edge metrics
/// collector's rules and existing dashboards do not expect, so it is turned off.
/// </summary>
internal static class MetricsExposition
{
    /// <summary>Every meter of the product: runtime, agent, cloud-sync.</summary>
    public const string Meters = "EdgeMl.*";

    /// <summary>
    /// .NET's own meter: the process's memory, CPU time, collections, bytes allocated, thread pool and exceptions
    /// (<c>dotnet_*</c>), what an engineer asks first of an unattended device whose agent grows or slows.
    /// </summary>
    public const string RuntimeMeter = "System.Runtime";

    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    /// <summary>
    /// The series one instrument keeps (OpenTelemetry's cardinality limit). The SDK allocates room for all of them up
    /// front, about 80 B each per instrument: its default of 2,000 held 9 MB of the idle agent's 109 MB for the 60-odd
    /// instruments. The product's instruments are labelled by model and at most a handful of reasons or outcomes, so
    /// 256 is room for about fifty models; beyond that, new series are counted under <c>otel_metric_overflow="true"</c>.
    /// </summary>
    internal const int SeriesPerInstrument = 256;

    public static MeterProviderBuilder AddEdgeMlMetrics(this MeterProviderBuilder builder) =>
        builder.AddMeter(Meters, RuntimeMeter).AddView(Stream).AddPrometheusExporter(Configure);

    /// <summary>
    /// Every instrument's stream: <see cref="SeriesPerInstrument"/>, with sub-millisecond to half-minute buckets for
    /// durations and powers of two for counts (batch sizes).
    /// </summary>
    internal static MetricStreamConfiguration Stream(Instrument instrument)
    {
        var stream = instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() == typeof(Histogram<>)
            ? new ExplicitBucketHistogramConfiguration { Boundaries = instrument.Unit == "s" ? SecondsBuckets : CountBuckets }
            : new MetricStreamConfiguration();
        stream.CardinalityLimit = SeriesPerInstrument;
        return stream;
    }

    internal static void Configure(PrometheusAspNetCoreOptions options)
    {
        options.ScopeInfoEnabled = false;
        options.TargetInfoEnabled = false;

        // A scrape reads now: two scrapes a moment apart (a test, an engineer with curl) must not see the same cached text.
        options.ScrapeResponseCacheDurationMilliseconds = 0;
    }
}
