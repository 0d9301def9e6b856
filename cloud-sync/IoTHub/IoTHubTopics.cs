using System.Globalization;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>Topic names and parsers for the IoT Hub MQTT surface (reference §3).</summary>
internal static class IoTHubTopics
{
    public const string TwinResponseFilter = "$iothub/twin/res/#";
    public const string DesiredFilter = "$iothub/twin/PATCH/properties/desired/#";
    public const string MethodsFilter = "$iothub/methods/POST/#";
    private const string TwinResponsePrefix = "$iothub/twin/res/";
    private const string DesiredPrefix = "$iothub/twin/PATCH/properties/desired/";
    private const string MethodPrefix = "$iothub/methods/POST/";

    public static string TwinGet(string rid) => $"$iothub/twin/GET/?$rid={rid}";

    public static string ReportedPatch(string rid) => $"$iothub/twin/PATCH/properties/reported/?$rid={rid}";

    public static string MethodResponse(int status, string rid) => $"$iothub/methods/res/{status.ToString(CultureInfo.InvariantCulture)}/?$rid={rid}";

    public static string EventsBase(string deviceId, string? moduleId) =>
        moduleId is null ? $"devices/{deviceId}/messages/events/" : $"devices/{deviceId}/modules/{moduleId}/messages/events/";

    public static string InputsFilter(string deviceId, string moduleId) => $"devices/{deviceId}/modules/{moduleId}/inputs/#";

    public static string InputsPrefix(string deviceId, string moduleId) => $"devices/{deviceId}/modules/{moduleId}/inputs/";

    public static bool TryParseTwinResponse(string topic, out int status, out string? rid, out long? version)
    {
        status = 0;
        rid = null;
        version = null;
        if (!topic.StartsWith(TwinResponsePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic.AsSpan(TwinResponsePrefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || !int.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out status))
        {
            return false;
        }

        var query = ParseQuery(rest[(slash + 1)..].ToString());
        query.TryGetValue("$rid", out rid);
        if (query.TryGetValue("$version", out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            version = parsed;
        }

        return rid is not null;
    }

    public static bool TryParseDesired(string topic, out long? version)
    {
        version = null;
        if (!topic.StartsWith(DesiredPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var query = ParseQuery(topic[DesiredPrefix.Length..]);
        if (query.TryGetValue("$version", out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            version = parsed;
        }

        return true;
    }

    public static bool TryParseMethod(string topic, out string name, out string rid)
    {
        name = rid = "";
        if (!topic.StartsWith(MethodPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic[MethodPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        name = rest[..slash];
        var query = ParseQuery(rest[(slash + 1)..]);
        if (!query.TryGetValue("$rid", out var r) || string.IsNullOrEmpty(r))
        {
            return false;
        }

        rid = r;
        return true;
    }

    /// <summary>What follows <see cref="InputsPrefix"/>: <c>{input}/{bag}</c> (the bag may be empty, and may end with '/').</summary>
    public static (string Input, string Bag) SplitInput(string rest)
    {
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (rest, "") : (rest[..slash], rest[(slash + 1)..]);
    }

    /// <summary>Parses <c>?a=b&amp;c=d</c> (the leading <c>?</c> optional). Twin and method topics use raw <c>$</c>.</summary>
    private static Dictionary<string, string> ParseQuery(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var q = text.TrimStart('?').TrimEnd('/');
        foreach (var pair in q.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            result[key] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
        }

        return result;
    }
}
