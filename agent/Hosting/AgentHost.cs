using EdgeMl.Agent.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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

    public static string Version { get; } = typeof(AgentHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    internal static string[] Split(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
