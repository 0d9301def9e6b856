using System.Buffers.Binary;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Sessions;

/// <summary>Compares outputs with expected ones: floats within tolerance, everything else exactly.</summary>
internal static class GoldenCheck
{
    /// <returns>Null when every expected output matches; otherwise the first difference, described.</returns>
    public static string? Compare(IReadOnlyList<InferenceTensor> actual, IReadOnlyList<InferenceTensor> expected, double absolute, double relative)
    {
        foreach (var want in expected)
        {
            var got = actual.FirstOrDefault(a => a.Name == want.Name);
            if ((got is null ? $"output '{want.Name}' is missing" : CompareOne(got, want, absolute, relative)) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? CompareOne(InferenceTensor got, InferenceTensor want, double absolute, double relative)
    {
        if (got.DataType != want.DataType)
        {
            return $"output '{want.Name}' is {got.DataType.ToProtocolName()}; expected {want.DataType.ToProtocolName()}";
        }

        if (!got.Shape.SequenceEqual(want.Shape))
        {
            return $"output '{want.Name}' has shape {TensorSpec.FormatShape(got.Shape)}; expected {TensorSpec.FormatShape(want.Shape)}";
        }

        return want.DataType == TensorDataType.Bytes ? CompareBytes(got, want) : CompareNumbers(got, want, absolute, relative);
    }

    private static string? CompareBytes(InferenceTensor got, InferenceTensor want)
    {
        if (got.Elements.Count != want.Elements.Count)
        {
            return $"output '{want.Name}' has {got.Elements.Count} elements; the golden sample lists {want.Elements.Count}";
        }

        for (var i = 0; i < want.Elements.Count; i++)
        {
            if (!got.Elements[i].Span.SequenceEqual(want.Elements[i].Span))
            {
                return $"output '{want.Name}' element {i} differs";
            }
        }

        return null;
    }

    private static string? CompareNumbers(InferenceTensor got, InferenceTensor want, double absolute, double relative)
    {
        var size = want.DataType.ElementSize();
        var a = got.Data.Span;
        var e = want.Data.Span;
        if (a.Length != e.Length)
        {
            // A golden sample whose data disagrees with its own shape: say so rather than read past either.
            return $"output '{want.Name}' holds {a.Length / size} elements; the golden sample's data holds {e.Length / size}";
        }

        var isFloat = want.DataType is TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64;
        for (var i = 0; i * size < e.Length; i++)
        {
            var actualBytes = a.Slice(i * size, size);
            var expectedBytes = e.Slice(i * size, size);
            var x = Read(actualBytes, want.DataType);
            var y = Read(expectedBytes, want.DataType);
            var tolerance = isFloat ? absolute + (relative * Math.Abs(y)) : 0;
            var matches = isFloat ? Math.Abs(x - y) <= tolerance : actualBytes.SequenceEqual(expectedBytes);
            if (!matches)
            {
                return $"output '{want.Name}' element {i} is {x:G6}; expected {y:G6} within {tolerance:G3}";
            }
        }

        return null;
    }

    private static double Read(ReadOnlySpan<byte> v, TensorDataType type) => type switch
    {
        TensorDataType.Bool or TensorDataType.UInt8 => v[0],
        TensorDataType.Int8 => (sbyte)v[0],
        TensorDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(v),
        TensorDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(v),
        TensorDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(v),
        TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(v),
        TensorDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(v),
        TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(v),
        TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(v),
        TensorDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(v),
        TensorDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(v),
        _ => double.NaN,
    };
}
