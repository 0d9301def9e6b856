using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeMl.Runtime.Serving;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Per-model request counts and latency percentiles, fed by a <see cref="MeterListener"/> on the runtime's
/// instruments (only those of the host's meter factory, so another engine in the process is not counted). Each
/// model keeps a small ring of recent durations; recording is a lock and an array write, percentiles sort a copy
/// of at most <see cref="Capacity"/> samples when the health is collected.
/// </summary>
internal sealed class RequestStatistics : IDisposable
{
    public const int Capacity = 512;

    /// <summary>Samples older than this no longer count toward the percentiles.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, ModelCounters> _models = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();
    private readonly TimeProvider _time;

    public RequestStatistics(IMeterFactory meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _time = time;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RuntimeMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Name is RequestsInstrument or FailuresInstrument or DurationInstrument)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (Model(tags) is { } model)
            {
                var counters = For(model);
                if (instrument.Name == RequestsInstrument)
                {
                    Interlocked.Add(ref counters.Requests, value);
                }
                else
                {
                    Interlocked.Add(ref counters.Errors, value);
                }
            }
        });
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            if (Model(tags) is { } model)
            {
                For(model).Record(seconds * 1000, _time.GetTimestamp());
            }
        });
        _listener.Start();
    }

    private const string RequestsInstrument = "edgeml.inference.requests";
    private const string FailuresInstrument = "edgeml.inference.failures";
    private const string DurationInstrument = "edgeml.inference.duration";

    public (long Requests, long Errors, LatencyHealth Latency) Of(string model)
    {
        if (!_models.TryGetValue(model, out var counters))
        {
            return (0, 0, new LatencyHealth(null, null));
        }

        var recent = counters.Recent(_time.GetTimestamp() - (long)(Window.TotalSeconds * _time.TimestampFrequency));
        return (Interlocked.Read(ref counters.Requests), Interlocked.Read(ref counters.Errors), Percentiles(recent));
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Nearest-rank percentiles, rounded to 0.01 ms.</summary>
    internal static LatencyHealth Percentiles(double[] samples)
    {
        if (samples.Length == 0)
        {
            return new LatencyHealth(null, null);
        }

        Array.Sort(samples);
        return new LatencyHealth(Rank(samples, 0.50), Rank(samples, 0.99));

        static double Rank(double[] sorted, double p) =>
            Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)], 2);
    }

    private ModelCounters For(string model) => _models.GetOrAdd(model, static _ => new ModelCounters());

    private static string? Model(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var (key, value) in tags)
        {
            if (key == "model")
            {
                return value as string;
            }
        }

        return null;
    }

    private sealed class ModelCounters
    {
        private readonly double[] _values = new double[Capacity];
        private readonly long[] _stamps = new long[Capacity];
        private readonly Lock _lock = new();
        private int _next;
        private int _count;

        public long Requests;
        public long Errors;

        public void Record(double milliseconds, long timestamp)
        {
            lock (_lock)
            {
                _values[_next] = milliseconds;
                _stamps[_next] = timestamp;
                _next = (_next + 1) % Capacity;
                _count = Math.Min(_count + 1, Capacity);
            }
        }

        public double[] Recent(long since)
        {
            lock (_lock)
            {
                var result = new List<double>(_count);
                for (var i = 0; i < _count; i++)
                {
                    if (_stamps[i] >= since)
                    {
                        result.Add(_values[i]);
                    }
                }

                return [.. result];
            }
        }
    }
}
