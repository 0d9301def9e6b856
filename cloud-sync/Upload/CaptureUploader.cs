using EdgeMl.CloudSync.Retry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Upload;

/// <summary>What one upload attempt did.</summary>
internal enum UploadOutcome
{
    /// <summary>Nothing waited.</summary>
    Idle,

    /// <summary>A batch was written and acknowledged, and its rows deleted.</summary>
    Uploaded,

    /// <summary>The storage did not acknowledge; the batch stays and is retried under the same id.</summary>
    Failed,
}

/// <summary>
/// Moves captured batches to blob storage as Parquet: a batch's rows are deleted only after the storage
/// acknowledged it, and a retried batch keeps its id and path, so it overwrites instead of duplicating. After a
/// failure it backs off, but probes the link meanwhile and resumes as soon as it answers.
/// </summary>
internal sealed class CaptureUploader(
    ICaptureUploadSource source,
    ICaptureBlobSink sink,
    IOptions<UploadOptions> options,
    UploadMetrics metrics,
    TimeProvider time,
    ILogger<CaptureUploader> logger) : BackgroundService, ICaptureUploadTrigger
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private int _failures;

    /// <summary>Consecutive failed attempts; 0 while the link works.</summary>
    public int ConsecutiveFailures => _failures;

    public DateTimeOffset? LastSuccess { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>New records are waiting, or the network came back: stop sleeping or backing off now.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled; one wake-up is enough.
        }
    }

    /// <summary>Uploads the next batch, if any; the loop's body, callable from tests and tools.</summary>
    public async Task<UploadOutcome> UploadOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var batch = await source.NextBatchAsync(o.MaxRecordsPerBatch, cancellationToken);
        if (batch is null)
        {
            return UploadOutcome.Idle;
        }

        var path = BlobPaths.For(o.DeviceId, batch);
        using var parquet = new MemoryStream();
        await CaptureParquet.WriteAsync(batch.Records, o.DeviceId, batch.BatchId, parquet, cancellationToken);
        parquet.Position = 0;
        await using Stream content = o.MaxBytesPerSecond > 0 ? new ThrottledStream(parquet, o.MaxBytesPerSecond, time) : parquet;
        var result = await sink.UploadAsync(path, content, cancellationToken);
        if (!result.Succeeded)
        {
            _failures++;
            LastError = result.Error;
            metrics.Failures.Add(1);
            Log.BatchFailed(logger, batch.BatchId, _failures, BackOff(), result.Error);
            return UploadOutcome.Failed;
        }

        // A crash here (uploaded, not yet acknowledged) re-sends the same batch to the same path: an overwrite.
        await source.AcknowledgeAsync(batch, cancellationToken);
        if (_failures > 0)
        {
            Log.LinkBack(logger, _failures);
        }

        _failures = 0;
        LastError = null;
        LastSuccess = time.GetUtcNow();
        metrics.Batches.Add(1);
        metrics.Records.Add(batch.Records.Count);
        metrics.Bytes.Add(parquet.Length);
        Log.BatchUploaded(logger, batch.BatchId, batch.Records.Count, parquet.Length, path);
        return UploadOutcome.Uploaded;
    }

    /// <summary>
    /// The back-off after the current run of failures: doubling from the minimum, capped; without jitter, because
    /// the link is probed every <see cref="UploadOptions.ProbeInterval"/> during it anyway.
    /// </summary>
    public TimeSpan BackOff() => new BackOff(options.Value.RetryMinDelay, options.Value.RetryMaxDelay, jitter: 0).Delay(_failures);

    /// <summary>
    /// Waits out the back-off, probing the link every <see cref="UploadOptions.ProbeInterval"/>; returns early
    /// when a probe succeeds or <see cref="Wake"/> is called.
    /// </summary>
    public async Task WaitForLinkAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var until = time.GetUtcNow() + BackOff();
        while (time.GetUtcNow() < until)
        {
            var step = Min(o.ProbeInterval, until - time.GetUtcNow());
            if (await WaitAsync(step, cancellationToken))
            {
                return;
            }

            if ((await sink.ProbeAsync(cancellationToken)).Succeeded)
            {
                return;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                switch (await UploadOnceAsync(stoppingToken))
                {
                    case UploadOutcome.Idle:
                        await WaitAsync(options.Value.IdleInterval, stoppingToken);
                        break;
                    case UploadOutcome.Failed:
                        await WaitForLinkAsync(stoppingToken);
                        break;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
            {
                // A store or serialization fault must not end uploading for good; the batch is retried.
                Log.PassFailed(logger, e);
                _failures++;
                try
                {
                    await WaitForLinkAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Sleeps for <paramref name="delay"/>; true when woken early.</summary>
    private async Task<bool> WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return false;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sleep = Task.Delay(delay, time, timeout.Token);
        var woken = _wake.WaitAsync(timeout.Token);
        var first = await Task.WhenAny(sleep, woken);
        await timeout.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
        return first == woken && woken.IsCompletedSuccessfully;
    }
}
