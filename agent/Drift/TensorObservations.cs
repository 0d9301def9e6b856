using System.Buffers.Binary;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Drift;

/// <summary>One pass over a tensor's elements.</summary>
internal readonly record struct TensorSummary(int Count, double Mean, double Std, double Min, double Max);

/// <summary>Turns a tensor into the observations a <see cref="BaselineDistribution"/> bins.</summary>
internal static class TensorObservations
{
    /// <summary>Calls <paramref name="observe"/> once per observation; nothing for BYTES tensors.</summary>
    public static void Extract<TState>(BaselineDistribution distribution, InferenceTensor tensor, TState state, Action<TState, double> observe)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(observe);
        if (tensor.DataType == TensorDataType.Bytes)
        {
            return;
        }

        switch (distribution.Statistic)
        {
            // Per-tensor statistics come from one pass over the data, with no copy (this runs on every prediction).
            case BaselineStatistic.Mean or BaselineStatistic.Std or BaselineStatistic.Min or BaselineStatistic.Max:
                if (Summarize(tensor) is { Count: > 0 } summary)
                {
                    observe(state, distribution.Statistic switch
                    {
                        BaselineStatistic.Mean => summary.Mean,
                        BaselineStatistic.Std => summary.Std,
                        BaselineStatistic.Min => summary.Min,
                        _ => summary.Max,
                    });
                }

                return;
        }

        var values = ToDoubles(tensor);
        if (values.Length == 0)
        {
            return;
        }

        var rowLength = tensor.Shape.Count == 0 ? 1 : (int)Math.Max(1, tensor.Shape[^1]);
        switch (distribution.Statistic)
        {
            case BaselineStatistic.Value:
            case BaselineStatistic.Class when IsInteger(tensor.DataType):
                foreach (var v in values)
                {
                    observe(state, v);
                }

                break;
            case BaselineStatistic.Feature:
                var index = distribution.Index ?? 0;
                for (var row = 0; index < rowLength && row + rowLength <= values.Length; row += rowLength)
                {
                    observe(state, values[row + index]);
                }

                break;
            case BaselineStatistic.Class:
                ObserveTopClasses(values, rowLength, state, observe);
                break;
        }
    }

    /// <summary>Each row's class: the index of its highest score.</summary>
    private static void ObserveTopClasses<TState>(double[] values, int rowLength, TState state, Action<TState, double> observe)
    {
        for (var row = 0; row + rowLength <= values.Length; row += rowLength)
        {
            var best = 0;
            for (var i = 1; i < rowLength; i++)
            {
                if (values[row + i] > values[row + best])
                {
                    best = i;
                }
            }

            observe(state, best);
        }
    }

    /// <summary>Count, mean, population standard deviation, min and max, without copying FP32 data (the common case).</summary>
    public static TensorSummary Summarize(InferenceTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.DataType == TensorDataType.Fp32
            ? Summarize(MemoryMarshal.Cast<byte, float>(tensor.Data.Span))
            : Summarize<double>(ToDoubles(tensor));
    }

    /// <summary>
    /// FP32 with SIMD, chunk by chunk widened to double so totals keep double precision; the deviation is taken from
    /// the mean (two passes), not from a sum of squares. A 110 KB input costs microseconds, not a copy.
    /// </summary>
    private static TensorSummary Summarize(ReadOnlySpan<float> values)
    {
        const int Chunk = 1024;
        if (values.IsEmpty)
        {
            return new TensorSummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        Span<double> wide = stackalloc double[Chunk];
        var sum = 0.0;
        for (var i = 0; i < values.Length; i += Chunk)
        {
            var part = wide[..Math.Min(Chunk, values.Length - i)];
            TensorPrimitives.ConvertTruncating(values.Slice(i, part.Length), part);
            sum += TensorPrimitives.Sum<double>(part);
        }

        var mean = sum / values.Length;
        var squares = 0.0;
        for (var i = 0; i < values.Length; i += Chunk)
        {
            var part = wide[..Math.Min(Chunk, values.Length - i)];
            TensorPrimitives.ConvertTruncating(values.Slice(i, part.Length), part);
            TensorPrimitives.Subtract(part, mean, part);
            squares += TensorPrimitives.SumOfSquares<double>(part);
        }

        return new TensorSummary(values.Length, mean, Math.Sqrt(squares / values.Length), TensorPrimitives.Min(values), TensorPrimitives.Max(values));
    }

    private static TensorSummary Summarize<T>(ReadOnlySpan<T> values)
        where T : unmanaged, INumberBase<T>
    {
        if (values.IsEmpty)
        {
            return new TensorSummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var value in values)
        {
            var v = double.CreateTruncating(value);
            sum += v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        var mean = sum / values.Length;
        var squares = 0.0;
        foreach (var value in values)
        {
            var d = double.CreateTruncating(value) - mean;
            squares += d * d;
        }

        return new TensorSummary(values.Length, mean, Math.Sqrt(squares / values.Length), min, max);
    }

    public static double Mean(ReadOnlySpan<double> values)
    {
        var sum = 0.0;
        foreach (var v in values)
        {
            sum += v;
        }

        return values.IsEmpty ? double.NaN : sum / values.Length;
    }

    /// <summary>Population standard deviation.</summary>
    public static double StandardDeviation(ReadOnlySpan<double> values)
    {
        var mean = Mean(values);
        var sum = 0.0;
        foreach (var v in values)
        {
            sum += (v - mean) * (v - mean);
        }

        return values.IsEmpty ? double.NaN : Math.Sqrt(sum / values.Length);
    }

    /// <summary>The elements as doubles; empty for BYTES.</summary>
    public static double[] ToDoubles(InferenceTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var size = tensor.DataType.ElementSize();
        if (size == 0)
        {
            return [];
        }

        var bytes = tensor.Data.Span;
        var result = new double[bytes.Length / size];
        for (var i = 0; i < result.Length; i++)
        {
            var b = bytes.Slice(i * size, size);
            result[i] = tensor.DataType switch
            {
                TensorDataType.Bool or TensorDataType.UInt8 => b[0],
                TensorDataType.Int8 => (sbyte)b[0],
                TensorDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(b),
                TensorDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(b),
                TensorDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(b),
                TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(b),
                TensorDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(b),
                TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(b),
                TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
                TensorDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(b),
                TensorDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(b),
                _ => double.NaN,
            };
        }

        return result;
    }

    private static bool IsInteger(TensorDataType type) =>
        type is TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 or TensorDataType.Int64
            or TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 or TensorDataType.UInt64 or TensorDataType.Bool;
}
