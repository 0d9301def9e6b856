using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>Capture settings (configuration section <c>Capture</c>, updated from desired properties).</summary>
public sealed class CaptureSettings
{
    public const string Section = "Capture";

    /// <summary>The policy of models without their own entry in <see cref="Models"/>.</summary>
    [Required]
    [ValidateObjectMembers]
    public CaptureOptions Defaults { get; set; } = new();

    /// <summary>Per-model policies, by model name.</summary>
    public Dictionary<string, CaptureOptions> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Records waiting between inference and the store's writer; one more is dropped and counted.</summary>
    [Range(16, 1_000_000)]
    public int ChannelCapacity { get; set; } = 8192;

    [Required]
    [ValidateObjectMembers]
    public CaptureStoreOptions Store { get; set; } = new();

    public CaptureOptions For(string model) => Models.GetValueOrDefault(model) ?? Defaults;
}

/// <summary>What of one model's traffic is captured (<c>Capture:Defaults</c>, <c>Capture:Models:NAME</c>, or a desired model's <c>capture</c>).</summary>
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
    [TimeSpanRange("00:00:00", "00:00:05")]
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

/// <summary>The annotations of <see cref="CaptureSettings"/>, its default policy and its store.</summary>
[OptionsValidator]
internal sealed partial class CaptureSettingsValidator : IValidateOptions<CaptureSettings>;

/// <summary>The annotations of one model's policy; configuration's per-model entries and the twin's <c>capture</c> both go through it.</summary>
[OptionsValidator]
internal sealed partial class CaptureOptionsValidator : IValidateOptions<CaptureOptions>;

/// <summary>What the annotations cannot reach: the per-model policies, a dictionary's values, each checked by <see cref="CaptureOptionsValidator"/>.</summary>
internal sealed class CaptureSettingsRules : IValidateOptions<CaptureSettings>
{
    private static readonly CaptureOptionsValidator Policy = new();

    public ValidateOptionsResult Validate(string? name, CaptureSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (model, policy) in options.Models)
        {
            var path = $"{nameof(CaptureSettings)}.{nameof(CaptureSettings.Models)}[{model}]";
            failures.AddRange(policy is null ? [$"{path} is required"] : Check(path, policy).Select(p => $"{p.Member}: {p.Message}"));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Each annotation of <see cref="CaptureOptions"/> that <paramref name="policy"/> breaks: the member, and the message naming it under <paramref name="path"/>.</summary>
    public static IEnumerable<(string Member, string Message)> Check(string path, CaptureOptions policy)
    {
        var result = Policy.Validate(path, policy);
        return result.Failed ? (result.Failures ?? []).Select(Split) : [];
    }

    // The generated validator says "Member: message".
    private static (string Member, string Message) Split(string failure) =>
        failure.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0 ? (failure[..colon], failure[(colon + 2)..]) : ("", failure);
}
