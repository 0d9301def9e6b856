using System.Diagnostics.CodeAnalysis;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// A device or module connection string: <c>HostName=…;DeviceId=…[;ModuleId=…][;SharedAccessKey=…][;GatewayHostName=…][;x509=true]</c>.
/// </summary>
internal sealed record IoTHubConnectionString(
    string HostName,
    string DeviceId,
    string? ModuleId,
    string? SharedAccessKey,
    string? SharedAccessKeyName,
    string? GatewayHostName,
    bool UsesX509)
{
    public static IoTHubConnectionString Parse(string value) =>
        TryParse(value, out var parsed, out var error) ? parsed : throw new FormatException(error);

    public static bool TryParse(string? value, [NotNullWhen(true)] out IoTHubConnectionString? parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "The IoT Hub connection string is empty.";
            return false;
        }

        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Keys end at the first '='; base64 keys carry '=' padding in the value.
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"The IoT Hub connection string has a malformed field '{Redact(part)}': expected Key=Value.";
                return false;
            }

            var key = part[..eq].Trim();
            if (!fields.TryAdd(key, part[(eq + 1)..].Trim()))
            {
                error = $"The IoT Hub connection string repeats the field '{key}'.";
                return false;
            }
        }

        fields.TryGetValue("HostName", out var host);
        fields.TryGetValue("DeviceId", out var deviceId);
        fields.TryGetValue("ModuleId", out var moduleId);
        fields.TryGetValue("SharedAccessKey", out var key1);
        fields.TryGetValue("SharedAccessKeyName", out var keyName);
        fields.TryGetValue("GatewayHostName", out var gateway);
        fields.TryGetValue("x509", out var x509Text);
        var x509 = string.Equals(x509Text, "true", StringComparison.OrdinalIgnoreCase);

        if (string.IsNullOrEmpty(host))
        {
            error = "The IoT Hub connection string has no HostName.";
            return false;
        }

        if (string.IsNullOrEmpty(deviceId))
        {
            error = "The IoT Hub connection string has no DeviceId.";
            return false;
        }

        if (fields.ContainsKey("SharedAccessSignature"))
        {
            error = "The IoT Hub connection string carries a SharedAccessSignature; give the SharedAccessKey so tokens can be renewed.";
            return false;
        }

        if (x509 == !string.IsNullOrEmpty(key1))
        {
            error = x509
                ? "The IoT Hub connection string sets both x509=true and a SharedAccessKey; choose one."
                : "The IoT Hub connection string has neither a SharedAccessKey nor x509=true.";
            return false;
        }

        if (key1 is not null && !IsBase64(key1))
        {
            error = "The IoT Hub connection string's SharedAccessKey is not valid base64.";
            return false;
        }

        parsed = new IoTHubConnectionString(host, deviceId, string.IsNullOrEmpty(moduleId) ? null : moduleId,
            key1, string.IsNullOrEmpty(keyName) ? null : keyName, string.IsNullOrEmpty(gateway) ? null : gateway, x509);
        error = null;
        return true;
    }

    private static bool IsBase64(string text)
    {
        Span<byte> buffer = stackalloc byte[256];
        return text.Length > 0 && Convert.TryFromBase64String(text, buffer, out _);
    }

    private static string Redact(string part) => part.Length <= 12 ? part : part[..12] + "…";

    public override string ToString() =>
        $"HostName={HostName};DeviceId={DeviceId}" + (ModuleId is null ? "" : $";ModuleId={ModuleId}") +
        (GatewayHostName is null ? "" : $";GatewayHostName={GatewayHostName}") + (UsesX509 ? ";x509=true" : ";SharedAccessKey=***");
}
