using System.Buffers.Binary;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Drift;

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

        var values = ToDoubles(tensor);
        if (values.Length == 0)
        {
            return;
        }

        var rowLength = tensor.Shape.Count == 0 ? 1 : (int)Math.Max(1, tensor.Shape[^1]);
        switch (distribution.Statistic)
        {
            case BaselineStatistic.Mean:
                observe(state, Mean(values));
                break;
            case BaselineStatistic.Std:
                observe(state, StandardDeviation(values));
                break;
            case BaselineStatistic.Min:
                observe(state, values.Min());
                break;
            case BaselineStatistic.Max:
                observe(state, values.Max());
                break;
            case BaselineStatistic.Value:
                foreach (var v in values)
                {
                    observe(state, v);
                }

                break;
            case BaselineStatistic.Feature:
                var index = distribution.Index ?? 0;
                for (var row = 0; row + rowLength <= values.Length; row += rowLength)
                {
                    if (index < rowLength)
                    {
                        observe(state, values[row + index]);
                    }
                }

                break;
            case BaselineStatistic.Class:
                if (IsInteger(tensor.DataType))
                {
                    foreach (var v in values)
                    {
                        observe(state, v);
                    }

                    break;
                }

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

                break;
        }
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
