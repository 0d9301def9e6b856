using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Secrets;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Desired;

/// <summary>The desired state in effect, what was refused on the way, the twin <c>$version</c> it answers (0: configuration only) and where it came from.</summary>
internal sealed record DesiredSnapshot(DesiredState State, IReadOnlyList<DesiredIssue> Issues, long TwinVersion, JsonObject Document, DesiredOrigin Origin);

/// <summary>Where the desired state in effect came from; health reports it as <c>desired</c>.</summary>
internal enum DesiredOrigin
{
    /// <summary>Configuration only (<c>EdgeMl:Desired</c>): no twin document has ever been seen.</summary>
    Embedded,

    /// <summary>The twin document the last run persisted in the data folder; this run has not heard from the hub yet.</summary>
    Persisted,

    /// <summary>The module twin, as this run fetched it.</summary>
    Twin,
}

/// <summary>
/// The desired state in effect: the configuration's <c>EdgeMl:Desired</c> section (the embedded defaults) with the
/// module twin's desired properties laid over it, key by key. The last twin document is persisted atomically in
/// the data folder, so a restart without a cloud serves what the operator last asked for. A refused entry never
/// takes down what serves: the model (or setting) keeps its last accepted value.
/// </summary>
internal sealed class DesiredStateSource
{
    public const string ConfigSection = "EdgeMl:Desired";
    private const string FileName = "desired.json";
    private const string AcceptedFileName = "desired.accepted.json";
    private readonly string _acceptedPath;
    private JsonObject _accepted;
    private readonly JsonObject _config;
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private JsonObject _twin = [];
    private DesiredSnapshot _current;

    public DesiredStateSource(IConfiguration configuration, IOptions<AgentOptions> options, ILogger<DesiredStateSource> logger)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _config = ConfigurationJson.ToJson(configuration.GetSection(ConfigSection));
        _path = options.Value.DataPath(FileName);
        _logger = logger;
        _acceptedPath = options.Value.DataPath(AcceptedFileName);
        var persisted = Read(_path);
        _twin = persisted ?? [];
        var version = _twin["$version"] is JsonValue v && v.TryGetValue(out long n) ? n : 0;
        if (version > 0)
        {
            Log.DesiredRestored(_logger, _path, version);
        }

        // What was accepted before the restart stands in for entries the persisted twin holds but the agent refused.
        var accepted = Read(_acceptedPath) ?? [];
        var document = Merge(_config, _twin);
        var parsed = DesiredStateParser.Parse(document);
        _accepted = Accepted(document, parsed, accepted);
        _current = new DesiredSnapshot(KeepServing(parsed, DesiredStateParser.Parse(accepted).State), parsed.Issues, version, document,
            persisted is null ? DesiredOrigin.Embedded : DesiredOrigin.Persisted);

