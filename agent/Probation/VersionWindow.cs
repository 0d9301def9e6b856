using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Probation;

/// <summary>
/// One version's recent live traffic: request and engine-error counts since it started serving, and the latest
/// <see cref="Capacity"/> latencies and per-output observations. Fed on the request path, so it only counts and
/// writes into fixed rings under a short lock; figures are computed by the reader.
/// </summary>
internal sealed class VersionWindow(long version)
{
    /// <summary>How many recent requests a window keeps: enough for a stable p95 and PSI, bounded memory.</summary>
    public const int Capacity = 1024;

    /// <summary>Output elements looked at per request: a class index is found in a row up to this wide.</summary>
    private const int MaxRow = 4096;

    private readonly Lock _lock = new();
    private readonly double[] _latencies = new double[Capacity];
    private readonly Dictionary<string, OutputRing> _outputs = new(StringComparer.Ordinal);
    private long _requests;
    private long _errors;
    private long _answered;

    public long Version { get; } = version;

    public long Requests => Interlocked.Read(ref _requests);

    public void Record(InferenceResult result, TimeSpan elapsed)
    {
        if (result.Error is { } error)
        {
            // The caller's bad input or cancellation says nothing about the version; a run failure or a full queue does.
            if (error.Kind is InferenceErrorKind.RuntimeFailure or InferenceErrorKind.Overloaded)
            {
                lock (_lock)
                {
                    _requests++;
                    _errors++;
                }
            }

            return;
        }

        lock (_lock)
        {
            _latencies[_answered++ % Capacity] = elapsed.TotalMilliseconds;
            // Indexed: a foreach over the interface would allocate an enumerator on every request.
            for (var i = 0; i < result.Outputs.Count; i++)
            {
                var output = result.Outputs[i];
                if (Observe(output) is { } observation)
                {
                    if (!_outputs.TryGetValue(output.Name, out var ring))
                    {
                        _outputs[output.Name] = ring = new OutputRing(observation.IsClass);
                    }

                    ring.Add(observation.Value);
                }
            }

            _requests++;
        }
    }

    /// <summary>What the figures name when outputs were compared with the package's baseline.</summary>
    public const string PackageBaseline = "the package's output baseline";

    /// <summary>The figures of this window alone, with no comparison of outputs.</summary>
    public WindowFigures Figures() => Figures(null, []);

    /// <summary>
    /// The figures of this window; PSI of each output against <paramref name="baseline"/>'s window when it has enough
    /// observations, else against the package's <paramref name="packageOutputs"/> (its drift baseline) when there are some.
    /// </summary>
    public WindowFigures Figures(VersionWindow? baseline, IReadOnlyList<BaselineDistribution> packageOutputs)
    {
        ArgumentNullException.ThrowIfNull(packageOutputs);
        double? p95;
        long requests, errors;
        Dictionary<string, OutputRing> outputs;
        lock (_lock)
        {
            requests = _requests;
            errors = _errors;
            var count = (int)Math.Min(Capacity, _answered);
            p95 = count == 0 ? null : Percentile(_latencies.AsSpan(0, count).ToArray(), 0.95);
            outputs = _outputs.ToDictionary(o => o.Key, o => o.Value.Copy(), StringComparer.Ordinal);
        }

        var psi = new Dictionary<string, double>(StringComparer.Ordinal);
        if (baseline is not null)
        {
            foreach (var (name, ring) in outputs)
            {
                if (baseline.Output(name) is { } expected && OutputPsi.Compute(expected, ring) is { } value)
                {
                    psi[name] = value;
                }
            }
        }

        if (psi.Count > 0 || packageOutputs.Count == 0)
        {
            return new WindowFigures(requests, errors, p95, psi, null);
        }

        foreach (var (name, ring) in outputs)
        {
            if (packageOutputs.FirstOrDefault(d => d.Tensor == name && OutputPsi.Comparable(d, ring)) is { } expected && OutputPsi.Compute(expected, ring) is { } value)
            {
                psi[name] = value;
            }
        }

        return new WindowFigures(requests, errors, p95, psi, psi.Count > 0 ? PackageBaseline : null);
    }

    private OutputRing? Output(string name)
    {
        lock (_lock)
        {
            return _outputs.TryGetValue(name, out var ring) ? ring.Copy() : null;
        }
    }

