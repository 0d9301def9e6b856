using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Packages;

/// <summary>Turns tensors of a manifest (inline values or raw files) into <see cref="InferenceTensor"/>s and back.</summary>
public static class ManifestTensors
{
    /// <exception cref="ModelManifestException">The values do not fit the declared datatype or shape.</exception>
    public static InferenceTensor Load(ManifestTensor tensor, string packageFolder)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!TensorDataTypes.TryParse(tensor.Datatype, out var type))
        {
            throw Problem(tensor, $"datatype '{tensor.Datatype}' is unknown");
        }

        var shape = tensor.Shape.ToArray();
        var count = InferenceTensor.CountElements(shape);
        if (count < 0)
        {
            throw Problem(tensor, "shape must be concrete");
        }

        if (tensor.File is { } file)
        {
            return FromFile(tensor, file, packageFolder, type, shape, count);
        }

        var data = tensor.Data ?? throw Problem(tensor, "has neither data nor file");
        if (data.ValueKind != JsonValueKind.Array || data.GetArrayLength() != count)
        {
            throw Problem(tensor, $"data must be a flat array of {count} values");
        }

        if (type == TensorDataType.Bytes)
        {
            var elements = data.EnumerateArray().Select(e => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(e.GetString() ?? "")).ToArray();
            return InferenceTensor.FromElements(tensor.Name, shape, elements);
        }

        var size = type.ElementSize();
        var buffer = new byte[count * size];
        var i = 0;
        try
        {
            foreach (var value in data.EnumerateArray())
            {
                Write(buffer.AsSpan(i * size, size), type, value);
                i++;
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw Problem(tensor, $"value {i} does not fit {type.ToProtocolName()}: {e.Message}");
        }

        return InferenceTensor.FromBytes(tensor.Name, type, shape, buffer);
    }

    /// <summary>A tensor whose raw little-endian data is a file of the package.</summary>
    private static InferenceTensor FromFile(ManifestTensor tensor, string file, string packageFolder, TensorDataType type, long[] shape, long count)
    {
        if (!ManifestRules.IsSafeRelativePath(file))
        {
            throw Problem(tensor, $"file '{file}' is not a safe relative path");
        }

        var bytes = File.ReadAllBytes(Path.Combine(packageFolder, file));
        if (type == TensorDataType.Bytes)
        {
            throw Problem(tensor, "BYTES tensors must be inline");
        }

        return bytes.LongLength == count * type.ElementSize()
            ? InferenceTensor.FromBytes(tensor.Name, type, shape, bytes)
            : throw Problem(tensor, $"file '{file}' has {bytes.LongLength} bytes; shape needs {count * type.ElementSize()}");
    }

    /// <summary>A manifest tensor holding the values inline.</summary>
    public static ManifestTensor Inline(InferenceTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            TensorJson.WriteData(writer, tensor);
        }

        using var doc = JsonDocument.Parse(json.ToArray());
        return new ManifestTensor(tensor.Name, tensor.DataType.ToProtocolName(), tensor.Shape.ToArray()) { Data = doc.RootElement.Clone() };
    }

    private static void Write(Span<byte> target, TensorDataType type, JsonElement value)
    {
        switch (type)
        {
            case TensorDataType.Bool: target[0] = value.GetBoolean() ? (byte)1 : (byte)0; break;
            case TensorDataType.UInt8: target[0] = value.GetByte(); break;
            case TensorDataType.Int8: target[0] = (byte)value.GetSByte(); break;
            case TensorDataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(target, value.GetUInt16()); break;
            case TensorDataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(target, value.GetInt16()); break;
            case TensorDataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(target, value.GetUInt32()); break;
            case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(target, value.GetInt32()); break;
            case TensorDataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(target, value.GetUInt64()); break;
            case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(target, value.GetInt64()); break;
            case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(target, (Half)value.GetDouble()); break;
            case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(target, value.GetSingle()); break;
            case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(target, value.GetDouble()); break;
            default: throw new InvalidOperationException($"{type} has no fixed element size");
        }
    }

    private static ModelManifestException Problem(ManifestTensor tensor, string message) =>
        new([$"tensor '{tensor.Name}' {message}"]);
}
