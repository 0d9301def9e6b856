using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class ClientMethodAndMessageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan MethodTimeout = TimeSpan.FromSeconds(30);
    private readonly Sim _sim = new(new IoTHubSimulatorOptions { EdgeHubMode = true });
    private SimulatedIdentity _module = null!;
    private IoTHubTestHarness _h = null!;

    public async Task InitializeAsync()
    {
        await _sim.StartAsync();
        _module = _sim.AddModule("edge01", "infer");
        _h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(_module), output);
        await _h.StartAsync();
        await _h.WaitForConnectedAsync();
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        await _sim.DisposeAsync();
    }

    [Fact]
    public async Task Method_Handler_AnswersItsStatusAndJson()
    {
        _h.Client.SetMethodHandler("reload", (request, _) =>
            Task.FromResult(new DirectMethodResponse(201, new JsonObject { ["model"] = request.PayloadJson!["model"]!.GetValue<string>(), ["ok"] = true })));

        var result = await _sim.InvokeMethodAsync(_module, "reload", new JsonObject { ["model"] = "v2" }, MethodTimeout);

        Assert.Equal(201, result.Status);
        Assert.Equal("""{"model":"v2","ok":true}""", result.Payload);
    }

    [Fact]
    public async Task Method_Unknown_Answers501LikeTheCSharpSdk()
    {
        var result = await _sim.InvokeMethodAsync(_module, "nosuch", null, MethodTimeout);

        Assert.Equal(501, result.Status);
        Assert.Contains("not implemented", result.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Method_HandlerThrows_Answers500AndConnectionSurvives()
    {
        _h.Client.SetMethodHandler("boom", (_, _) => throw new InvalidOperationException("handler bug"));
        _h.Client.SetMethodHandler("ping", (_, _) => Task.FromResult(DirectMethodResponse.Ok()));

        var failed = await _sim.InvokeMethodAsync(_module, "boom", new JsonObject(), MethodTimeout);
        var after = await _sim.InvokeMethodAsync(_module, "ping", null, MethodTimeout);

        Assert.Equal(500, failed.Status);
        Assert.Equal(200, after.Status);
        Assert.Equal(1, _module.Connections);
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    [Fact]
    public async Task Method_PayloadNotJson_Answers400WithoutCallingTheHandler()
    {
        var called = false;
        _h.Client.SetMethodHandler("reload", (_, _) =>
        {
            called = true;
            return Task.FromResult(DirectMethodResponse.Ok());
        });

        var result = await _sim.InvokeMethodRawAsync(_module, "reload", Encoding.UTF8.GetBytes("model=v2"), MethodTimeout);

        Assert.Equal(400, result.Status);
        Assert.Contains("not valid JSON", result.Payload, StringComparison.Ordinal);
        Assert.False(called);
    }

    [Fact]
    public async Task Method_HandlerNeverAnswers_SimulatorTimesOutWith504()
    {
        var release = new TaskCompletionSource();
        _h.Client.SetMethodHandler("slow", async (_, _) =>
        {
            await release.Task;
            return DirectMethodResponse.Ok();
        });

        var result = await _sim.InvokeMethodAsync(_module, "slow", null, TimeSpan.FromMilliseconds(200));
        release.SetResult();

        Assert.Equal(504, result.Status);
    }

    [Fact]
    public async Task Method_IdentityOffline_SimulatorAnswers404()
    {
        var other = _sim.AddDevice("offline");

        var result = await _sim.InvokeMethodAsync(other, "reload", null, MethodTimeout);

        Assert.Equal(404, result.Status);
    }

    [Fact]
    public async Task SendOutput_WithSystemAndApplicationProperties_CapturedWithOutputName()
    {
        var message = new IoTHubMessage(Encoding.UTF8.GetBytes("""{"label":"cat"}"""))
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = "7f3c",
            CorrelationId = "req-1",
            Properties = { ["alert"] = "high", ["path"] = "a/b c" },
        };

        var result = await _h.Client.SendOutputAsync("results", message, CancellationToken.None);
        await _sim.WaitForMessagesAsync(_module, 1, IoTHubTestHarness.Guard);
        var captured = _sim.Messages.Single();

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("results", captured.OutputName);
        Assert.Equal("application/json", captured.SystemProperties["$.ct"]);
        Assert.Equal("utf-8", captured.SystemProperties["$.ce"]);
        Assert.Equal("7f3c", captured.SystemProperties["$.mid"]);
        Assert.Equal("req-1", captured.SystemProperties["$.cid"]);
        Assert.Equal("high", captured.ApplicationProperties["alert"]);
        Assert.Equal("a/b c", captured.ApplicationProperties["path"]);
        Assert.Equal("""{"label":"cat"}""", captured.BodyText);
        Assert.StartsWith("devices/edge01/modules/infer/messages/events/%24.on=results&", captured.Topic, StringComparison.Ordinal);
        Assert.Equal(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce, captured.QoS);
    }

    [Fact]
    public async Task SendEvent_BodyOver256KB_RefusedLocally()
    {
        var result = await _h.Client.SendEventAsync(new IoTHubMessage(new byte[(256 * 1024) + 1]), CancellationToken.None);

        Assert.Equal(IoTHubError.TooLarge, result.Error);
        Assert.Empty(_sim.Messages);
    }

    [Fact]
    public async Task Input_RoutedMessage_DeliveredToItsHandlerWithProperties()
    {
        var received = new TaskCompletionSource<IoTHubMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _h.Client.SetInputHandler("frames", (m, _) =>
        {
            received.TrySetResult(m);
            return Task.CompletedTask;
        });

        await _sim.SendToModuleInputAsync(_module, "frames", Encoding.UTF8.GetBytes("frame-1"),
            [new("$.cdid", "edge01"), new("$.cmid", "camera"), new("$.ct", "application/octet-stream"), new("seq", "1")]);
        var message = await received.Task.WaitAsync(IoTHubTestHarness.Guard);

        Assert.Equal("frames", message.InputName);
        Assert.Equal("frame-1", Encoding.UTF8.GetString(message.Body.Span));
        Assert.Equal("application/octet-stream", message.ContentType);
        Assert.Equal("1", message.Properties["seq"]);
        Assert.Equal("camera", message.OtherSystemProperties["$.cmid"]);
    }

    [Fact]
    public async Task Input_TopicWithUnknownPropertyEncoding_DroppedWithErrorAndNextMessageStillArrives()
    {
        var received = new TaskCompletionSource<IoTHubMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _h.Client.SetInputHandler("frames", (m, _) =>
        {
            received.TrySetResult(m);
            return Task.CompletedTask;
        });

        await _sim.SendToModuleInputAsync(_module, "frames", Encoding.UTF8.GetBytes("bad"), rawBag: "seq=%zz");
        await _sim.SendToModuleInputAsync(_module, "frames", Encoding.UTF8.GetBytes("good"), [new("seq", "2")]);
        var message = await received.Task.WaitAsync(IoTHubTestHarness.Guard);

        Assert.Equal("good", Encoding.UTF8.GetString(message.Body.Span));
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    [Fact]
    public async Task Input_HandlerBehindAndQueueFull_FurtherMessagesRefusedAndCounted()
    {
        var module = _sim.AddModule("edge01", "slow");
        await using var h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(module), output, o => o.InputQueueCapacity = 2);
        using var rejected = new MetricCollector<long>(h.Meters, IoTHubMetrics.MeterName, "edgeml.iothub.incoming.rejected");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        h.Client.SetInputHandler("frames", async (m, _) =>
        {
            received.Enqueue(Encoding.UTF8.GetString(m.Body.Span));
            await release.Task;
        });
        await h.StartAsync();
        await h.WaitForConnectedAsync();

        // The handler holds the first message; two wait in the queue; the other three are refused.
        await _sim.SendToModuleInputAsync(module, "frames", Encoding.UTF8.GetBytes("f0"));
        await Until(() => !received.IsEmpty, "the first message in the handler");
        for (var i = 1; i <= 5; i++)
        {
            await _sim.SendToModuleInputAsync(module, "frames", Encoding.UTF8.GetBytes($"f{i}"));
        }

        await Until(() => rejected.GetMeasurementSnapshot().EvaluateAsCounter() == 3, "three refused messages");
        release.SetResult();
        await Until(() => received.Count == 3, "the queued messages handled");

        Assert.Equal(["f0", "f1", "f2"], received);
    }

    /// <summary>Polls a condition on the client's side, which raises no simulator event; the guard only stops a hang.</summary>
    private static Task Until(Func<bool> condition, string what) => Eventually.UntilAsync(condition, what, IoTHubTestHarness.Guard);

    [Fact]
    public async Task SendEvent_PropertiesOverTopicLimit_RefusedAndNextMessageStillSent()
    {
        var huge = new IoTHubMessage(Encoding.UTF8.GetBytes("x")) { Properties = { ["blob"] = new string('a', 70_000) } };

        var refused = await _h.Client.SendEventAsync(huge, CancellationToken.None);
        var sent = await _h.Client.SendEventAsync(new IoTHubMessage(Encoding.UTF8.GetBytes("y")), CancellationToken.None);

        Assert.Equal(IoTHubError.TooLarge, refused.Error);
        Assert.Contains("65535", refused.Message, StringComparison.Ordinal);
        Assert.True(sent.Succeeded, sent.Message);
        Assert.Equal("y", _sim.Messages.Single().BodyText);
    }
}
