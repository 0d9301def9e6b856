using System.Globalization;
using System.Text.Json;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// Defensive reads of the <c>/api/health</c> document for the terminal: any field may be missing or null, and
/// each shows as "-" rather than failing the verb.
/// </summary>
internal static class HealthText
{
    public const string Missing = "-";

    public static JsonElement? Get(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string Text(this JsonElement element, string name) => element.Get(name) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString() is { Length: > 0 } text ? text : Missing,
        { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } v => v.GetRawText(),
        _ => Missing,
    };

    /// <summary>A timestamp as a field engineer reads it: UTC to the second.</summary>
    public static string Time(this JsonElement element, string name) =>
        element.Get(name) is { ValueKind: JsonValueKind.String } s && s.TryGetDateTimeOffset(out var at)
            ? at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture)
            : element.Text(name);

    public static double? Number(this JsonElement element, string name) =>
        element.Get(name) is { ValueKind: JsonValueKind.Number } n ? n.GetDouble() : null;

    public static bool Flag(this JsonElement element, string name) => element.Get(name) is { ValueKind: JsonValueKind.True };

    public static IEnumerable<JsonElement> Items(this JsonElement element, string name) =>
        element.Get(name) is { ValueKind: JsonValueKind.Array } array ? array.EnumerateArray() : [];

    public static string Version(this JsonElement element, string name) => element.Text(name) is var v && v != Missing ? "v" + v : Missing;

    public static string Ms(double? value) => value is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) + " ms" : Missing;

    public static string Bytes(double? value)
    {
        if (value is not { } n)
        {
            return Missing;
        }

        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var i = 0;
        while (Math.Abs(n) >= 1000 && i < units.Length - 1)
        {
            n /= 1000;
            i++;
        }

        return i == 0 ? FormattableString.Invariant($"{n:F0} B") : FormattableString.Invariant($"{n:F1} {units[i]}");
    }

    /// <summary>Left-aligned columns, two spaces apart, for tables on a terminal.</summary>
    public static IEnumerable<string> Table(IReadOnlyList<string[]> rows)
    {
        var widths = new int[rows.Max(r => r.Length)];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        return rows.Select(row => string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }
}
