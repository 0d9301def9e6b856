using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.IoTHub;

namespace EdgeMl.Agent.EdgeHub;

/// <summary>The IoT Hub (or edgeHub) link: connected or not, why not, and the messages its bounded queue dropped.</summary>
internal sealed class HubHealthContributor : IHealthContributor, IDisposable
{
    private readonly IIoTHubClient _hub;
    private volatile string? _error;

    public HubHealthContributor(IIoTHubClient hub)
    {
        _hub = hub;
        _hub.ConnectionStateChanged += OnState;
    }

    public void Contribute(HealthDocument health)
    {
        var connected = _hub.State == IoTHubConnectionState.Connected;
        health.Hub = new HubHealth(true, connected, connected ? null : _error ?? HealthJsonContext.Name(_hub.State), _hub.DroppedMessageCount);
    }

    public IDisposable Watch(Action changed)
    {
        void OnChanged(object? sender, IoTHubConnectionStateChangedEventArgs e) => changed();
        _hub.ConnectionStateChanged += OnChanged;
        return new Subscription(() => _hub.ConnectionStateChanged -= OnChanged);
    }

    public void Dispose() => _hub.ConnectionStateChanged -= OnState;

    private void OnState(object? sender, IoTHubConnectionStateChangedEventArgs e) => _error = e.Reason;
}
