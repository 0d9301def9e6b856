using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>
/// The store's one writer: drains the hand-off into batched transactions (as many records as are waiting, up to
/// <see cref="CaptureStoreOptions.MaxBatchSize"/>, after lingering <see cref="CaptureStoreOptions.BatchLinger"/> for
/// more), so a burst or a steady stream costs one commit per batch, not one per record. Wakes the uploader after each commit.
/// </summary>
internal sealed class CaptureWriterService(
    CaptureChannel channel,
    CaptureStore store,
    IOptions<CaptureSettings> settings,
    ILogger<CaptureWriterService> logger,
    TimeProvider time) : BackgroundService
{
    /// <summary>Called after each committed batch (the host points it at the uploader's wake-up).</summary>
    public Action? Committed { get; set; }

    /// <summary>Writes what is waiting now, in batches; returns the records taken from the hand-off.</summary>
    public int DrainOnce()
    {
        var max = settings.Value.Store.MaxBatchSize;
        var batch = new List<CaptureRecord>(Math.Min(max, 256));
        var taken = 0;
        while (true)
        {
            batch.Clear();
            while (batch.Count < max && channel.Reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            if (batch.Count == 0)
            {
                return taken;
            }

            taken += batch.Count;
            if (store.Append(batch).Stored > 0)
            {
                Committed?.Invoke();
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var linger = settings.Value.Store.BatchLinger;
            while (await channel.Reader.WaitToReadAsync(stoppingToken))
            {
                // A steady trickle would otherwise cost one transaction per record; lingering lets a batch form.
                if (linger > TimeSpan.Zero && channel.Reader.Count < settings.Value.Store.MaxBatchSize)
                {
                    await Task.Delay(linger, time, stoppingToken);
                }

                try
                {
                    DrainOnce();
                }
                catch (Exception e) when (e is InvalidOperationException or IOException or InvalidDataException)
                {
                    // Storage errors are counted inside Append; anything else must not stop capture for good.
                    Log.CaptureWriterFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: write what was handed over before the stop, so a clean shutdown loses nothing.
            DrainOnce();
        }
    }
}
