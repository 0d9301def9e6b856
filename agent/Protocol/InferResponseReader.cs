using System.Globalization;
using System.Text.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>
/// Reads an Open Inference Protocol infer response, as <see cref="InferResponseWriter"/> writes it: the JSON header
/// (the first <c>Inference-Header-Content-Length</c> bytes, or all of it) and binary outputs after it, in order.
/// </summary>
internal static class InferResponseReader
{
    public static InferenceResult Read(ReadOnlyMemory<byte> body, long? headerLength)
    {
        var length = headerLength ?? body.Length;
        if (length <= 0 || length > body.Length)
        {
            throw new InvalidDataException($"Inference-Header-Content-Length is {length}, but the response has {body.Length} bytes");
        }

        using var doc = JsonDocument.Parse(body[..(int)length]);
        var root = doc.RootElement;
        var model = root.TryGetProperty("model_name", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        var version = root.TryGetProperty("model_version", out var v) && long.TryParse(v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        var outputs = new List<InferenceTensor>();
        var cursor = (int)length;
        if (root.TryGetProperty("outputs", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var output in array.EnumerateArray())
            {
                outputs.Add(ReadOutput(output, body, ref cursor));
            }
        }

        return cursor == body.Length
            ? InferenceResult.Success(model, version, outputs)
            : throw new InvalidDataException($"{body.Length - cursor} bytes follow the last binary output");
    }

    private static InferenceTensor ReadOutput(JsonElement output, ReadOnlyMemory<byte> body, ref int cursor)
    {
        var name = output.GetProperty("name").GetString()!;
        var datatype = output.GetProperty("datatype").GetString();
        if (!TensorDataTypes.TryParse(datatype, out var type))
        {
            throw new InvalidDataException($"output '{name}' has datatype '{datatype}'");
        }

        var shape = output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (output.TryGetProperty("data", out var data))
        {
            return JsonTensorData.Read(name, type, shape, data);
        }

        var size = output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var s) ? s.GetInt64() : 0;
        if (size > body.Length - cursor)
        {
            throw new InvalidDataException($"output '{name}' claims {size} binary bytes, {body.Length - cursor} remain");
        }

        var bytes = body.Slice(cursor, (int)size);
        cursor += (int)size;
        return type == TensorDataType.Bytes ? InferRequestReader.ReadByteElements(name, shape, bytes) : InferenceTensor.FromBytes(name, type, shape, bytes);
    }
}
