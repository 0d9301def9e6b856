using System.Device.Gpio;
using EdgeMl.Agent.Gpio;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Tests.Gpio;

public sealed class GpioTriggerTests
{
    private const string Model = "ocr-cls";
    private const int Pin = 17;

    [Fact]
    public async Task RisingEdge_InferTrigger_RunsTheClassifierOnTheLatestSample()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "17"), ("Triggers:0:Edge", "Rising"), ("Triggers:0:Model", Model)));
        await host.StartAsync();
        await ActivateClassifierAsync(host);
        var request = Request(seed: 7);
        var expected = await host.Engine.InferAsync(Model, request);
        host.Samples.Remember(Model, request);

        host.Driver.RaiseEdge(Pin, PinEventTypes.Rising);
        var (trigger, result) = await host.Sink.NextAsync();

        Assert.Equal(PinMode.Input, host.Driver.ModeOf(Pin));
        Assert.Equal(new GpioTriggered(Pin, GpioEdge.Rising, GpioAction.Infer, Model, host.Time.GetUtcNow()), trigger);
        Assert.True(result!.IsSuccess, result.Error?.Message);
        Assert.Equal(1, result.Version);
        var scores = result.Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray();
        Assert.Equal(2, scores.Length);
        Assert.Equal(expected.Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray(), scores);
    }

    [Fact]
    public async Task Remember_RequestDataChangedAfterwards_TriggerUsesTheCopy()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "17"), ("Triggers:0:Model", Model)));
        await host.StartAsync();
        await ActivateClassifierAsync(host);
        var data = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 3);
        var expected = await host.Engine.InferAsync(Model, new InferenceRequest([InferenceTensor.Create("x", ModelFixtures.ClassifierShape, data.ToArray())]));
        host.Samples.Remember(Model, new InferenceRequest([InferenceTensor.Create("x", ModelFixtures.ClassifierShape, data)]));
        Array.Fill(data, 0.5f); // the caller's pooled buffer is reused for the next request

        host.Driver.RaiseEdge(Pin, PinEventTypes.Rising);
        var (_, result) = await host.Sink.NextAsync();

        Assert.Equal(expected.Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray(), result!.Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray());
    }

    [Fact]
    public async Task RisingEdge_NoSampleSeenYet_SinkToldWhy()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "17"), ("Triggers:0:Model", Model)));
        await host.StartAsync();
        host.Samples.Remember("other-model", Request(seed: 1));

        host.Driver.RaiseEdge(Pin, PinEventTypes.Rising);
        var (_, result) = await host.Sink.NextAsync();

        Assert.False(result!.IsSuccess);
        Assert.Equal(InferenceErrorKind.NotReady, result.Error!.Kind);
        Assert.Contains("has not served a request for it yet", result.Error.Message, StringComparison.Ordinal);
        Assert.False(host.Samples.TryGet("other-model", out _));
    }

    [Fact]
    public async Task Edges_WithinDebounce_OnlyTheFirstCounts()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(
            ("Triggers:0:Pin", "22"), ("Triggers:0:Edge", "Both"), ("Triggers:0:Action", "Event"), ("Triggers:0:Debounce", "00:00:00.050"), ("Triggers:0:Mode", "InputPullUp")));
        using var edges = new MetricCollector<long>(host.Host.Services.GetRequiredService<IMeterFactory>(), GpioMetrics.MeterName, "edgeml.gpio.edges");
        await host.StartAsync();

        host.Driver.RaiseEdge(22, PinEventTypes.Falling);
        host.Time.Advance(TimeSpan.FromMilliseconds(10));
        host.Driver.RaiseEdge(22, PinEventTypes.Rising);
        host.Time.Advance(TimeSpan.FromMilliseconds(39));
        host.Driver.RaiseEdge(22, PinEventTypes.Falling);
        host.Time.Advance(TimeSpan.FromMilliseconds(1));
        host.Driver.RaiseEdge(22, PinEventTypes.Rising);
        var first = await host.Sink.NextAsync();
        var second = await host.Sink.NextAsync();

        Assert.Equal(PinMode.InputPullUp, host.Driver.ModeOf(22));
        Assert.Equal(GpioEdge.Falling, first.Trigger.Edge);
        Assert.Null(first.Result);
        Assert.Equal(GpioEdge.Rising, second.Trigger.Edge);
        Assert.Equal(TimeSpan.FromMilliseconds(50), second.Trigger.At - first.Trigger.At);
        Assert.Equal(2, edges.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], "accepted")).Sum(m => m.Value));
        Assert.Equal(2, edges.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], "debounced")).Sum(m => m.Value));
        Assert.False(host.Sink.TryNext(out _));
    }

    [Fact]
    public async Task FallingEdge_OnRisingTrigger_Ignored()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "23"), ("Triggers:0:Edge", "Rising"), ("Triggers:0:Action", "Event"), ("Triggers:0:Debounce", "00:00:00")));
        await host.StartAsync();

        host.Driver.RaiseEdge(23, PinEventTypes.Falling);
        host.Driver.RaiseEdge(23, PinEventTypes.Rising);
        var only = await host.Sink.NextAsync();

        Assert.Equal(GpioEdge.Rising, only.Trigger.Edge);
        Assert.False(host.Sink.TryNext(out _));
    }

    [Fact]
    public async Task Stop_Host_UnregistersCallbacksAndClosesTheDriver()
    {
        var host = GpioTestHost.Build(GpioTestHost.Settings(("Triggers:0:Pin", "24"), ("Triggers:0:Action", "Event")));
        await host.StartAsync();
        host.Driver.RaiseEdge(24, PinEventTypes.Rising);
        await host.Sink.NextAsync();
        Assert.True(host.Driver.HasCallback(24));

        await host.DisposeAsync();

        Assert.False(host.Driver.HasCallback(24));
        Assert.True(host.Driver.Disposed);
    }

    private static InferenceRequest Request(int seed) =>
        new([InferenceTensor.Create("x", ModelFixtures.ClassifierShape, ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed))]);

    private static async Task ActivateClassifierAsync(GpioTestHost host)
    {
        var activation = await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1, ReportNodePlacement = false },
            WarmUp = new WarmUpOptions { Runs = 1, Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
    }
}
