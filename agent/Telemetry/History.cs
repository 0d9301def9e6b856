using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using EdgeMl.Runtime.Serving;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// The last hour per model, a minute at a time, for the diagnostics page's charts (<c>/api/history</c>): requests,
/// latency p50 and p99, and the version that served. Fed by the engine's own duration instrument, so every front door
/// counts; about 60 minutes × models × 64 buckets of longs in memory, nothing on disk.
/// </summary>
internal sealed class History : IDisposable
{
    public const int Minutes = 60;

    // Latency buckets growing by a quarter from 50 µs: p50/p99 to within that step, from 50 µs to past a minute.
    private static readonly double[] Bounds = [.. Enumerable.Range(0, 64).Select(i => 50e-6 * Math.Pow(1.25, i))];

    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, Queue<Minute>> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Minute> _newest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _serving = new(StringComparer.Ordinal);

    /// <param name="meters">This host's meters only: another host in the process (tests, tools) is not this agent.</param>
    public History(TimeProvider time, IMeterFactory meters, InferenceEngine engine)
    {
        _time = time;
        engine.Activated += (_, activation) =>
        {
            if (activation.Succeeded)
            {
                lock (_models)
                {
                    _serving[activation.Model] = activation.Version;
                }
            }
        };

        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Meter.Name == RuntimeMetrics.MeterName && instrument.Name == "edgeml.inference.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "model" && tag.Value is string model)
                {
                    Record(model, seconds);
                    return;
                }
            }
        });
        _listener.Start();
    }

    public void Record(string model, double seconds)
    {
        var now = _time.GetUtcNow();
        var start = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        lock (_models)
        {
            if (!_models.TryGetValue(model, out var minutes))
            {
                _models[model] = minutes = new Queue<Minute>();
            }

            long? version = _serving.TryGetValue(model, out var v) ? v : null;

            // A new version starts a new point even within the minute: the chart marks where it came in. The newest
            // point is kept aside: a queue's last element is a walk through all of it, and this runs on every request.
            if (!_newest.TryGetValue(model, out var newest) || newest.Start != start || newest.Version != version)
            {
                _newest[model] = newest = new Minute(start, version);
                minutes.Enqueue(newest);
                while (minutes.Count > 0 && minutes.Peek().Start <= start.AddMinutes(-Minutes))
                {
                    minutes.Dequeue();
                }
            }

            var bucket = Array.BinarySearch(Bounds, seconds);
            newest.Add(bucket < 0 ? Math.Min(~bucket, Bounds.Length - 1) : bucket);
        }
    }

    /// <summary><c>{"now":…,"minutes":60,"models":[{"name":…,"points":[{"t":…,"version":…,"requests":…,"rps":…,"p50":…,"p99":…}]}]}</c>, seconds for latencies.</summary>
    public void WriteJson(Utf8JsonWriter json)
    {
        var now = _time.GetUtcNow();
        json.WriteStartObject();
        json.WriteString("now", now);
        json.WriteNumber("minutes", Minutes);
        json.WriteStartArray("models");
        lock (_models)
        {
            foreach (var (model, minutes) in _models.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("name", model);
                json.WriteStartArray("points");
                foreach (var minute in minutes.Where(m => m.Start > now.AddMinutes(-Minutes)))
                {
                    json.WriteStartObject();
                    json.WriteString("t", minute.Start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                    if (minute.Version is { } version)
                    {
                        json.WriteNumber("version", version);
                    }

                    json.WriteNumber("requests", minute.Count);
                    // The current minute is not over: its rate is over the part that has passed.
                    var seconds = Math.Clamp((now - minute.Start).TotalSeconds, 1, 60);
                    json.WriteNumber("rps", Math.Round(minute.Count / seconds, 3));
                    json.WriteNumber("p50", minute.Quantile(0.5));
                    json.WriteNumber("p99", minute.Quantile(0.99));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Minute(DateTimeOffset start, long? version)
    {
        private readonly long[] _buckets = new long[Bounds.Length];

        public DateTimeOffset Start { get; } = start;

        public long? Version { get; } = version;

        public long Count { get; private set; }

        public void Add(int bucket)
        {
            _buckets[bucket]++;
            Count++;
        }

        /// <summary>The upper bound of the bucket the quantile falls in.</summary>
        public double Quantile(double q)
        {
            var rank = (long)Math.Ceiling(q * Count);
            long seen = 0;
            for (var i = 0; i < _buckets.Length; i++)
            {
                seen += _buckets[i];
                if (seen >= rank && seen > 0)
                {
                    return Math.Round(Bounds[i], 6);
                }
            }

            return 0;
        }
    }
}
