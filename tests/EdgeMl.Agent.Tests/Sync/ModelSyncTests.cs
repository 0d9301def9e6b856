using System.Text.Json.Nodes;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Sync;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Tests.Sync;

/// <summary>Model sync with the real engine, store and folder registry, on the real classifier.</summary>
public sealed class ModelSyncTests : IDisposable
{
    private readonly RegistryFixture _registry = new();

    public void Dispose() => _registry.Dispose();

    private SyncHarness Harness(string? version = "1", bool allowUnsigned = false, string model = "cls", string? providers = null)
    {
        var desired = new Dictionary<string, string?> { ["registry"] = _registry.Root };
        if (version is not null)
        {
            desired[$"models:{model}:version"] = version;
        }

        if (providers is not null)
        {
            desired[$"models:{model}:providers"] = providers;
        }

        return SyncHarness.Create(_registry.DataDirectory, _registry.KeyFile, desired, allowUnsigned);
    }

    private static JsonObject Models(params (string Name, object Version)[] models)
    {
        var map = new JsonObject();
        foreach (var (name, version) in models)
        {
            map[name] = new JsonObject { ["version"] = JsonValue.Create(version) };
        }

        return new JsonObject { ["models"] = map };
    }

    /// <summary>Runs one more reconcile pass: the clock moves a little, the loop is woken, and its pass is seen to end.</summary>
    private static async Task ReconcileOnceAsync(SyncHarness h)
    {
        var before = h.Status.LastReconcileAt;
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var after = h.Time.GetUtcNow();
        h.Sync.Wake();
        using var cts = new CancellationTokenSource(SyncHarness.Guard);
        while (!(h.Status.LastReconcileAt >= after && h.Status.LastReconcileAt != before))
        {
            await Task.Delay(20, cts.Token);
        }
    }

    [Fact]
    public async Task Start_DesiredV1_PulledVerifiedAndServing()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness("1");

        await h.StartAsync();
        var state = await h.WaitForActiveAsync("cls", 1);

