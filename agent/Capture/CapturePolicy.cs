using EdgeMl.Agent.Drift;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Capture;

/// <summary>The capture rules of one model: always on errors and low confidence, otherwise sampled.</summary>
internal static class CapturePolicy
{
    /// <summary>Why to capture this prediction, or null to let it go.</summary>
    /// <param name="random">A uniform draw in [0, 1).</param>
    public static CaptureReason? Decide(CaptureOptions options, bool failed, double? confidence, bool drifting, double random)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return null;
        }

        if (failed)
        {
            return options.CaptureErrors ? CaptureReason.Error : null;
        }

        if (options.LowConfidenceThreshold is { } threshold && confidence < threshold)
        {
            return CaptureReason.LowConfidence;
        }

        return random < SampleRate(options, drifting) ? CaptureReason.Sampled : null;
    }

    /// <summary>The sample rate now: raised to the drifting rate while the model drifts.</summary>
    public static double SampleRate(CaptureOptions options, bool drifting) =>
        drifting ? Math.Max(options.SampleRate, options.DriftingSampleRate) : options.SampleRate;

    /// <summary>
    /// The confidence of a prediction: the top score of each row of the score output, and the lowest of those
    /// over the rows of a batch. Null when there is no floating-point output.
    /// </summary>
    public static double? Confidence(IReadOnlyList<InferenceTensor> outputs, string? outputName)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var output = outputName is null
            ? outputs.FirstOrDefault(o => o.DataType is TensorDataType.Fp32 or TensorDataType.Fp64 or TensorDataType.Fp16)
            : outputs.FirstOrDefault(o => o.Name == outputName);
        if (output is null || output.DataType is not (TensorDataType.Fp32 or TensorDataType.Fp64 or TensorDataType.Fp16))
        {
            return null;
        }

        var values = TensorObservations.ToDoubles(output);
        if (values.Length == 0)
        {
            return null;
        }

        var row = output.Shape.Count == 0 ? values.Length : (int)Math.Clamp(output.Shape[^1], 1, values.Length);
        var lowest = double.MaxValue;
        for (var start = 0; start + row <= values.Length; start += row)
        {
            lowest = Math.Min(lowest, values.AsSpan(start, row).ToArray().Max());
        }

        return lowest;
    }
}
