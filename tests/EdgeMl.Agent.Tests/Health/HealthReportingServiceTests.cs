using System.Collections.Concurrent;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Sync;
using EdgeMl.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Health;

/// <summary>The one reporting loop on a fake clock: each sink's schedule, change signals from contributors, and what is registered when.</summary>
public sealed class HealthReportingServiceTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task Changes_BurstOnADebouncedSink_OneSendWithTheLastAfterTheDebounce()
    {
        var sink = new RecordingSink(_time, new HealthSchedule(TimeSpan.FromHours(1), HealthOnChange.Debounce, RepeatOnInterval: true));
        await using var kit = await StartAsync(sink);
        await Eventually.UntilAsync(() => sink.Sent.Count == 1, "the send at start");

        Downloading(kit);
        Active(kit);
        await Eventually.AdvanceUntilAsync(_time, () => sink.Sent.Count == 2, "the debounced send", step: TimeSpan.FromMilliseconds(250));

        var (first, second) = (sink.Sent[0], sink.Sent[1]);
        Assert.True(second.At - first.At >= HealthReportingService.Debounce, $"sent {second.At - first.At} after the first");
        Assert.Equal("active", Assert.Single(second.Health.Sync.Models).Phase);

        // A signal that changes nothing in the document (an event) is not a send.
        kit.Events.Add(AgentEventKinds.Started, null, null, "agent started");
        Assert.Single(sink.Events);
        _time.Advance(TimeSpan.FromSeconds(3));
        await Task.Delay(100);
        Assert.Equal(2, sink.Sent.Count);
    }

    [Fact]
    public async Task Changes_OnACoalescedSink_NoSoonerThanAnIntervalAfterTheLastSend()
    {
        var interval = TimeSpan.FromMinutes(10);
        var sink = new RecordingSink(_time, new HealthSchedule(interval, HealthOnChange.Coalesce, RepeatOnInterval: false));
        await using var kit = await StartAsync(sink);
        await Eventually.UntilAsync(() => sink.Sent.Count == 1, "the send at start");

        Downloading(kit);
        await Eventually.AdvanceUntilAsync(_time, () => sink.Sent.Count == 2, "the coalesced send", step: TimeSpan.FromMinutes(1));

        Assert.True(sink.Sent[1].At - sink.Sent[0].At >= interval, $"sent {sink.Sent[1].At - sink.Sent[0].At} after the first");
        Assert.Equal("downloading", Assert.Single(sink.Sent[1].Health.Sync.Models).Phase);
    }

    [Fact]
    public async Task Interval_OnASinkThatIgnoresChanges_UnchangedDocumentEachIntervalNothingAtStart()
    {
        var interval = TimeSpan.FromMinutes(5);
        var periodic = new RecordingSink(_time, new HealthSchedule(interval, HealthOnChange.Ignore, RepeatOnInterval: true));
        // A second sink that sends at start tells when the loop has read its start time.
        var atStart = new RecordingSink(_time, new HealthSchedule(TimeSpan.FromHours(1), HealthOnChange.Debounce, RepeatOnInterval: false));
        await using var kit = await StartAsync(periodic, s => s.AddSingleton<IHealthSink>(atStart));
        await Eventually.UntilAsync(() => atStart.Sent.Count == 1, "the other sink's send at start");

        // The clock moves to just short of each interval, then onto it, so a loaded machine cannot make it overshoot.
        for (var sends = 1; sends <= 2; sends++)
        {
            _time.Advance(interval - TimeSpan.FromSeconds(1));
            await Task.Delay(200);
            Assert.Equal(sends - 1, periodic.Sent.Count);
            _time.Advance(TimeSpan.FromSeconds(1));
            await Eventually.UntilAsync(() => periodic.Sent.Count == sends, $"interval send {sends}");
        }
    }

    [Fact]
    public async Task Contributor_OneClassOneRegistration_ItsPartInTheDocumentAndItsSignalWakesTheSinks()
    {
        var probe = new ProbeContributor();
        var sink = new RecordingSink(_time, new HealthSchedule(TimeSpan.FromHours(1), HealthOnChange.Debounce, RepeatOnInterval: true));
        await using var kit = await StartAsync(sink, s => s.AddSingleton<IHealthContributor>(probe));
        await Eventually.UntilAsync(() => sink.Sent.Count == 1, "the send at start");
        Assert.Equal("probe-1", sink.Sent[0].Health.Desired);

        probe.Value = "probe-2";
        probe.Signal();
        await Eventually.AdvanceUntilAsync(_time, () => sink.Sent.Count == 2, "the send after the probe's signal", step: TimeSpan.FromMilliseconds(250));

        Assert.Equal("probe-2", sink.Sent[1].Health.Desired);
    }

    [Theory]
    [InlineData(false, new[] { "MqttHealthSink" })]
    [InlineData(true, new[] { "MqttHealthSink", "TwinHealthSink", "TelemetryHealthSink" })]
    public void AddAgent_Transports_SinksOnlyForTheConfiguredOnes(bool hub, string[] sinks)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeMl:IoTHub:ConnectionString"] = hub ? "HostName=hub.example;DeviceId=dev-1;SharedAccessKey=a2V5" : null,
        }).Build();

        var services = new ServiceCollection().AddAgent(configuration);

        Assert.Equal(sinks, services.Where(d => d.ServiceType == typeof(IHealthSink)).Select(d => d.ImplementationType!.Name));
        Assert.Equal(hub, services.Any(d => d.ServiceType == typeof(IHealthContributor) && d.ImplementationType?.Name == "HubHealthContributor"));
    }

    private async Task<HealthTestKit> StartAsync(RecordingSink sink, Action<IServiceCollection>? configure = null)
    {
        var kit = HealthTestKit.Create(_time, s =>
        {
            s.AddSingleton<IHealthSink>(sink);
            configure?.Invoke(s);
        });
        await kit.StartReportersAsync();
        return kit;
    }

    private void Downloading(HealthTestKit kit) =>
        kit.Sync.Set(new ModelSyncState(HealthTestKit.Model, "3", SyncPhase.Downloading, null, 3, "fetching", _time.GetUtcNow()));

    private void Active(HealthTestKit kit) =>
        kit.Sync.Set(new ModelSyncState(HealthTestKit.Model, "3", SyncPhase.Active, 3, 3, null, _time.GetUtcNow()));

    private sealed class RecordingSink(TimeProvider time, HealthSchedule schedule) : IHealthSink
    {
        private readonly ConcurrentQueue<(DateTimeOffset At, AgentHealth Health)> _sent = new();

        public HealthSchedule Schedule => schedule;

        public IReadOnlyList<(DateTimeOffset At, AgentHealth Health)> Sent => [.. _sent];

        public ConcurrentQueue<AgentEvent> Events { get; } = new();

        public Task<bool> SendAsync(AgentHealth health, CancellationToken cancellationToken)
        {
            _sent.Enqueue((time.GetUtcNow(), health));
            return Task.FromResult(true);
        }

        public void Send(AgentEvent e) => Events.Enqueue(e);
    }

    /// <summary>What a feature adds to be in the document: one contributor.</summary>
    private sealed class ProbeContributor : IHealthContributor
    {
        private Action? _changed;

        public volatile string Value = "probe-1";

        public void Contribute(HealthDocument health) => health.Desired = Value;

        public IDisposable Watch(Action changed)
        {
            _changed = changed;
            return new Subscription(() => _changed = null);
        }

        public void Signal() => _changed?.Invoke();
    }
}
