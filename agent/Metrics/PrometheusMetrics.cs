using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace EdgeMl.Agent.Metrics;

/// <summary>
/// Every EdgeMl instrument in the Prometheus text format (0.0.4), as the IoT Edge metrics collector reads it:
/// counters as <c>_total</c>, histograms as cumulative buckets with <c>_sum</c> and <c>_count</c>, and never an
/// infinite or NaN sample value (the collector rejects them; <c>le="+Inf"</c> is a label, which it accepts).
/// </summary>
internal sealed class PrometheusMetrics : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();

    public PrometheusMetrics(string meterPrefix = "EdgeMl.")
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith(meterPrefix, StringComparison.Ordinal))
            {
                _families[instrument] = new Family(instrument);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The current values of every instrument, observable gauges read now.</summary>
    public string Scrape()
    {
        foreach (var family in _families.Values)
        {
            if (family.IsObservable)
            {
                family.Series.Clear();
            }
        }

        _listener.RecordObservableInstruments();
        var text = new StringBuilder(4096);
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.WriteTo(text);
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_families.TryGetValue(instrument, out var family))
        {
            family.Record(value, tags);
        }
    }

    private sealed class Family
    {
        private readonly Instrument _instrument;
        private readonly double[]? _buckets;

        public Family(Instrument instrument)
        {
            _instrument = instrument;
            var kind = instrument.GetType().GetGenericTypeDefinition();
            IsHistogram = kind == typeof(Histogram<>);
            IsCounter = kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>);
            IsObservable = instrument.IsObservable;
            var unit = instrument.Unit switch { "s" => "_seconds", "By" => "_bytes", _ => "" };
            var baseName = Sanitize(instrument.Name);
            Name = baseName.EndsWith(unit, StringComparison.Ordinal) ? baseName : baseName + unit;
            _buckets = IsHistogram ? (instrument.Unit == "s" ? SecondsBuckets : CountBuckets) : null;
        }

        public string Name { get; }

        public bool IsHistogram { get; }

        public bool IsCounter { get; }

        public bool IsObservable { get; }

        public ConcurrentDictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            var series = Series.GetOrAdd(labels, _ => new Series(_buckets?.Length ?? 0));
            lock (series)
            {
                if (IsHistogram)
                {
                    series.Count++;
                    series.Sum += value;
                    var bucket = Array.FindIndex(_buckets!, b => value <= b);
                    if (bucket >= 0)
                    {
                        series.Buckets[bucket]++;
                    }
                }
                else if (IsObservable && !IsCounter)
                {
                    series.Value = value;
                }
                else
                {
                    series.Value += value;
                }
            }
        }

        public void WriteTo(StringBuilder text)
        {
            var type = IsHistogram ? "histogram" : IsCounter ? "counter" : "gauge";
            var name = IsCounter ? Name + "_total" : Name;
            text.Append("# HELP ").Append(name).Append(' ').Append(Escape(_instrument.Description ?? _instrument.Name, help: true)).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var (labels, series) in Series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (!IsHistogram)
                    {
                        Sample(text, name, labels, null, series.Value);
                        continue;
                    }

                    long cumulative = 0;
                    for (var b = 0; b < _buckets!.Length; b++)
                    {
                        cumulative += series.Buckets[b];
                        Sample(text, Name + "_bucket", labels, _buckets[b].ToString(CultureInfo.InvariantCulture), cumulative);
                    }

                    Sample(text, Name + "_bucket", labels, "+Inf", series.Count);
                    Sample(text, Name + "_sum", labels, null, series.Sum);
                    Sample(text, Name + "_count", labels, null, series.Count);
                }
            }
        }

        private static void Sample(StringBuilder text, string name, string labels, string? le, double value)
        {
            if (!double.IsFinite(value))
            {
                return;
            }

            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{').Append(labels);
                if (le is not null)
                {
                    text.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
                }

                text.Append('}');
            }

            text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }

            var pairs = new List<string>(tags.Length);
            foreach (var (key, value) in tags)
            {
                pairs.Add($"{Sanitize(key)}=\"{Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", help: false)}\"");
            }

            pairs.Sort(StringComparer.Ordinal);
            return string.Join(",", pairs);
        }

        private static string Sanitize(string name)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] != '_')
                {
                    chars[i] = '_';
                }
            }

            return new string(chars);
        }

        private static string Escape(string value, bool help) =>
            help ? value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
                 : value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    private sealed class Series(int buckets)
    {
        public double Value { get; set; }

        public long Count { get; set; }

        public double Sum { get; set; }

        public long[] Buckets { get; } = new long[buckets];
    }
}