        Assert.Equal("1", state.Desired);
        Assert.Null(state.Message);
        Assert.Equal(1, h.Store.GetActive("cls")!.Version);
        var result = await h.InferAsync("cls");
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(1, result.Version);
        Assert.Contains(h.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.Activated && e.Version == 1);
    }

    [Fact]
    public async Task Readiness_DesiredModelNotServedYet_NotReadyUntilItServes()
    {
        await using var h = Harness("1");
        var readiness = h.Services.GetRequiredService<ServingReadiness>();

        await h.StartAsync();
        await h.WaitForPhaseAsync("cls", SyncPhase.Failed); // nothing published yet

        Assert.False(readiness.Server().IsReady);
        Assert.Equal("'cls' does not serve yet (failed)", readiness.Server().Reason);
        Assert.Contains(h.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.Started);
        _registry.Publish("cls", 1);
        h.Time.Advance(TimeSpan.FromMinutes(15));
        await h.WaitForActiveAsync("cls", 1);
        Assert.True(readiness.Server().IsReady);
    }

    [Fact]
    public async Task DesiredChange_V1ToV2_SwapsAndServesV2()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("cls", 2);
        await using var h = Harness("1");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);

        h.ApplyTwin(2, Models(("cls", 2)));
        await h.WaitForActiveAsync("cls", 2);

        Assert.Equal(2, (await h.InferAsync("cls")).Version);
        Assert.Equal(2, h.Store.GetActive("cls")!.Version);
        Assert.Equal(1, h.Store.GetActive("cls")!.Previous);
    }

    [Fact]
    public async Task DesiredV3_FailsGoldenCheck_RefusedWithReasonAndV2KeepsAnswering()
    {
        _registry.Publish("cls", 2);
        _registry.Publish("cls", 3, folder => TestPackages.BreakGolden(folder, _registry.Key));
        await using var h = Harness("2");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 2);

        h.ApplyTwin(2, Models(("cls", 3)));
        var refused = await h.WaitForPhaseAsync("cls", SyncPhase.Refused);

        Assert.Equal(2, refused.ActiveVersion);
        Assert.Equal(3, refused.TargetVersion);
        Assert.Contains("v3 refused", refused.Message, StringComparison.Ordinal);
        Assert.Contains("GoldenCheck", refused.Message, StringComparison.Ordinal);
        Assert.Contains("v2 keeps serving", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Store.GetActive("cls")!.Version);
        Assert.Equal(3, h.Store.GetLastRejection("cls")!.Version);
        var result = await h.InferAsync("cls");
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(2, result.Version);
        Assert.Contains(h.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.Refused && e.Version == 3);
    }

    [Fact]
    public async Task RegistryMissing_FailedWithRetryThenRecovers_DiskModelKeepsServing()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness("1");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);
        Directory.Delete(_registry.Root, recursive: true);

        h.ApplyTwin(2, Models(("cls", 2)));
        var failed = await h.WaitForPhaseAsync("cls", SyncPhase.Failed);

        Assert.Equal(1, failed.ActiveVersion);
        Assert.Contains("v1 keeps serving", failed.Message, StringComparison.Ordinal);
        Assert.Contains("retrying in", failed.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await h.InferAsync("cls")).Version);
        // The model's phase is set during the pass; the registry error when the pass ends.
        await Eventually.UntilAsync(() => h.Status.RegistryError is not null, "the registry error");

        _registry.Publish("cls", 2);
        h.Time.Advance(TimeSpan.FromSeconds(10)); // past the longest back-off (RetryMaxDelay 4 s with jitter)
        await h.WaitForActiveAsync("cls", 2);
        Assert.Equal(2, (await h.InferAsync("cls")).Version);
    }

    [Fact]
    public async Task Restart_OneModelDamagedOnDisk_OtherServesAndTheDamagedOneIsFetchedAgain()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("det", 1);
        await using (var first = Harness("1"))
        {
            await first.StartAsync();
            first.ApplyTwin(2, Models(("cls", 1), ("det", 1)));
            await first.WaitForActiveAsync("cls", 1);
            await first.WaitForActiveAsync("det", 1);
        }

        await File.WriteAllTextAsync(Path.Combine(_registry.DataDirectory, "models", "det", "1", "manifest.json"), "{ not json");
        await using var second = Harness("1");
        await second.StartAsync();
        await second.Sync.ServedFromDisk.WaitAsync(SyncHarness.Guard);

        Assert.Equal(1, (await second.InferAsync("cls")).Version);
        await second.WaitForActiveAsync("det", 1);
        Assert.Equal(1, (await second.InferAsync("det")).Version);
        Assert.Contains(second.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Model == "det" && e.Message.Contains("damaged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restart_RegistryGone_ServesV2FromDiskBeforeAnyPull()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("cls", 2);
        await using (var first = Harness("1"))
        {
            await first.StartAsync();
            await first.WaitForActiveAsync("cls", 1);
            first.ApplyTwin(5, Models(("cls", 2)));
            await first.WaitForActiveAsync("cls", 2);
        }

        Directory.Delete(_registry.Root, recursive: true);
        await using var second = Harness("1"); // the configuration still says v1; the persisted twin says v2
        await second.StartAsync();
        await second.Sync.ServedFromDisk.WaitAsync(SyncHarness.Guard);

        Assert.Equal(2, second.Engine.GetStatus("cls")?.Version);
        Assert.Equal(2, (await second.InferAsync("cls")).Version);
        Assert.Equal(5, second.Desired.Current.TwinVersion);

        // The desired version is installed and active: the unreachable registry is not needed, and not a failure.
        var settled = await second.WaitForAsync("cls", s => s.Phase is SyncPhase.Active or SyncPhase.Failed, "settled");
        Assert.Equal(SyncPhase.Active, settled.Phase);
        Assert.Equal(2, settled.ActiveVersion);
    }

    [Fact]
    public async Task ModelRemovedFromDesired_UnloadedAndNoLongerReported()
    {
        _registry.Publish("a", 1);
        _registry.Publish("b", 1);
        await using var h = Harness(version: null);
        await h.StartAsync();
        h.ApplyTwin(2, Models(("a", 1), ("b", 1)));
        await h.WaitForActiveAsync("a", 1);
        await h.WaitForActiveAsync("b", 1);

        h.ApplyTwin(3, Models(("b", 1)));
        using var cts = new CancellationTokenSource(SyncHarness.Guard);
        while (h.Engine.GetStatus("a") is not null)
        {
            await Task.Delay(20, cts.Token);
        }

        Assert.False((await h.InferAsync("a")).IsSuccess);
        Assert.Equal(1, (await h.InferAsync("b")).Version);
        await ReconcileOnceAsync(h);
        Assert.Null(h.Status.Find("a"));
        Assert.Contains(h.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.Unloaded && e.Model == "a");
    }

    [Fact]
    public async Task RollbackAsync_AfterV1ToV2_ServesV1AndHolds()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("cls", 2);
        await using var h = Harness("1");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);
        h.ApplyTwin(2, Models(("cls", 2)));
        await h.WaitForActiveAsync("cls", 2);

        var result = await h.Sync.RollbackAsync("cls", CancellationToken.None);

        Assert.Equal(200, result.Status);
        Assert.Equal(1, result.ActiveVersion);
        Assert.Equal(1, (await h.InferAsync("cls")).Version);
        Assert.Equal(1, h.Store.GetActive("cls")!.Version);
        await ReconcileOnceAsync(h);
        Assert.Equal(1, h.Engine.GetStatus("cls")!.Version);
        Assert.Equal(SyncPhase.Active, h.Status.Find("cls")!.Phase);
        Assert.Contains(h.Services.GetRequiredService<AgentEventLog>().Recent(), e => e.Kind == AgentEventKinds.RolledBack);
    }

    [Fact]
    public async Task RollbackAsync_NoPreviousVersion_409AndUnknownModel404()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness("1");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);

        var none = await h.Sync.RollbackAsync("cls", CancellationToken.None);
        var unknown = await h.Sync.RollbackAsync("nope", CancellationToken.None);

        Assert.Equal(409, none.Status);
        Assert.Equal(1, none.ActiveVersion);
        Assert.Contains("no previous good version", none.Message, StringComparison.Ordinal);
        Assert.Equal(404, unknown.Status);
        Assert.Equal(1, (await h.InferAsync("cls")).Version);
    }

    [Fact]
    public async Task ActivateAsync_InstalledLowerVersion_ServesItAndHoldsUntilDesiredEntryChanges()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("cls", 2);
        _registry.Publish("cls", 3);
        await using var h = Harness("1");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);
        h.ApplyTwin(2, Models(("cls", 2)));
        await h.WaitForActiveAsync("cls", 2);

        var result = await h.Sync.ActivateAsync("cls", 1, CancellationToken.None);

        Assert.Equal(200, result.Status);
        Assert.Contains("held until the desired entry changes", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await h.InferAsync("cls")).Version);
        await ReconcileOnceAsync(h);
        h.ApplyTwin(3, new JsonObject { ["models"] = Models(("cls", 2))["models"]!.DeepClone(), ["telemetryInterval"] = 30 }); // another key only
        await ReconcileOnceAsync(h);
        Assert.Equal(1, h.Engine.GetStatus("cls")!.Version);
        Assert.Equal(1, h.Store.GetActive("cls")!.Version);

        h.ApplyTwin(4, Models(("cls", 3)));
        await h.WaitForActiveAsync("cls", 3);
        Assert.Equal(3, (await h.InferAsync("cls")).Version);
    }

    [Fact]
    public async Task ActivateAsync_WithProviders_HoldSurvivesAnUnrelatedTwinUpdate()
    {
        _registry.Publish("cls", 1);
        _registry.Publish("cls", 2);
        await using var h = Harness("2", providers: "cpu");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 2);
        var pulled = await h.Sync.ActivateAsync("cls", 1, CancellationToken.None); // pulled (pinned) and activated
        Assert.Equal(200, pulled.Status);

        h.ApplyTwin(2, new JsonObject { ["pollInterval"] = 60 }); // re-parses every entry; cls is unchanged
        await ReconcileOnceAsync(h);
        await ReconcileOnceAsync(h);

        Assert.Equal(1, h.Engine.GetStatus("cls")!.Version);
        Assert.Equal(1, h.Store.GetActive("cls")!.Version);
    }

    [Fact]
    public async Task ActivateAsync_NotInstalledNotListed_ErrorAndServingUnchanged()
    {
        _registry.Publish("cls", 1);
        await using var h = Harness("1");
        await h.StartAsync();
        await h.WaitForActiveAsync("cls", 1);

        var result = await h.Sync.ActivateAsync("cls", 9, CancellationToken.None);
        var unknown = await h.Sync.ActivateAsync("nope", 1, CancellationToken.None);

        Assert.Equal(500, result.Status);
        Assert.Equal(1, result.ActiveVersion);
        Assert.Equal(404, unknown.Status);
        Assert.Equal(1, (await h.InferAsync("cls")).Version);
    }

    [Fact]
    public async Task Pull_UnsignedPackageWithoutAllowUnsigned_RefusedNothingServes()
    {
        _registry.Publish("cls", 1, sign: false);
        await using var h = Harness("1");
        await h.StartAsync();

        var refused = await h.WaitForPhaseAsync("cls", SyncPhase.Refused);

        Assert.Contains("sign", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("nothing serves", refused.Message, StringComparison.Ordinal);
        Assert.Null(h.Engine.GetStatus("cls"));
        Assert.Null(h.Store.GetActive("cls"));
    }

    [Fact]
    public async Task Pull_UnsignedPackageWithAllowUnsigned_Serves()
    {
        _registry.Publish("cls", 1, sign: false);
        await using var h = Harness("1", allowUnsigned: true);
        await h.StartAsync();

        await h.WaitForActiveAsync("cls", 1);

        Assert.Equal(1, (await h.InferAsync("cls")).Version);
    }
}
