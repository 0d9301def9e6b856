using System.ComponentModel.DataAnnotations;

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
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan IdleInterval { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "06:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// While backing off, the link is probed this often (a cheap request), and the upload resumes as soon as a
    /// probe succeeds instead of waiting out the back-off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Upload bandwidth cap in bytes per second; 0 for none.</summary>
    [Range(0, long.MaxValue)]
    public long MaxBytesPerSecond { get; set; }
}
