using EdgeMl.Agent.Capture;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Capture;

public sealed class CaptureRecorderTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly CaptureSettings _settings = new() { ChannelCapacity = 16, Defaults = new CaptureOptions { SampleRate = 1.0 } };
    private readonly CaptureMetrics _metrics;
    private readonly CaptureChannel _channel;
    private readonly CaptureRecorder _recorder;

    public CaptureRecorderTests()
    {
        _metrics = new CaptureMetrics(_meters);
        _channel = new CaptureChannel(Options.Create(_settings));
        _recorder = new CaptureRecorder(new StaticMonitor(_settings), _channel, _metrics, new FakeTimeProvider(CaptureTestKit.Start), NoDrift.Instance);
    }

    [Theory]
    [InlineData(false, null, 0.5, "Sampled")]
    [InlineData(false, null, 0.995, null)]
    [InlineData(true, null, 0.999, "Error")]
    [InlineData(false, 0.4, 0.999, "LowConfidence")]
    [InlineData(false, 0.6, 0.999, null)]
    public void Decide_Rules_Reason(bool failed, double? confidence, double draw, string? reason)
    {
        var options = new CaptureOptions { SampleRate = 0.99, LowConfidenceThreshold = 0.5 };
        Assert.Equal(reason, CapturePolicy.Decide(options, failed, confidence, drifting: false, draw)?.ToString());
    }

    [Fact]
    public void Decide_Disabled_Nothing()
    {
        Assert.Null(CapturePolicy.Decide(new CaptureOptions { Enabled = false, SampleRate = 1 }, true, 0, false, 0));
    }

    [Fact]
    public void Decide_Drifting_UsesDriftingRate()
    {
        var options = new CaptureOptions { SampleRate = 0.01, DriftingSampleRate = 0.5 };
        Assert.Null(CapturePolicy.Decide(options, false, null, drifting: false, 0.3));
        Assert.Equal(CaptureReason.Sampled, CapturePolicy.Decide(options, false, null, drifting: true, 0.3));
    }

    [Fact]
    public void Confidence_Batch_LowestTopScore()
    {
        var scores = InferenceTensor.Create("p", [2, 2], new float[] { 0.9f, 0.1f, 0.4f, 0.6f });
        Assert.Equal(0.6, CapturePolicy.Confidence([scores], null)!.Value, 6);
        Assert.Null(CapturePolicy.Confidence([InferenceTensor.Create("l", [1], new long[] { 3 })], null));
    }

    [Fact]
    public void Capture_HandOffFull_DroppedAndCounted()
    {
        using var collector = new MetricCollector<long>(_meters, CaptureMetrics.MeterName, "edgeml.capture.dropped");
        var outcomes = Enumerable.Range(0, 20).Select(_ => _recorder.Capture(Request(4), Success(), TimeSpan.FromMilliseconds(2), "cpu")).ToArray();

        Assert.Equal(16, outcomes.Count(o => o == CaptureOutcome.Queued));
        Assert.Equal(4, outcomes.Count(o => o == CaptureOutcome.DroppedQueueFull));
        Assert.Equal(4, _metrics.Dropped(CaptureDropReason.QueueFull));
        Assert.Equal(4, collector.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal("queue_full", collector.LastMeasurement!.Tags["reason"]);
    }

    [Fact]
    public void Capture_LargeInput_KeptAsSummary()
    {
        _settings.Defaults.MaxRecordBytes = 1024;
        Assert.Equal(CaptureOutcome.Queued, _recorder.Capture(Request(1000), Success(), TimeSpan.Zero, "cpu"));
        Assert.True(_channel.Reader.TryRead(out var record));
        var input = Assert.Single(record.Inputs);
        Assert.Null(input.Data);
        // Inputs are 0..999: mean 499.5, population std √((1000² − 1) / 12).
        Assert.Equal(499.5, input.Mean!.Value, 9);
        Assert.Equal(Math.Sqrt(((1000.0 * 1000) - 1) / 12), input.Std!.Value, 9);
        Assert.Equal(0, input.Min);
        Assert.Equal(999, input.Max);
        Assert.NotNull(Assert.Single(record.Outputs).Data);
    }

    [Fact]
    public void Capture_OutputTooLarge_DroppedAndCounted()
    {
        _settings.Defaults.MaxRecordBytes = 256;
        var big = InferenceResult.Success("m", 1, [InferenceTensor.Create("p", [1, 100], new float[100])]);
        Assert.Equal(CaptureOutcome.DroppedTooLarge, _recorder.Capture(Request(4), big, TimeSpan.Zero, "cpu"));
        Assert.Equal(1, _metrics.Dropped(CaptureDropReason.TooLarge));
    }

    [Fact]
    public void Capture_FailureWithSamplingOff_CapturedWithError()
    {
        _settings.Defaults.SampleRate = 0;
        var failed = InferenceResult.Failure("m", 1, InferenceError.Invalid("bad shape"));
        Assert.Equal(CaptureOutcome.Queued, _recorder.Capture(Request(4), failed, TimeSpan.Zero, "cpu"));
        Assert.True(_channel.Reader.TryRead(out var record));
        Assert.Equal(CaptureReason.Error, record.Reason);
        Assert.Equal("InvalidInput: bad shape", record.Error);
    }

    [Fact]
    public void Capture_PerModelPolicy_Overrides()
    {
        _settings.Models["quiet"] = new CaptureOptions { SampleRate = 0 };
        Assert.Equal(CaptureOutcome.NotSelected, _recorder.Capture(Request(4), InferenceResult.Success("quiet", 1, []), TimeSpan.Zero, "cpu"));
    }

    [Fact]
    public void Capture_CopiesData_CallerMayReuseBuffers()
    {
        var data = new float[] { 1, 2, 3, 4 };
        _recorder.Capture(new InferenceRequest([InferenceTensor.Create("x", [1, 4], data)]), Success(), TimeSpan.Zero, "cpu");
        data[0] = 42;
        Assert.True(_channel.Reader.TryRead(out var record));
        Assert.Equal(1f, BitConverter.ToSingle(record.Inputs[0].Data!, 0));
    }

    public void Dispose() => _meters.Dispose();

    private static InferenceRequest Request(int floats) =>
        new([InferenceTensor.Create("x", [1, floats], Enumerable.Range(0, floats).Select(i => (float)i).ToArray())]);

    private static InferenceResult Success() => InferenceResult.Success("m", 1, [InferenceTensor.Create("p", [1, 2], new float[] { 0.3f, 0.7f })]);

    private sealed class StaticMonitor(CaptureSettings value) : IOptionsMonitor<CaptureSettings>
    {
        public CaptureSettings CurrentValue => value;

        public CaptureSettings Get(string? name) => value;

        public IDisposable? OnChange(Action<CaptureSettings, string?> listener) => null;
    }
}
