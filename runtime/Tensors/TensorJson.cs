using System.Buffers.Binary;
using System.Text.Json;

namespace EdgeMl.Runtime.Tensors;

/// <summary>Tensor values as a flat JSON array: numbers, booleans, UTF-8 strings for BYTES; null for NaN and infinities.</summary>
public static class TensorJson
{
    public static void WriteData(Utf8JsonWriter writer, InferenceTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tensor);
        writer.WriteStartArray();
        if (tensor.DataType == TensorDataType.Bytes)
        {
            foreach (var element in tensor.Elements)
            {
                writer.WriteStringValue(element.Span);
            }
        }
        else
        {
            var size = tensor.DataType.ElementSize();
            var bytes = tensor.Data.Span;
            for (var offset = 0; offset < bytes.Length; offset += size)
            {
                WriteValue(writer, tensor.DataType, bytes.Slice(offset, size));
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, TensorDataType type, ReadOnlySpan<byte> v)
    {
        switch (type)
        {
            case TensorDataType.Bool: writer.WriteBooleanValue(v[0] != 0); break;
            case TensorDataType.UInt8: writer.WriteNumberValue(v[0]); break;
            case TensorDataType.Int8: writer.WriteNumberValue((sbyte)v[0]); break;
            case TensorDataType.UInt16: writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(v)); break;
            case TensorDataType.Int16: writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(v)); break;
            case TensorDataType.UInt32: writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(v)); break;
            case TensorDataType.Int32: writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(v)); break;
            case TensorDataType.UInt64: writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(v)); break;
            case TensorDataType.Int64: writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(v)); break;
            case TensorDataType.Fp16: WriteFloat(writer, (float)BinaryPrimitives.ReadHalfLittleEndian(v)); break;
            case TensorDataType.Fp32: WriteFloat(writer, BinaryPrimitives.ReadSingleLittleEndian(v)); break;
            case TensorDataType.Fp64: WriteDouble(writer, BinaryPrimitives.ReadDoubleLittleEndian(v)); break;
            default: throw new InvalidOperationException($"{type} has no fixed element size");
        }
    }

    // JSON has no NaN or infinity; null is what MLServer writes, and clients read it back as NaN.
    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
