using System.Text.RegularExpressions;
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
internal static partial class AgentHost
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
        var http = Read<HttpApiOptions>(builder.Configuration.GetSection(HttpApiOptions.Section));
        var agent = Read<AgentOptions>(builder.Configuration.GetSection(AgentOptions.Section));
        builder.WebHost.UseUrls([.. AgentOptions.SplitUrls(http.Urls), .. AgentOptions.SplitUrls(agent.MetricsUrls)]);

        // From the settings as bound, not as validated: an invalid section must not hide the others' problems.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = agent.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;

            // An invalid limit is reported by Validate with every other problem; Kestrel would throw on it first.
            k.Limits.MaxRequestBodySize = http.MaxRequestBodyBytes > 0 ? http.MaxRequestBodyBytes : new HttpApiOptions().MaxRequestBodyBytes;
        });
        customize?.Invoke(builder);

        var app = builder.Build();
        app.Services.StartTelemetry();
        app.UseMetricsPort(AgentOptions.SplitUrls(agent.MetricsUrls));
        app.UseHttpApi();
        app.MapAgentEndpoints();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeMl.Agent");
            Log.AgentStarted(logger, AgentVersion.Value, string.Join(", ", addresses), agent.MetricsUrls, Path.GetFullPath(agent.DataDirectory));
        });
        return app;
    }

    /// <summary>The problems of every settings section, each prefixed with its section; empty when all are valid.</summary>
    public static IReadOnlyList<string> Validate(IServiceProvider services)
    {
        var problems = new List<string>();
        // Every section a feature registered (OptionsSection beside its binding), not a list kept here.
        foreach (var section in services.GetServices<OptionsSection>().DistinctBy(s => s.Options))
        {
            CheckSection.MakeGenericMethod(section.Options).Invoke(null, [services, section.Path, problems, section.Alone]);
        }

        CheckDesired(services.GetRequiredService<IConfiguration>(), problems);
        return [.. problems.Distinct(StringComparer.Ordinal)];
    }

    private static readonly System.Reflection.MethodInfo CheckSection =
        typeof(AgentHost).GetMethod(nameof(Check), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

    /// <summary>The embedded desired state is configuration: what the twin would refuse, the start refuses.</summary>
    private static void CheckDesired(IConfiguration configuration, List<string> problems)
    {
        var parsed = DesiredStateParser.Parse(ConfigurationJson.ToJson(configuration.GetSection(DesiredStateSource.ConfigSection)));
        problems.AddRange(parsed.Issues.Select(i => $"{DesiredStateSource.ConfigSection}: {i}"));
    }

    /// <param name="alone">
    /// Check the section bound on its own from <paramref name="section"/> when a section it depends on is invalid;
    /// false for options that hold no settings of their own there.
    /// </param>
    private static void Check<T>(IServiceProvider services, string section, List<string> problems, bool alone)
        where T : class, new()
    {
        try
        {
            _ = services.GetRequiredService<IOptionsMonitor<T>>().CurrentValue;
        }
        catch (OptionsValidationException e) when (e.OptionsType == typeof(T))
        {
            problems.AddRange(e.Failures.Select(f => Prefixed(section, f)));
        }
        catch (Exception e) when (e is OptionsValidationException || IsUnreadable(e))
        {
            // A value that does not bind (here or in a section this one depends on), or a dependency that is invalid:
            // the dependency's own check reports it, and this section is checked on its own as well.
            if (IsUnreadable(e))
            {
                problems.Add(Unreadable(section, (InvalidOperationException)e));
            }

            if (alone)
            {
                problems.AddRange(CheckAlone<T>(services, section));
            }
        }
    }

    /// <summary>A section bound and validated without the settings it depends on.</summary>
    private static IEnumerable<string> CheckAlone<T>(IServiceProvider services, string section)
        where T : class, new()
    {
        var own = new T();
        try
        {
            services.GetRequiredService<IConfiguration>().GetSection(section).Bind(own);
        }
        catch (InvalidOperationException e) when (IsUnreadable(e))
        {
            return [Unreadable(section, e)];
        }

        return services.GetServices<IValidateOptions<T>>()
            .Select(v => v.Validate(Options.DefaultName, own))
            .Where(r => r.Failed)
            .SelectMany(r => r.Failures ?? [])
            .Select(f => Prefixed(section, f));
    }

    private static bool IsUnreadable(Exception e) => e is InvalidOperationException { InnerException: FormatException or ArgumentException or OverflowException };

    /// <summary>"Capture: …" from a section's own validator becomes "EdgeMl:Capture: …"; anything else gets the section in front.</summary>
    private static string Prefixed(string section, string failure)
    {
        var leaf = section[(section.LastIndexOf(':') + 1)..];
        return failure.StartsWith(section, StringComparison.Ordinal) ? failure
            : leaf.Length < section.Length && failure.StartsWith(leaf + ":", StringComparison.Ordinal) ? section[..^leaf.Length] + failure
            : $"{section}: {failure}";
    }

    /// <summary>The binder's "Failed to convert configuration value 'abc' at 'EdgeMl:PullTimeout' to type 'System.TimeSpan'", said plainly.</summary>
    private static string Unreadable(string section, InvalidOperationException e) =>
        UnreadableValue().Match(e.Message) is { Success: true } m
            ? $"{m.Groups["key"].Value}: '{m.Groups["value"].Value}' is not a {Friendly(m.Groups["type"].Value)}."
            : $"{section}: {e.Message}";

    private static string Friendly(string type) => type switch
    {
        "System.TimeSpan" => "time span (hh:mm:ss)",
        "System.Int32" or "System.Int64" => "whole number",
        "System.Double" => "number",
        "System.Boolean" => "boolean (true or false)",
        "System.Uri" => "URL",
        _ when (typeof(AgentHost).Assembly.GetType(type) ?? typeof(UploadOptions).Assembly.GetType(type)) is { IsEnum: true } e => $"{e.Name}: one of {string.Join(", ", Enum.GetNames(e))}",
        _ => type.Split('.')[^1],
    };

    /// <summary>Options read before validation (the listening addresses, the body limit): defaults for what does not bind, which Validate reports.</summary>
    private static T Read<T>(IConfigurationSection section)
        where T : class, new()
    {
        try
        {
            return section.Get<T>() ?? new T();
        }
        catch (InvalidOperationException)
        {
            return new T();
        }
    }

    [GeneratedRegex(@"value '(?<value>[^']*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex UnreadableValue();

}
