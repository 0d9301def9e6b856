using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>
/// An infer response ready to send: the JSON header and, after it, the binary outputs in order. A value, with the first
/// binary part in it, so the usual answer (one binary output) costs no object for its parts.
/// </summary>
internal readonly struct InferResponse
{
    private readonly ReadOnlyMemory<byte> _first;
    private readonly ReadOnlyMemory<byte>[] _rest;

    public InferResponse(ReadOnlyMemory<byte> json, ReadOnlyMemory<byte> first, ReadOnlyMemory<byte>[] rest, int count)
    {
        Json = json;
        _first = first;
        _rest = rest;
        BlobCount = count;
    }

    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>How many binary parts follow the header (an empty one among them is sent as nothing).</summary>
    public int BlobCount { get; }

    /// <summary>Whether any binary part has bytes: an answer whose binary parts are all empty is plain JSON.</summary>
    public bool HasBinary
    {
        get
        {
            for (var i = 0; i < BlobCount; i++)
            {
                if (!Blob(i).IsEmpty)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public long Length
    {
        get
        {
            long length = Json.Length;
            for (var i = 0; i < BlobCount; i++)
            {
                length += Blob(i).Length;
            }

            return length;
        }
    }

    public ReadOnlyMemory<byte> Blob(int index) => index == 0 ? _first : _rest[index - 1];
}

/// <summary>
/// Writes infer responses as Triton does: <c>id</c> when the request had one, <c>model_name</c>, <c>model_version</c>
/// as a string, outputs with name, datatype, shape, then <c>data</c> (flat) or <c>parameters.binary_data_size</c>.
/// FP16 outputs always go binary: JSON cannot carry them.
/// </summary>
internal static class InferResponseWriter
{
    /// <summary>Readable with curl: quotes and non-ASCII text stay as they are; JSON clients decode either way.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static InferResponse Build(InferCall call, InferenceResult result) => Build(call, result, new ArrayBufferWriter<byte>(256));

    /// <summary>The response with its JSON header written into <paramref name="json"/> (a pooled buffer the caller gives back once the response is sent).</summary>
    public static InferResponse Build(InferCall call, InferenceResult result, ArrayBufferWriter<byte> json)
    {
        // The binary parts first, in the order the header names them: the first in the response itself, others in an
        // array of exactly their number.
        var count = 0;
        for (var i = 0; i < result.Outputs.Count; i++)
        {
            count += IsBinary(call, result.Outputs[i]) ? 1 : 0;
        }

        var first = ReadOnlyMemory<byte>.Empty;
        var rest = count > 1 ? new ReadOnlyMemory<byte>[count - 1] : [];
        for (int i = 0, part = 0; i < result.Outputs.Count; i++)
        {
            if (IsBinary(call, result.Outputs[i]))
            {
                var blob = Blob(result.Outputs[i]);
                if (part == 0)
                {
                    first = blob;
                }
                else
                {
                    rest[part - 1] = blob;
                }

                part++;
            }
        }

        PooledJson.Write(json, (call, result), static (writer, s) =>
        {
            var (call, result) = s;
            writer.WriteStartObject();
            if (!string.IsNullOrEmpty(call.Id))
            {
                writer.WriteString("id", call.Id);
            }

            writer.WriteString("model_name", result.Model);
            Span<char> version = stackalloc char[20];
            _ = result.Version.TryFormat(version, out var length, default, CultureInfo.InvariantCulture); // a long is 20 characters at most
            writer.WriteString("model_version", version[..length]);
            writer.WriteStartArray("outputs");
            for (var i = 0; i < result.Outputs.Count; i++)
            {
                WriteOutput(writer, call, result.Outputs[i]);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
        return new InferResponse(json.WrittenMemory, first, rest, count);
    }

    /// <summary>An output's binary part: its data, or BYTES elements behind their lengths.</summary>
    private static ReadOnlyMemory<byte> Blob(InferenceTensor output) => output.DataType == TensorDataType.Bytes ? LengthPrefixed(output) : output.Data;

    private static bool IsBinary(InferCall call, InferenceTensor output) => call.IsBinary(output.Name) || output.DataType == TensorDataType.Fp16;

    private static void WriteOutput(Utf8JsonWriter writer, InferCall call, InferenceTensor output)
    {
        writer.WriteStartObject();
        writer.WriteString("name", output.Name);
        writer.WriteString("datatype", output.DataType.ToProtocolName());
        writer.WriteStartArray("shape");
        for (var i = 0; i < output.Shape.Count; i++)
        {
            writer.WriteNumberValue(output.Shape[i]);
        }

        writer.WriteEndArray();
        if (IsBinary(call, output))
        {
            writer.WriteStartObject("parameters");
            writer.WriteNumber("binary_data_size", output.DataType == TensorDataType.Bytes ? LengthPrefixedSize(output) : output.Data.Length);
            writer.WriteEndObject();
        }
        else
        {
            writer.WritePropertyName("data");
            JsonTensorData.Write(writer, output);
        }

        writer.WriteEndObject();
    }

    public static byte[] Error(string message)
    {
        var json = new ArrayBufferWriter<byte>(64 + message.Length);
        using (var writer = new Utf8JsonWriter(json, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("error", message);
            writer.WriteEndObject();
        }

        return json.WrittenSpan.ToArray();
    }

    private static long LengthPrefixedSize(InferenceTensor tensor) => tensor.Elements.Sum(e => 4L + e.Length);

    /// <summary>BYTES elements each behind a 4-byte little-endian length: the binary-tensor extension's layout, and Triton's raw gRPC contents.</summary>
    internal static byte[] LengthPrefixed(InferenceTensor tensor)
    {
        var blob = new byte[LengthPrefixedSize(tensor)];
        var offset = 0;
        foreach (var element in tensor.Elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(offset), (uint)element.Length);
            element.Span.CopyTo(blob.AsSpan(offset + 4));
            offset += 4 + element.Length;
        }

        return blob;
    }
}
