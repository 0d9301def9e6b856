using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// The property bag that ends telemetry, input and C2D topics: <c>k1=v1&amp;k2=v2</c>, keys and values
/// percent-encoded like a query string. Writes the C# SDK form (<c>%24.ct=application%2Fjson</c>) and
/// reads every form the hub and edgeHub accept (raw <c>$</c> or <c>%24</c>, trailing slash or not).
/// </summary>
internal static class PropertyBag
{
    public static string Encode(IEnumerable<KeyValuePair<string, string?>> properties)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in properties)
        {
            if (sb.Length > 0)
            {
                sb.Append('&');
            }

            sb.Append(Uri.EscapeDataString(key));
            if (value is not null)
            {
                sb.Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        return sb.ToString();
    }

    /// <summary>Decodes a bag; fails on a broken percent escape or an empty key rather than guessing.</summary>
    public static bool TryDecode(string bag, [NotNullWhen(true)] out List<KeyValuePair<string, string?>>? properties, [NotNullWhen(false)] out string? error)
    {
        properties = [];
        error = null;
        var text = bag.EndsWith('/') ? bag[..^1] : bag;
        if (text.Length == 0)
        {
            return true;
        }

        foreach (var pair in text.Split('&'))
        {
            if (pair.Length == 0)
            {
                continue;
            }

            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var rawKey = eq < 0 ? pair : pair[..eq];
            var rawValue = eq < 0 ? null : pair[(eq + 1)..];
            if (!TryUnescape(rawKey, out var key) || key.Length == 0)
            {
                properties = null;
                error = $"The property bag has an undecodable key '{rawKey}'.";
                return false;
            }

            string? value = null;
            if (rawValue is not null && !TryUnescape(rawValue, out value))
            {
                properties = null;
                error = $"The property bag has an undecodable value for '{key}'.";
                return false;
            }

            properties.Add(new(key, value));
        }

        return true;
    }

    private static bool TryUnescape(string text, [NotNullWhen(true)] out string? result)
    {
        result = null;
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            result = text;
            return true;
        }

        // Literal runs are encoded whole: a character beyond the BMP is two UTF-16 units that only encode together.
        var bytes = new List<byte>(text.Length);
        var literal = 0;
        for (var i = text.IndexOf('%', StringComparison.Ordinal); i >= 0; i = text.IndexOf('%', literal))
        {
            if (i + 2 >= text.Length || !IsHex(text[i + 1]) || !IsHex(text[i + 2]))
            {
                return false;
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(text[literal..i]));
            bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
            literal = i + 3;
        }

        bytes.AddRange(Encoding.UTF8.GetBytes(text[literal..]));
        try
        {
            result = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
}
