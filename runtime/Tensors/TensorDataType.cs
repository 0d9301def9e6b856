using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeMl.Runtime.Tensors;

/// <summary>Tensor element types, named as in the Open Inference Protocol.</summary>
public enum TensorDataType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    Bytes,
}

/// <summary>Protocol names, element sizes and ONNX Runtime element types of <see cref="TensorDataType"/>.</summary>
public static class TensorDataTypes
{
    private static readonly string[] Names =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    /// <summary>The protocol name, such as <c>FP32</c>.</summary>
    public static string ToProtocolName(this TensorDataType type) => Names[(int)type];

    public static bool TryParse(string? name, out TensorDataType type)
    {
        var index = Array.IndexOf(Names, name);
        type = index >= 0 ? (TensorDataType)index : default;
        return index >= 0;
    }

    /// <summary>Bytes per element; 0 for <see cref="TensorDataType.Bytes"/>, whose elements vary in length.</summary>
    public static int ElementSize(this TensorDataType type) => type switch
    {
        TensorDataType.Bool or TensorDataType.UInt8 or TensorDataType.Int8 => 1,
        TensorDataType.UInt16 or TensorDataType.Int16 or TensorDataType.Fp16 => 2,
        TensorDataType.UInt32 or TensorDataType.Int32 or TensorDataType.Fp32 => 4,
        TensorDataType.UInt64 or TensorDataType.Int64 or TensorDataType.Fp64 => 8,
        _ => 0,
    };

    internal static TensorElementType ToOnnx(this TensorDataType type) => type switch
    {
        TensorDataType.Bool => TensorElementType.Bool,
        TensorDataType.UInt8 => TensorElementType.UInt8,
        TensorDataType.UInt16 => TensorElementType.UInt16,
        TensorDataType.UInt32 => TensorElementType.UInt32,
        TensorDataType.UInt64 => TensorElementType.UInt64,
        TensorDataType.Int8 => TensorElementType.Int8,
        TensorDataType.Int16 => TensorElementType.Int16,
        TensorDataType.Int32 => TensorElementType.Int32,
        TensorDataType.Int64 => TensorElementType.Int64,
        TensorDataType.Fp16 => TensorElementType.Float16,
        TensorDataType.Fp32 => TensorElementType.Float,
        TensorDataType.Fp64 => TensorElementType.Double,
        TensorDataType.Bytes => TensorElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    internal static bool TryFromOnnx(TensorElementType type, out TensorDataType result)
    {
        (var ok, result) = type switch
        {
            TensorElementType.Bool => (true, TensorDataType.Bool),
            TensorElementType.UInt8 => (true, TensorDataType.UInt8),
            TensorElementType.UInt16 => (true, TensorDataType.UInt16),
            TensorElementType.UInt32 => (true, TensorDataType.UInt32),
            TensorElementType.UInt64 => (true, TensorDataType.UInt64),
            TensorElementType.Int8 => (true, TensorDataType.Int8),
            TensorElementType.Int16 => (true, TensorDataType.Int16),
            TensorElementType.Int32 => (true, TensorDataType.Int32),
            TensorElementType.Int64 => (true, TensorDataType.Int64),
            TensorElementType.Float16 => (true, TensorDataType.Fp16),
            TensorElementType.Float => (true, TensorDataType.Fp32),
            TensorElementType.Double => (true, TensorDataType.Fp64),
            TensorElementType.String => (true, TensorDataType.Bytes),
            _ => (false, default(TensorDataType)),
        };
        return ok;
    }

    internal static TensorDataType Of<T>()
        where T : unmanaged
    {
        var t = typeof(T);
        if (t == typeof(float)) return TensorDataType.Fp32;
        if (t == typeof(double)) return TensorDataType.Fp64;
        if (t == typeof(Half)) return TensorDataType.Fp16;
        if (t == typeof(long)) return TensorDataType.Int64;
        if (t == typeof(int)) return TensorDataType.Int32;
        if (t == typeof(short)) return TensorDataType.Int16;
        if (t == typeof(sbyte)) return TensorDataType.Int8;
        if (t == typeof(ulong)) return TensorDataType.UInt64;
        if (t == typeof(uint)) return TensorDataType.UInt32;
        if (t == typeof(ushort)) return TensorDataType.UInt16;
        if (t == typeof(byte)) return TensorDataType.UInt8;
        if (t == typeof(bool)) return TensorDataType.Bool;
        throw new NotSupportedException($"{t.Name} has no tensor datatype.");
    }
}
