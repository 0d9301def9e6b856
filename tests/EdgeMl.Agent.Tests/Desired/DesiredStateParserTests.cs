using System.Text.Json.Nodes;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Runtime.Providers;
using Microsoft.Extensions.Configuration;

namespace EdgeMl.Agent.Tests.Desired;

public sealed class DesiredStateParserTests
{
    private static DesiredParseResult Parse(string json) => DesiredStateParser.Parse(JsonNode.Parse(json)!.AsObject());

    private static DesiredParseResult ParseModel(string entry) => Parse($$$"""{"models":{"cls":{{{entry}}}}}""");

    [Fact]
    public void Parse_DeploymentManifestDocument_NoIssues()
    {
        // The module's "properties.desired" as an operator writes it in deployment.template.json, with the twin's bookkeeping.
        var result = Parse("""
            {
              "registry": "https://models.example.com/edgeml",
              "models": {
                "ocr-cls": { "version": "latest", "providers": ["cuda", "cpu"], "policy": "prefer",
                             "batching": { "enabled": true, "maxBatchSize": 8, "maxDelayMs": 2 },
                             "threads": 1, "maxConcurrency": 2,
                             "capture": { "enabled": true, "sampleRate": 0.01, "driftingSampleRate": 0.5, "lowConfidenceThreshold": 0.6,
                                          "confidenceOutput": "softmax_0.tmp_0", "captureErrors": true, "maxRecordBytes": 65536 } },
                "ocr-det": { "version": 3, "pinned": true, "providers": "cpu" }
              },
              "healthReportInterval": "00:00:10",
              "telemetryInterval": 60,
              "pollInterval": "00:05:00",
              "$version": 12,
              "$metadata": { "$lastUpdated": "2024-01-01T00:00:00Z" }
            }
            """);

        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        var state = result.State;
        Assert.Equal("https://models.example.com/edgeml", state.Registry);
        Assert.Equal(["ocr-cls", "ocr-det"], state.Models.Keys.Order(StringComparer.Ordinal));
        var cls = state.Models["ocr-cls"];
        Assert.Null(cls.Version);
        Assert.Equal(["cuda", "cpu"], cls.Providers);
        Assert.True(cls.Batching);
        Assert.Equal(8, cls.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(2), cls.MaxBatchDelay);
        Assert.Equal(1, cls.Threads);
        Assert.Equal(2, cls.MaxConcurrency);
        Assert.Equal(0.01, cls.Capture!.SampleRate);
        Assert.Equal(65536, cls.Capture.MaxRecordBytes);
        var det = state.Models["ocr-det"];
        Assert.Equal(3, det.Version);
        Assert.True(det.Pinned);
        Assert.Equal(["cpu"], det.Providers);
        Assert.Equal(TimeSpan.FromSeconds(10), state.HealthReportInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), state.TelemetryInterval);
        Assert.Equal(TimeSpan.FromMinutes(5), state.PollInterval);
    }

    [Fact]
    public void Parse_ProbationAndShadow_SettingsReadDefaultsElsewhere()
    {
        var result = Parse("""
            {
              "models": {
                "a": { "version": 3, "probation": { "enabled": true, "duration": "00:30:00", "minRequests": 1000, "maxErrorRate": 0.1,
                                                    "maxErrorRateIncrease": 0.02, "maxP95Ratio": 2, "minP95IncreaseMs": 0.5, "maxPsi": 0.5, "maxMemoryGrowthMb": 256 },
                       "shadow": { "version": 4, "sampleRate": 0.25, "promoteWhen": { "agreement": 0.99, "samples": 2000 }, "tolerance": 0.01, "cpuBudget": 0.5 } },
                "b": { "version": 1, "probation": { "enabled": false }, "shadow": { "version": 2, "promoteWhen": false } },
                "c": { "version": 1 }
              }
            }
            """);

        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        var a = result.State.Models["a"];
        Assert.Equal(new ProbationSettings { Duration = TimeSpan.FromMinutes(30), MinRequests = 1000, MaxErrorRate = 0.1, MaxErrorRateIncrease = 0.02, MaxP95Ratio = 2, MinP95IncreaseMs = 0.5, MaxPsi = 0.5, MaxMemoryGrowthMb = 256 }, a.Probation);
        Assert.Equal(new ShadowSettings { Version = 4, SampleRate = 0.25, PromoteAgreement = 0.99, PromoteSamples = 2000, Tolerance = 0.01, CpuBudget = 0.5 }, a.Shadow);
        var b = result.State.Models["b"];
        Assert.False(b.Probation.Enabled);
        Assert.Equal(ProbationSettings.Default.Duration, b.Probation.Duration);
        Assert.Null(b.Shadow!.PromoteAgreement);
        Assert.Equal(ProbationSettings.Default, result.State.Models["c"].Probation);
        Assert.Null(result.State.Models["c"].Shadow);

        // A changed probation or shadow entry is a changed desired entry (model sync works on it again).
        Assert.NotEqual(a, a with { Probation = a.Probation with { MaxPsi = 0.4 } });
        Assert.NotEqual(a, a with { Shadow = null });
    }

    [Fact]
    public void Parse_EmptyDocument_DefaultsAndNoIssues()
    {
        var result = Parse("{}");

        Assert.True(result.IsValid);
        Assert.Null(result.State.Registry);
        Assert.Empty(result.State.Models);
        Assert.Equal(DesiredState.Empty.PollInterval, result.State.PollInterval);
    }

    [Theory]
    [InlineData("\"latest\"", null)]
    [InlineData("\"LATEST\"", null)]
    [InlineData("3", 3L)]
    [InlineData("\"3\"", 3L)]
    public void Parse_ValidVersion_Accepted(string version, long? expected)
    {
        var result = ParseModel($$"""{"version":{{version}}}""");

        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        Assert.Equal(expected, result.State.Models["cls"].Version);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("\"-1\"")]
    [InlineData("\"abc\"")]
    [InlineData("2.5")]
    [InlineData("true")]
    [InlineData("[1]")]
    public void Parse_InvalidVersion_IssueAtVersionPathAndModelLeftOut(string version)
    {
        var result = ParseModel($$"""{"version":{{version}}}""");

        var issue = Assert.Single(result.Issues);
        Assert.Equal("models.cls.version", issue.Path);
        Assert.Contains("\"latest\" or a positive integer", issue.Message, StringComparison.Ordinal);
        Assert.False(result.State.Models.ContainsKey("cls"));
    }

    [Fact]
    public void Parse_ProvidersAsArrayAndAsCommaString_SameChainLowerCased()
    {
        var array = ParseModel("""{"providers":["TensorRT","cuda","cpu"]}""");
        var text = ParseModel("""{"providers":" tensorrt, CUDA ,cpu"}""");

        Assert.True(array.IsValid, string.Join("; ", array.Issues));
        Assert.True(text.IsValid, string.Join("; ", text.Issues));
        Assert.Equal(["tensorrt", "cuda", "cpu"], array.State.Models["cls"].Providers);
        Assert.Equal(["tensorrt", "cuda", "cpu"], text.State.Models["cls"].Providers);
    }

    [Theory]
    [InlineData("""["cuda","gpu9"]""", "'gpu9' is not an execution provider")]
    [InlineData("\"cpu,quantum\"", "'quantum' is not an execution provider")]
    [InlineData("""["cuda","CUDA"]""", "more than once")]
    [InlineData("\"cpu,cpu\"", "more than once")]
    [InlineData("""["cuda",1]""", "as strings")]
    [InlineData("\"\"", "names no provider")]
    [InlineData("[]", "names no provider")]
    [InlineData("7", "must be a list")]
    public void Parse_BadProviders_IssueAtProvidersPath(string providers, string expected)
    {
        var result = ParseModel($$"""{"providers":{{providers}}}""");

        var issue = Assert.Single(result.Issues);
        Assert.Equal("models.cls.providers", issue.Path);
        Assert.Contains(expected, issue.Message, StringComparison.Ordinal);
        Assert.Empty(result.State.Models);
    }

    [Fact]
    public void Parse_Policy_PreferRequireStrictAcceptedOthersRefused()
    {
        Assert.Equal(ProviderPolicy.Require, ParseModel("""{"policy":"Require"}""").State.Models["cls"].Policy);
        Assert.Equal(ProviderPolicy.Strict, ParseModel("""{"policy":"strict"}""").State.Models["cls"].Policy);
        Assert.Equal(ProviderPolicy.Prefer, ParseModel("""{"policy":"prefer"}""").State.Models["cls"].Policy);

        foreach (var bad in new[] { "\"maybe\"", "\"1\"", "\"7\"" })
        {
            var result = ParseModel($$"""{"policy":{{bad}}}""");
            var issue = Assert.Single(result.Issues);
            Assert.Equal("models.cls.policy", issue.Path);
            Assert.Contains("\"prefer\", \"require\" or \"strict\"", issue.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("""{"batching":"auto"}""", 8)]
    [InlineData("""{"batching":{"enabled":"auto","maxBatchSize":4}}""", 4)]
    public void Parse_BatchingAuto_MeasuresInsteadOfBeingTold(string entry, int maxBatch)
    {
        var result = ParseModel(entry);

        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        var model = result.State.Models["cls"];
        Assert.True(model.BatchingAuto);
        Assert.False(model.Batching);
        Assert.Equal(maxBatch, model.MaxBatchSize);

        // Switching to or from auto reloads the model, as any other batching change does.
        Assert.False(model.SameRuntimeSettings(model with { BatchingAuto = false }));
        Assert.NotEqual(model, model with { BatchingAuto = false });
    }

    [Theory]
    [InlineData("""{"pinned":"yes"}""", "models.cls.pinned", "true or false")]
    [InlineData("""{"policy":1}""", "models.cls.policy", "must be a string")]
    [InlineData("""{"threads":-1}""", "models.cls.threads", "from 0 to 256")]
    [InlineData("""{"threads":257}""", "models.cls.threads", "from 0 to 256")]
    [InlineData("""{"threads":"4"}""", "models.cls.threads", "whole number")]
    [InlineData("""{"threads":1.5}""", "models.cls.threads", "whole number")]
    [InlineData("""{"maxConcurrency":0}""", "models.cls.maxConcurrency", "from 1 to 256")]
    [InlineData("""{"batching":true}""", "models.cls.batching", "must be \"auto\" or an object")]
    [InlineData("""{"batching":"sometimes"}""", "models.cls.batching", "must be \"auto\" or an object")]
    [InlineData("""{"batching":{"enabled":1}}""", "models.cls.batching.enabled", "true or false")]
    [InlineData("""{"batching":{"maxBatchSize":0}}""", "models.cls.batching.maxBatchSize", "from 1 to 1024")]
    [InlineData("""{"batching":{"maxDelayMs":1001}}""", "models.cls.batching.maxDelayMs", "from 0 to 1000")]
    [InlineData("""{"batching":{"maxDelayMs":"2"}}""", "models.cls.batching.maxDelayMs", "a number")]
    [InlineData("""{"capture":"on"}""", "models.cls.capture", "must be an object")]
    [InlineData("""{"capture":{"sampleRate":1.5}}""", "models.cls.capture.sampleRate", "must be between 0 and 1")]
    [InlineData("""{"capture":{"sampleRate":"high"}}""", "models.cls.capture.sampleRate", "must be a number, not \"high\"")]
    [InlineData("""{"capture":{"enabled":"true"}}""", "models.cls.capture.enabled", "true or false")]
    [InlineData("""{"capture":{"confidenceOutput":3}}""", "models.cls.capture.confidenceOutput", "must be a string")]
    [InlineData("""{"capture":{"maxRecordBytes":10}}""", "models.cls.capture.maxRecordBytes", "must be between 256 and 67108864")]
    [InlineData("""{"capture":{"lowConfidenceThreshold":-0.5}}""", "models.cls.capture.lowConfidenceThreshold", "must be between 0 and 1")]
    [InlineData("""{"probation":false}""", "models.cls.probation", "must be an object")]
    [InlineData("""{"probation":{"minRequests":0}}""", "models.cls.probation.minRequests", "from 1 to")]
    [InlineData("""{"probation":{"maxP95Ratio":0.5}}""", "models.cls.probation.maxP95Ratio", "from 1 to 1000")]
    [InlineData("""{"probation":{"minP95IncreaseMs":-1}}""", "models.cls.probation.minP95IncreaseMs", "from 0 to 60000")]
    [InlineData("""{"probation":{"maxErrorRate":2}}""", "models.cls.probation.maxErrorRate", "from 0 to 1")]
    [InlineData("""{"probation":{"duration":"soon"}}""", "models.cls.probation.duration", "must be a duration")]
    [InlineData("""{"probation":{"window":10}}""", "models.cls.probation.window", "unknown property")]
    [InlineData("""{"shadow":4}""", "models.cls.shadow", "must be an object")]
    [InlineData("""{"shadow":{"sampleRate":0.1}}""", "models.cls.shadow.version", "positive integer")]
    [InlineData("""{"version":4,"shadow":{"version":4}}""", "models.cls.shadow.version", "the desired version itself")]
    [InlineData("""{"shadow":{"version":4,"sampleRate":2}}""", "models.cls.shadow.sampleRate", "from 0 to 1")]
    [InlineData("""{"shadow":{"version":4,"promoteWhen":{"agreement":1.1}}}""", "models.cls.shadow.promoteWhen.agreement", "from 0 to 1")]
    [InlineData("""{"shadow":{"version":4,"promoteWhen":"soon"}}""", "models.cls.shadow.promoteWhen", "or false")]
    public void Parse_WrongTypeOrRange_IssueNamesThePath(string entry, string path, string expected)
    {
        var result = ParseModel(entry);

        var issue = Assert.Single(result.Issues);
        Assert.Equal(path, issue.Path);
        Assert.Contains(expected, issue.Message, StringComparison.Ordinal);
        Assert.Empty(result.State.Models);
    }

    [Theory]
    [InlineData("SampleRate", "sampleRate", "1.5")]
    [InlineData("DriftingSampleRate", "driftingSampleRate", "-1")]
    [InlineData("LowConfidenceThreshold", "lowConfidenceThreshold", "2")]
    [InlineData("MaxRecordBytes", "maxRecordBytes", "10")]
    public void Parse_CaptureOutOfRange_SameRuleAndMessageAsConfiguration(string property, string twinName, string value)
    {
        var configured = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [property] = value }).Build().Get<CaptureOptions>()!;
        var fromConfiguration = Assert.Single(new CaptureSettingsRules().Validate(null, new CaptureSettings { Models = { ["cls"] = configured } }).Failures!);

        var fromTwin = Assert.Single(ParseModel($$$"""{"capture":{"{{{twinName}}}":{{{value}}}}}""").Issues);

        Assert.Equal($"models.cls.capture.{twinName}", fromTwin.Path);
        Assert.Equal(fromConfiguration[fromConfiguration.IndexOf(" must ", StringComparison.Ordinal)..], fromTwin.Message[fromTwin.Message.IndexOf(" must ", StringComparison.Ordinal)..]);
    }

    [Theory]
    [InlineData("""{"colour":"red"}""", "colour")]
    [InlineData("""{"models":{"cls":{"verison":2}}}""", "models.cls.verison")]
    [InlineData("""{"models":{"cls":{"batching":{"size":2}}}}""", "models.cls.batching.size")]
    [InlineData("""{"models":{"cls":{"capture":{"rate":0.1}}}}""", "models.cls.capture.rate")]
    public void Parse_UnknownKey_IssueAtItsPathListingKnownKeys(string json, string path)
    {
        var result = Parse(json);

        var issue = Assert.Single(result.Issues);
        Assert.Equal(path, issue.Path);
        Assert.Contains("unknown property; known:", issue.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("-dash-first")]
    [InlineData("has space")]
    [InlineData("sl/ash")]
    public void Parse_InvalidModelName_IssueAtModelPathOthersKept(string name)
    {
        var models = new JsonObject { [name] = new JsonObject { ["version"] = 1 }, ["good"] = new JsonObject { ["version"] = 1 } };

        var result = DesiredStateParser.Parse(new JsonObject { ["models"] = models });

        var issue = Assert.Single(result.Issues);
        Assert.Equal($"models.{name}", issue.Path);
        Assert.Contains("model name", issue.Message, StringComparison.Ordinal);
        Assert.Equal(["good"], result.State.Models.Keys);
    }

    [Fact]
    public void Parse_ModelsNotAnObjectOrEntryNotAnObject_Refused()
    {
        var notObject = Parse("""{"models":["cls"]}""");
        var entry = Parse("""{"models":{"cls":"latest"}}""");

        Assert.Equal("models", Assert.Single(notObject.Issues).Path);
        Assert.Equal("models.cls", Assert.Single(entry.Issues).Path);
        Assert.Empty(entry.State.Models);
    }

    [Fact]
    public void Parse_NullModelEntry_IsADeletionNotAnIssue()
    {
        var result = Parse("""{"models":{"cls":null,"det":{}}}""");

        Assert.True(result.IsValid);
        Assert.Equal(["det"], result.State.Models.Keys);
    }

    [Theory]
    [InlineData("registry", "5")]
    [InlineData("registry", "{}")]
    public void Parse_RegistryNotAString_Refused(string key, string value)
    {
        var result = Parse($$"""{"{{key}}":{{value}}}""");

        var issue = Assert.Single(result.Issues);
        Assert.Equal("registry", issue.Path);
        Assert.Null(result.State.Registry);
    }

    [Theory]
    [InlineData("pollInterval", "\"00:01:30\"", 90)]
    [InlineData("pollInterval", "90", 90)]
    [InlineData("pollInterval", "5", 5)]
    [InlineData("healthReportInterval", "\"00:00:01\"", 1)]
    [InlineData("healthReportInterval", "2.5", 2.5)]
    [InlineData("telemetryInterval", "\"10\"", 10)]
    [InlineData("telemetryInterval", "86400", 86400)]
    public void Parse_IntervalAsTextOrSeconds_Accepted(string key, string value, double seconds)
    {
        var result = Parse($$"""{"{{key}}":{{value}}}""");

        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        var state = result.State;
        var actual = key switch { "pollInterval" => state.PollInterval, "healthReportInterval" => state.HealthReportInterval, _ => state.TelemetryInterval };
        Assert.Equal(TimeSpan.FromSeconds(seconds), actual);
    }

    [Theory]
    [InlineData("pollInterval", "4")]
    [InlineData("pollInterval", "\"8.00:00:00\"")]
    [InlineData("pollInterval", "-10")]
    [InlineData("healthReportInterval", "0")]
    [InlineData("healthReportInterval", "\"01:00:01\"")]
    [InlineData("telemetryInterval", "86401")]
    [InlineData("telemetryInterval", "\"soon\"")]
    [InlineData("telemetryInterval", "true")]
    [InlineData("pollInterval", "1e20")]
    [InlineData("pollInterval", "-1e20")]
    [InlineData("healthReportInterval", "1e300")]
    public void Parse_IntervalOutOfRangeOrNotADuration_IssueAndDefaultKept(string key, string value)
    {
        var result = Parse($$"""{"{{key}}":{{value}}}""");

        var issue = Assert.Single(result.Issues);
        Assert.Equal(key, issue.Path);
        Assert.Contains("as \"hh:mm:ss\" or seconds", issue.Message, StringComparison.Ordinal);
        Assert.Equal(DesiredState.Empty.PollInterval, result.State.PollInterval);
        Assert.Equal(DesiredState.Empty.HealthReportInterval, result.State.HealthReportInterval);
        Assert.Equal(DesiredState.Empty.TelemetryInterval, result.State.TelemetryInterval);
    }

    [Fact]
    public void Parse_SeveralProblems_AllReportedWithTheirPaths()
    {
        var result = Parse("""
            {"registry": 1, "extra": 2, "pollInterval": "x",
             "models": {"a": {"version": 0, "threads": 999}, "b": {"providers": "cpu,cpu"}, "c": {"version": 2}}}
            """);

        Assert.Equal(
            ["extra", "models.a.threads", "models.a.version", "models.b.providers", "pollInterval", "registry"],
            result.Issues.Select(i => i.Path).Order(StringComparer.Ordinal));
        Assert.Equal(["c"], result.State.Models.Keys);
        Assert.Equal(2, result.IssuesOf("models.a").Count());
        Assert.Empty(result.IssuesOf("models.c"));
    }

    [Fact]
    public void Parse_NumbersTypedByConfiguration_Accepted()
    {
        // The configuration section arrives as JsonValue.Create(long/double/bool), not as parsed JSON elements.
        var model = new JsonObject
        {
            ["version"] = JsonValue.Create(2L),
            ["threads"] = JsonValue.Create(2L),
            ["batching"] = new JsonObject { ["enabled"] = JsonValue.Create(true), ["maxDelayMs"] = JsonValue.Create(5L) },
            ["capture"] = new JsonObject { ["sampleRate"] = JsonValue.Create(1L), ["lowConfidenceThreshold"] = JsonValue.Create(0.5) },
        };
        var document = new JsonObject
        {
            ["models"] = new JsonObject { ["cls"] = model },
            ["telemetryInterval"] = JsonValue.Create(60L),
            ["healthReportInterval"] = JsonValue.Create("00:00:20"),
        };

        var result = DesiredStateParser.Parse(document);

        Assert.True(result.IsValid, string.Join("; ", result.Issues));
        Assert.Equal(TimeSpan.FromMilliseconds(5), result.State.Models["cls"].MaxBatchDelay);
        Assert.Equal(1.0, result.State.Models["cls"].Capture!.SampleRate);
        Assert.Equal(TimeSpan.FromSeconds(60), result.State.TelemetryInterval);
    }
}
