using EdgeMl.CloudSync.Upload;

namespace EdgeMl.CloudSync.Tests.Upload;

/// <summary>An in-memory upload source with the store's contract: a handed-out batch comes back until acknowledged.</summary>
internal sealed class MemorySource : ICaptureUploadSource
{
    private readonly List<UploadRecord> _records = [];
    private UploadBatch? _pending;

    public List<string> Acknowledged { get; } = [];

    public int Remaining => _records.Count;

    public void Add(int count, DateTimeOffset at)
    {
        var next = _records.Count == 0 ? 1 : _records[^1].Id + 1;
        for (var i = 0; i < count; i++)
        {
            _records.Add(new UploadRecord
            {
                Id = next + i,
                Model = "m",
                Version = 2,
                Timestamp = at,
                Inputs = [new UploadTensor("x", "FP32", [1, 1]) { Data = BitConverter.GetBytes((float)(next + i)) }],
            });
        }
    }

    public ValueTask<UploadBatch?> NextBatchAsync(int maxRecords, CancellationToken cancellationToken)
    {
        if (_pending is null && _records.Count > 0)
        {
            var take = _records.Take(maxRecords).ToArray();
            _pending = new UploadBatch($"s-{take[0].Id}-{take[^1].Id}", "m", 2, take[0].Timestamp, take);
        }

        return ValueTask.FromResult(_pending);
    }

    public ValueTask AcknowledgeAsync(UploadBatch batch, CancellationToken cancellationToken)
    {
        _records.RemoveAll(r => batch.Records.Any(b => b.Id == r.Id));
        Acknowledged.Add(batch.BatchId);
        _pending = null;
        return ValueTask.CompletedTask;
    }
}

/// <summary>A blob sink in memory that can be switched off (the outage).</summary>
internal sealed class MemorySink : ICaptureBlobSink
{
    public Dictionary<string, byte[]> Blobs { get; } = new(StringComparer.Ordinal);

    public bool Available { get; set; } = true;

    public int Uploads { get; private set; }

    public int Probes { get; private set; }

    public async Task<SinkResult> UploadAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        Uploads++;
        if (!Available)
        {
            return SinkResult.Failed("connection refused");
        }

        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, cancellationToken);
        Blobs[path] = copy.ToArray();
        return SinkResult.Ok;
    }

    public Task<SinkResult> ProbeAsync(CancellationToken cancellationToken)
    {
        Probes++;
        return Task.FromResult(Available ? SinkResult.Ok : SinkResult.Failed("connection refused"));
    }
}
