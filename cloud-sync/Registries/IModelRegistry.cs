namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// A model registry with the layout <c>{name}/versions.json</c>, <c>{name}/versions.sig</c>,
/// <c>{name}/{version}/manifest.json</c>, <c>manifest.sig</c> and the files; a folder, a static HTTP(S) site or
/// a blob container. Paths are relative and '/'-separated. Nothing read here is trusted until verified.
/// </summary>
public interface IModelRegistry
{
    /// <summary>Where the registry is, for messages (no secrets).</summary>
    string Description { get; }

    /// <summary>A small document read whole, or null when it does not exist; refused as soon as more than <paramref name="maxBytes"/> arrive.</summary>
    /// <exception cref="RegistryException">Unreachable, failing, stalled, not a plain file, or the document exceeds <paramref name="maxBytes"/>.</exception>
    Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken);

    /// <summary>The content from <paramref name="offset"/> on; the result says where it really starts (0 when the source cannot seek).</summary>
    /// <exception cref="RegistryException">Missing, unreachable or failing.</exception>
    Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken);

    /// <summary>Creates or replaces a file.</summary>
    Task WriteAsync(string path, Stream content, CancellationToken cancellationToken);
}

/// <summary>A stream of registry content starting at <see cref="Offset"/>.</summary>
public sealed class RegistryContent(Stream stream, long offset, IDisposable? owner = null) : IAsyncDisposable
{
    public Stream Stream { get; } = stream;

    public long Offset { get; } = offset;

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync().ConfigureAwait(false);
        owner?.Dispose();
    }
}

public enum RegistryFailure
{
    /// <summary>Unreachable, refused, a 5xx answer or a connection cut: worth trying again later.</summary>
    Unavailable,
    NotFound,
    TooLarge,

    /// <summary>Refused: access denied, or (in a folder) a link, FIFO, device or socket instead of a file.</summary>
    Denied,

    /// <summary>The content arrived slower than the minimum rate over the stall window.</summary>
    Stalled,
}

/// <summary>The registry could not serve a request; <see cref="Failure"/> says how.</summary>
public sealed class RegistryException(RegistryFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public RegistryFailure Failure { get; } = failure;
}
