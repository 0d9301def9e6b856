using System.Security.Cryptography;
using EdgeMl.CloudSync.Retry;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// Downloads one declared file into <c>{target}.partial</c>: resumes where a previous try ended, hashes while
/// streaming, stops the moment more than the declared size arrives, cuts a transfer that stalls below the
/// configured rate, and renames to <c>{target}</c> only when size and SHA-256 match.
/// </summary>
public sealed class FileDownloader(DownloadOptions options, TimeProvider time, ILogger<FileDownloader> logger, DistributionMetrics metrics)
{
    /// <summary>For a one-shot tool (the CLI, a test) with no host: the system clock, no logging, metrics nobody collects.</summary>
    public FileDownloader(DownloadOptions options)
        : this(options, TimeProvider.System, NullLogger<FileDownloader>.Instance, DistributionMetrics.Unrecorded)
    {
    }

    /// <summary>The limits of every transfer, which the registries this downloader reads from share.</summary>
    public DownloadOptions Options => options;

    public const string PartialSuffix = ".partial";
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    /// <exception cref="DownloadException">The file could not be completed; the failure says why.</exception>
    public async Task DownloadAsync(
        IModelRegistry registry, string remotePath, string target, long size, string sha256, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        try
        {
            await DownloadCoreAsync(registry, remotePath, target, size, sha256, progress, ct).ConfigureAwait(false);
        }
        catch (DownloadException e)
        {
            metrics.DownloadFailures.Add(1, new KeyValuePair<string, object?>("failure", e.Failure.ToString()));
            throw;
        }
    }

