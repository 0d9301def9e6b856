using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Grpc;

/// <summary>The Open Inference Protocol's gRPC service (<c>inference.GRPCInferenceService</c>), on its own port.</summary>
internal sealed class GrpcApiOptions
{
    public const string Section = "EdgeMl:Grpc";

    /// <summary>
    /// Where the gRPC service listens (HTTP/2 without TLS, separated by <c>;</c>); loopback unless the operator says
    /// otherwise, and then the token rule of <c>EdgeMl:Http:Token</c> applies here too. Empty turns the service off.
    /// </summary>
    public string Urls { get; set; } = "http://127.0.0.1:8001";
}

/// <summary>Every URL an http:// address: gRPC here is cleartext HTTP/2 (TLS, where wanted, is the network's).</summary>
internal sealed class GrpcApiOptionsValidator : IValidateOptions<GrpcApiOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = GrpcServer.Split(options.Urls)
            .Where(url => !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            .Select(url => $"{GrpcApiOptions.Section}:Urls: '{url}' is not an http:// URL (the gRPC service speaks HTTP/2 without TLS).")
            .ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
