using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>Adapts the capture store to cloud-sync's upload contract.</summary>
internal sealed class CaptureUploadSource(CaptureStore store, IOptions<UploadOptions> options) : ICaptureUploadSource
{
    public ValueTask<UploadBatch?> NextBatchAsync(int maxRecords, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(store.NextBatch(maxRecords, options.Value.MaxBatchBytes));
    }

    public ValueTask AcknowledgeAsync(UploadBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // Not cancellable on purpose: the storage has the batch; deleting its rows must not be half done.
        store.Acknowledge(batch.BatchId);
        return ValueTask.CompletedTask;
    }
}
