using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Health;

/// <summary>
/// Where the agent publishes its health over MQTT: <c>{prefix}/{deviceId}/status</c> (retained
/// <c>online</c>/<c>offline</c>, <c>offline</c> as the last will), <c>/health</c> (retained JSON) and <c>/events</c>.
/// Without a <see cref="Host"/> an embedded broker on loopback serves, so local tools can subscribe.
/// </summary>
public sealed class MqttHealthOptions
{
    public const string Section = "EdgeMl:Mqtt";

    /// <summary>The broker; null starts the embedded broker on <see cref="Port"/> (loopback only).</summary>
    public string? Host { get; set; }

    /// <summary>The broker's port: the embedded broker listens there (default 1883); an external one defaults to 8883 with TLS, else 1883.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    public bool Tls { get; set; } = true;

    /// <summary>PEM file of the CA that signed the broker's certificate; null trusts the system store.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>PEM client certificate and key, for brokers that authenticate clients by certificate.</summary>
    public string? ClientCertificateFile { get; set; }

    public string? ClientKeyFile { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    [Required]
    [RegularExpression("^[^#+/]+(/[^#+/]+)*$", ErrorMessage = "TopicPrefix must be topic levels without wildcards or a leading or trailing '/'.")]
    public string TopicPrefix { get; set; } = "edgeml";

    [Required]
    [RegularExpression("^[^#+/]+$", ErrorMessage = "DeviceId must be one topic level: no '/', '+' or '#'.")]
    public string DeviceId { get; set; } = Environment.MachineName;

    /// <summary>The health document is republished at least this often, changed or not.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan HealthInterval { get; set; } = TimeSpan.FromSeconds(60);

    [TimeSpanRange("00:00:05", "00:30:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromSeconds(1);

    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan ReconnectDelayMax { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Events kept while the broker is away; the oldest are dropped, and counted, beyond this.</summary>
    [Range(1, 100_000)]
    public int MaxQueuedEvents { get; set; } = 256;

    /// <summary>An older name of <see cref="Port"/> for the embedded broker; <see cref="Port"/> wins when both are set.</summary>
    [Range(1, 65535)]
    public int EmbeddedPort { get; set; } = 1883;

    public int EffectivePort => Port ?? (Host is null ? EmbeddedPort : Tls ? 8883 : 1883);

    public string StatusTopic => $"{TopicPrefix}/{DeviceId}/status";

    public string HealthTopic => $"{TopicPrefix}/{DeviceId}/health";

    public string EventsTopic => $"{TopicPrefix}/{DeviceId}/events";
}

[OptionsValidator]
internal sealed partial class MqttHealthOptionsValidator : IValidateOptions<MqttHealthOptions>;

/// <summary>Rules across fields, which attributes cannot say.</summary>
internal sealed class MqttHealthOptionsRules : IValidateOptions<MqttHealthOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttHealthOptions options)
    {
        var problems = new List<string>();
        if ((options.ClientCertificateFile is null) != (options.ClientKeyFile is null))
        {
            problems.Add("ClientCertificateFile and ClientKeyFile go together.");
        }

        if (options.ReconnectDelayMin > options.ReconnectDelayMax)
        {
            problems.Add("ReconnectDelayMin must not exceed ReconnectDelayMax.");
        }

        if (options.Host is null && (options.Username is not null || options.ClientCertificateFile is not null))
        {
            problems.Add("Credentials are for an external broker: set Host, or remove them to use the embedded broker.");
        }

        foreach (var file in new[] { options.CaCertificateFile, options.ClientCertificateFile, options.ClientKeyFile })
        {
            if (file is not null && !File.Exists(file))
            {
                problems.Add($"{file} does not exist.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
