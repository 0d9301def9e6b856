using System.Buffers.Binary;
using System.Numerics;
using System.Text.Json;
using EdgeMl.Runtime.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>What an infer request asked for: the tensors, and how each output is to be returned (a value, not one more object per request).</summary>
/// <param name="BinaryOutputs">The <c>binary_data</c> parameter of each requested output that set it; others follow <paramref name="BinaryByDefault"/>.</param>
internal readonly record struct InferCall(string? Id, InferenceRequest Request, bool BinaryByDefault, BinaryChoices BinaryOutputs)
{
    /// <summary>The request's sequence parameters; null for a request outside any sequence.</summary>
    public Sequences.SequenceParameters? Sequence { get; init; }

    /// <summary>Whether <paramref name="output"/> goes back binary: as the request last said for it, else by default.</summary>
    public bool IsBinary(string output)
    {
        var outputs = Request.Outputs;
        for (var i = outputs.Count - 1; i >= 0; i--)
        {
            if (BinaryOutputs.At(i) is { } binary && outputs[i] == output)
            {
                return binary;
            }
        }

        return BinaryByDefault;
    }
}

/// <summary>
/// The <c>binary_data</c> parameters of a request's outputs, by each output's place in the request: bits for the first
/// 64 (no object for the usual request), a table only for a request that names more outputs than that.
/// </summary>
internal readonly struct BinaryChoices
{
    private const int Bits = 64;

    private readonly ulong _said;
    private readonly ulong _binary;
    private readonly bool?[]? _beyond;

    private BinaryChoices(ulong said, ulong binary, bool?[]? beyond)
    {
        _said = said;
        _binary = binary;
        _beyond = beyond;
    }

    /// <summary>How many outputs set the parameter.</summary>
    public int Count => BitOperations.PopCount(_said) + (_beyond?.Count(b => b.HasValue) ?? 0);

    /// <summary>What the output at <paramref name="index"/> of the request's outputs said; null when it said nothing.</summary>
    public bool? At(int index) => index < Bits
        ? (_said & (1UL << index)) == 0 ? null : (_binary & (1UL << index)) != 0
        : _beyond is { } beyond && index - Bits < beyond.Length ? beyond[index - Bits] : null;

    /// <summary>These choices and what the output at <paramref name="index"/> said (the reader builds them once, output by output).</summary>
    public BinaryChoices With(int index, bool binary)
    {
        if (index < Bits)
        {
            var bit = 1UL << index;
            return new(_said | bit, binary ? _binary | bit : _binary & ~bit, _beyond);
        }

        var beyond = _beyond ?? [];
        if (index - Bits >= beyond.Length)
        {
            Array.Resize(ref beyond, Math.Max(index - Bits + 1, beyond.Length * 2));
        }

        beyond[index - Bits] = binary;
        return new(_said, _binary, beyond);
    }
}

