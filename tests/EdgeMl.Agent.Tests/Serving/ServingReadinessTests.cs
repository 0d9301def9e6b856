using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Sync;
using EdgeMl.Agent.Tests.EdgeHub;
using EdgeMl.Agent.Tests.Sync;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Tests.Serving;

/// <summary>The readiness rule with the agent's real composition, engine, store and folder registry, on a fake clock.</summary>
public sealed class ServingReadinessTests : IDisposable
{
    private static readonly TimeSpan TwinTimeout = TimeSpan.FromSeconds(30);
    private readonly RegistryFixture _registry = new();

    public void Dispose() => _registry.Dispose();

    /// <param name="hub">A hub that never answers (the twin never arrives by itself); null for a device without one.</param>
    private SyncHarness Harness(IIoTHubClient? hub, string? embeddedVersion = null)
    {
        var desired = new Dictionary<string, string?> { ["registry"] = _registry.Root };
        if (embeddedVersion is not null)
        {
            desired["models:cls:version"] = embeddedVersion;
        }

        return SyncHarness.Create(_registry.DataDirectory, _registry.KeyFile, desired, configure: s =>
        {
            if (hub is not null)
            {
                s.AddSingleton(hub);
            }
        });
    }

    private static JsonObject Models(params (string Name, long Version)[] models)
    {
        var map = new JsonObject();
        foreach (var (name, version) in models)
        {
            map[name] = new JsonObject { ["version"] = version };
        }

        return new JsonObject { ["models"] = map };
    }

    [Fact]
    public async Task Server_HubConfiguredTwinNotArrived_NotReadyUntilTheTwinArrivesAndItsModelServes()
    {
        await using var h = Harness(FakeHub.Silent());
        var readiness = h.Services.GetRequiredService<ServingReadiness>();
        await h.StartAsync();

        // Nothing is desired yet, yet the agent does not know that nothing is desired: not ready, and why.
        var waiting = readiness.Server();
        Assert.False(waiting.IsReady);
        Assert.Equal("waiting for the module twin (hub disconnected); no earlier run persisted a desired state", waiting.Reason);
        Assert.Equal(DesiredOrigin.Embedded, h.Desired.Current.Origin);
        Assert.Equal(waiting, readiness.Model("cls", null)); // not "unknown": the twin may yet ask for it

        // The twin wants a version the registry does not have yet: known, but not serving.
        h.ApplyTwin(4, Models(("cls", 1)));
        await h.WaitForPhaseAsync("cls", SyncPhase.Failed);
        var loading = readiness.Server();
        Assert.False(loading.IsReady);
        Assert.Equal("'cls' does not serve yet (failed)", loading.Reason);
        Assert.Equal(ReadinessState.NotReady, readiness.Model("cls", null).State);

        _registry.Publish("cls", 1);
        h.Time.Advance(TimeSpan.FromMinutes(15));
        await h.WaitForActiveAsync("cls", 1);
        Assert.Equal(Readiness.Ready, readiness.Server());
        Assert.Equal(Readiness.Ready, readiness.Model("cls", 1));
        Assert.Equal("twin", Health(h).Desired);
    }

    [Fact]
    public async Task Server_PersistedStateAndSilentHub_ReadyOnceStartupDesiredTimeoutPasses()
    {
        _registry.Publish("cls", 1);
        await using (var first = Harness(FakeHub.Silent()))
        {
            await first.StartAsync();
            first.ApplyTwin(7, Models(("cls", 1)));
            await first.WaitForActiveAsync("cls", 1);
        }

        await using var h = Harness(FakeHub.Silent());
        var readiness = h.Services.GetRequiredService<ServingReadiness>();
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        readiness.Changed += (_, _) => changed.TrySetResult();
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);

        // v1 serves from disk at once, but the twin may still say otherwise: not ready until it is overdue.
        Assert.Equal(DesiredOrigin.Persisted, h.Desired.Current.Origin);
        Assert.True((await h.InferAsync("cls")).IsSuccess);
        var waiting = readiness.Server();
        Assert.False(waiting.IsReady);
        Assert.Equal("waiting for the module twin (hub disconnected); the desired state the last run persisted counts after 30 s", waiting.Reason);
        Assert.Equal(waiting, readiness.Model("cls", null));