        // The start refuses an invalid embedded state (AgentHost.Validate); what remains came with the persisted twin.
        foreach (var issue in parsed.Issues)
        {
            Log.DesiredRefused(_logger, version, issue.Path, issue.Message);
        }
    }

    /// <summary>Raised after the desired state changed (a twin update was applied).</summary>
    public event EventHandler<DesiredSnapshot>? Changed;

    public DesiredSnapshot Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>The keys the twin sets (what gets acknowledged), as of the last update.</summary>
    public IReadOnlyCollection<string> TwinKeys
    {
        get
        {
            lock (_lock)
            {
                return _twin.Where(p => !p.Key.StartsWith('$')).Select(p => p.Key).ToArray();
            }
        }
    }

    /// <summary>A model the twin's <c>models</c> section names (acknowledged per model).</summary>
    public IReadOnlyCollection<string> TwinModels
    {
        get
        {
            lock (_lock)
            {
                return _twin["models"] is JsonObject models ? models.Select(p => p.Key).ToArray() : [];
            }
        }
    }

    /// <summary>Applies a full desired document or a patch, persists it, and returns what is now in effect.</summary>
    public DesiredSnapshot Apply(DesiredPropertiesUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        DesiredSnapshot next;
        lock (_lock)
        {
            var twin = update.IsFullDocument ? Clean((JsonObject)update.Properties.DeepClone()) : MergePatch(_twin, update.Properties);
            twin["$version"] = update.Version;
            var document = Merge(_config, twin);
            var parsed = DesiredStateParser.Parse(document);
            next = new DesiredSnapshot(KeepServing(parsed, _current.State), parsed.Issues, update.Version, document, DesiredOrigin.Twin);
            _accepted = Accepted(document, parsed, _accepted);
            _twin = twin;
            _current = next;
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            Durable.WriteAllBytes(_acceptedPath, Indented(_accepted));
            Durable.WriteAllBytes(_path, Indented(twin));
        }

        foreach (var issue in next.Issues)
        {
            Log.DesiredRefused(_logger, update.Version, issue.Path, SecretRedactor.RedactValue(issue.Message));
        }

        Changed?.Invoke(this, next);
        return next;
    }

    /// <summary>The document as accepted: refused entries replaced by their previously accepted JSON (or left out).</summary>
    private static JsonObject Accepted(JsonObject document, DesiredParseResult parsed, JsonObject previous)
    {
        var accepted = (JsonObject)document.DeepClone();
        if (parsed.IsValid)
        {
            return accepted;
        }

        foreach (var key in parsed.Issues.Select(i => i.Path.Split('.')[0]).Distinct().Where(k => k != "models"))
        {
            accepted[key] = previous[key]?.DeepClone();
        }

        if (parsed.IssuesOf("models").Any(i => i.Path == "models"))
        {
            accepted["models"] = previous["models"]?.DeepClone();
        }
        else if (accepted["models"] is JsonObject models)
        {
            foreach (var name in models.Select(m => m.Key).Where(name => parsed.IssuesOf($"models.{name}").Any()).ToArray())
            {
                models[name] = (previous["models"] as JsonObject)?[name]?.DeepClone();
            }
        }

        return accepted;
    }

    private JsonObject? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject;
        }
        catch (JsonException e)
        {
            // Durable writes make this unlikely; if it happens the embedded defaults serve until the twin answers.
            Log.DesiredUnreadable(_logger, path, e.Message);
            return null;
        }
    }

    /// <summary>Refused entries keep their last accepted value, so a bad document never unloads a serving model.</summary>
    private static DesiredState KeepServing(DesiredParseResult parsed, DesiredState previous)
    {
        var state = parsed.State;
        if (parsed.IsValid)
        {
            return state;
        }

        var models = new Dictionary<string, DesiredModel>(state.Models, StringComparer.Ordinal);
        foreach (var (name, model) in previous.Models)
        {
            if (!models.ContainsKey(name) && parsed.IssuesOf($"models.{name}").Any())
            {
                models[name] = model;
            }
        }

        if (parsed.IssuesOf("models").Any(i => i.Path == "models"))
        {
            models = new Dictionary<string, DesiredModel>(previous.Models, StringComparer.Ordinal);
        }

        return state with
        {
            Models = models,
            Registry = parsed.IssuesOf("registry").Any() ? previous.Registry : state.Registry,
            HealthReportInterval = parsed.IssuesOf("healthReportInterval").Any() ? previous.HealthReportInterval : state.HealthReportInterval,
            TelemetryInterval = parsed.IssuesOf("telemetryInterval").Any() ? previous.TelemetryInterval : state.TelemetryInterval,
            PollInterval = parsed.IssuesOf("pollInterval").Any() ? previous.PollInterval : state.PollInterval,
        };
    }

    private static byte[] Indented(JsonNode node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            node.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Drops the twin's bookkeeping (<c>$metadata</c>, <c>$version</c>) from a full document.</summary>
    private static JsonObject Clean(JsonObject document)
    {
        foreach (var key in document.Where(p => p.Key.StartsWith('$')).Select(p => p.Key).ToArray())
        {
            document.Remove(key);
        }

        return document;
    }

    /// <summary>JSON merge patch (RFC 7386), which is how twin patches work: null deletes, objects merge.</summary>
    internal static JsonObject MergePatch(JsonObject target, JsonObject patch)
    {
        var result = (JsonObject)target.DeepClone();
        foreach (var (key, value) in patch)
        {
            if (key.StartsWith('$'))
            {
                continue;
            }

            if (value is null)
            {
                result.Remove(key);
            }
            else if (value is JsonObject patchObject && result[key] is JsonObject existing)
            {
                result[key] = MergePatch(existing, patchObject);
            }
            else
            {
                result[key] = value is JsonObject o ? Clean((JsonObject)o.DeepClone()) : value.DeepClone();
            }
        }

        return result;
    }

    /// <summary>The twin laid over the configuration; objects merge, anything else from the twin wins.</summary>
    private static JsonObject Merge(JsonObject config, JsonObject twin)
    {
        var result = MergePatch(config, Clean((JsonObject)twin.DeepClone()));
        return result;
    }
}

/// <summary>A configuration section as JSON, with numbers and booleans typed again and numbered keys as arrays.</summary>
internal static class ConfigurationJson
{
    public static JsonObject ToJson(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return ToNode(section) as JsonObject ?? [];
    }

    private static JsonNode? ToNode(IConfigurationSection section)
    {
        var children = section.GetChildren().ToArray();
        if (children.Length == 0)
        {
            return section.Value is { } value ? Scalar(value) : null;
        }

        if (children.All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            var array = new JsonArray();
            foreach (var child in children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)))
            {
                array.Add(ToNode(child));
            }

            return array;
        }

        var o = new JsonObject();
        foreach (var child in children)
        {
            o[child.Key] = ToNode(child);
        }

        return o;
    }

    private static JsonValue Scalar(string value) =>
        bool.TryParse(value, out var b) ? JsonValue.Create(b)
        : long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? JsonValue.Create(l)
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && value.Contains('.', StringComparison.Ordinal) && !value.Contains(':', StringComparison.Ordinal) ? JsonValue.Create(d)
        : JsonValue.Create(value);
}
