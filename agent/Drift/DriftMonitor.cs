using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Drift;

/// <summary>The drift of one distribution in the current window.</summary>
public sealed record FeatureDrift(
    string Key,
    string Side,
    long Samples,
    double PopulationStabilityIndex,
    double KolmogorovSmirnov,
    double JensenShannon,
    DriftLevel Level);

/// <summary>The drift of one model version: the worst level over its distributions, and each of them.</summary>
public sealed record DriftReport(string Model, long Version, DateTimeOffset At, DriftLevel Level, IReadOnlyList<FeatureDrift> Features)
{
    public double MaxPopulationStabilityIndex => Features.Count == 0 ? 0 : Features.Max(f => f.PopulationStabilityIndex);
}

/// <summary>
/// One distribution as a person compares it: the baseline's bins beside the live window's counts over the same bins,
/// with the distances between them.
/// </summary>
public sealed record DriftDistribution(BaselineDistribution Baseline, IReadOnlyList<long> Live, FeatureDrift Drift);

/// <summary>Raised when a model's drift level changes between two evaluations.</summary>
public sealed record DriftEvent(string Model, long Version, DriftLevel Previous, DriftLevel Current, DriftReport Report);

/// <summary>
/// Compares the traffic of one model version with its manifest baseline: observations go into sliding-window
/// histograms binned like the baseline, and <see cref="Evaluate"/> turns them into PSI, KS and Jensen–Shannon
/// distances and a level. Observe is cheap enough for the capture writer's thread; it is thread-safe.
/// </summary>
internal sealed class DriftMonitor
{
    private readonly Tracked[] _inputs;
    private readonly Tracked[] _outputs;
    private readonly DriftOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public DriftMonitor(string model, long version, DriftBaseline baseline, DriftOptions options, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        Model = model;
        Version = version;
        _options = options;
        _time = time;
        _inputs = baseline.Inputs.Select(d => new Tracked(d, "input", options)).ToArray();
        _outputs = baseline.Outputs.Select(d => new Tracked(d, "output", options)).ToArray();
        OutputBaseline = baseline.Outputs;
    }

    /// <summary>The package's output distributions this version is watched against.</summary>
    public IReadOnlyList<BaselineDistribution> OutputBaseline { get; }

    public string Model { get; }

    public long Version { get; }

    /// <summary>The level of the last evaluation.</summary>
    public DriftLevel Level { get; private set; } = DriftLevel.Unknown;

    public DriftReport? LastReport { get; private set; }

    /// <summary>Raised by <see cref="Evaluate"/> when the level changes.</summary>
    public event Action<DriftEvent>? LevelChanged;

    /// <summary>Adds one prediction's inputs and outputs to the window.</summary>
    public void Observe(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<InferenceTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var now = _time.GetUtcNow();
        Observe(_inputs, inputs, now);
        Observe(_outputs, outputs, now);
    }

    /// <summary>Measures the window against the baseline, and raises <see cref="LevelChanged"/> on a change.</summary>
    public DriftReport Evaluate()
    {
        var now = _time.GetUtcNow();
        var features = _inputs.Concat(_outputs).Select(t => t.Measure(now, _options)).ToArray();
        var known = features.Where(f => f.Level != DriftLevel.Unknown).ToArray();
        var level = known.Length == 0 ? DriftLevel.Unknown : known.Max(f => f.Level);
        var report = new DriftReport(Model, Version, now, level, features);
        DriftEvent? change = null;
        lock (_lock)
        {
            if (level != Level)
            {
                change = new DriftEvent(Model, Version, Level, level, report);
            }

            Level = level;
            LastReport = report;
        }

        if (change is not null)
        {
            LevelChanged?.Invoke(change);
        }

        return report;
    }

    /// <summary>
    /// The live window of every distribution beside its baseline, measured now. Unlike <see cref="Evaluate"/> it
    /// changes no level and raises nothing: looking does not move the monitor.
    /// </summary>
    public IReadOnlyList<DriftDistribution> Distributions()
    {
        var now = _time.GetUtcNow();
        return _inputs.Concat(_outputs).Select(t =>
        {
            var counts = t.Histogram.Snapshot(now, out var total);
            return new DriftDistribution(t.Baseline, counts, t.Measure(counts, total, _options));
        }).ToArray();
    }

    private static void Observe(Tracked[] tracked, IReadOnlyList<InferenceTensor> tensors, DateTimeOffset now)
    {
        foreach (var t in tracked)
        {
            foreach (var tensor in tensors)
            {
                if (tensor.Name == t.Baseline.Tensor)
                {
                    TensorObservations.Extract(t.Baseline, tensor, (t.Histogram, now), static (s, v) => s.Histogram.Add(v, s.now));
                }
            }
        }
    }

    private sealed class Tracked(BaselineDistribution baseline, string side, DriftOptions options)
    {
        private readonly double[] _expected = baseline.Counts.ToArray();

        public BaselineDistribution Baseline { get; } = baseline;

        public SlidingHistogram Histogram { get; } = new(
            baseline.Statistic == BaselineStatistic.Class ? null : baseline.Edges,
            baseline.Bins,
            options.Window,
            options.WindowSlices);

        public FeatureDrift Measure(DateTimeOffset now, DriftOptions options)
        {
            var counts = Histogram.Snapshot(now, out var total);
            return Measure(counts, total, options);
        }

        public FeatureDrift Measure(long[] counts, long total, DriftOptions options)
        {
            if (total < options.MinSamples)
            {
                return new FeatureDrift(Baseline.Key, side, total, 0, 0, 0, DriftLevel.Unknown);
            }

            var actual = Array.ConvertAll(counts, c => (double)c);
            var psi = DriftStatistics.PopulationStabilityIndex(_expected, actual);
            var ks = DriftStatistics.KolmogorovSmirnov(_expected, actual);
            var js = DriftStatistics.JensenShannonDistance(_expected, actual);
            var level = psi >= options.SignificantPsi ? DriftLevel.Significant
                : psi >= options.ModeratePsi ? DriftLevel.Moderate
                : DriftLevel.None;
            return new FeatureDrift(Baseline.Key, side, total, psi, ks, js, level);
        }
    }
}