        h.Time.Advance(TwinTimeout);
        await changed.Task.WaitAsync(SyncHarness.Guard);
        Assert.Equal(Readiness.Ready, readiness.Server());
        Assert.Equal(Readiness.Ready, readiness.Model("cls", null));
        var health = Health(h);
        Assert.Equal(("persisted", true, (string?)null), (health.Desired, health.Ready.Ready, health.Ready.Reason));
    }

    [Fact]
    public async Task Server_NothingPersistedAndSilentHub_StaysNotReadyWithTheReasonAfterTheTimeout()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness(FakeHub.Silent(), embeddedVersion: "1");
        var readiness = h.Services.GetRequiredService<ServingReadiness>();
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        readiness.Changed += (_, _) => changed.TrySetResult();
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1); // the embedded default serves, but the twin may want something else

        h.Time.Advance(TwinTimeout);
        await changed.Task.WaitAsync(SyncHarness.Guard);

        var waiting = readiness.Server();
        Assert.False(waiting.IsReady);
        Assert.Equal("waiting for the module twin: none arrived within 30 s (hub disconnected) and no earlier run persisted a desired state", waiting.Reason);
        var health = Health(h);
        Assert.Equal(("embedded", false, waiting.Reason), (health.Desired, health.Ready.Ready, health.Ready.Reason));
    }

    [Fact]
    public async Task Server_OnceReady_StaysReadyThroughSwapRefusedVersionAndAModelAddedLater()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("cls", 2);
        _registry.Publish("cls", 3, folder => TestPackages.BreakGolden(folder, _registry.Key));
        await using var h = Harness(hub: null, embeddedVersion: "1");
        var readiness = h.Services.GetRequiredService<ServingReadiness>();
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);
        Assert.Equal(Readiness.Ready, readiness.Server());
        Assert.Equal("embedded", Health(h).Desired);

        // Readiness is asked at every step model sync takes, as a prober would see it.
        var seen = new ConcurrentQueue<(string Step, Readiness Server, Readiness Model)>();
        void Sample(object? sender, EventArgs e) =>
            seen.Enqueue((h.Status.Find("cls")?.Phase.ToString() ?? "-", readiness.Server(), readiness.Model("cls", null)));
        h.Status.Changed += Sample;
        try
        {
            h.ApplyTwin(2, Models(("cls", 2)));
            await h.WaitForActiveAsync("cls", 2);
            h.ApplyTwin(3, Models(("cls", 3)));
            await h.WaitForPhaseAsync("cls", SyncPhase.Refused);
            h.ApplyTwin(4, Models(("cls", 3), ("added", 1)));
            await h.WaitForPhaseAsync("added", SyncPhase.Failed); // not in the registry
        }
        finally
        {
            h.Status.Changed -= Sample;
        }

        Assert.Contains(seen, s => s.Step == nameof(SyncPhase.Activating));
        Assert.All(seen, s => Assert.True(s.Server.IsReady && s.Model.IsReady, $"{s.Step}: {s.Server} {s.Model}"));
        Assert.Equal(2, (await h.InferAsync("cls")).Version);

        // The refused version: v2 serves and the model says it is degraded, and why.
        var model = Assert.Single(Health(h).Models, m => m.Name == "cls");
        Assert.True(model.Degraded);
        Assert.Contains("v3 refused: GoldenCheck", model.DegradedReason, StringComparison.Ordinal);

        // The added model answers for itself; the server stays in rotation.
        Assert.Equal(Readiness.Ready, readiness.Server());
        var added = readiness.Model("added", null);
        Assert.Equal(ReadinessState.NotReady, added.State);
        Assert.Equal("'added' does not serve yet (failed)", added.Reason);
    }

    [Fact]
    public async Task Model_UnknownNameOrVersion_UnknownWithTheProtocolsWording()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness(hub: null, embeddedVersion: "1");
        var readiness = h.Services.GetRequiredService<ServingReadiness>();
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);

        Assert.Equal(Readiness.Unknown("Request for unknown model: 'other' is not found"), readiness.Model("other", null));
        Assert.Equal(Readiness.Unknown("Request for unknown model: 'cls' version 2 is not found; the active version is 1"), readiness.Model("cls", 2));
        Assert.Equal(Readiness.Ready, readiness.Model("cls", 1));
    }

    [Fact]
    public async Task Stopping_ReadinessTurnsFirstRequestsServedForTheWindowThenRefusedUntilInFlightFinish()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness(hub: null, embeddedVersion: "1");
        var readiness = h.Services.GetRequiredService<ServingReadiness>();
        var drain = h.Services.GetRequiredService<ShutdownDrain>();
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);
        await drain.StartedAsync(CancellationToken.None); // as the host says once every service started
        Assert.True(drain.TryEnter()); // a request in flight when SIGTERM comes

        var stopping = drain.StoppingAsync(CancellationToken.None);

        var stoppingReason = Readiness.NotReady("the agent is shutting down");
        Assert.Equal((DrainPhase.Draining, stoppingReason, stoppingReason), (drain.Phase, readiness.Server(), readiness.Model("cls", null)));
        Assert.True(drain.TryEnter()); // still served inside the drain window
        drain.Exit();

        h.Time.Advance(TimeSpan.FromSeconds(5));
        await WaitUntilAsync(() => drain.Phase == DrainPhase.Refusing);
        Assert.False(drain.TryEnter());
        Assert.False(stopping.IsCompleted);
        Assert.Equal(1, drain.InFlight);

        drain.Exit();
        await stopping.WaitAsync(SyncHarness.Guard);
        Assert.Equal(0, drain.InFlight);
    }

    [Fact]
    public async Task Stopping_AfterAStartThatFailed_RefusesAtOnceWithoutTheWindow()
    {
        await using var h = Harness(hub: null, embeddedVersion: null);
        var drain = h.Services.GetRequiredService<ShutdownDrain>();

        // The host stops what started when a port is in use: nothing was served, so nothing waits for the window.
        await drain.StoppingAsync(CancellationToken.None).WaitAsync(SyncHarness.Guard);

        Assert.Equal(DrainPhase.Refusing, drain.Phase);
    }

    private static AgentHealth Health(SyncHarness h) => h.Services.GetRequiredService<HealthCollector>().Collect();

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.UntilAsync(condition, "the readiness change", SyncHarness.Guard);
}
