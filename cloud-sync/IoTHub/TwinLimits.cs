using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>The twin size rule (reference §5): UTF-8 key and string lengths, numbers 8 B, booleans 4 B.</summary>
public static class TwinLimits
{
    internal const int MaxSectionBytes = 32 * 1024;
    internal const int MaxStringBytes = 4 * 1024;

    /// <summary>The size IoT Hub counts for <paramref name="node"/> against a twin section's 32 KB.</summary>
    public static long Size(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return 0;
            case JsonObject obj:
                long total = 0;
                foreach (var (key, value) in obj)
                {
                    if (key.StartsWith('$'))
                    {
                        continue;
                    }

                    total += Encoding.UTF8.GetByteCount(key) + Size(value);
                }

                return total;
            case JsonArray array:
                return array.Sum(Size);
            case JsonValue value:
                return value.GetValueKind() switch
                {
                    JsonValueKind.String => Encoding.UTF8.GetByteCount(value.GetValue<string>()),
                    JsonValueKind.Number => 8,
                    JsonValueKind.True or JsonValueKind.False => 4,
                    _ => 0,
                };
            default:
                return 0;
        }
    }

    internal static string? CheckReportedPatch(JsonObject patch)
    {
        var size = Size(patch);
        if (size > MaxSectionBytes)
        {
            return $"The reported-properties patch is {size} bytes by the twin size rule; IoT Hub allows {MaxSectionBytes}.";
        }

        return LongString(patch) is { } path
            ? $"The reported property '{path}' has a string over {MaxStringBytes} bytes; IoT Hub allows {MaxStringBytes}."
            : null;
    }

    private static string? LongString(JsonNode? node) => node switch
    {
        JsonObject obj => obj.Select(p => LongString(p.Value) is { } inner ? (inner.Length == 0 ? p.Key : p.Key + "." + inner) : null).FirstOrDefault(p => p is not null),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && Encoding.UTF8.GetByteCount(v.GetValue<string>()) > MaxStringBytes => "",
        _ => null,
    };
}
