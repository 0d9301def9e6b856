using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Telemetry;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Agent.Tests.Telemetry;

public sealed class JsonLogTests
{
    [Fact]
    public void Write_SecretsInMessageExceptionAndValues_RedactedWithTheTrace()
    {
        using var source = new ActivitySource("EdgeMl.Test.JsonLog");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var activity = source.StartActivity("work")!;
        var state = new List<KeyValuePair<string, object?>>
        {
            new("Registry", "https://acct.blob.core.windows.net/models?sv=2024&sig=abc123"),
            new("Password", "hunter2"),
            new("{OriginalFormat}", "pull from {Registry} failed"),
        };
        var entry = new LogEntry<List<KeyValuePair<string, object?>>>(
            LogLevel.Warning, "EdgeMl.Agent.Sync", new EventId(12, "PullFailed"), state,
            new InvalidOperationException("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0"),
            (_, _) => "pull failed: SharedAccessKey=bXlrZXk= refused");
        using var text = new StringWriter();

        new JsonLogFormatter().Write(entry, null, text);

        var line = text.ToString();
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        Assert.Single(line.TrimEnd('\n').Split('\n'));
        var json = JsonNode.Parse(line)!;
        Assert.Equal("Warning", json["level"]!.GetValue<string>());
        Assert.Equal("EdgeMl.Agent.Sync", json["category"]!.GetValue<string>());
        Assert.Equal("PullFailed", json["event"]!.GetValue<string>());
        Assert.Equal("pull failed: SharedAccessKey=*** refused", json["message"]!.GetValue<string>());
        Assert.Contains("AccountKey=***", json["exception"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("***", json["state"]!["Password"]!.GetValue<string>());
        Assert.DoesNotContain("abc123", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", line, StringComparison.Ordinal);
        Assert.Equal(activity.TraceId.ToHexString(), json["traceId"]!.GetValue<string>());
        Assert.Equal(activity.SpanId.ToHexString(), json["spanId"]!.GetValue<string>());
    }

    [Theory]
    [Trait(TestCategory.Key, TestCategory.Server)]
    [Trait(TestCategory.Key, TestCategory.Published)]
    [InlineData("--EdgeMl:Logging:Format=json")]
    [InlineData("--Logging:Console:FormatterName=json")]
    public async Task Run_JsonFormat_EveryConsoleLineIsOneJsonObject(string setting)
    {
        using var temp = new TestPackages.TempFolder();
        await using var agent = AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={temp.Sub("data")}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            setting,
        ]);
        await agent.WaitUntilLiveAsync();
        var guard = Stopwatch.StartNew();
        while (!agent.Output.Contains("\"category\":\"EdgeMl.Agent\"", StringComparison.Ordinal))
        {
            Assert.True(guard.Elapsed < TimeSpan.FromSeconds(60), agent.Output);
            await Task.Delay(100);
        }

        await agent.TerminateAsync();
        await agent.WaitForExitAsync();
        var lines = agent.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var json = JsonNode.Parse(line) as JsonObject;
            Assert.True(json?["message"] is not null, line);
        }
    }
}