/// <summary>
/// Reads an Open Inference Protocol infer request: the JSON header (the first
/// <c>Inference-Header-Content-Length</c> bytes, or the whole body without it) and the binary tensor data that
/// follows, taken in input order. Binary inputs are sliced from the body, not copied.
/// </summary>
internal static class InferRequestReader
{
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 128 };
    private static readonly TensorDataType[] DataTypes = Enum.GetValues<TensorDataType>();

    /// <param name="names">
    /// The model's tensor names (<see cref="EdgeMl.Runtime.Serving.InferenceEngine.TensorNames"/>): a name in the header
    /// that is one of them is that string, not a new one per request; others are read as they are.
    /// </param>
    public static InferCall Read(ReadOnlyMemory<byte> body, long? headerLength, IReadOnlyList<string>? names = null)
    {
        var length = HeaderLength(body, headerLength);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body[..length], JsonOptions);
        }
        catch (JsonException e)
        {
            throw ProtocolException.BadRequest($"failed to parse the request JSON: {e.Message}");
        }

        using (doc)
        {
            if (!JsonStrings.AreValid(body.Span[..length]))
            {
                throw ProtocolException.BadRequest("the request JSON has a string that is not valid UTF-8 text");
            }

            return Read(doc.RootElement, body, length, headerLength is not null, names ?? []);
        }
    }

    /// <summary>The length of the JSON header: the header's declared length, or the whole body.</summary>
    private static int HeaderLength(ReadOnlyMemory<byte> body, long? headerLength)
    {
        if (body.IsEmpty)
        {
            throw ProtocolException.BadRequest("the request body is empty: send an Open Inference Protocol request, {\"inputs\": [{\"name\", \"datatype\", \"shape\", \"data\"}]}");
        }

        var length = headerLength ?? body.Length;
        if (length < 0 || length > body.Length)
        {
            throw ProtocolException.BadRequest($"Inference-Header-Content-Length is {length}, but the body has {body.Length} bytes");
        }

        return length == 0
            ? throw ProtocolException.BadRequest("raw binary requests (Inference-Header-Content-Length: 0) are not supported; send a JSON header")
            : (int)length;
    }

    /// <summary>The parsed header, with binary inputs sliced from the body after it.</summary>
    private static InferCall Read(JsonElement root, ReadOnlyMemory<byte> body, int length, bool hasHeaderLength, IReadOnlyList<string> names)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ProtocolException.BadRequest("the request must be a JSON object");
        }

        string? id = null;
        if (root.TryGetProperty("id", out var idElement))
        {
            id = idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : throw ProtocolException.BadRequest("'id' must be a string");
        }

        var binaryByDefault = root.TryGetProperty("parameters", out var parameters) && Flag(parameters, "binary_data_output");
        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw ProtocolException.BadRequest("the request has no 'inputs' array");
        }

        var cursor = length;
        var inputs = new InferenceTensor[inputsElement.GetArrayLength()];
        var count = 0;
        foreach (var input in inputsElement.EnumerateArray())
        {
            inputs[count++] = ReadInput(input, body, ref cursor, hasHeaderLength, names);
        }

        if (cursor != body.Length)
        {
            throw ProtocolException.BadRequest($"unexpected additional input data: {body.Length - cursor} bytes after the last binary input");
        }

        var (outputs, binaryOutputs) = ReadOutputs(root, names);
        return new InferCall(id, new InferenceRequest(inputs, outputs), binaryByDefault, binaryOutputs)
        {
            Sequence = root.TryGetProperty("parameters", out var requestParameters) ? ReadSequence(requestParameters) : null,
        };
    }

    private static InferenceTensor ReadInput(JsonElement input, ReadOnlyMemory<byte> body, ref int cursor, bool hasHeaderLength, IReadOnlyList<string> names)
    {
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw ProtocolException.BadRequest("each input must be a JSON object");
        }

        var name = input.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && Name(n, names) is { Length: > 0 } s
            ? s
            : throw ProtocolException.BadRequest("an input has no 'name'");
        var type = ReadType(name, input);
        var shape = ReadShape(name, input);
        var binarySize = ReadBinarySize(name, input);
        var hasData = input.TryGetProperty("data", out var data);
        if (hasData == binarySize.HasValue)
        {
            throw ProtocolException.BadRequest($"input '{name}' must set exactly one of 'data' or 'parameters.binary_data_size'");
        }

        if (hasData)
        {
            return JsonTensorData.Read(name, type, shape, data);
        }

        if (!hasHeaderLength)
        {
            throw ProtocolException.BadRequest($"input '{name}' is binary: the request must give Inference-Header-Content-Length");
        }

        return ReadBinary(name, type, shape, binarySize!.Value, body, ref cursor);
    }

    private static TensorDataType ReadType(string name, JsonElement input)
    {
        if (input.TryGetProperty("datatype", out var dt) && dt.ValueKind == JsonValueKind.String)
        {
            // Compared in place: the datatype's name is not made into a string for every request.
            if (TryParseType(dt, out var type))
            {
                return type;
            }

            if (dt.ValueEquals("STRING"))
            {
                return TensorDataType.Bytes;
            }
        }

        var datatype = dt.ValueKind == JsonValueKind.String ? dt.GetString() : null;
        throw ProtocolException.BadRequest($"input '{name}': datatype '{datatype}' is not one of BOOL, UINT8-64, INT8-64, FP16, FP32, FP64, BYTES");
    }

    private static bool TryParseType(JsonElement datatype, out TensorDataType type)
    {
        foreach (var candidate in DataTypes)
        {
            if (datatype.ValueEquals(candidate.ToProtocolName()))
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }

    private static long? ReadBinarySize(string name, JsonElement input) =>
        input.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("binary_data_size", out var sizeElement)
            ? sizeElement.ValueKind == JsonValueKind.Number && sizeElement.TryGetInt64(out var size) && size >= 0
                ? size
                : throw ProtocolException.BadRequest($"input '{name}': binary_data_size must be a non-negative integer")
            : null;

    /// <summary>A binary input's <paramref name="size"/> bytes, sliced from the body at the cursor (not copied).</summary>
    private static InferenceTensor ReadBinary(string name, TensorDataType type, long[] shape, long size, ReadOnlyMemory<byte> body, ref int cursor)
    {
        if (size > body.Length - cursor)
        {
            throw ProtocolException.BadRequest($"unexpected size for input '{name}': expecting {size} additional bytes, {body.Length - cursor} remain");
        }

        var bytes = body.Slice(cursor, (int)size);
        cursor += (int)size;
        if (type == TensorDataType.Bytes)
        {
            return ReadByteElements(name, shape, bytes);
        }

        var expected = JsonTensorData.ElementCount(name, shape) * type.ElementSize();
        return size == expected
            ? InferenceTensor.FromBytes(name, type, shape, bytes)
            : throw ProtocolException.BadRequest($"input '{name}': binary_data_size is {size} bytes; {type.ToProtocolName()} {TensorSpec.FormatShape(shape)} needs {expected}");
    }

    internal static InferenceTensor ReadByteElements(string name, long[] shape, ReadOnlyMemory<byte> bytes)
    {
        var count = JsonTensorData.ElementCount(name, shape);

        // Every element carries a 4-byte length, so the bytes bound the count before anything is allocated for it.
        if (count > bytes.Length / 4)
        {
            throw ProtocolException.BadRequest($"input '{name}': shape {TensorSpec.FormatShape(shape)} declares {count} BYTES elements; {bytes.Length} bytes hold at most {bytes.Length / 4}");
        }

        var elements = new ReadOnlyMemory<byte>[count];
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            if (bytes.Length - offset < 4)
            {
                throw ProtocolException.BadRequest($"input '{name}': BYTES data ends inside the length of element {i}");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.Span[offset..]);
            offset += 4;
            if (length > bytes.Length - offset)
            {
                throw ProtocolException.BadRequest($"input '{name}': BYTES element {i} claims {length} bytes, {bytes.Length - offset} remain");
            }

            elements[i] = bytes.Slice(offset, (int)length);
            offset += (int)length;
        }

        return offset == bytes.Length
            ? InferenceTensor.FromElements(name, shape, elements)
            : throw ProtocolException.BadRequest($"input '{name}': {bytes.Length - offset} bytes left after its {count} BYTES elements");
    }

    private static long[] ReadShape(string name, JsonElement input)
    {
        if (!input.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array)
        {
            throw ProtocolException.BadRequest($"input '{name}' has no 'shape' array");
        }

        var dims = new long[shape.GetArrayLength()];
        var i = 0;
        foreach (var d in shape.EnumerateArray())
        {
            dims[i++] = d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out var v) && v >= 0
                ? v
                : throw ProtocolException.BadRequest($"input '{name}': shape elements must be non-negative integers");
        }

        return dims;
    }

    /// <summary>A name as a string: the model's own when it is one of <paramref name="known"/>, else a new one.</summary>
    private static string Name(JsonElement name, IReadOnlyList<string> known)
    {
        for (var i = 0; i < known.Count; i++)
        {
            if (name.ValueEquals(known[i]))
            {
                return known[i];
            }
        }

        return name.GetString()!;
    }

    private static (string[] Names, BinaryChoices Binary) ReadOutputs(JsonElement root, IReadOnlyList<string> known)
    {
        if (!root.TryGetProperty("outputs", out var outputs))
        {
            return ([], default);
        }

        if (outputs.ValueKind != JsonValueKind.Array)
        {
            throw ProtocolException.BadRequest("'outputs' must be an array");
        }

        // Sized for a model's few outputs and grown only as entries prove to be outputs: the array's length is the caller's claim.
        var names = new string[Math.Min(outputs.GetArrayLength(), 8)];
        var binary = default(BinaryChoices);
        var i = 0;
        foreach (var output in outputs.EnumerateArray())
        {
            var name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                ? Name(n, known)
                : throw ProtocolException.BadRequest("each requested output needs a 'name'");
            if (i == names.Length)
            {
                Array.Resize(ref names, names.Length * 2);
            }

            if (output.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
            {
                if (parameters.TryGetProperty("classification", out _))
                {
                    throw new ProtocolException(501, $"output '{name}': the classification extension is not supported");
                }

                if (parameters.TryGetProperty("binary_data", out _))
                {
                    binary = binary.With(i, Flag(parameters, "binary_data", output: name));
                }
            }

            names[i++] = name;
        }

        return (i == names.Length ? names : names[..i], binary);
    }

    /// <summary>
    /// <c>sequence_id</c> (a non-empty string or a positive integer; 0 and "" mean none, as in Triton) with
    /// <c>sequence_start</c> and <c>sequence_end</c>.
    /// </summary>
    private static Sequences.SequenceParameters? ReadSequence(JsonElement parameters)
    {
        var start = Flag(parameters, "sequence_start");
        var end = Flag(parameters, "sequence_end");
        string? id = null;
        if (parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("sequence_id", out var value))
        {
            id = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number when value.TryGetUInt64(out var n) => n == 0 ? null : n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => throw ProtocolException.BadRequest("request parameter 'sequence_id' must be a string or a non-negative integer"),
            };
        }

        if (string.IsNullOrEmpty(id))
        {
            return start || end ? throw ProtocolException.BadRequest("sequence_start and sequence_end need a sequence_id") : null;
        }

        return new Sequences.SequenceParameters(id, start, end);
    }

    /// <param name="output">The output the parameter is for; null for a request parameter. Named only in the error, which is the only place its text is made.</param>
    private static bool Flag(JsonElement parameters, string key, string? output = null)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty(key, out var value))
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ProtocolException.BadRequest($"{(output is null ? "request parameter" : $"output '{output}' parameter")} '{key}' must be true or false"),
        };
    }
}
