using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

/// <summary>
/// The token rule checked where it matters: against the addresses Kestrel actually bound once it started, whatever
/// configured them (<c>EdgeMl:Http:Urls</c>, <c>--urls</c>, <c>Kestrel:Endpoints</c>). An address beyond loopback
/// without a token (16 characters or more) stops the start with a configuration error; until the check has run, the
/// API answers nothing but 503. The metrics ports serve only <c>/metrics</c> and are exempt.
/// </summary>
internal sealed class BoundAddressCheck(IServer server, IOptions<HttpApiOptions> http, IOptions<AgentOptions> agent) : IHostedLifecycleService
{
    private volatile bool _passed;

    public bool Passed => _passed;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var problems = Problems(addresses, http.Value.Token, AgentOptions.Ports(agent.Value.MetricsUrls));
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(HttpApiOptions.Section, typeof(HttpApiOptions), problems);
        }

        _passed = true;
        return Task.CompletedTask;
    }

    internal static List<string> Problems(IEnumerable<string> addresses, string? token, IReadOnlySet<int> metricsPorts)
    {
        var problems = new List<string>();
        if (token is { Length: >= 16 })
        {
            return problems;
        }

        foreach (var address in addresses)
        {
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            {
                problems.Add($"Kestrel bound '{address}', which is not an address the token rule can check: set EdgeMl:Http:Token (16 characters or more).");
            }
            else if (!metricsPorts.Contains(uri.Port) && !IsLoopback(uri.Host))
            {
                problems.Add($"the API listens on {address}, beyond loopback: set EdgeMl:Http:Token (16 characters or more) so every endpoint but health needs it.");
            }
        }

        return problems;
    }

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
