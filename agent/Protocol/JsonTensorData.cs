using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>
/// Tensor data as JSON: read from flat or nested arrays (any nesting, counted against the shape, as Triton
/// does), written flat. Values must fit the datatype: booleans for BOOL, integers for integer types.
/// </summary>
internal static class JsonTensorData
{
    private const int MaxNesting = 100;

    public static InferenceTensor Read(string name, TensorDataType type, long[] shape, JsonElement data)
    {
        var count = ElementCount(name, shape);
        if (type is TensorDataType.Fp16)
        {
            throw ProtocolException.BadRequest($"input '{name}': FP16 data cannot be sent as JSON; send it as binary data");
        }

        if (type == TensorDataType.Bytes)
        {
            var elements = new List<ReadOnlyMemory<byte>>((int)Math.Min(count, 1 << 20));
            Walk(data, 0, name, e => elements.Add(e.ValueKind == JsonValueKind.String
                ? Encoding.UTF8.GetBytes(e.GetString()!)
                : throw ProtocolException.BadRequest($"input '{name}': BYTES elements must be JSON strings")));
            return elements.Count == count
                ? InferenceTensor.FromElements(name, shape, elements)
                : throw CountMismatch(name, elements.Count, count);
        }

        var size = type.ElementSize();
        var buffer = new byte[count * size];
        long index = 0;
        Walk(data, 0, name, e =>
        {
            if (index >= count)
            {
                index++;
                return;
            }

            if (!TryWrite(buffer.AsSpan((int)(index * size), size), type, e))
            {
                throw ProtocolException.BadRequest($"input '{name}': element {index} ({e.GetRawText()}) is not a valid {type.ToProtocolName()} value");
            }

            index++;
        });
        return index == count ? InferenceTensor.FromBytes(name, type, shape, buffer) : throw CountMismatch(name, index, count);
    }

    public static void Write(Utf8JsonWriter writer, InferenceTensor tensor)
    {
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

    internal static long ElementCount(string name, long[] shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw ProtocolException.BadRequest($"input '{name}': shape dimensions must not be negative");
            }

            count = d == 0 ? 0 : count <= int.MaxValue / d ? count * d : throw ProtocolException.BadRequest($"input '{name}': shape has too many elements");
        }

        return count;
    }

    private static void Walk(JsonElement element, int depth, string name, Action<JsonElement> leaf)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            leaf(element);
            return;
        }

        if (depth >= MaxNesting)
        {
            throw ProtocolException.BadRequest($"input '{name}': data is nested deeper than {MaxNesting}");
        }

        foreach (var item in element.EnumerateArray())
        {
            Walk(item, depth + 1, name, leaf);
        }
    }

    private static bool TryWrite(Span<byte> target, TensorDataType type, JsonElement e)
    {
        if (type == TensorDataType.Bool)
        {
            if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return false;
            }

            target[0] = e.ValueKind == JsonValueKind.True ? (byte)1 : (byte)0;
            return true;
        }

        if (e.ValueKind != JsonValueKind.Number)
        {
            return false;
        }

        switch (type)
        {
            case TensorDataType.UInt8 when e.TryGetByte(out var v): target[0] = v; return true;
            case TensorDataType.Int8 when e.TryGetSByte(out var v): target[0] = (byte)v; return true;
            case TensorDataType.UInt16 when e.TryGetUInt16(out var v): BinaryPrimitives.WriteUInt16LittleEndian(target, v); return true;
            case TensorDataType.Int16 when e.TryGetInt16(out var v): BinaryPrimitives.WriteInt16LittleEndian(target, v); return true;
            case TensorDataType.UInt32 when e.TryGetUInt32(out var v): BinaryPrimitives.WriteUInt32LittleEndian(target, v); return true;
            case TensorDataType.Int32 when e.TryGetInt32(out var v): BinaryPrimitives.WriteInt32LittleEndian(target, v); return true;
            case TensorDataType.UInt64 when e.TryGetUInt64(out var v): BinaryPrimitives.WriteUInt64LittleEndian(target, v); return true;
            case TensorDataType.Int64 when e.TryGetInt64(out var v): BinaryPrimitives.WriteInt64LittleEndian(target, v); return true;
            case TensorDataType.Fp32 when e.TryGetDouble(out var v): BinaryPrimitives.WriteSingleLittleEndian(target, (float)v); return true;
            case TensorDataType.Fp64 when e.TryGetDouble(out var v): BinaryPrimitives.WriteDoubleLittleEndian(target, v); return true;
            default: return false;
        }
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
            case TensorDataType.Fp32: WriteFloat(writer, BinaryPrimitives.ReadSingleLittleEndian(v)); break;
            case TensorDataType.Fp64: WriteFloat(writer, BinaryPrimitives.ReadDoubleLittleEndian(v)); break;
            default: throw new InvalidOperationException($"{type} cannot be written as JSON");
        }
    }

    private static void WriteFloat(Utf8JsonWriter writer, double value)
    {
        // JSON has no NaN or infinity; null is what MLServer writes, and clients decode it as NaN.
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

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

    private static ProtocolException CountMismatch(string name, long got, long expected) =>
        ProtocolException.BadRequest($"input '{name}': data has {got} elements; shape needs {expected}");
}
