using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EdgeMl.CloudSync.Secrets;

/// <summary>
/// The one place that takes secrets out of what leaves the device (health on every transport, events, twin
/// acknowledgements, the support bundle, error messages, logs that carry configuration): whole values under names
/// that hold secrets (passwords, tokens, keys, connection strings, headers sent to a collector), and, in every other string, the parts that look
/// like one (<c>SharedAccessKey=…</c>, <c>AccountKey=…</c>, a SAS token or query, a URL's user-info, a bearer token).
/// </summary>
public static partial class SecretRedactor
{
    /// <summary>What stands where a secret was.</summary>
    public const string Mask = "***";

    /// <summary>
    /// True for a configuration key or environment variable (its last segment, after <c>:</c> or <c>__</c>) whose value
    /// is a secret whatever it looks like: <c>EdgeMl:Mqtt:Password</c>, <c>API_KEY</c>, <c>STORAGE_ACCOUNT_KEY</c>, <c>MQTT_PASS</c>.
    /// </summary>
    public static bool IsSecretName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var dunder = key.LastIndexOf("__", StringComparison.Ordinal);
        var leaf = key[Math.Max(key.LastIndexOf(':') + 1, dunder < 0 ? 0 : dunder + 2)..];
        var name = Separators().Replace(leaf, "").ToLowerInvariant();
        return SecretName().IsMatch(name)
            || (name.EndsWith("key", StringComparison.Ordinal) && !name.EndsWith("publickey", StringComparison.Ordinal));
    }

    /// <summary>The value with every part that looks like a secret (a key, a SAS, a URL's user-info, a bearer token) masked.</summary>
    public static string RedactValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = SasToken().Replace(value, "SharedAccessSignature " + Mask);
        result = KeyValueSecret().Replace(result, m => m.Groups["name"].Value + "=" + Mask);
        result = SasQuery().Replace(result, m => m.Groups["lead"].Value + Mask);
        result = UrlUserInfo().Replace(result, "://" + Mask + "@");
        result = Bearer().Replace(result, "Bearer " + Mask);
        return result;
    }

    /// <summary>Redacts a JSON tree in place: by member name, then every string by pattern.</summary>
    public static JsonNode? Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToArray())
                {
                    if (value is JsonValue && IsSecretName(key))
                    {
                        o[key] = Mask;
                    }
                    else
                    {
                        var redacted = Redact(value);
                        if (!ReferenceEquals(redacted, value))
                        {
                            o[key] = redacted;
                        }
                    }
                }

                return o;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var redacted = Redact(a[i]);
                    if (!ReferenceEquals(redacted, a[i]))
                    {
                        a[i] = redacted;
                    }
                }

                return a;
            // Values built from other types (a DateTimeOffset, say) have a string kind but hold no text to redact.
            case JsonValue v when v.TryGetValue(out string? text):
                var clean = RedactValue(text);
                return clean == text ? v : JsonValue.Create(clean);
            default:
                return node;
        }
    }

    [GeneratedRegex(@"[_\-.]", RegexOptions.CultureInvariant)]
    private static partial Regex Separators();

    [GeneratedRegex(@"pass|pwd|secret|token|connectionstring|accesskey|apikey|privatekey|signature|credential|sas|authorization|cookie|headers", RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"SharedAccessSignature\s+[^\s""';]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SasToken();

    [GeneratedRegex(@"(?<name>SharedAccessKey|SharedAccessSignature|AccountKey|AccessKey|Password|Passwd|Pwd|Token|Secret|api[_-]?key|sig)=(?!\*\*\*)[^;&\s""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValueSecret();

    /// <summary>A query string that carries a SAS signature: the whole query goes (sv, se, sp… say who may do what until when).</summary>
    [GeneratedRegex(@"(?<lead>\?)(?=[^\s""']*\bsig=)[^\s""'#]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SasQuery();

    /// <summary>Any user-info in a URL: a password, or a token given as the user name.</summary>
    [GeneratedRegex(@"://(?!\*\*\*@)[^/\s@""']+@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlUserInfo();

    [GeneratedRegex(@"Bearer\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]+", RegexOptions.CultureInvariant)]
    private static partial Regex Bearer();
}
