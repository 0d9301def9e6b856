using System.Text.RegularExpressions;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Gpio;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Secrets;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent;

/// <summary>
/// Where a settings type is bound, registered beside its binding and validators, so the start-up check
/// (<c>AgentHost.Validate</c>) reports every registered section by name, and only those the host registered.
/// </summary>
internal sealed class OptionsSection
{
    private readonly Action<IServiceProvider, List<string>> _check;

    private OptionsSection(Type options, string path, Action<IServiceProvider, List<string>> check)
    {
        Options = options;
        Path = path;
        _check = check;
    }

    public Type Options { get; }

    public string Path { get; }

    /// <summary>Adds this section's problems, each prefixed with the section.</summary>
    public void Check(IServiceProvider services, List<string> problems) => _check(services, problems);

    /// <param name="path">The section's configuration path.</param>
    /// <param name="bindAlone">
    /// Binds the section on its own, to check it when a section it depends on is invalid; null for options that hold
    /// no settings of their own there. A delegate written where the type is known, so the configuration binder's
    /// generator writes its code (no reflection, Native AOT ready).
    /// </param>
    public static OptionsSection For<T>(string path, Action<IConfiguration, T>? bindAlone)
        where T : class, new() =>
        new(typeof(T), path, (services, problems) => SectionCheck.Check(services, path, problems, bindAlone));
}

internal static class OptionsSectionExtensions
{
    public static IServiceCollection AddOptionsSection<T>(this IServiceCollection services, IConfigurationSection section, Action<IConfiguration, T>? bindAlone)
        where T : class, new() =>
        services.AddOptionsSection(section.Path, bindAlone);

    public static IServiceCollection AddOptionsSection<T>(this IServiceCollection services, string path, Action<IConfiguration, T>? bindAlone)
        where T : class, new() =>
        services.AddSingleton(OptionsSection.For(path, bindAlone));
}

/// <summary>A section's problems as the start-up check reports them.</summary>
internal static partial class SectionCheck
{
    public static void Check<T>(IServiceProvider services, string section, List<string> problems, Action<IConfiguration, T>? bindAlone)
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
            var configuration = services.GetRequiredService<IConfiguration>();
            if (IsUnreadable(e))
            {
                problems.Add(Unreadable(configuration, section, (InvalidOperationException)e));
            }

            if (bindAlone is not null)
            {
                problems.AddRange(CheckAlone(services, configuration, section, bindAlone));
            }
        }
    }

    /// <summary>A section bound and validated without the settings it depends on.</summary>
    private static IEnumerable<string> CheckAlone<T>(IServiceProvider services, IConfiguration configuration, string section, Action<IConfiguration, T> bind)
        where T : class, new()
    {
        var own = new T();
        try
        {
            bind(configuration.GetSection(section), own);
        }
        catch (InvalidOperationException e) when (IsUnreadable(e))
        {
            return [Unreadable(configuration, section, e)];
        }

        return services.GetServices<IValidateOptions<T>>()
            .Select(v => v.Validate(Microsoft.Extensions.Options.Options.DefaultName, own))
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

    /// <summary>
    /// The binder's "Failed to convert configuration value at 'EdgeMl:PullTimeout' to type 'System.TimeSpan'", said
    /// plainly with the value: "EdgeMl:PullTimeout: 'abc' is not a time span (hh:mm:ss)."
    /// </summary>
    private static string Unreadable(IConfiguration configuration, string section, InvalidOperationException e)
    {
        if (UnreadableValue().Match(e.Message) is not { Success: true } m)
        {
            return $"{section}: {SecretRedactor.RedactValue(e.Message)}";
        }

        var key = m.Groups["key"].Value;
        var value = m.Groups["value"].Success ? m.Groups["value"].Value : configuration[key] ?? "";
        // What goes to the console and the logs carries no secret, even one typed into the wrong setting.
        value = SecretRedactor.IsSecretName(key) ? SecretRedactor.Mask : SecretRedactor.RedactValue(value);
        return $"{key}: '{value}' is not a {Friendly(m.Groups["type"].Value)}.";
    }

    private static string Friendly(string type) => type switch
    {
        "System.TimeSpan" => "time span (hh:mm:ss)",
        "System.Int32" or "System.Int64" => "whole number",
        "System.Double" => "number",
        "System.Boolean" => "boolean (true or false)",
        "System.Uri" => "URL",
        _ when SettingEnums.TryGetValue(type, out var e) => e,
        _ => type.Split('.')[^1],
    };

    /// <summary>The enumerations settings are read into, with the names each accepts.</summary>
    private static readonly Dictionary<string, string> SettingEnums = new[]
    {
        Names<DriftLevel>(), Names<CaptureOverflowPolicy>(), Names<CaptureSynchronous>(), Names<GpioEdge>(), Names<GpioAction>(),
        Names<GpioInputMode>(), Names<GpioLightSignal>(), Names<IoTHubTransport>(), Names<ProviderPolicy>(), Names<BatchingMode>(),
        Names<OptimizationLevel>(),
    }.ToDictionary(StringComparer.Ordinal);

    private static KeyValuePair<string, string> Names<TEnum>()
        where TEnum : struct, Enum =>
        new(typeof(TEnum).FullName!, $"{typeof(TEnum).Name}: one of {string.Join(", ", Enum.GetNames<TEnum>())}");

    [GeneratedRegex(@"value (?:'(?<value>[^']*)' )?at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex UnreadableValue();
}
