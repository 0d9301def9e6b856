using System.Buffers.Binary;
using System.Text;
using EdgeMl.Agent.Drift;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Capture;

/// <summary>Why a prediction was captured.</summary>
internal enum CaptureReason
{
    Sampled = 0,
    LowConfidence = 1,
    Error = 2,
}

/// <summary>
/// One captured prediction, with its tensors copied (request tensors are only borrowed). Tensors too large to
/// keep are replaced by summaries (mean, std, min, max).
/// </summary>
internal sealed record CaptureRecord
{
    public required string Model { get; init; }

    public required long Version { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    public double LatencyMilliseconds { get; init; }

    public string Provider { get; init; } = "";

    public CaptureReason Reason { get; init; }

    public double? Confidence { get; init; }

    public string? Error { get; init; }

    public IReadOnlyList<UploadTensor> Inputs { get; init; } = [];

    public IReadOnlyList<UploadTensor> Outputs { get; init; } = [];

    /// <summary>The bytes the tensors take in the store.</summary>
    public long PayloadBytes => Inputs.Concat(Outputs).Sum(t => (long)(t.Data?.Length ?? 0) + 64 + t.Name.Length);

    public static string ReasonName(CaptureReason reason) => reason switch
    {
        CaptureReason.LowConfidence => "low_confidence",
        CaptureReason.Error => "error",
        _ => "sampled",
    };

    /// <summary>A copy of a tensor with its data.</summary>
    public static UploadTensor Copy(InferenceTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        byte[] data;
        if (tensor.DataType == TensorDataType.Bytes)
        {
            data = new byte[tensor.Elements.Sum(e => 4 + e.Length)];
            var offset = 0;
            foreach (var e in tensor.Elements)
            {
                BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(offset), e.Length);
                e.Span.CopyTo(data.AsSpan(offset + 4));
                offset += 4 + e.Length;
            }
        }
        else
        {
            data = tensor.Data.ToArray();
        }

        return new UploadTensor(tensor.Name, tensor.DataType.ToProtocolName(), tensor.Shape.ToArray()) { Data = data };
    }

    /// <summary>Only the summary of a tensor: its declared statistics instead of its data.</summary>
    public static UploadTensor Summarize(InferenceTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var stats = TensorObservations.Summarize(tensor);
        var summary = new UploadTensor(tensor.Name, tensor.DataType.ToProtocolName(), tensor.Shape.ToArray());
        return stats.Count == 0
            ? summary
            : summary with { Mean = stats.Mean, Std = stats.Std, Min = stats.Min, Max = stats.Max };
    }
}

/// <summary>The binary form of a record's tensors in the store's <c>payload</c> column.</summary>
internal static class CapturePayload
{
    private const byte FormatVersion = 1;

    /// <summary>
    /// Encodes into one exactly sized array (the writer's hot loop: no streams, no intermediate copies). The layout
    /// is what <see cref="BinaryReader"/> reads: 7-bit length prefixes, UTF-8 strings, little-endian doubles.
    /// </summary>
    public static byte[] Encode(CaptureRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var buffer = new byte[1 + Measure(record.Inputs) + Measure(record.Outputs)];
        var span = buffer.AsSpan();
        var pos = 0;
        span[pos++] = FormatVersion;
        Write(span, ref pos, record.Inputs);
        Write(span, ref pos, record.Outputs);
        return buffer;
    }

    public static (IReadOnlyList<UploadTensor> Inputs, IReadOnlyList<UploadTensor> Outputs) Decode(byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        var version = reader.ReadByte();
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"Capture payload format {version} is unknown.");
        }

        return (Read(reader), Read(reader));
    }

    private static int Measure(IReadOnlyList<UploadTensor> tensors)
    {
        var size = Size7((uint)tensors.Count);
        foreach (var t in tensors)
        {
            size += SizeOf(t.Name) + SizeOf(t.Datatype) + Size7((uint)t.Shape.Count) + 1;
            foreach (var d in t.Shape)
            {
                size += Size7((ulong)d);
            }

            if (t.Data is not null)
            {
                size += Size7((uint)t.Data.Length) + t.Data.Length;
            }

            if (t.Mean is not null)
            {
                size += 4 * sizeof(double);
            }
        }

        return size;
    }

    private static void Write(Span<byte> span, ref int pos, IReadOnlyList<UploadTensor> tensors)
    {
        Write7(span, ref pos, (uint)tensors.Count);
        foreach (var t in tensors)
        {
            WriteString(span, ref pos, t.Name);
            WriteString(span, ref pos, t.Datatype);
            Write7(span, ref pos, (uint)t.Shape.Count);
            foreach (var d in t.Shape)
            {
                Write7(span, ref pos, (ulong)d);
            }

            span[pos++] = (byte)((t.Data is null ? 0 : 1) | (t.Mean is null ? 0 : 2));
            if (t.Data is not null)
            {
                Write7(span, ref pos, (uint)t.Data.Length);
                t.Data.CopyTo(span[pos..]);
                pos += t.Data.Length;
            }

            if (t.Mean is not null)
            {
                foreach (var v in new[] { t.Mean.Value, t.Std ?? double.NaN, t.Min ?? double.NaN, t.Max ?? double.NaN })
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(span[pos..], v);
                    pos += sizeof(double);
                }
            }
        }
    }

    private static int SizeOf(string value)
    {
        var bytes = Encoding.UTF8.GetByteCount(value);
        return Size7((uint)bytes) + bytes;
    }

    private static void WriteString(Span<byte> span, ref int pos, string value)
    {
        var bytes = Encoding.UTF8.GetByteCount(value);
        Write7(span, ref pos, (uint)bytes);
        pos += Encoding.UTF8.GetBytes(value, span[pos..]);
    }

    private static int Size7(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    private static void Write7(Span<byte> span, ref int pos, ulong value)
    {
        while (value >= 0x80)
        {
            span[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[pos++] = (byte)value;
    }

    private static List<UploadTensor> Read(BinaryReader reader)
    {
        var count = reader.Read7BitEncodedInt();
        var result = new List<UploadTensor>(count);
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var datatype = reader.ReadString();
            var shape = new long[reader.Read7BitEncodedInt()];
            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = reader.Read7BitEncodedInt64();
            }

            var flags = reader.ReadByte();
            var tensor = new UploadTensor(name, datatype, shape);
            if ((flags & 1) != 0)
            {
                tensor = tensor with { Data = reader.ReadBytes(reader.Read7BitEncodedInt()) };
            }

            if ((flags & 2) != 0)
            {
                tensor = tensor with { Mean = reader.ReadDouble(), Std = reader.ReadDouble(), Min = reader.ReadDouble(), Max = reader.ReadDouble() };
            }

            result.Add(tensor);
        }

        return result;
    }
}
