using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>Builds IoT Hub SAS tokens exactly as the SDKs do (C# <c>SharedAccessSignatureBuilder</c>).</summary>
internal static class SasToken
{
    public static string ResourceUri(string iotHubHostName, string deviceId, string? moduleId) =>
        moduleId is null ? $"{iotHubHostName}/devices/{deviceId}" : $"{iotHubHostName}/devices/{deviceId}/modules/{moduleId}";

    /// <summary>The URL-encoded <c>sr</c> and the string the signature covers: <c>sr + "\n" + se</c>.</summary>
    public static (string EncodedResource, string StringToSign) Prepare(string resourceUri, long expiresUnixSeconds)
    {
        var sr = WebUtility.UrlEncode(resourceUri);
        return (sr, sr + "\n" + expiresUnixSeconds.ToString(CultureInfo.InvariantCulture));
    }

    public static string Sign(string base64Key, string stringToSign)
    {
        var key = Convert.FromBase64String(base64Key);
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    public static string Format(string encodedResource, string signature, long expiresUnixSeconds, string? keyName = null)
    {
        var token = $"SharedAccessSignature sr={encodedResource}&sig={WebUtility.UrlEncode(signature)}&se={expiresUnixSeconds.ToString(CultureInfo.InvariantCulture)}";
        return keyName is null ? token : token + "&skn=" + WebUtility.UrlEncode(keyName);
    }

    public static string Create(string resourceUri, string base64Key, long expiresUnixSeconds, string? keyName = null)
    {
        var (sr, toSign) = Prepare(resourceUri, expiresUnixSeconds);
        return Format(sr, Sign(base64Key, toSign), expiresUnixSeconds, keyName);
    }
}
