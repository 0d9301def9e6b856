namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// Cancels a transfer when fewer bytes than <see cref="DownloadOptions.MinBytesPerSecond"/> arrive within one
/// <see cref="DownloadOptions.StallWindow"/>: a server that trickles or goes silent cannot hold a pull.
/// </summary>
internal sealed class TransferWatchdog : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly ITimer _timer;
    private readonly DownloadOptions _options;
    private long _bytes;
    private long _atLastTick;

    public TransferWatchdog(DownloadOptions options, TimeProvider time, CancellationToken outer)
    {
        _options = options;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _timer = time.CreateTimer(_ => Tick(), null, options.StallWindow, options.StallWindow);
    }

    /// <summary>Cancelled by the caller or by a stall; pass it to every wait of the transfer.</summary>
    public CancellationToken Token => _cts.Token;

    public bool Stalled { get; private set; }

    public void Add(int bytes) => Interlocked.Add(ref _bytes, bytes);

    public string Describe() =>
        $"fewer than {_options.MinBytesPerSecond} bytes/s over {_options.StallWindow.TotalSeconds:0.###} s";

    public void Dispose()
    {
        _timer.Dispose();
        _cts.Dispose();
    }

    private void Tick()
    {
        var now = Interlocked.Read(ref _bytes);
        var inWindow = now - _atLastTick;
        _atLastTick = now;
        if (inWindow < _options.MinBytesPerSecond * _options.StallWindow.TotalSeconds)
        {
            Stalled = true;
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The transfer ended between the tick and the cancel.
            }
        }
    }
}

/// <summary>Reads of registry documents that are capped while the bytes arrive and watched for stalls.</summary>
internal static class BoundedRead
{
    /// <summary>Runs one read of a small document under a fresh watchdog; a stall becomes <see cref="RegistryFailure.Stalled"/>.</summary>
    public static async Task<T> WatchAsync<T>(DownloadOptions options, TimeProvider time, string what, Func<TransferWatchdog, Task<T>> read, CancellationToken ct)
    {
        using var watchdog = new TransferWatchdog(options, time, ct);
        try
        {
            return await read(watchdog).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (watchdog.Stalled && !ct.IsCancellationRequested)
        {
            throw new RegistryException(RegistryFailure.Stalled, $"{what} stalled: {watchdog.Describe()}", e);
        }
    }

    /// <summary>The stream's bytes up to its end; refused the moment more than <paramref name="maxBytes"/> have arrived.</summary>
    public static async Task<byte[]> ReadAllAsync(Stream stream, long maxBytes, TransferWatchdog watchdog, string what)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var read = await ReadAsync(stream, chunk, watchdog.Token).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > maxBytes)
            {
                throw new RegistryException(RegistryFailure.TooLarge, $"{what} exceeds {maxBytes} bytes; refused before reading further");
            }

            buffer.Write(chunk, 0, read);
            watchdog.Add(read);
        }
    }

    /// <summary>
    /// One read that gives up when <paramref name="ct"/> fires even if the source ignores it (a file on a hung
    /// mount): the abandoned read may still fill <paramref name="buffer"/>, so the caller must not reuse it then.
    /// </summary>
    public static async ValueTask<int> ReadAsync(Stream stream, Memory<byte> buffer, CancellationToken ct)
    {
        var pending = stream.ReadAsync(buffer, ct);
        return pending.IsCompletedSuccessfully ? pending.Result : await pending.AsTask().WaitAsync(ct).ConfigureAwait(false);
    }
}
