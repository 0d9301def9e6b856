using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.IoTHub;

namespace EdgeMl.Agent.Tests.Health;

public sealed class HealthJsonTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void Fingerprint_OnlyTimeLatencyAndCountsMoved_Unchanged()
    {
        var before = Health(Model("m", latency: 1.5, requests: 10));
        var after = Health(Model("m", latency: 9.25, requests: 5000)) with { At = T0.AddMinutes(5), Disk = new DiskHealth("/data", 1, 100) };

        Assert.Equal(HealthJson.Fingerprint(HealthJson.ToTwin(before)), HealthJson.Fingerprint(HealthJson.ToTwin(after)));
    }

    [Fact]
    public void Fingerprint_OnlyProbationShadowAndBatchingFiguresMoved_UnchangedUntilAPhaseChanges()
    {
        static AgentHealth With(long requests, string phase, long compared, double rate) =>
            Health(Model("m") with { Batching = new BatchingHealth("unbatched", $"unbatched: {rate} predictions per busy second against 1 batched", rate, 1) }) with
            {
                Proving = new ProvingHealth(
                    [new ProbationState("m", 2, 1, phase == "passed" ? ProbationPhase.Passed : ProbationPhase.OnProbation, requests, $"v2 on probation: {requests} requests, 3 min to go", T0)],
                    [new ShadowState("m", 3, 2, compared, compared / 2, 1, 0.5, 0.7, "v3 runs as a shadow of v2")]),
            };

        var print = HealthJson.Fingerprint(HealthJson.ToTwin(With(10, "onProbation", 100, 2870)));

        Assert.Equal(print, HealthJson.Fingerprint(HealthJson.ToTwin(With(5000, "onProbation", 900, 2990.5))));
        Assert.NotEqual(print, HealthJson.Fingerprint(HealthJson.ToTwin(With(5000, "passed", 900, 2990.5))));
    }

    [Fact]
    public void Fingerprint_StateOrLinkChanged_Differs()
    {
        var before = Health(Model("m"));
        var degraded = Health(Model("m") with { Degraded = true, DegradedReason = "cuda unavailable" });
        var offline = before with { Hub = new HubHealth(true, false, "connection lost", 0) };

        var print = HealthJson.Fingerprint(HealthJson.ToTwin(before));

        Assert.NotEqual(print, HealthJson.Fingerprint(HealthJson.ToTwin(degraded)));
        Assert.NotEqual(print, HealthJson.Fingerprint(HealthJson.ToTwin(offline)));
    }

    [Fact]
    public void ToTwin_NullsInsideArraysDropped_ObjectNullsKeptToDeleteOldValues()
    {
        var twin = HealthJson.ToTwin(Health(Model("m")));

        var model = twin["models"]![0]!.AsObject();
        Assert.False(model.ContainsKey("lastFailure"));
        Assert.False(model.ContainsKey("degradedReason"));
        Assert.True(twin["hub"]!.AsObject().ContainsKey("error"));
        Assert.Null(twin["hub"]!["error"]);
    }

    [Fact]
    public void ToTwin_HundredsOfModelsWithLongReasons_FitsTheReportedLimitAndSaysWhatIsLeftOut()
    {
        var chain = new[] { new ProviderHealth("cuda", "librariesMissing", new string('l', 400)), new ProviderHealth("cpu", "inUse", null) };
        var models = Enumerable.Range(0, 300).Select(i => Model($"model-{i:000}") with { Degraded = true, DegradedReason = new string('r', 5000), Chain = chain }).ToArray();

        var twin = HealthJson.ToTwin(Health(models));

        Assert.True(TwinLimits.Size(twin) <= HealthJson.TwinBudgetBytes, $"{TwinLimits.Size(twin)} bytes");
        Assert.Null(TwinLimits.CheckReportedPatch(new System.Text.Json.Nodes.JsonObject { ["health"] = twin }));
        var kept = twin["models"]!.AsArray().Count;
        Assert.InRange(kept, 1, 299);
        Assert.Equal(300 - kept, twin["modelsOmitted"]!.GetValue<int>());
        // Reasons go before models do; each provider's state stays.
        var first = twin["models"]![0]!["chain"]![0]!.AsObject();
        Assert.Equal("librariesMissing", first["state"]!.GetValue<string>());
        Assert.False(first.ContainsKey("reason"));
        Assert.Equal("1.32.0", twin["accelerators"]!["onnxRuntime"]!["version"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("https://acct.blob.core.windows.net/models?sv=2024-05-04&sr=c&sig=S1GSECRET%2B", "S1GSECRET")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=K3YSECRET==;Container=models", "K3YSECRET")]
    [InlineData("https://user:PA55SECRET@registry.example/models", "PA55SECRET")]
    public void EveryForm_RegistryCarryingASecret_LeavesMasked(string registry, string secret)
    {
        var health = Health(Model("m")) with
        {
            Sync = new SyncHealth(registry, $"registry '{registry}' is not usable", T0, [new ModelSyncHealth("m", "latest", "failed", null, 2, null, $"pull from {registry} failed")]),
        };
        var e = new Events.AgentEvent(T0, "syncFailed", "m", 2, $"m latest: {registry} unreachable");

        string[] forms =
        [
            System.Text.Encoding.UTF8.GetString(HealthJson.Serialize(health)),
            HealthJson.ToNode(health).ToJsonString(),
            HealthJson.ToTwin(health).ToJsonString(),
            System.Text.Encoding.UTF8.GetString(HealthJson.Serialize(e)),
            HealthJson.ToJson(e).Message,
        ];

        Assert.All(forms, f => Assert.DoesNotContain(secret, f, StringComparison.Ordinal));
        Assert.Contains("***", HealthJson.ToNode(health)["sync"]!["registry"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static ModelHealth Model(string name, double latency = 2, long requests = 1) =>
        new(name, "ready", 1, "cpu", ["cpu"], [new ProviderHealth("cpu", "inUse", null)], false, null, null, null, new LatencyHealth(latency, latency * 2), requests, 0, null, null);

    private static AgentHealth Health(params ModelHealth[] models) =>
        new("dev-1", HealthStatus.Healthy, new ReadyHealth(true, null), "twin", T0, T0, "1.0.0", models, new SyncHealth(null, null, T0, []),
            new HubHealth(true, true, null, 0), new BrokerHealth(false, false, null, null, 0), new DiskHealth("/data", 50, 100), null,
            new AcceleratorsHealth(new OnnxRuntimeHealth("1.32.0", "gpu", ["tensorrt", "cuda", "cpu"], "/app/libonnxruntime.so"),
                [new LibraryHealth("libcuda.so.1", false, "libcuda.so.1: cannot open shared object file: No such file or directory")],
                new CudaHealth(null, "the CUDA driver does not load: libcuda.so.1: cannot open shared object file: No such file or directory", []), null));
}
