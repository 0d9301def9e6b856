using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// Metrics and traces pushed to an OpenTelemetry collector (configuration section <c>EdgeMl:Otlp</c>); off while
/// <see cref="Endpoint"/> is empty. Prometheus on the metrics port is served either way.
/// </summary>
internal sealed class OtlpOptions
{
    public const string Section = "EdgeMl:Otlp";
    public const string Grpc = "grpc";
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>The collector: <c>http://collector:4317</c> for gRPC, <c>http://collector:4318</c> for HTTP (the signal paths are added).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>, as <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> names them.</summary>
    public string Protocol { get; set; } = Grpc;

    /// <summary>
    /// <c>name=value</c> pairs separated by commas, sent with every export (a vendor's API key): a secret, masked in
    /// health, the support bundle and logs.
    /// </summary>
    public string? Headers { get; set; }

    /// <summary>How often metrics are pushed.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(60);

    public bool Enabled => Endpoint is not null;

    internal Uri SignalEndpoint(string signal) =>
        Protocol == HttpProtobuf ? new Uri(Endpoint!, Endpoint!.AbsolutePath.TrimEnd('/') + "/v1/" + signal) : Endpoint!;
}

[OptionsValidator]
internal sealed partial class OtlpOptionsValidator : IValidateOptions<OtlpOptions>;

internal sealed class OtlpOptionsRules : IValidateOptions<OtlpOptions>
{
    public ValidateOptionsResult Validate(string? name, OtlpOptions options)
    {
        var problems = new List<string>();
        if (options.Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https")))
        {
            problems.Add($"{OtlpOptions.Section}:Endpoint: '{endpoint}' is not an http:// or https:// URL.");
        }

        if (options.Protocol is not (OtlpOptions.Grpc or OtlpOptions.HttpProtobuf))
        {
            problems.Add($"{OtlpOptions.Section}:Protocol: '{options.Protocol}' is not one of grpc, http/protobuf.");
        }

        // The header value is a secret: only the position of a bad pair is said.
        var pairs = (options.Headers ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = 0; i < pairs.Length; i++)
        {
            if (pairs[i].IndexOf('=', StringComparison.Ordinal) < 1)
            {
                problems.Add($"{OtlpOptions.Section}:Headers: pair {i + 1} is not name=value.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
