namespace EdgeMl.Agent.Health;

/// <summary>
/// One feature's part of the health document (the engine's models, sync, capture, drift, the hub link…). A feature
/// registers its contributor with <c>TryAddEnumerable</c> in its own <c>Add…</c>, only when the feature is there;
/// <see cref="HealthCollector"/> asks every registered one for each document, in no particular order.
/// </summary>
internal interface IHealthContributor
{
    /// <summary>Writes this feature's part; must be quick and must not block (it runs for every document).</summary>
    void Contribute(HealthDocument health);

    /// <summary>
    /// Calls <paramref name="changed"/> whenever this part may have changed, so reporters need not poll for it;
    /// a part that changes without an event is refreshed by each sink's interval. Disposing ends the watch.
    /// </summary>
    IDisposable? Watch(Action changed) => null;
}

/// <summary>An event subscription as an <see cref="IDisposable"/>: disposing it unsubscribes.</summary>
internal sealed class Subscription(Action unsubscribe) : IDisposable
{
    private Action? _unsubscribe = unsubscribe;

    public void Dispose() => Interlocked.Exchange(ref _unsubscribe, null)?.Invoke();
}
