using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.IoTHub;

public enum IoTHubTransport
{
    /// <summary>MQTT 3.1.1 over TLS on 8883.</summary>
    Mqtt = 0,
    /// <summary>MQTT over secure WebSockets on 443 (<c>/$iothub/websocket</c>, subprotocol <c>mqtt</c>).</summary>
    MqttWebSockets,
}

/// <summary>How the agent reaches IoT Hub or edgeHub. Give a connection string, or run under IoT Edge.</summary>
public sealed class IoTHubClientOptions
{
    /// <summary>Device or module connection string. When empty, the IoT Edge environment is used
    /// (<c>EdgeHubConnectionString</c>/<c>IotHubConnectionString</c>, else <c>IOTEDGE_*</c> and the workload API).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>PEM client certificate (with its key in <see cref="ClientKeyPath"/> or in the same file) for <c>x509=true</c>.</summary>
    public string? ClientCertificatePath { get; set; }

    public string? ClientKeyPath { get; set; }

    /// <summary>PEM roots to trust instead of the system store (the edge CA; <c>EdgeModuleCACertificateFile</c> when unset).</summary>
    public string? TrustedCaCertificatePath { get; set; }

    public IoTHubTransport Transport { get; set; } = IoTHubTransport.Mqtt;

    /// <summary>Overrides the port (8883, or 443 for WebSockets); a <c>host:port</c> gateway works too.</summary>
    [Range(0, 65535)]
    public int Port { get; set; }

    [Required]
    public string ApiVersion { get; set; } = "2021-04-12";

    [Required]
    public string ProductInfo { get; set; } = "edgeml/1.0";

    [TimeSpanRange("00:01:00", "1.00:00:00")]
    public TimeSpan SasTokenTimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Renew once this share of the token's life is left (C# SDK default 15 %).</summary>
    [Range(1, 90)]
    public int SasTokenRenewalPercent { get; set; } = 15;

    [TimeSpanRange("00:00:10", "00:29:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(180);

    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(60);

    [TimeSpanRange("00:00:00.010", "00:01:00")]
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>
    /// Once a reconnect has failed (the hub is down, not just this link), every further wait is drawn over at least
    /// this window (within <see cref="ReconnectMaxDelay"/>). Waits drawn uniformly over a window W bring a fleet of N
    /// devices back at N ÷ (W/2) a second, so the default 4 min keeps 10,000 devices that lost the same hub, for a
    /// moment or for an hour, at about 83 new connections a second, within one S1 unit's 100. Size it as devices ÷ 50
    /// seconds; zero lets the window start at <see cref="ReconnectMinDelay"/> and double.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan ReconnectSpread { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>Floor on the delay after the hub refused our credentials, so a wrong key does not hammer it.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan AuthenticationFailureMinDelay { get; set; } = TimeSpan.FromSeconds(30);

    [TimeSpanRange("00:00:01", "06:00:00")]
    public TimeSpan AuthenticationFailureMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    [Range(1, 1_000_000)]
    public int TelemetryQueueCapacity { get; set; } = 1000;

    /// <summary>Module input messages waiting for their handler; further ones are refused and counted.</summary>
    [Range(1, 100_000)]
    public int InputQueueCapacity { get; set; } = 256;
}

[OptionsValidator]
internal sealed partial class IoTHubClientOptionsValidator : IValidateOptions<IoTHubClientOptions>;

/// <summary>Cross-field rules the attributes cannot say.</summary>
internal sealed class IoTHubClientOptionsCrossValidator : IValidateOptions<IoTHubClientOptions>
{
    public ValidateOptionsResult Validate(string? name, IoTHubClientOptions options)
    {
        var failures = new List<string>();
        if (options.ReconnectMinDelay > options.ReconnectMaxDelay)
        {
            failures.Add("ReconnectMinDelay must not exceed ReconnectMaxDelay.");
        }

        if (options.AuthenticationFailureMinDelay > options.AuthenticationFailureMaxDelay)
        {
            failures.Add("AuthenticationFailureMinDelay must not exceed AuthenticationFailureMaxDelay.");
        }

        if (!string.IsNullOrEmpty(options.ConnectionString) && !IoTHubConnectionString.TryParse(options.ConnectionString, out var cs, out var error))
        {
            failures.Add(error);
        }
        else if (!string.IsNullOrEmpty(options.ConnectionString) && IoTHubConnectionString.Parse(options.ConnectionString).UsesX509 && string.IsNullOrEmpty(options.ClientCertificatePath))
        {
            failures.Add("The connection string says x509=true but ClientCertificatePath is not set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
