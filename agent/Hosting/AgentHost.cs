using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Telemetry;
using EdgeMl.CloudSync.Health;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Registries;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Packages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace EdgeMl.Agent.Hosting;

/// <summary>
/// <c>edgeml run</c>: the Generic Host with Kestrel. Configuration comes, later winning, from
/// <c>appsettings.json</c> beside the executable, an optional <c>--config FILE</c>, the environment
/// (<c>EdgeMl__…</c>) and the command line (<c>--EdgeMl:DataDirectory=…</c>); the twin's desired properties are
/// laid over the <c>EdgeMl:Desired</c> section at run time.
/// </summary>
internal static class AgentHost
{
    public static WebApplication Build(string[] args, string? configFile = null, Action<WebApplicationBuilder>? customize = null)
    {
        // appsettings.json is read once, as --config is. A later --hostBuilder:… argument still wins.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [SettingsFiles.ReadOnce, .. args], ContentRootPath = AppContext.BaseDirectory });
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
            builder.Configuration.AddEnvironmentVariables();
            builder.Configuration.AddCommandLine(args);
        }

        builder.Services.AddAgent(builder.Configuration);
        var http = Read(() => builder.Configuration.GetSection(HttpApiOptions.Section).Get<HttpApiOptions>());
        var agent = Read(() => builder.Configuration.GetSection(AgentOptions.Section).Get<AgentOptions>());
        builder.WebHost.UseUrls([.. AgentOptions.SplitUrls(http.Urls), .. AgentOptions.SplitUrls(agent.MetricsUrls)]);

        // From the settings as bound, not as validated: an invalid section must not hide the others' problems.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = agent.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;

            // An invalid limit is reported by Validate with every other problem; Kestrel would throw on it first.
            k.Limits.MaxRequestBodySize = HttpApiOptions.KestrelLimit(http.MaxRequestBodyBytes > 0 ? http.MaxRequestBodyBytes : new HttpApiOptions().MaxRequestBodyBytes);
        });
        customize?.Invoke(builder);

        var app = builder.Build();
        app.Services.StartTelemetry();
        app.UseMetricsPort(AgentOptions.Ports(agent.MetricsUrls));
        app.UseHttpApi();
        app.MapAgentEndpoints();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeMl.Agent");
            var (api, metrics) = SplitBound(addresses, agent.MetricsUrls);
            Log.AgentStarted(logger, AgentVersion.Value, api, metrics, Path.GetFullPath(agent.DataDirectory));
        });
        return app;
    }

    /// <summary>
    /// The bound addresses said apart: the API's, and the metrics port's (Kestrel binds both); the metrics URLs as
    /// configured when none of the bound addresses is on their port.
    /// </summary>
    internal static (string Api, string Metrics) SplitBound(IEnumerable<string> bound, string metricsUrls)
    {
        var metricsPorts = AgentOptions.Ports(metricsUrls);
        var onMetrics = bound.ToLookup(a => Uri.TryCreate(a, UriKind.Absolute, out var uri) && metricsPorts.Contains(uri.Port));
        var metrics = onMetrics[true].Any() ? string.Join(", ", onMetrics[true]) : metricsUrls;
        return (string.Join(", ", onMetrics[false]), metrics);
    }

    /// <summary>The problems of every settings section, each prefixed with its section; empty when all are valid.</summary>
    public static IReadOnlyList<string> Validate(IServiceProvider services)
    {
        var problems = new List<string>();
        // Every section a feature registered (OptionsSection beside its binding), not a list kept here.
        foreach (var section in services.GetServices<OptionsSection>().DistinctBy(s => s.Options))
        {
            section.Check(services, problems);
        }

        CheckDesired(services.GetRequiredService<IConfiguration>(), problems);
        return [.. problems.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The embedded desired state is configuration: what the twin would refuse, the start refuses.</summary>
    private static void CheckDesired(IConfiguration configuration, List<string> problems)
    {
        var parsed = DesiredStateParser.Parse(ConfigurationJson.ToJson(configuration.GetSection(DesiredStateSource.ConfigSection)));
        problems.AddRange(parsed.Issues.Select(i => $"{DesiredStateSource.ConfigSection}: {i}"));
    }

    /// <summary>Options read before validation (the listening addresses, the body limit): defaults for what does not bind, which Validate reports.</summary>
    private static T Read<T>(Func<T?> get)
        where T : class, new()
    {
        try
        {
            return get() ?? new T();
        }
        catch (InvalidOperationException)
        {
            return new T();
        }
    }
}