    private async Task DownloadCoreAsync(
        IModelRegistry registry, string remotePath, string target, long size, string sha256, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (File.Exists(target) && new FileInfo(target).Length == size && await HashFileAsync(target, ct).ConfigureAwait(false) == sha256)
        {
            progress?.Report(new DownloadProgress(remotePath, size, size));
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
        var partial = target + PartialSuffix;
        using var hash = new StreamingHash();
        Exception? last = null;
        // Doubling from RetryDelay, exact: the attempts are few and each resumes where the last one stopped.
        var backOff = new BackOff(options.RetryDelay, TimeSpan.MaxValue, jitter: 0);
        for (var attempt = 1; attempt <= options.MaxAttempts; attempt++)
        {
            await backOff.WaitAsync(attempt - 1, _time, ct).ConfigureAwait(false);

            try
            {
                var before = File.Exists(partial) ? new FileInfo(partial).Length : 0;
                var received = await TryOnceAsync(registry, remotePath, partial, size, hash, progress, ct).ConfigureAwait(false);
                if (received == size)
                {
                    break;
                }

                if (received <= before)
                {
                    // A clean end with nothing new: the source itself is shorter than declared.
                    throw new DownloadException(DownloadFailure.Truncated,
                        $"{remotePath} from {registry.Description} ends after {received} bytes; the manifest declares {size}");
                }

                last = new IOException($"the transfer ended after {received} of {size} bytes");
            }
            catch (Exception e) when (e is (IOException and not InsufficientSpaceException) or HttpRequestException or (RegistryException { Failure: RegistryFailure.Unavailable }) or StallException)
            {
                last = e;
                Log.TransferCut(_logger, remotePath, registry.Description, attempt, options.MaxAttempts, e.Message);
            }
            catch (RegistryException e) when (e.Failure == RegistryFailure.NotFound)
            {
                throw new DownloadException(DownloadFailure.NotFound, e.Message, e);
            }

            if (attempt == options.MaxAttempts)
            {
                throw GaveUp(registry, remotePath, partial, size, last);
            }
        }

        await CompleteAsync(registry, remotePath, partial, target, size, sha256, hash, ct).ConfigureAwait(false);
    }

    /// <summary>Why the last try failed, with what is kept for resuming.</summary>
    private DownloadException GaveUp(IModelRegistry registry, string remotePath, string partial, long size, Exception? last)
    {
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        return last is StallException s
            ? new DownloadException(DownloadFailure.Stalled, $"{remotePath} from {registry.Description} stalled: {s.Message}; {have} of {size} bytes kept for resuming", s)
            : new DownloadException(DownloadFailure.RegistryUnavailable,
                $"{remotePath} from {registry.Description} failed after {options.MaxAttempts} tries: {last?.Message}; {have} of {size} bytes kept for resuming", last);
    }

    /// <summary>Checks the whole file's hash, then makes it durable and moves it into place; a mismatch deletes it.</summary>
    private static async Task CompleteAsync(
        IModelRegistry registry, string remotePath, string partial, string target, long size, string sha256, StreamingHash hash, CancellationToken ct)
    {
        // The hash was computed while the bytes streamed in (and over the kept prefix once, on a resume).
        await hash.CatchUpAsync(partial, size, ct).ConfigureAwait(false);
        var actual = hash.Current();
        if (actual != sha256)
        {
            File.Delete(partial);
            throw new DownloadException(DownloadFailure.HashMismatch, $"{remotePath} from {registry.Description} has sha256 {actual}; the manifest declares {sha256}");
        }

        Durable.FlushFile(partial);
        File.Move(partial, target, overwrite: true);
    }

    // The bytes the partial file holds after this try.
    private async Task<long> TryOnceAsync(
        IModelRegistry registry, string remotePath, string partial, long size, StreamingHash hash, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        var offset = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (offset > size)
        {
            File.Delete(partial);
            offset = 0;
        }

        if (offset == size)
        {
            return size;
        }

        using var watchdog = new TransferWatchdog(options, _time, ct);
        try
        {
            return await TransferAsync(registry, remotePath, partial, size, offset, hash, watchdog, progress, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (watchdog.Stalled && !ct.IsCancellationRequested)
        {
            throw new StallException(watchdog.Describe());
        }
    }

    private async Task<long> TransferAsync(
        IModelRegistry registry, string remotePath, string partial, long size, long offset, StreamingHash hash, TransferWatchdog watchdog,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        var content = await registry.OpenReadAsync(remotePath, offset, watchdog.Token).ConfigureAwait(false);
        await using (content.ConfigureAwait(false))
        {
            // A source that cannot seek starts again from zero.
            var start = content.Offset < offset ? content.Offset : offset;
            await hash.CatchUpAsync(partial, start, ct).ConfigureAwait(false);
            await using var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            file.SetLength(start);
            file.Seek(0, SeekOrigin.End);
            var received = file.Length;
            var buffer = new byte[options.BufferSize];
            while (true)
            {
                var read = await BoundedRead.ReadAsync(content.Stream, buffer, watchdog.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (received + read > size)
                {
                    file.Close();
                    File.Delete(partial);
                    throw new DownloadException(DownloadFailure.SizeExceeded,
                        $"{remotePath} from {registry.Description} sent more than the {size} bytes the manifest declares; download aborted");
                }

                await WriteLocalAsync(file, buffer.AsMemory(0, read), partial, ct).ConfigureAwait(false);
                hash.Append(buffer.AsSpan(0, read));
                received += read;
                watchdog.Add(read);
                metrics.DownloadedBytes.Add(read);
                progress?.Report(new DownloadProgress(remotePath, received, size));
            }

            await WriteLocalAsync(file, ReadOnlyMemory<byte>.Empty, partial, ct).ConfigureAwait(false);
            return received;
        }
    }

    // A full disk is the device's problem, not the registry's: report it as such instead of retrying.
    private static async Task WriteLocalAsync(FileStream file, ReadOnlyMemory<byte> data, string partial, CancellationToken ct)
    {
        try
        {
            if (data.IsEmpty)
            {
                await file.FlushAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await file.WriteAsync(data, ct).ConfigureAwait(false);
            }
        }
        catch (IOException e) when (e.HResult is NoSpaceErrno or WindowsDiskFull or unchecked((int)0x80070070))
        {
            throw new InsufficientSpaceException($"the disk holding {partial} is full: {e.Message}");
        }
    }

    private const int NoSpaceErrno = 28;
    private const int WindowsDiskFull = 112;

    private static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
    }

    private sealed class StallException(string message) : Exception(message);

    /// <summary>
    /// SHA-256 of the partial file's first <see cref="_bytes"/> bytes, extended as bytes arrive. When a try
    /// starts from another offset (a resume in a new process, a server that restarts from zero) it re-hashes
    /// the kept prefix once, so the file is never read back just to hash it.
    /// </summary>
    private sealed class StreamingHash : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _bytes;

        public void Append(ReadOnlySpan<byte> data)
        {
            _hash.AppendData(data);
            _bytes += data.Length;
        }

        public async Task CatchUpAsync(string partial, long length, CancellationToken ct)
        {
            if (_bytes == length)
            {
                return;
            }

            _hash.GetHashAndReset();
            _bytes = 0;
            if (length == 0)
            {
                return;
            }

            await using var stream = new FileStream(partial, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true);
            var buffer = new byte[1 << 16];
            while (_bytes < length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - _bytes)), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"{partial} is shorter than the {length} bytes expected");
                }

                Append(buffer.AsSpan(0, read));
            }
        }

        public string Current() => Convert.ToHexStringLower(_hash.GetCurrentHash());

        public void Dispose() => _hash.Dispose();
    }
}
