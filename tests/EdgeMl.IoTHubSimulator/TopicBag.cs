using System.Text;

namespace EdgeMl.IoTHubSimulator;

/// <summary>Lenient property-bag reader, as edgeHub: raw <c>$</c> or <c>%24</c>, trailing slash or not.</summary>
public static class TopicBag
{
    public static Dictionary<string, string?> Parse(string bag)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var pair in bag.TrimEnd('/').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            result[key] = eq < 0 ? null : Uri.UnescapeDataString(pair[(eq + 1)..]);
        }

        return result;
    }

    public static string Format(IEnumerable<KeyValuePair<string, string?>> properties)
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
}
