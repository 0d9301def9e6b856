using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EdgeMl.Agent.Methods;

/// <summary>
/// Takes secrets out of what leaves the device in a support bundle: whole values under names that hold secrets
/// (passwords, tokens, keys, connection strings), and, in every other string, the parts that look like one
/// (<c>SharedAccessKey=…</c>, a SAS token, a URL's SAS query or password, a bearer token).
/// </summary>
internal static partial class SecretRedactor
{
    public const string Mask = "***";

    /// <summary>True for a configuration key (its last segment) whose value is a secret whatever it looks like.</summary>
    public static bool IsSecretName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var leaf = key[(key.LastIndexOf(':') + 1)..];
        return SecretName().IsMatch(leaf);
    }

    public static string RedactValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = SasToken().Replace(value, "SharedAccessSignature " + Mask);
        result = KeyValueSecret().Replace(result, m => m.Groups["name"].Value + "=" + Mask);
        result = SasQuery().Replace(result, m => m.Groups["lead"].Value + Mask);
        result = UrlPassword().Replace(result, "://" + Mask + "@");
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

    [GeneratedRegex(@"(password|passwd|pwd|secret|token|connectionstring|sharedaccesskey|accountkey|accesskey|apikey|privatekey|signature|credential|sas)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"SharedAccessSignature\s+[^\s""';]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SasToken();

    [GeneratedRegex(@"(?<name>SharedAccessKey|SharedAccessSignature|AccountKey|AccessKey|Password|Pwd|Token|Secret|sig)=(?!\*\*\*)[^;&\s""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValueSecret();

    /// <summary>A query string that carries a SAS signature: the whole query goes (sv, se, sp… say who may do what until when).</summary>
    [GeneratedRegex(@"(?<lead>\?)(?=[^\s""']*\bsig=)[^\s""'#]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SasQuery();

    [GeneratedRegex(@"://[^/\s:@""']+:[^/\s@""']+@", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"Bearer\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]+", RegexOptions.CultureInvariant)]
    private static partial Regex Bearer();
}
