using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Health;

/// <summary>
/// Builds the one health document from the registered <see cref="IHealthContributor"/>s: a feature the host did not
/// register (no IoT Hub, capture off) has no contributor, and its part keeps the document's default.
/// </summary>
internal sealed class HealthCollector(IEnumerable<IHealthContributor> contributors, IOptions<AgentOptions> options, TimeProvider time)
{
    private readonly IHealthContributor[] _contributors = [.. contributors];

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public string DeviceId => options.Value.DeviceId;

    public AgentHealth Collect()
    {
        var document = new HealthDocument(DeviceId, StartedAt, time.GetUtcNow(), AgentVersion.Value);
        foreach (var contributor in _contributors)
        {
            contributor.Contribute(document);
        }

        return document.Build();
    }

    /// <summary>Calls <paramref name="changed"/>, on the thread of whatever changed, when any part may have changed; handlers must not block.</summary>
    public IDisposable Watch(Action changed)
    {
        var watches = _contributors.Select(c => c.Watch(changed)).OfType<IDisposable>().ToArray();
        return new Subscription(() =>
        {
            foreach (var watch in watches)
            {
                watch.Dispose();
            }
        });
    }
}
