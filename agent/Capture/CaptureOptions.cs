using System.ComponentModel.DataAnnotations;

namespace EdgeMl.Agent.Capture;

/// <summary>Capture settings (configuration section <c>Capture</c>, updated from desired properties).</summary>
public sealed class CaptureSettings
{
    public const string Section = "Capture";

    /// <summary>The policy of models without their own entry in <see cref="Models"/>.</summary>
    [Required]
    public CaptureOptions Defaults { get; set; } = new();

    /// <summary>Per-model policies, by model name.</summary>
    public Dictionary<string, CaptureOptions> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Records waiting between inference and the store's writer; one more is dropped and counted.</summary>
    [Range(16, 1_000_000)]
    public int ChannelCapacity { get; set; } = 8192;

    [Required]
    public CaptureStoreOptions Store { get; set; } = new();

    public CaptureOptions For(string model) => Models.GetValueOrDefault(model) ?? Defaults;
}

/// <summary>What of one model's traffic is captured.</summary>
public sealed class CaptureOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Fraction of successful predictions captured at random.</summary>
    [Range(0.0, 1.0)]
    public double SampleRate { get; set; } = 0.01;

    /// <summary>The sample rate while the model's drift is at or above the adaptive level.</summary>
    [Range(0.0, 1.0)]
    public double DriftingSampleRate { get; set; } = 0.25;

    /// <summary>Predictions whose confidence is below this are always captured; null turns the rule off.</summary>
    [Range(0.0, 1.0)]
    public double? LowConfidenceThreshold { get; set; }

    /// <summary>The output holding class scores for the confidence rule; the first floating-point output when null.</summary>
    public string? ConfidenceOutput { get; set; }

    /// <summary>Failed predictions are always captured (their inputs, and the error).</summary>
    public bool CaptureErrors { get; set; } = true;

    /// <summary>
    /// The largest record kept whole; above it input tensors are replaced by their summaries, and a record still
    /// too large is dropped and counted.
    /// </summary>
    [Range(256, 64 * 1024 * 1024)]
    public int MaxRecordBytes { get; set; } = 256 * 1024;
}

/// <summary>What happens to a record that does not fit in the quota.</summary>
public enum CaptureOverflowPolicy
{
    /// <summary>The oldest records are deleted to make room (each counted as evicted).</summary>
    EvictOldest,

    /// <summary>The new record is refused (counted as rejected).</summary>
    RejectNew,
}

/// <summary>SQLite's <c>synchronous</c> setting.</summary>
public enum CaptureSynchronous
{
    Off,
    Normal,

    /// <summary>Every committed transaction survives a power loss.</summary>
    Full,
}

/// <summary>The capture store's database.</summary>
public sealed class CaptureStoreOptions
{
    /// <summary>The database file.</summary>
    [Required]
    public string Path { get; set; } = "capture/capture.db";

    /// <summary>The most record bytes kept (tensor data and a fixed overhead per row).</summary>
    [Range(64 * 1024, long.MaxValue)]
    public long QuotaBytes { get; set; } = 256L * 1024 * 1024;

    public CaptureOverflowPolicy Overflow { get; set; } = CaptureOverflowPolicy.EvictOldest;

    public CaptureSynchronous Synchronous { get; set; } = CaptureSynchronous.Full;

    /// <summary>The most records written in one transaction.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 2048;

    /// <summary>How long the writer waits after the first record for more, so one transaction carries many.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan BatchLinger { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// WAL pages before SQLite checkpoints into the database (its <c>wal_autocheckpoint</c>). The disk needs room
    /// for about the quota plus this many 4 KiB pages.
    /// </summary>
    [Range(16, 100_000)]
    public int WalCheckpointPages { get; set; } = 1000;

    /// <summary>Run <c>PRAGMA integrity_check</c> on start; a corrupt database is moved aside.</summary>
    public bool IntegrityCheckOnStart { get; set; } = true;
}
