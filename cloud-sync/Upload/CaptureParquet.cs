using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Parquet.Serialization;
using Parquet.Serialization.Attributes;

namespace EdgeMl.CloudSync.Upload;

/// <summary>
/// The Parquet layout of captured records, one row per record, readable by pandas, pyarrow and Spark:
/// scalar columns plus <c>inputs</c>/<c>outputs</c> as lists of tensor structs (name, datatype, shape, data or
/// summary). Used by the uploader and by <c>edgeml capture export</c>.
/// </summary>
public static class CaptureParquet
{
    public static async Task WriteAsync(IEnumerable<UploadRecord> records, string deviceId, string batchId, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var rows = records.Select(r => CaptureParquetRow.From(r, deviceId, batchId)).ToList();
        await using var writer = await CaptureParquetWriter.CreateAsync(destination, Metadata(deviceId, batchId), cancellationToken);
        await writer.WriteRowGroupAsync(rows, cancellationToken);
    }

    /// <summary>The file's key-value metadata: the layout's name and version, the device, the batch.</summary>
    public static IReadOnlyDictionary<string, string> Metadata(string deviceId, string batchId) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["edgeml.schema"] = "edgeml.capture/v1",
        ["edgeml.device"] = deviceId,
        ["edgeml.batch"] = batchId,
    };

    /// <summary>Reads rows back, with Parquet.Net's class serializer: for tests and tools, not for the trimmed agent.</summary>
    [RequiresUnreferencedCode("Parquet.Net's class serializer reflects over the row types.")]
    [RequiresDynamicCode("Parquet.Net's class serializer compiles expression trees.")]
    public static async Task<IList<CaptureParquetRow>> ReadAsync(Stream source, CancellationToken cancellationToken)
    {
        var result = await ParquetSerializer.DeserializeAsync<CaptureParquetRow>(source, cancellationToken: cancellationToken);
        return result.Data;
    }
}

/// <summary>A Parquet row of <see cref="CaptureParquet"/>.</summary>
public sealed class CaptureParquetRow
{
    [JsonPropertyName("device_id")]
    public string DeviceId { get; set; } = "";

    [JsonPropertyName("batch_id")]
    public string BatchId { get; set; } = "";

    [JsonPropertyName("record_id")]
    public long RecordId { get; set; }

    [JsonPropertyName("model")]
    public string Model { get; set; } = "";

    [JsonPropertyName("model_version")]
    public long ModelVersion { get; set; }

    [JsonPropertyName("timestamp")]
    [ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)]
    public DateTime Timestamp { get; set; }

    [JsonPropertyName("latency_ms")]
    public double LatencyMilliseconds { get; set; }

    [JsonPropertyName("provider")]
    public string Provider { get; set; } = "";

    [JsonPropertyName("reason")]
    public string Reason { get; set; } = "";

    [JsonPropertyName("confidence")]
    public double? Confidence { get; set; }

    [JsonPropertyName("error")]
    public string? Error { get; set; }

    [JsonPropertyName("inputs")]
    public List<CaptureParquetTensor> Inputs { get; set; } = [];

    [JsonPropertyName("outputs")]
    public List<CaptureParquetTensor> Outputs { get; set; } = [];

    /// <summary>The row of one captured record, stamped with the device and the batch (or <c>export</c>) it went out in.</summary>
    public static CaptureParquetRow From(UploadRecord r, string deviceId, string batchId) => new()
    {
        DeviceId = deviceId,
        BatchId = batchId,
        RecordId = r.Id,
        Model = r.Model,
        ModelVersion = r.Version,
        Timestamp = r.Timestamp.UtcDateTime,
        LatencyMilliseconds = r.LatencyMilliseconds,
        Provider = r.Provider,
        Reason = r.Reason,
        Confidence = r.Confidence,
        Error = r.Error,
        Inputs = r.Inputs.Select(CaptureParquetTensor.From).ToList(),
        Outputs = r.Outputs.Select(CaptureParquetTensor.From).ToList(),
    };
}

/// <summary>A tensor inside a <see cref="CaptureParquetRow"/>.</summary>
public sealed class CaptureParquetTensor
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("datatype")]
    public string Datatype { get; set; } = "";

    [JsonPropertyName("shape")]
    public List<long> Shape { get; set; } = [];

    [JsonPropertyName("data")]
    public byte[]? Data { get; set; }

    [JsonPropertyName("mean")]
    public double? Mean { get; set; }

    [JsonPropertyName("std")]
    public double? Std { get; set; }

    [JsonPropertyName("min")]
    public double? Min { get; set; }

    [JsonPropertyName("max")]
    public double? Max { get; set; }

    internal static CaptureParquetTensor From(UploadTensor t) => new()
    {
        Name = t.Name,
        Datatype = t.Datatype,
        Shape = t.Shape.ToList(),
        Data = t.Data,
        Mean = t.Mean,
        Std = t.Std,
        Min = t.Min,
        Max = t.Max,
    };
}
