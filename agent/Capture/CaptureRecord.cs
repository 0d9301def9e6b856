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
        var values = TensorObservations.ToDoubles(tensor);
        var summary = new UploadTensor(tensor.Name, tensor.DataType.ToProtocolName(), tensor.Shape.ToArray());
        return values.Length == 0
            ? summary
            : summary with
            {
                Mean = TensorObservations.Mean(values),
                Std = TensorObservations.StandardDeviation(values),
                Min = values.Min(),
                Max = values.Max(),
            };
    }
}

/// <summary>The binary form of a record's tensors in the store's <c>payload</c> column.</summary>
internal static class CapturePayload
{
    private const byte FormatVersion = 1;

    public static byte[] Encode(CaptureRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var stream = new MemoryStream((int)Math.Min(int.MaxValue, record.PayloadBytes + 16));
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            Write(writer, record.Inputs);
            Write(writer, record.Outputs);
        }

        return stream.ToArray();
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

    private static void Write(BinaryWriter writer, IReadOnlyList<UploadTensor> tensors)
    {
        writer.Write7BitEncodedInt(tensors.Count);
        foreach (var t in tensors)
        {
            writer.Write(t.Name);
            writer.Write(t.Datatype);
            writer.Write7BitEncodedInt(t.Shape.Count);
            foreach (var d in t.Shape)
            {
                writer.Write7BitEncodedInt64(d);
            }

            byte flags = (byte)((t.Data is null ? 0 : 1) | (t.Mean is null ? 0 : 2));
            writer.Write(flags);
            if (t.Data is not null)
            {
                writer.Write7BitEncodedInt(t.Data.Length);
                writer.Write(t.Data);
            }

            if (t.Mean is not null)
            {
                writer.Write(t.Mean.Value);
                writer.Write(t.Std ?? double.NaN);
                writer.Write(t.Min ?? double.NaN);
                writer.Write(t.Max ?? double.NaN);
            }
        }
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
