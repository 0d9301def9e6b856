using System.Text.Json.Nodes;

namespace EdgeMl.IoTHubSimulator;

/// <summary>Twin storage: desired and reported sections with their <c>$version</c> and <c>$metadata.$lastUpdated</c>.</summary>
public sealed class SimulatedTwin
{
    private readonly Lock _lock = new();
    private JsonObject _desired = [];
    private JsonObject _reported = [];
    private JsonObject _desiredMetadata = [];
    private JsonObject _reportedMetadata = [];
    private JsonObject _tags = [];

    public long DesiredVersion { get; private set; } = 1;

    public long ReportedVersion { get; private set; } = 1;

    public JsonObject Desired
    {
        get
        {
            lock (_lock)
            {
                return (JsonObject)_desired.DeepClone();
            }
        }
    }

    public JsonObject Reported
    {
        get
        {
            lock (_lock)
            {
                return (JsonObject)_reported.DeepClone();
            }
        }
    }

    /// <summary>The twin's tags: set by the back end only, never sent to the device; automatic configurations target them.</summary>
    public JsonObject Tags
    {
        get
        {
            lock (_lock)
            {
                return (JsonObject)_tags.DeepClone();
            }
        }
    }

    public void PatchTags(JsonObject patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        lock (_lock)
        {
            Merge(_tags, [], patch, DateTimeOffset.MinValue);
        }
    }

    /// <summary>The MQTT GET body: <c>{"desired":{…,"$version":n},"reported":{…,"$version":m}}</c>.</summary>
    public JsonObject ToProperties(bool includeMetadata)
    {
        lock (_lock)
        {
            var desired = (JsonObject)_desired.DeepClone();
            var reported = (JsonObject)_reported.DeepClone();
            if (includeMetadata)
            {
                desired["$metadata"] = _desiredMetadata.DeepClone();
                reported["$metadata"] = _reportedMetadata.DeepClone();
            }

            desired["$version"] = DesiredVersion;
            reported["$version"] = ReportedVersion;
            return new JsonObject { ["desired"] = desired, ["reported"] = reported };
        }
    }

    public long PatchDesired(JsonObject patch, DateTimeOffset now)
    {
        lock (_lock)
        {
            Merge(_desired, _desiredMetadata, patch, now);
            return ++DesiredVersion;
        }
    }

    public long PatchReported(JsonObject patch, DateTimeOffset now)
    {
        lock (_lock)
        {
            Merge(_reported, _reportedMetadata, patch, now);
            return ++ReportedVersion;
        }
    }

    private static void Merge(JsonObject target, JsonObject metadata, JsonObject patch, DateTimeOffset now)
    {
        metadata["$lastUpdated"] = now.ToString("O");
        foreach (var (key, value) in patch.ToList())
        {
            if (key.StartsWith('$'))
            {
                continue;
            }

            if (value is null)
            {
                target.Remove(key);
                metadata.Remove(key);
            }
            else if (value is JsonObject child && target[key] is JsonObject existing)
            {
                var childMeta = metadata[key] as JsonObject ?? [];
                metadata[key] = childMeta;
                Merge(existing, childMeta, child, now);
            }
            else
            {
                target[key] = value.DeepClone();
                metadata[key] = new JsonObject { ["$lastUpdated"] = now.ToString("O") };
            }
        }
    }
}

/// <summary>A registered device or module: its keys (or X.509 thumbprint), twin and connection facts.</summary>
public sealed class SimulatedIdentity
{
    internal SimulatedIdentity(string deviceId, string? moduleId, string? primaryKey, string? thumbprint)
    {
        DeviceId = deviceId;
        ModuleId = moduleId;
        PrimaryKey = primaryKey;
        Thumbprint = thumbprint;
    }

    public string DeviceId { get; }

    public string? ModuleId { get; }

    public string Key => ModuleId is null ? DeviceId : $"{DeviceId}/{ModuleId}";

    public string? PrimaryKey { get; set; }

    public string? Thumbprint { get; }

    public SimulatedTwin Twin { get; } = new();

    public int ConnectAttempts { get; internal set; }

    public int Connections { get; internal set; }

    public bool IsConnected { get; internal set; }

    public string? LastUserName { get; internal set; }

    public string? LastPassword { get; internal set; }

    /// <summary>The keep-alive period of the last CONNECT.</summary>
    public TimeSpan? LastKeepAlive { get; internal set; }

    /// <summary>The CleanSession flag of the last CONNECT (the SDKs send false).</summary>
    public bool? LastCleanSession { get; internal set; }

    public string? LastRefusal { get; internal set; }

    /// <summary>Connections the hub closed because their SAS token expired.</summary>
    public int ExpiredDrops { get; internal set; }

    /// <summary>When the last connection was accepted.</summary>
    public DateTimeOffset? LastConnectedAt { get; internal set; }

    /// <summary>What the identity sent the hub: what IoT Hub meters and throttles.</summary>
    public IdentityTraffic Traffic { get; } = new();

    internal ITimer? ExpiryTimer { get; set; }

    internal HashSet<string> Subscriptions { get; } = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> CurrentSubscriptions
    {
        get
        {
            lock (Subscriptions)
            {
                return [.. Subscriptions];
            }
        }
    }
}

/// <summary>
/// Operations an identity sent, as IoT Hub meters them: reported-property patches (the twin-update throttle),
/// twin GETs (the twin-read throttle), device-to-cloud messages (the device-to-cloud throttle) and connections.
/// </summary>
public sealed class IdentityTraffic
{
    private int _reportedPatches;
    private int _twinGets;
    private int _deviceToCloud;
    private int _connections;

    public int ReportedPatches => Volatile.Read(ref _reportedPatches);

    public int TwinGets => Volatile.Read(ref _twinGets);

    public int DeviceToCloudMessages => Volatile.Read(ref _deviceToCloud);

    public int Connections => Volatile.Read(ref _connections);

    public TrafficSnapshot Snapshot() => new(ReportedPatches, TwinGets, DeviceToCloudMessages, Connections);

    internal void CountReportedPatch() => Interlocked.Increment(ref _reportedPatches);

    internal void CountTwinGet() => Interlocked.Increment(ref _twinGets);

    internal void CountDeviceToCloud() => Interlocked.Increment(ref _deviceToCloud);

    internal void CountConnection() => Interlocked.Increment(ref _connections);
}

public readonly record struct TrafficSnapshot(int ReportedPatches, int TwinGets, int DeviceToCloudMessages, int Connections)
{
    public static TrafficSnapshot operator -(TrafficSnapshot a, TrafficSnapshot b) =>
        new(a.ReportedPatches - b.ReportedPatches, a.TwinGets - b.TwinGets, a.DeviceToCloudMessages - b.DeviceToCloudMessages, a.Connections - b.Connections);
}
