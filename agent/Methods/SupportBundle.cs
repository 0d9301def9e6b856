using System.Collections;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.CloudSync.Secrets;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Agent.Methods;

/// <summary>
/// What a field engineer needs to diagnose a device, in one JSON document: versions, the agent's configuration
/// sections and the environment variables it reads (by name: <see cref="EnvironmentPrefixes"/>), installed and
/// active versions and the provider report per model, recent events and the health document. Everything passes
/// through <see cref="SecretRedactor"/>; the document is kept under <see cref="MaxBytes"/> (the direct-method limit
/// is 128 KB) by dropping the oldest events first.
/// </summary>
internal sealed class SupportBundle(HealthCollector collector, InferenceEngine engine, TimeProvider time, IServiceProvider services)
{
    public const int MaxBytes = 120 * 1024;
    private const int MaxConfigValueChars = 1024;

    /// <summary>The configuration sections the agent reads; other keys (every environment variable is one) stay out.</summary>
    internal static readonly string[] ConfigurationSections = ["EdgeMl", "Kestrel", "Logging"];

    /// <summary>Environment variables listed, by name prefix: the agent's, IoT Edge's and .NET's; no other is read.</summary>
    internal static readonly string[] EnvironmentPrefixes = ["EdgeMl__", "IOTEDGE_", "DOTNET_"];

    public JsonObject Build()
    {
        var health = collector.Collect();
        var events = services.GetService<AgentEventLog>()?.Recent() ?? [];
        var bundle = new JsonObject
        {
            ["generatedAt"] = time.GetUtcNow(),
            ["deviceId"] = collector.DeviceId,
            ["versions"] = new JsonObject
            {
                ["agent"] = AgentVersion.Value,
                ["runtime"] = typeof(InferenceEngine).Assembly.GetName().Version?.ToString(),
                ["onnxRuntime"] = OnnxRuntimeVersion(),
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
                ["os"] = RuntimeInformation.OSDescription,
                ["architecture"] = RuntimeInformation.ProcessArchitecture.ToString(),
            },
            ["configuration"] = services.GetService<IConfiguration>() is { } configuration ? Configuration(configuration) : null,
            ["environment"] = EnvironmentVariables(Environment.GetEnvironmentVariables()),
            ["models"] = ModelMethods.InstalledModels(engine, services.GetService<ModelStore>(), detailed: true),
            ["health"] = HealthJson.ToNode(health),
            ["events"] = new JsonArray(events.Select(e => JsonSerializer.SerializeToNode(HealthJson.ToJson(e), HealthJsonContext.Default.EventJson)).ToArray()),
        };
        SecretRedactor.Redact(bundle);
        Fit(bundle);
        return bundle;
    }

    /// <summary>Drops the oldest events, then the configuration, until the bundle fits.</summary>
    internal static void Fit(JsonObject bundle)
    {
        var events = (JsonArray)bundle["events"]!;
        var omitted = 0;
        while (Size(bundle) > MaxBytes && events.Count > 0)
        {
            var drop = Math.Max(1, events.Count / 4);
            for (var i = 0; i < drop; i++)
            {
                events.RemoveAt(0);
            }

            omitted += drop;
            bundle["eventsOmitted"] = omitted;
        }

        if (Size(bundle) > MaxBytes)
        {
            bundle["configuration"] = "omitted: the bundle exceeded the direct-method payload limit";
        }
    }

    internal static int Size(JsonNode node) => System.Text.Encoding.UTF8.GetByteCount(node.ToJsonString());

    /// <summary>The agent's configuration sections as a tree of strings; secret-named values are masked by the redactor.</summary>
    internal static JsonObject Configuration(IConfiguration configuration)
    {
        var result = new JsonObject();
        foreach (var child in configuration.GetChildren()
            .Where(c => ConfigurationSections.Contains(c.Key, StringComparer.OrdinalIgnoreCase))
            .OrderBy(c => c.Key, StringComparer.OrdinalIgnoreCase))
        {
            result[child.Key] = Node(child);
        }

        return result;
    }

    /// <summary>The allowed variables, those whose names look secret masked (the redactor masks them again by name).</summary>
    internal static JsonObject EnvironmentVariables(IDictionary variables)
    {
        var result = new JsonObject();
        foreach (var name in variables.Keys.Cast<string>()
            .Where(n => EnvironmentPrefixes.Any(p => n.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal))
        {
            var value = variables[name] as string ?? "";
            result[name] = SecretRedactor.IsSecretName(name) ? SecretRedactor.Mask
                : value.Length > MaxConfigValueChars ? value[..MaxConfigValueChars] + "…" : value;
        }

        return result;
    }

    private static JsonNode? Node(IConfigurationSection section)
    {
        var children = section.GetChildren().ToArray();
        if (children.Length == 0)
        {
            return section.Value is { } value ? (value.Length > MaxConfigValueChars ? value[..MaxConfigValueChars] + "…" : value) : null;
        }

        var o = new JsonObject();
        foreach (var child in children.OrderBy(c => c.Key, StringComparer.OrdinalIgnoreCase))
        {
            o[child.Key] = Node(child);
        }

        return o;
    }

    private static string? OnnxRuntimeVersion()
    {
        try
        {
            return OrtEnv.Instance().GetVersionString();
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or TypeInitializationException)
        {
            // A bundle without the native version is still worth having; say why it is missing.
            return $"unavailable: {e.Message}";
        }
    }
}
