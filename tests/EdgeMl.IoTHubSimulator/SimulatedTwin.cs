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
