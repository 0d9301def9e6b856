using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using EdgeMl.Agent.Tests.Http;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Telemetry;

/// <summary>A prediction over HTTP is one trace: the caller's, when it sends a W3C <c>traceparent</c>.</summary>
public sealed class PredictionTraceTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public PredictionTraceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EdgeMlTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task Infer_WithTraceparent_FrontDoorEngineQueueAndRunInTheCallersTrace()
    {
        await using var host = await ApiHost.StartAsync();
        await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/ocr-cls/infer")
        {
            Content = new StringContent(Body(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");

        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await Ended(s => s.TraceId == traceId && s.DisplayName == "http infer");
        var spans = _spans.Where(s => s.TraceId == traceId).ToDictionary(s => s.DisplayName);
        var door = spans["http infer"];
        Assert.Equal(callerSpan, door.ParentSpanId);
        Assert.Equal(ActivityKind.Server, door.Kind);
        Assert.Equal("ocr-cls", door.GetTagItem("edgeml.model"));
        Assert.Equal(door.SpanId, spans["engine.infer"].ParentSpanId);
        Assert.Equal(1L, spans["engine.infer"].GetTagItem("edgeml.model.version"));
        Assert.Equal(spans["engine.infer"].SpanId, spans["engine.run"].ParentSpanId);
    }

    [Fact]
    public async Task Infer_WithoutTraceparent_StartsItsOwnTrace()
    {
        await using var host = await ApiHost.StartAsync();
        using var response = await host.Client.PostAsync("/v2/models/nothing-here/infer", new StringContent(Body(), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await Ended(s => s.DisplayName == "http infer" && (string?)s.GetTagItem("edgeml.model") == "nothing-here");
        var door = Assert.Single(_spans, s => s.DisplayName == "http infer" && (string?)s.GetTagItem("edgeml.model") == "nothing-here");
        Assert.Equal(default, door.ParentSpanId);
    }

    /// <summary>
    /// The front door's span ends once its answer is sent, so the client can hold the answer a moment before the span
    /// has ended.
    /// </summary>
    private async Task Ended(Func<Activity, bool> span)
    {
        for (var waited = 0; waited < 5000 && !_spans.Any(span); waited += 20)
        {
            await Task.Delay(20);
        }
    }

    private static string Body() =>
        $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[{{string.Join(',', Enumerable.Repeat("0.5", 3 * 48 * 192))}}]}]}""";
}
