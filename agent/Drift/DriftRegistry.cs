using System.Collections.Concurrent;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Drift;

/// <summary>
/// The drift monitors of the models being served, one per model (the active version); the host calls
/// <see cref="Activate"/> when a version is promoted and <see cref="Observe"/> for predictions. Also tells
/// capture whether a model is drifting, for adaptive sampling.
/// </summary>
internal sealed class DriftRegistry(IOptions<DriftOptions> options, TimeProvider time) : IDriftSignal
{
    private readonly ConcurrentDictionary<string, DriftMonitor> _monitors = new(StringComparer.Ordinal);

    /// <summary>Raised when any model's drift level changes.</summary>
    public event Action<DriftEvent>? LevelChanged;

    public IReadOnlyCollection<DriftMonitor> Monitors => (IReadOnlyCollection<DriftMonitor>)_monitors.Values;

    /// <summary>Starts measuring a model version against its baseline; a version without one stops measuring.</summary>
    public void Activate(string model, long version, DriftBaseline? baseline)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        if (baseline is null || !options.Value.Enabled)
        {
            Remove(model);
            return;
        }

        var monitor = new DriftMonitor(model, version, baseline, options.Value, time);
        monitor.LevelChanged += e => LevelChanged?.Invoke(e);
        _monitors[model] = monitor;
    }

    public void Remove(string model) => _monitors.TryRemove(model, out _);

    public DriftMonitor? Find(string model) => _monitors.GetValueOrDefault(model);

    public void Observe(string model, long version, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<InferenceTensor> outputs)
    {
        if (_monitors.TryGetValue(model, out var monitor) && monitor.Version == version)
        {
            monitor.Observe(inputs, outputs);
        }
    }

    public IReadOnlyList<DriftReport> EvaluateAll() => _monitors.Values.Select(m => m.Evaluate()).ToArray();

    public bool IsDrifting(string model) =>
        _monitors.TryGetValue(model, out var monitor) && monitor.Level >= options.Value.AdaptiveCaptureLevel
        && monitor.Level != DriftLevel.Unknown;
}
