using System.Diagnostics.Metrics;

namespace EdgeMl.Agent.Capture;

/// <summary>Why a captured record was lost; each is counted.</summary>
internal enum CaptureDropReason
{
    /// <summary>The hand-off from inference was full.</summary>
    QueueFull,

    /// <summary>Even with summaries the record was larger than the model's maximum.</summary>
    TooLarge,

    /// <summary>Deleted to make room under the quota (evict-oldest).</summary>
    QuotaEvicted,

    /// <summary>Refused for lack of room under the quota (reject-new).</summary>
    QuotaRejected,

    /// <summary>The disk was full when its batch was written.</summary>
    DiskFull,

    /// <summary>Another storage error lost its batch.</summary>
    StoreError,
}

/// <summary>Capture instruments, and the same counts as plain numbers for the health model.</summary>
internal sealed class CaptureMetrics
{
    public const string MeterName = "EdgeMl.Capture";

    private readonly long[] _dropped = new long[Enum.GetValues<CaptureDropReason>().Length];
    private readonly Counter<long> _droppedCounter;
    private long _queued;
    private long _stored;

    public CaptureMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _droppedCounter = meter.CreateCounter<long>("edgeml.capture.dropped", description: "Captured records lost, by reason");
        Queued = meter.CreateCounter<long>("edgeml.capture.queued", description: "Records handed from inference to the capture writer");
        Stored = meter.CreateCounter<long>("edgeml.capture.stored", description: "Records committed to the capture store");
        meter.CreateObservableGauge("edgeml.capture.store.bytes", () => StoreBytes, "By", "Record bytes in the capture store");
        meter.CreateObservableGauge("edgeml.capture.store.records", () => StoreRecords, description: "Records in the capture store");
        meter.CreateObservableCounter("edgeml.capture.store.moved_aside", () => CorruptMovedAside,
            description: "Corrupt capture databases found on start, moved aside and replaced by a fresh one");
        meter.CreateObservableCounter("edgeml.capture.store.moved_aside.pruned", () => MovedAsidePruned,
            description: "Corrupt capture databases moved aside earlier and removed, beyond the newest kept");
    }

    public Counter<long> Queued { get; }

    public Counter<long> Stored { get; }

    public long StoreBytes { get; set; }

    public long StoreRecords { get; set; }

    /// <summary>Corrupt databases found on start and moved aside.</summary>
    public long CorruptMovedAside { get; set; }

    /// <summary>Databases moved aside earlier and removed to keep only the newest few.</summary>
    public long MovedAsidePruned { get; set; }

    public long QueuedTotal => Interlocked.Read(ref _queued);

    public long StoredTotal => Interlocked.Read(ref _stored);

    public void CountQueued()
    {
        Interlocked.Increment(ref _queued);
        Queued.Add(1);
    }

    public void CountStored(int count)
    {
        Interlocked.Add(ref _stored, count);
        Stored.Add(count);
    }

    public void CountDropped(CaptureDropReason reason, long count = 1)
    {
        if (count <= 0)
        {
            return;
        }

        Interlocked.Add(ref _dropped[(int)reason], count);
        _droppedCounter.Add(count, new KeyValuePair<string, object?>("reason", ReasonName(reason)));
    }

    public long Dropped(CaptureDropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

    /// <summary>Every drop count by reason name, for the health model.</summary>
    public IReadOnlyDictionary<string, long> DroppedByReason() =>
        Enum.GetValues<CaptureDropReason>().ToDictionary(ReasonName, Dropped, StringComparer.Ordinal);

    public static string ReasonName(CaptureDropReason reason) => reason switch
    {
        CaptureDropReason.QueueFull => "queue_full",
        CaptureDropReason.TooLarge => "too_large",
        CaptureDropReason.QuotaEvicted => "quota_evicted",
        CaptureDropReason.QuotaRejected => "quota_rejected",
        CaptureDropReason.DiskFull => "disk_full",
        _ => "store_error",
    };
}
