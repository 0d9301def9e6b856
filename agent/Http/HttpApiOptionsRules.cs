using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

/// <summary>The API may leave loopback only behind a bearer token; the extra host names it answers to are names.</summary>
internal sealed partial class HttpApiOptionsRules : IValidateOptions<HttpApiOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpApiOptions options)
    {
        var problems = new List<string>();
        foreach (var url in AgentOptions.SplitUrls(options.Urls))
        {
            var host = url.Split("://", 2) is [_, var rest] ? rest.Split('/')[0] : url;
            host = host.StartsWith('[') ? host[1..host.IndexOf(']', StringComparison.Ordinal)] : host.Split(':')[0];
            if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"EdgeMl:Http:Urls: '{url}' is not an http:// or https:// URL.");
            }
            else if (!IsLoopback(host) && options.Token is not { Length: >= 16 })
            {
                problems.Add($"EdgeMl:Http:Urls binds '{url}' beyond loopback: set EdgeMl:Http:Token (16 characters or more) so every endpoint but health needs it.");
            }
        }

        // IoT Edge tooling leaves a variable missing from .env as its literal name, a token anyone can read.
        if (options.Token is { } token && token.StartsWith('$'))
        {
            problems.Add("EdgeMl:Http:Token is an unexpanded deployment variable (it starts with '$'): set EDGEML_HTTP_TOKEN in the deployment's .env (examples/module.env).");
        }

        foreach (var entry in options.AllowedHosts.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!HostName().IsMatch(entry))
            {
                problems.Add($"EdgeMl:Http:AllowedHosts: '{entry}' is not a host name or '*.' and a domain; give names without scheme or port ('*' alone would let DNS rebinding in).");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    [GeneratedRegex(@"^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostName();

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
