using System.Collections.Concurrent;
using EdgeMl.Agent.Health;

namespace EdgeMl.Agent.Probation;

/// <summary>Probation and shadow figures per model, written by their services and read by every reporter. Thread-safe.</summary>
internal sealed class ProvingStatus
{
    private readonly ConcurrentDictionary<string, ProbationState> _probation = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ShadowState> _shadows = new(StringComparer.Ordinal);

    public IReadOnlyList<ProbationState> Probation => [.. _probation.Values.OrderBy(p => p.Model, StringComparer.Ordinal)];

    public IReadOnlyList<ShadowState> Shadows => [.. _shadows.Values.OrderBy(s => s.Model, StringComparer.Ordinal)];

    /// <summary>Null when no model has a probation or a shadow yet, so the health document stays as it was.</summary>
    public ProvingHealth? Health() => _probation.IsEmpty && _shadows.IsEmpty ? null : new(Probation, Shadows);

    public ProbationState? ProbationOf(string model) => _probation.GetValueOrDefault(model);

    public ShadowState? ShadowOf(string model) => _shadows.GetValueOrDefault(model);

    /// <summary>Raised when a model's probation phase changes or its figures are removed; handlers must not block.</summary>
    public event EventHandler? Changed;

    public void Set(ProbationState state)
    {
        var previous = _probation.GetValueOrDefault(state.Model);
        _probation[state.Model] = state;
        if (previous is null || previous.Phase != state.Phase || previous.Version != state.Version)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    public void Set(ShadowState state) => _shadows[state.Model] = state;

    public void RemoveShadow(string model) => _shadows.TryRemove(model, out _);

    public void Remove(string model)
    {
        if (_probation.TryRemove(model, out _) | _shadows.TryRemove(model, out _))
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }
}

/// <summary>Probation and shadows as the health document's <c>proving</c> part.</summary>
internal sealed class ProvingHealthContributor(ProvingStatus status) : IHealthContributor
{
    public void Contribute(HealthDocument health) => health.Proving = status.Health();

    public IDisposable Watch(Action changed)
    {
        void OnChanged(object? sender, EventArgs e) => changed();
        status.Changed += OnChanged;
        return new Subscription(() => status.Changed -= OnChanged);
    }
}
