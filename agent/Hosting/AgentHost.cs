using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Http;
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
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
            builder.Configuration.AddEnvironmentVariables();
            builder.Configuration.AddCommandLine(args);
        }

        builder.Services.AddAgent(builder.Configuration);
        var http = builder.Configuration.GetSection(HttpApiOptions.Section).Get<HttpApiOptions>() ?? new HttpApiOptions();
        var agent = builder.Configuration.GetSection(AgentOptions.Section).Get<AgentOptions>() ?? new AgentOptions();
        builder.WebHost.UseUrls([.. Split(http.Urls), .. Split(agent.MetricsUrls)]);

        // From the settings as bound, not as validated: an invalid section must not hide the others' problems.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = agent.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = http.MaxRequestBodyBytes;
        });
        customize?.Invoke(builder);

        var app = builder.Build();
        app.UseMetricsPort(Split(agent.MetricsUrls));
        app.UseHttpApi();
        app.MapAgentEndpoints();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeMl.Agent");
            Log.AgentStarted(logger, Version, string.Join(", ", addresses), agent.MetricsUrls, Path.GetFullPath(agent.DataDirectory));
        });
        return app;
    }

    /// <summary>The problems of every settings section, each prefixed with its section; empty when all are valid.</summary>
    public static IReadOnlyList<string> Validate(IServiceProvider services)
    {
        var problems = new List<string>();
        Check<AgentOptions>(services, AgentOptions.Section, problems);
        Check<HttpApiOptions>(services, HttpApiOptions.Section, problems);
        Check<MqttHealthOptions>(services, MqttHealthOptions.Section, problems);
        Check<ModelStoreOptions>(services, AgentOptions.Section, problems);
        Check<DownloadOptions>(services, $"{AgentOptions.Section}:Download", problems);
        Check<CaptureSettings>(services, $"{AgentOptions.Section}:{CaptureSettings.Section}", problems);
        Check<DriftOptions>(services, $"{AgentOptions.Section}:{DriftOptions.Section}", problems);
        Check<UploadOptions>(services, $"{AgentOptions.Section}:{UploadOptions.Section}", problems, onlyIf: typeof(CaptureUploader));
        Check<IoTHubClientOptions>(services, AgentServiceCollectionExtensions.IoTHubSection, problems, onlyIf: typeof(IIoTHubClient));
        return problems;
    }

    private static void Check<T>(IServiceProvider services, string section, List<string> problems, Type? onlyIf = null)
        where T : class
    {
        if (onlyIf is not null && services.GetService(onlyIf) is null)
        {
            return;
        }

        try
        {
            _ = services.GetRequiredService<IOptionsMonitor<T>>().CurrentValue;
        }
        catch (OptionsValidationException e) when (e.OptionsType == typeof(T))
        {
            problems.AddRange(e.Failures.Select(f => f.StartsWith(section, StringComparison.Ordinal) ? f : $"{section}: {f}"));
        }
        catch (OptionsValidationException)
        {
            // Settings this section depends on are invalid; their own check reports them.
        }
    }

    public static string Version { get; } = typeof(AgentHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    internal static string[] Split(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
