using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Hosting;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Desired;

public sealed class DesiredStateSourceTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();
    private readonly ListLogger<DesiredStateSource> _logger = new();

    public void Dispose() => _temp.Dispose();

    private string DataDirectory => _temp.Sub("data");

    private DesiredStateSource Create(Dictionary<string, string?>? config = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(config ?? []).Build();
        return new DesiredStateSource(configuration, Options.Create(new AgentOptions { DataDirectory = DataDirectory }), _logger);
    }

    private static Dictionary<string, string?> Config() => new()
    {
        ["EdgeMl:Desired:registry"] = "/srv/registry",
        ["EdgeMl:Desired:pollInterval"] = "00:01:00",
        ["EdgeMl:Desired:telemetryInterval"] = "30",
        ["EdgeMl:Desired:models:cls:version"] = "1",
        ["EdgeMl:Desired:models:cls:providers:0"] = "cpu",
        ["EdgeMl:Desired:models:cls:batching:enabled"] = "true",
        ["EdgeMl:Desired:models:cls:batching:maxDelayMs"] = "5",
        ["EdgeMl:Desired:models:det:version"] = "latest",
    };

    private static DesiredPropertiesUpdate Full(long version, string json) => new(version, JsonNode.Parse(json)!.AsObject(), IsFullDocument: true);

    private static DesiredPropertiesUpdate Patch(long version, string json) => new(version, JsonNode.Parse(json)!.AsObject(), IsFullDocument: false);

    [Fact]
    public void Current_ConfigurationBatchingAuto_IsAuto()
    {
        // --EdgeMl:Desired:models:det:batching=auto on the command line, as edgeml run takes it.
        var config = Config();
        config["EdgeMl:Desired:models:det:batching"] = "auto";

        var current = Create(config).Current;

        Assert.Empty(current.Issues);
        Assert.True(current.State.Models["det"].BatchingAuto);
        Assert.False(current.State.Models["cls"].BatchingAuto);
    }

    [Fact]
    public void Current_ConfigurationOnly_ParsedWithTypedValuesAndVersionZero()
    {
        var source = Create(Config());

        var current = source.Current;

        Assert.Empty(current.Issues);
        Assert.Equal(0, current.TwinVersion);
        Assert.Equal("/srv/registry", current.State.Registry);
        Assert.Equal(TimeSpan.FromMinutes(1), current.State.PollInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), current.State.TelemetryInterval);
        Assert.Equal(1, current.State.Models["cls"].Version);
        Assert.Equal(["cpu"], current.State.Models["cls"].Providers);
        Assert.True(current.State.Models["cls"].Batching);
        Assert.Equal(TimeSpan.FromMilliseconds(5), current.State.Models["cls"].MaxBatchDelay);
        Assert.Null(current.State.Models["det"].Version);
        Assert.Empty(source.TwinKeys);
        Assert.False(File.Exists(Path.Combine(DataDirectory, "desired.json")));
    }

    [Fact]
    public void Create_PersistedTwinWithARefusedEntry_SaysSoAtStartNotOnlyWhenTheTwinChanges()
    {
        Create(Config()).Apply(Full(4, """{"models":{"cls":{"batching":{"maxBatchSize":0}}}}"""));
        var before = _logger.Count(5002);

        var restarted = Create(Config());

        Assert.Single(restarted.Current.Issues);
        Assert.Equal(before + 1, _logger.Count(5002));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 5002 && e.Message.Contains("$version 4: models.cls.batching.maxBatchSize refused", StringComparison.Ordinal));
    }

    [Fact]
    public void Apply_TwinFullDocument_OverridesConfigurationKeyByKey()
    {
        var source = Create(Config());
        DesiredSnapshot? raised = null;
        source.Changed += (_, s) => raised = s;

        var applied = source.Apply(Full(7, """
            {"models":{"cls":{"version":3}},"pollInterval":"00:02:00","$version":7,"$metadata":{"$lastUpdated":"2024-01-01T00:00:00Z"}}
            """));

        Assert.Same(applied, raised);
        Assert.Empty(applied.Issues);
        Assert.Equal(7, applied.TwinVersion);
        Assert.Equal("/srv/registry", applied.State.Registry); // not in the twin: the configuration's
        Assert.Equal(TimeSpan.FromMinutes(2), applied.State.PollInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), applied.State.TelemetryInterval);
        Assert.Equal(3, applied.State.Models["cls"].Version);
        Assert.True(applied.State.Models["cls"].Batching); // objects merge: the configured batching stays
        Assert.True(applied.State.Models.ContainsKey("det"));
        Assert.Equal(["models", "pollInterval"], source.TwinKeys.Order(StringComparer.Ordinal));
        Assert.Equal(["cls"], source.TwinModels);
        Assert.Null(applied.Document["$metadata"]);
    }

    [Fact]
    public void Apply_PatchWithNullModel_DeletesThatModelOnly()
    {
        var source = Create();
        source.Apply(Full(2, """{"registry":"/r","models":{"a":{"version":1},"b":{"version":2}}}"""));

        var applied = source.Apply(Patch(3, """{"models":{"a":null,"b":{"pinned":true}},"$version":3}"""));

        Assert.Empty(applied.Issues);
        Assert.Equal(["b"], applied.State.Models.Keys);
        Assert.Equal(2, applied.State.Models["b"].Version); // merged, not replaced
        Assert.True(applied.State.Models["b"].Pinned);
        Assert.Equal("/r", applied.State.Registry);
        Assert.Equal(["b"], source.TwinModels);
    }

    [Fact]
    public void Apply_PatchWithNullTopLevel_FallsBackToConfiguration()
    {
        var source = Create(Config());
        source.Apply(Full(2, """{"registry":"/other"}"""));

        var applied = source.Apply(Patch(3, """{"registry":null}"""));

        Assert.Equal("/srv/registry", applied.State.Registry);
        Assert.Empty(source.TwinKeys);
    }

    [Fact]
    public void Constructor_AfterRestart_RestoresPersistedTwinDocument()
    {
        var first = Create(Config());
        first.Apply(Full(4, """{"models":{"cls":{"version":2}}}"""));
        first.Apply(Patch(5, """{"models":{"ocr":{"version":"latest"}},"telemetryInterval":45}"""));

        var second = Create(Config());

        var current = second.Current;
        Assert.Equal(5, current.TwinVersion);
        Assert.Empty(current.Issues);
        Assert.Equal(2, current.State.Models["cls"].Version);
        Assert.Null(current.State.Models["ocr"].Version);
        Assert.Equal(TimeSpan.FromSeconds(45), current.State.TelemetryInterval);
        Assert.Equal(["cls", "ocr"], second.TwinModels.Order(StringComparer.Ordinal));
        Assert.Equal(1, _logger.Count(5000));
    }

    [Fact]
    public void Apply_BadModelEntry_PreviousAcceptedEntryKeepsServing()
    {
        var source = Create();
        source.Apply(Full(2, """{"registry":"/r","models":{"cls":{"version":2},"det":{"version":1}}}"""));

        var applied = source.Apply(Patch(3, """{"models":{"cls":{"version":"two"},"det":{"version":4}},"pollInterval":"forever"}"""));

        Assert.Equal(["models.cls.version", "pollInterval"], applied.Issues.Select(i => i.Path).Order(StringComparer.Ordinal));
        Assert.Equal(2, applied.State.Models["cls"].Version); // refused: the last accepted entry stays
        Assert.Equal(4, applied.State.Models["det"].Version); // valid: applied
        Assert.Equal(DesiredState.Empty.PollInterval, applied.State.PollInterval);
        Assert.Equal(2, _logger.Count(5002));
    }

    [Fact]
    public void Constructor_AfterRestartWithARefusedEntry_ServesTheEntryAcceptedBefore()
    {
        var before = Create();
        before.Apply(Full(2, """{"models":{"cls":{"version":2,"providers":["cpu"]}},"pollInterval":"00:02:00"}"""));
        before.Apply(Patch(3, """{"models":{"cls":{"version":"two"}},"pollInterval":"forever"}"""));

        var restarted = Create();

        Assert.Equal(3, restarted.Current.TwinVersion);
        Assert.Equal(["models.cls.version", "pollInterval"], restarted.Current.Issues.Select(i => i.Path).Order(StringComparer.Ordinal));
        Assert.Equal(2, restarted.Current.State.Models["cls"].Version);
        Assert.Equal(["cpu"], restarted.Current.State.Models["cls"].Providers);
        Assert.Equal(TimeSpan.FromMinutes(2), restarted.Current.State.PollInterval);
    }

    [Fact]
    public void Apply_ModelsNotAnObject_AllPreviousModelsKept()
    {
        var source = Create();
        source.Apply(Full(2, """{"models":{"cls":{"version":2},"det":{"version":1}}}"""));

        var applied = source.Apply(Full(3, """{"models":"cls"}"""));

        Assert.Equal("models", Assert.Single(applied.Issues).Path);
        Assert.Equal(["cls", "det"], applied.State.Models.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Apply_BadRefreshOfRegistry_KeepsPreviousRegistry()
    {
        var source = Create();
        source.Apply(Full(2, """{"registry":"/good"}"""));

        var applied = source.Apply(Patch(3, """{"registry":42}"""));

        Assert.Equal("/good", applied.State.Registry);
        Assert.Equal("registry", Assert.Single(applied.Issues).Path);
    }

    [Fact]
    public void Constructor_CorruptPersistedFile_FallsBackToConfigurationAndLogs()
    {
        Directory.CreateDirectory(DataDirectory);
        File.WriteAllText(Path.Combine(DataDirectory, "desired.json"), "{\"models\":{\"cls\":");

        var source = Create(Config());

        Assert.Equal(0, source.Current.TwinVersion);
        Assert.Equal(1, source.Current.State.Models["cls"].Version);
        Assert.Equal("/srv/registry", source.Current.State.Registry);
        Assert.Empty(source.TwinKeys);
        Assert.Equal(1, _logger.Count(5001));
    }

    [Fact]
    public void Constructor_PersistedFileNotAnObject_FallsBackToConfiguration()
    {
        Directory.CreateDirectory(DataDirectory);
        File.WriteAllText(Path.Combine(DataDirectory, "desired.json"), "[1,2]");

        var source = Create(Config());

        Assert.Equal(0, source.Current.TwinVersion);
        Assert.Equal(1, source.Current.State.Models["cls"].Version);
    }

    [Fact]
    public void Apply_FullDocumentAfterPatches_ReplacesTwinKeysNotInIt()
    {
        var source = Create();
        source.Apply(Full(2, """{"registry":"/r","models":{"a":{"version":1}}}"""));
        source.Apply(Patch(3, """{"models":{"b":{"version":1}}}"""));

        var applied = source.Apply(Full(9, """{"models":{"b":{"version":2}}}"""));

        Assert.Null(applied.State.Registry);
        Assert.Equal(["b"], applied.State.Models.Keys);
        Assert.Equal(9, applied.TwinVersion);
    }
}
