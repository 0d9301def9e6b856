using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Registries;

/// <summary>How registry content is read: model files, and (rate and window only) the small documents around them.</summary>
public sealed class DownloadOptions
{
    /// <summary>Below this rate over <see cref="StallWindow"/> a transfer counts as stalled and is cut.</summary>
    [Range(0, long.MaxValue)]
    public long MinBytesPerSecond { get; set; } = 4 * 1024;

    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan StallWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tries per file; each try after a cut resumes where the partial file ends.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the second try, doubled for each further one.</summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    [Range(4096, 16 * 1024 * 1024)]
    public int BufferSize { get; set; } = 128 * 1024;
}

[OptionsValidator]
internal sealed partial class DownloadOptionsValidator : IValidateOptions<DownloadOptions>;

/// <summary>The annotations of the runtime's <see cref="ModelStoreOptions"/>, checked where the store is registered.</summary>
[OptionsValidator]
internal sealed partial class ModelStoreOptionsValidator : IValidateOptions<ModelStoreOptions>;

/// <summary>Bytes of one file received so far, out of its declared size.</summary>
public readonly record struct DownloadProgress(string Path, long Received, long Total);

public enum DownloadFailure
{
    /// <summary>The registry kept failing (5xx, refused, cut) after every try.</summary>
    RegistryUnavailable,
    NotFound,
    SizeExceeded,
    Truncated,
    HashMismatch,
    Stalled,
}

/// <summary>A file could not be downloaded; the partial file is kept when resuming can still help.</summary>
public sealed class DownloadException(DownloadFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public DownloadFailure Failure { get; } = failure;
}
