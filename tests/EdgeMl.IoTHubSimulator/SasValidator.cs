using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EdgeMl.IoTHubSimulator;

/// <summary>
/// Verifies a SAS token the way edgeHub does: the HMAC over the <c>sr</c> text exactly as received (escape
/// casing preserved) + "\n" + <c>se</c>, only <c>sig</c>/<c>se</c>/<c>skn</c> URL-decoded, 5 minutes of clock skew.
/// </summary>
public static class SasValidator
{
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <returns>null when valid; otherwise why not.</returns>
    public static string? Validate(string? password, string expectedAudience, string base64Key, DateTimeOffset now)
    {
        const string prefix = "SharedAccessSignature ";
        if (password is null || !password.StartsWith(prefix, StringComparison.Ordinal))
        {
            return "the password is not a SharedAccessSignature";
        }

        string? sr = null, sig = null, se = null;
        foreach (var field in password[prefix.Length..].Split('&'))
        {
            var eq = field.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return $"malformed token field '{field}'";
            }

            var value = field[(eq + 1)..];
            switch (field[..eq])
            {
                case "sr": sr = value; break;
                case "sig": sig = WebUtility.UrlDecode(value); break;
                case "se": se = WebUtility.UrlDecode(value); break;
                case "skn": break;
                default: return $"unknown token field '{field[..eq]}'";
            }
        }

        if (sr is null || sig is null || se is null)
        {
            return "the token lacks sr, sig or se";
        }

        if (!long.TryParse(se, NumberStyles.None, CultureInfo.InvariantCulture, out var expiry))
        {
            return "se is not a number";
        }

        if (DateTimeOffset.FromUnixTimeSeconds(expiry) + MaxClockSkew < now)
        {
            return $"the token expired at {DateTimeOffset.FromUnixTimeSeconds(expiry):O}";
        }

        var audience = WebUtility.UrlDecode(sr);
        if (!string.Equals(audience.TrimEnd('/'), expectedAudience, StringComparison.OrdinalIgnoreCase))
        {
            return $"the token is for '{audience}', not '{expectedAudience}'";
        }

        byte[] key;
        byte[] given;
        try
        {
            key = Convert.FromBase64String(base64Key);
            given = Convert.FromBase64String(sig);
        }
        catch (FormatException)
        {
            return "sig is not base64";
        }

        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(sr + "\n" + se));
        return CryptographicOperations.FixedTimeEquals(expected, given) ? null : "the signature does not match the identity's key";
    }
}