    /// <summary>
    /// One number per output and request: the top class of the first row when the output's last dimension holds
    /// several scores (a classifier), else its first value.
    /// </summary>
    private static (bool IsClass, double Value)? Observe(InferenceTensor output)
    {
        if (output.DataType is not (TensorDataType.Fp32 or TensorDataType.Fp64 or TensorDataType.Int64 or TensorDataType.Int32) || output.ElementCount == 0)
        {
            return null;
        }

        var row = (int)Math.Min(MaxRow, output.Shape.Count == 0 ? 1 : Math.Max(1, output.Shape[^1]));
        row = (int)Math.Min(row, output.ElementCount);
        switch (output.DataType)
        {
            case TensorDataType.Fp32:
                var f = output.Span<float>()[..row];
                return row > 1 ? (true, TopClass.Of(f)) : (false, f[0]);
            case TensorDataType.Fp64:
                var d = output.Span<double>()[..row];
                return row > 1 ? (true, TopClass.Of(d)) : (false, d[0]);
            case TensorDataType.Int64:
                return (true, output.Span<long>()[0]);
            default:
                return (true, output.Span<int>()[0]);
        }
    }

    internal static double Percentile(double[] values, double p)
    {
        Array.Sort(values);
        var rank = (int)Math.Ceiling(p * values.Length) - 1;
        return values[Math.Clamp(rank, 0, values.Length - 1)];
    }

    /// <summary>The latest observations of one output.</summary>
    internal sealed class OutputRing(bool isClass)
    {
        private readonly double[] _values = new double[Capacity];
        private long _count;

        public bool IsClass { get; } = isClass;

        public ReadOnlySpan<double> Values => _values.AsSpan(0, (int)Math.Min(Capacity, _count));

        public void Add(double value) => _values[_count++ % Capacity] = value;

        public OutputRing Copy()
        {
            var copy = new OutputRing(IsClass) { _count = Math.Min(Capacity, _count) };
            Values.CopyTo(copy._values);
            return copy;
        }
    }
}

/// <summary>PSI between two windows of one output: over classes for a classifier, over the expected window's deciles otherwise.</summary>
internal static class OutputPsi
{
    /// <summary>Too few observations on either side make PSI noise.</summary>
    public const int MinObservations = 30;

    public static double? Compute(VersionWindow.OutputRing expected, VersionWindow.OutputRing actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        if (expected.Values.Length < MinObservations || actual.Values.Length < MinObservations)
        {
            return null;
        }

        return expected.IsClass && actual.IsClass ? Classes(expected.Values, actual.Values) : Deciles(expected.Values, actual.Values);
    }

    /// <summary>
    /// Whether a package's distribution describes what the window observes of an output: class counts for a
    /// classifier's top class, binned values (the <c>value</c> statistic) for a score.
    /// </summary>
    public static bool Comparable(BaselineDistribution expected, VersionWindow.OutputRing actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        return actual.IsClass ? expected.Statistic == BaselineStatistic.Class : expected is { Statistic: BaselineStatistic.Value, Edges: not null };
    }

    /// <summary>PSI of an output's window against the package's distribution of it; null on too few observations.</summary>
    public static double? Compute(BaselineDistribution expected, VersionWindow.OutputRing actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        if (actual.Values.Length < MinObservations || !Comparable(expected, actual))
        {
            return null;
        }

        var counts = new double[expected.Counts.Count];
        foreach (var v in actual.Values)
        {
            if (expected.Edges is { } edges)
            {
                // Values outside the edges fall into the first or last bin, as drift bins them.
                var i = 0;
                while (i < counts.Length - 1 && v >= edges[i + 1])
                {
                    i++;
                }

                counts[i]++;
            }
            else if (v >= 0 && v < counts.Length)
            {
                counts[(int)v]++;
            }
        }

        return counts.Sum() == 0 ? null : Drift.DriftStatistics.PopulationStabilityIndex(expected.Counts.ToArray(), counts);
    }

    private static double Classes(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        var bins = new SortedDictionary<double, (double E, double A)>();
        foreach (var v in expected)
        {
            bins[v] = bins.TryGetValue(v, out var c) ? (c.E + 1, c.A) : (1, 0);
        }

        foreach (var v in actual)
        {
            bins[v] = bins.TryGetValue(v, out var c) ? (c.E, c.A + 1) : (0, 1);
        }

        return bins.Count < 2 ? 0 : Drift.DriftStatistics.PopulationStabilityIndex(bins.Values.Select(b => b.E).ToArray(), bins.Values.Select(b => b.A).ToArray());
    }

    private static double Deciles(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        var sorted = expected.ToArray();
        Array.Sort(sorted);
        var edges = Enumerable.Range(1, 9).Select(i => sorted[i * sorted.Length / 10]).Distinct().ToArray();
        if (edges.Length == 0)
        {
            return 0;
        }

        var e = new double[edges.Length + 1];
        var a = new double[edges.Length + 1];
        foreach (var v in expected)
        {
            e[Bin(edges, v)]++;
        }

        foreach (var v in actual)
        {
            a[Bin(edges, v)]++;
        }

        return Drift.DriftStatistics.PopulationStabilityIndex(e, a);
    }

    private static int Bin(double[] edges, double value)
    {
        var i = Array.BinarySearch(edges, value);
        return i >= 0 ? i + 1 : ~i;
    }
}
