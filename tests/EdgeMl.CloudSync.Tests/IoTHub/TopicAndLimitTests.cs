using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Tests.IoTHub;

public sealed class TopicAndLimitTests
{
    [Theory]
    [InlineData("$iothub/twin/res/200/?$rid=abc", 200, "abc", null)]
    [InlineData("$iothub/twin/res/204/?$rid=abc&$version=124", 204, "abc", 124L)]
    [InlineData("$iothub/twin/res/400/?$rid=x", 400, "x", null)]
    public void TryParseTwinResponse_ReferenceTopics_Parsed(string topic, int status, string rid, long? version)
    {
        Assert.True(IoTHubTopics.TryParseTwinResponse(topic, out var s, out var r, out var v));
        Assert.Equal((status, rid, version), (s, r, v));
    }

    [Theory]
    [InlineData("$iothub/twin/res/abc/?$rid=1")]
    [InlineData("$iothub/twin/res/200/")]
    [InlineData("devices/d/messages/events/")]
    public void TryParseTwinResponse_Other_False(string topic)
    {
        Assert.False(IoTHubTopics.TryParseTwinResponse(topic, out _, out _, out _));
    }

    [Fact]
    public void TryParseMethod_ReferenceTopic_NameAndRid()
    {
        Assert.True(IoTHubTopics.TryParseMethod("$iothub/methods/POST/reload/?$rid=1", out var name, out var rid));
        Assert.Equal(("reload", "1"), (name, rid));
    }

    [Fact]
    public void TryParseDesired_WithVersion_Parsed()
    {
        Assert.True(IoTHubTopics.TryParseDesired("$iothub/twin/PATCH/properties/desired/?$version=13", out var version));
        Assert.Equal(13, version);
    }

    [Fact]
    public void TwinSize_DocumentedRule_StringsUtf8NumbersEightBooleansFour()
    {
        var patch = new JsonObject { ["ab"] = "héllo", ["n"] = 1.5, ["b"] = true, ["o"] = new JsonObject { ["x"] = 1 }, ["$version"] = 3 };

        Assert.Equal((2 + 6) + (1 + 8) + (1 + 4) + (1 + 1 + 8), TwinLimits.Size(patch));
    }

    [Fact]
    public void CheckReportedPatch_Over32KB_ClearError()
    {
        var patch = new JsonObject();
        for (var i = 0; i < 12; i++)
        {
            patch[$"p{i}"] = new string('x', 3000);
        }

        Assert.Contains("allows 32768", TwinLimits.CheckReportedPatch(patch), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckReportedPatch_StringOver4KB_NamesTheProperty()
    {
        var patch = new JsonObject { ["model"] = new JsonObject { ["notes"] = new string('x', 5000) } };

        Assert.Contains("'model.notes'", TwinLimits.CheckReportedPatch(patch), StringComparison.Ordinal);
    }

    [Fact]
    public void Validators_BadOptions_AllProblemsReported()
    {
        var options = new IoTHubClientOptions
        {
            ConnectionString = "HostName=h;DeviceId=d",
            ReconnectMinDelay = TimeSpan.FromSeconds(30),
            ReconnectMaxDelay = TimeSpan.FromSeconds(5),
            TelemetryQueueCapacity = 0,
        };

        var attributes = new IoTHubClientOptionsValidator().Validate(null, options);
        var cross = new IoTHubClientOptionsCrossValidator().Validate(null, options);

        Assert.True(attributes.Failed);
        Assert.Contains(nameof(IoTHubClientOptions.TelemetryQueueCapacity), attributes.FailureMessage, StringComparison.Ordinal);
        Assert.True(cross.Failed);
        Assert.Contains("ReconnectMinDelay", cross.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("neither a SharedAccessKey", cross.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validators_Defaults_Valid()
    {
        var options = new IoTHubClientOptions();

        Assert.Equal(ValidateOptionsResult.Success, new IoTHubClientOptionsValidator().Validate(null, options));
        Assert.Equal(ValidateOptionsResult.Success, new IoTHubClientOptionsCrossValidator().Validate(null, options));
    }
}
