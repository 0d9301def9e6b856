using System.Diagnostics;

namespace EdgeMl.Runtime.Diagnostics;

/// <summary>
/// The product's one <see cref="ActivitySource"/>: a prediction is one trace from its front door through the engine
/// (queue wait, run) to the capture hand-off; a model sync is another. With nothing listening,
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null after one check, so an agent without
/// a trace exporter pays nothing for them.
/// </summary>
public static class EdgeMlTracing
{
    public const string SourceName = "EdgeMl";

    public static ActivitySource Source { get; } = new(SourceName, typeof(EdgeMlTracing).Assembly.GetName().Version?.ToString(3));

    /// <summary>
    /// A span already over, under the current one: for work timed elsewhere (a batch run on another thread), with
    /// start and end as <see cref="Stopwatch"/> timestamps.
    /// </summary>
    internal static void RecordPast(string name, long startTimestamp, long endTimestamp, KeyValuePair<string, object?> tag = default)
    {
        if (!Source.HasListeners())
        {
            return;
        }

        var now = DateTime.UtcNow;
        var nowTimestamp = Stopwatch.GetTimestamp();
        using var activity = Source.StartActivity(name, ActivityKind.Internal, parentContext: default, startTime: now - Stopwatch.GetElapsedTime(startTimestamp, nowTimestamp));
        if (activity is null)
        {
            return;
        }

        if (tag.Key is not null)
        {
            activity.SetTag(tag.Key, tag.Value);
        }

        activity.SetEndTime(now - Stopwatch.GetElapsedTime(endTimestamp, nowTimestamp));
    }
}
