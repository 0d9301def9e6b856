using System.Diagnostics.Metrics;

namespace EdgeMl.CloudSync.Upload;

/// <summary>Capture upload instruments.</summary>
internal sealed class UploadMetrics
{
    public const string MeterName = "EdgeMl.CloudSync.Upload";

    public UploadMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Batches = meter.CreateCounter<long>("edgeml.upload.batches", description: "Batches acknowledged by the storage");
        Records = meter.CreateCounter<long>("edgeml.upload.records", description: "Records acknowledged by the storage");
        Bytes = meter.CreateCounter<long>("edgeml.upload.bytes", "By", "Parquet bytes acknowledged by the storage");
        Failures = meter.CreateCounter<long>("edgeml.upload.failures", description: "Failed upload attempts");
    }

    public Counter<long> Batches { get; }

    public Counter<long> Records { get; }

    public Counter<long> Bytes { get; }

    public Counter<long> Failures { get; }
}
