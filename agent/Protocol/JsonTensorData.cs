using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>
/// Tensor data as JSON: read from flat or nested arrays (any nesting, counted against the shape, as Triton
/// does), written flat by <see cref="TensorJson"/>. Values must fit the datatype: booleans for BOOL, integers for integer types.
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

        // The shape is only a claim: nothing is allocated for it until the values are there to fill it.
        var present = CountValues(data, 0, name);
        if (present != count)
        {
            throw CountMismatch(name, present, count);
        }

        if (type == TensorDataType.Bytes)
        {
            var elements = new ReadOnlyMemory<byte>[count];
            var next = 0;
            Walk(data, 0, name, e => elements[next++] = e.ValueKind == JsonValueKind.String
                ? Encoding.UTF8.GetBytes(e.GetString()!)
                : throw ProtocolException.BadRequest($"input '{name}': BYTES elements must be JSON strings"));
            return InferenceTensor.FromElements(name, shape, elements);
        }

        var size = type.ElementSize();
        if (count > Array.MaxLength / size)
        {
            throw ProtocolException.BadRequest($"input '{name}': {count} {type.ToProtocolName()} values do not fit in one tensor");
        }

        var buffer = new byte[count * size];
        var index = 0;
        Walk(data, 0, name, e =>
        {
            if (!TryWrite(buffer.AsSpan(index * size, size), type, e))
            {
                throw ProtocolException.BadRequest($"input '{name}': element {index} ({e.GetRawText()}) is not a valid {type.ToProtocolName()} value");
            }

            index++;
        });
        return InferenceTensor.FromBytes(name, type, shape, buffer);
    }

    public static void Write(Utf8JsonWriter writer, InferenceTensor tensor) => TensorJson.WriteData(writer, tensor);

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

    /// <summary>The leaf values of (nested) array data, counted without reading them.</summary>
    private static long CountValues(JsonElement element, int depth, string name)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            return 1;
        }

        if (depth >= MaxNesting)
        {
            throw ProtocolException.BadRequest($"input '{name}': data is nested deeper than {MaxNesting}");
        }

        long count = 0;
        foreach (var item in element.EnumerateArray())
        {
            count += item.ValueKind == JsonValueKind.Array ? CountValues(item, depth + 1, name) : 1;
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

    private static ProtocolException CountMismatch(string name, long got, long expected) =>
        ProtocolException.BadRequest($"input '{name}': data has {got} elements; shape needs {expected}");
}
