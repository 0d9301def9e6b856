using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Protocol;

/// <summary>An infer response ready to send: the JSON header and, after it, the binary outputs in order (a value, not one more object per request).</summary>
internal readonly record struct InferResponse(ReadOnlyMemory<byte> Json, IReadOnlyList<ReadOnlyMemory<byte>> Blobs)
{
    public bool HasBinary => Blobs.Count > 0;

    public long Length
    {
        get
        {
            long length = Json.Length;
            for (var i = 0; i < Blobs.Count; i++)
            {
                length += Blobs[i].Length;
            }

            return length;
        }
    }
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
        var blobs = new List<ReadOnlyMemory<byte>>(result.Outputs.Count);
        PooledJson.Write(json, (call, result, blobs), static (writer, s) =>
        {
            var (call, result, blobs) = s;
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
                WriteOutput(writer, call, result.Outputs[i], blobs);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
        return new InferResponse(json.WrittenMemory, blobs);
    }

    private static void WriteOutput(Utf8JsonWriter writer, InferCall call, InferenceTensor output, List<ReadOnlyMemory<byte>> blobs)
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
        if (call.IsBinary(output.Name) || output.DataType == TensorDataType.Fp16)
        {
            var blob = output.DataType == TensorDataType.Bytes ? LengthPrefixed(output) : output.Data;
            writer.WriteStartObject("parameters");
            writer.WriteNumber("binary_data_size", blob.Length);
            writer.WriteEndObject();
            if (blob.Length > 0)
            {
                blobs.Add(blob);
            }
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

    /// <summary>BYTES elements each behind a 4-byte little-endian length: the binary-tensor extension's layout, and Triton's raw gRPC contents.</summary>
    internal static byte[] LengthPrefixed(InferenceTensor tensor)
    {
        var blob = new byte[tensor.Elements.Sum(e => 4 + e.Length)];
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
