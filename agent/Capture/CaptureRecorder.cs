using System.Threading.Channels;
using EdgeMl.Agent.Drift;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>What <see cref="CaptureRecorder.Capture"/> did with a prediction.</summary>
internal enum CaptureOutcome
{
    NotSelected,
    Queued,
    DroppedQueueFull,
    DroppedTooLarge,
}

/// <summary>The bounded hand-off between inference and the store's single writer.</summary>
internal sealed class CaptureChannel
{
    public CaptureChannel(IOptions<CaptureSettings> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Channel = System.Threading.Channels.Channel.CreateBounded<CaptureRecord>(new BoundedChannelOptions(settings.Value.ChannelCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public Channel<CaptureRecord> Channel { get; }

    public ChannelWriter<CaptureRecord> Writer => Channel.Writer;

    public ChannelReader<CaptureRecord> Reader => Channel.Reader;
}

/// <summary>
/// The inference side of capture: decides by the model's policy, copies what it keeps and hands it to the
/// writer without waiting. A full hand-off drops the record and counts it; inference never blocks here.
/// </summary>
internal sealed class CaptureRecorder(
    IOptionsMonitor<CaptureSettings> settings,
    CaptureChannel channel,
    CaptureMetrics metrics,
    TimeProvider time,
    IDriftSignal drift)
{
    /// <summary>A uniform draw in [0, 1); replaceable for tests.</summary>
    public Func<double> Random { get; init; } = System.Random.Shared.NextDouble;

    /// <summary>Offers one prediction to capture; call after the response is ready.</summary>
    public CaptureOutcome Capture(InferenceRequest request, InferenceResult result, TimeSpan latency, string provider)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(result);
        var options = settings.CurrentValue.For(result.Model);
        if (!options.Enabled)
        {
            return CaptureOutcome.NotSelected;
        }

        var confidence = result.IsSuccess && options.LowConfidenceThreshold is not null
            ? CapturePolicy.Confidence(result.Outputs, options.ConfidenceOutput)
            : null;
        var reason = CapturePolicy.Decide(options, !result.IsSuccess, confidence, drift.IsDrifting(result.Model), Random());
        if (reason is null)
        {
            return CaptureOutcome.NotSelected;
        }

        var record = Build(request, result, latency, provider, reason.Value, confidence, options.MaxRecordBytes);
        if (record is null)
        {
            metrics.CountDropped(CaptureDropReason.TooLarge);
            return CaptureOutcome.DroppedTooLarge;
        }

        if (!channel.Writer.TryWrite(record))
        {
            metrics.CountDropped(CaptureDropReason.QueueFull);
            return CaptureOutcome.DroppedQueueFull;
        }

        metrics.CountQueued();
        return CaptureOutcome.Queued;
    }

    private CaptureRecord? Build(
        InferenceRequest request, InferenceResult result, TimeSpan latency, string provider, CaptureReason reason, double? confidence, int maxBytes)
    {
        var outputBytes = result.Outputs.Sum(o => o.ByteLength);
        var inputBytes = request.Inputs.Sum(i => i.ByteLength);
        if (outputBytes > maxBytes)
        {
            return null;
        }

        // Inputs that do not fit next to the outputs are kept as their summaries.
        var summarize = inputBytes + outputBytes > maxBytes;
        return new CaptureRecord
        {
            Model = result.Model,
            Version = result.Version,
            Timestamp = time.GetUtcNow(),
            LatencyMilliseconds = latency.TotalMilliseconds,
            Provider = provider,
            Reason = reason,
            Confidence = confidence,
            Error = result.Error?.ToString(),
            Inputs = request.Inputs.Select(i => summarize ? CaptureRecord.Summarize(i) : CaptureRecord.Copy(i)).ToArray(),
            Outputs = result.Outputs.Select(CaptureRecord.Copy).ToArray(),
        };
    }
}
