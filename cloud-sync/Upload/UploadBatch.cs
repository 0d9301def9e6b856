namespace EdgeMl.CloudSync.Upload;

/// <summary>
/// Captured records waiting for upload, as the capture store hands them over. The agent adapts its store to
/// this contract; cloud-sync knows nothing of SQLite.
/// </summary>
public interface ICaptureUploadSource
{
    /// <summary>
    /// The next batch to upload: a batch handed out before and not yet acknowledged comes back first, with the
    /// same id and rows, so a retry overwrites instead of duplicating. Null when nothing waits.
    /// </summary>
    ValueTask<UploadBatch?> NextBatchAsync(int maxRecords, CancellationToken cancellationToken);

    /// <summary>Deletes the rows of a batch the storage has acknowledged.</summary>
    ValueTask AcknowledgeAsync(UploadBatch batch, CancellationToken cancellationToken);
}

/// <summary>Wakes the capture uploader, registered only when upload is configured.</summary>
public interface ICaptureUploadTrigger
{
    /// <summary>New records are waiting, or the network came back: the uploader stops sleeping or backing off now.</summary>
    void Wake();
}

/// <summary>Records of one model version and one UTC hour, under a deterministic id.</summary>
public sealed record UploadBatch(string BatchId, string Model, long Version, DateTimeOffset Hour, IReadOnlyList<UploadRecord> Records);

/// <summary>One captured prediction.</summary>
public sealed record UploadRecord
{
    /// <summary>The store's row id; unique per device and store.</summary>
    public required long Id { get; init; }

    public required string Model { get; init; }

    public required long Version { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    public double LatencyMilliseconds { get; init; }

    public string Provider { get; init; } = "";

    /// <summary>Why it was captured: <c>sampled</c>, <c>low_confidence</c>, <c>error</c>.</summary>
    public string Reason { get; init; } = "sampled";

    public double? Confidence { get; init; }

    public string? Error { get; init; }

    public IReadOnlyList<UploadTensor> Inputs { get; init; } = [];

    public IReadOnlyList<UploadTensor> Outputs { get; init; } = [];
}

/// <summary>
/// A captured tensor: its raw little-endian data (BYTES: each element as a 4-byte length and the bytes), or,
/// for inputs too large to keep, only a summary of its elements.
/// </summary>
public sealed record UploadTensor(string Name, string Datatype, IReadOnlyList<long> Shape)
{
    public byte[]? Data { get; init; }

    public double? Mean { get; init; }

    public double? Std { get; init; }

    public double? Min { get; init; }

    public double? Max { get; init; }
}
