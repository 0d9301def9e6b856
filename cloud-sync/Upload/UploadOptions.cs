using System.ComponentModel.DataAnnotations;
using Azure.Storage.Blobs;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Upload;

/// <summary>Capture upload to Azure Blob Storage (configuration section <c>Upload</c>).</summary>
public sealed class UploadOptions
{
    public const string Section = "Upload";

    public bool Enabled { get; set; } = true;

    /// <summary>The first segment of every blob path.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9._\-]{1,128}$")]
    public string DeviceId { get; set; } = "";

    /// <summary>Storage connection string (or a container URL with a SAS in <see cref="ContainerUri"/>).</summary>
    public string? ConnectionString { get; set; }

    public Uri? ContainerUri { get; set; }

    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")]
    public string Container { get; set; } = "edgeml-capture";

    [Range(1, 100_000)]
    public int MaxRecordsPerBatch { get; set; } = 1000;

    /// <summary>Records are added to a batch until it would pass this size (one oversize record still makes a batch).</summary>
    [Range(1024, 1L << 30)]
    public long MaxBatchBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>How long the uploader sleeps with nothing to send, unless new records wake it.</summary>
    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan IdleInterval { get; set; } = TimeSpan.FromSeconds(30);

    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan RetryMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    [TimeSpanRange("00:00:00.010", "06:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// While backing off, the link is probed this often (a cheap request), and the upload resumes as soon as a
    /// probe succeeds instead of waiting out the back-off.
    /// </summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Upload bandwidth cap in bytes per second; 0 for none.</summary>
    [Range(0, long.MaxValue)]
    public long MaxBytesPerSecond { get; set; }
}

[OptionsValidator]
internal sealed partial class UploadOptionsValidator : IValidateOptions<UploadOptions>;

/// <summary>Rules across fields, and the connection string as the storage SDK reads it, reported together.</summary>
internal sealed class UploadOptionsRules : IValidateOptions<UploadOptions>
{
    public ValidateOptionsResult Validate(string? name, UploadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.Enabled && options.ConnectionString is null && options.ContainerUri is null)
        {
            problems.Add("Upload needs a ConnectionString or a ContainerUri");
        }

        if (options.RetryMinDelay > options.RetryMaxDelay)
        {
            problems.Add("Upload:RetryMinDelay must not exceed Upload:RetryMaxDelay");
        }

        if (options.ConnectionString is { } connection && !IsConnectionString(connection))
        {
            problems.Add("Upload:ConnectionString is not a storage connection string (AccountName=…;AccountKey=…;… or UseDevelopmentStorage=true)");
        }

        if (options.ContainerUri is { } container && !(container.IsAbsoluteUri && container.Scheme is "https" or "http"))
        {
            problems.Add("Upload:ContainerUri must be an https:// container URL (with a SAS)");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>The storage SDK's own parse, so what passes here is what the uploader can use; the value itself is never echoed (it holds the key).</summary>
    private static bool IsConnectionString(string value)
    {
        try
        {
            _ = new BlobServiceClient(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
