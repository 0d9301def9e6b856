using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent;

/// <summary>The agent itself (configuration section <c>EdgeMl</c>; environment <c>EdgeMl__…</c>).</summary>
internal sealed class AgentOptions
{
    public const string Section = "EdgeMl";

    /// <summary>Models, capture database, persisted desired state. Under IoT Edge, a host volume.</summary>
    [Required]
    public string DataDirectory { get; set; } = ".edgeml";

    /// <summary>Names this device in MQTT topics, blob paths and telemetry; the IoT Edge device id when run as a module.</summary>
    [Required]
    [RegularExpression("^[^#+/]+$", ErrorMessage = "DeviceId must be one topic level: no '/', '+' or '#'.")]
    public string DeviceId { get; set; } = Environment.GetEnvironmentVariable("IOTEDGE_DEVICEID") ?? Environment.MachineName;

    /// <summary>PEM files of the public keys whose signatures are trusted; configuration only, never the twin, so the cloud cannot change the trust root.</summary>
    public List<string> TrustedKeyFiles { get; set; } = [];

    /// <summary>Accept packages without a signature. For development only; the agent says so at start.</summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>Where Prometheus text is served (<c>/metrics</c>), the IoT Edge metrics convention; <c>0.0.0.0</c> in a module so the collector can reach it.</summary>
    [Required]
    public string MetricsUrls { get; set; } = "http://127.0.0.1:9600";

    /// <summary>How long a pull may take before it is abandoned and retried.</summary>
    [TimeSpanRange("00:00:10", "1.00:00:00")]
    public TimeSpan PullTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>First and longest wait before a failed pull is retried.</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan RetryMinDelay { get; set; } = TimeSpan.FromSeconds(5);

    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// With a hub configured: how long the agent waits at start for the module twin before the desired state the last
    /// run persisted counts as known (readiness waits for one or the other).
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan StartupDesiredTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After SIGTERM: how long readiness answers 503 while requests are still served, so whatever routes traffic by
    /// readiness (a Kubernetes Service, a load balancer) stops sending it here before requests are refused.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan DrainWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The limit on the whole stop (drain window, requests in flight, reporting offline); below the grace period of
    /// whatever stops the agent (Kubernetes 30 s, Docker and so IoT Edge 10 s unless the module sets StopTimeout).
    /// </summary>
    [TimeSpanRange("00:00:01", "00:30:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    public string DataPath(params string[] parts) => Path.Combine([Path.GetFullPath(DataDirectory), .. parts]);

    /// <summary>The URLs of a <c>;</c>-separated list (<c>Urls</c>, <c>MetricsUrls</c>), as ASP.NET Core reads them.</summary>
    public static string[] SplitUrls(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// The ports of a URL list as Kestrel binds them, its wildcard hosts (<c>http://+:9600</c>, <c>http://*:9600</c>)
    /// included, which <see cref="Uri"/> does not read; a URL Kestrel could not bind has none.
    /// </summary>
    public static HashSet<int> Ports(string urls) => [.. SplitUrls(urls).Select(Parse).OfType<BindingAddress>().Select(a => a.Port)];

    /// <summary><paramref name="url"/> as Kestrel reads it; null when it does not parse.</summary>
    public static BindingAddress? Parse(string url)
    {
        try
        {
            return BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

[OptionsValidator]
internal sealed partial class AgentOptionsValidator : IValidateOptions<AgentOptions>;

/// <summary>Rules across fields and on the file system, reported together.</summary>
internal sealed class AgentOptionsRules : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        var problems = new List<string>();
        foreach (var file in options.TrustedKeyFiles.Where(f => !File.Exists(f)))
        {
            problems.Add($"EdgeMl:TrustedKeyFiles: {file} does not exist.");
        }

        if (options.RetryMinDelay > options.RetryMaxDelay)
        {
            problems.Add("EdgeMl:RetryMinDelay must not exceed EdgeMl:RetryMaxDelay.");
        }

        if (options.DrainWindow >= options.ShutdownTimeout)
        {
            problems.Add($"EdgeMl:DrainWindow ({options.DrainWindow}) must be shorter than EdgeMl:ShutdownTimeout ({options.ShutdownTimeout}): requests in flight need time to finish after it.");
        }

        foreach (var url in AgentOptions.SplitUrls(options.MetricsUrls))
        {
            if (AgentOptions.Parse(url) is not { Scheme: "http", IsUnixPipe: false } address)
            {
                problems.Add($"EdgeMl:MetricsUrls: '{url}' is not an http:// URL.");
            }
            else if (address.Port == 0)
            {
                problems.Add($"EdgeMl:MetricsUrls: '{url}' has port 0: the metrics port is told apart from the API's by its number, so give one (9600 by convention).");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
