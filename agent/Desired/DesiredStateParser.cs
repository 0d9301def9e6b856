using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Capture;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;

namespace EdgeMl.Agent.Desired;

/// <summary>A desired property the agent refused, by its JSON path (<c>models.ocr-cls.version</c>), and why.</summary>
internal sealed record DesiredIssue(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>
/// The accepted state and what was refused. A model whose entry has an issue is left out of
/// <see cref="State"/> (the caller keeps serving what it served for that name); so is any refused top-level setting.
/// </summary>
internal sealed record DesiredParseResult(DesiredState State, IReadOnlyList<DesiredIssue> Issues)
{
    public bool IsValid => Issues.Count == 0;

    /// <summary>The issues under one property path (a top-level name, or <c>models.NAME</c>).</summary>
    public IEnumerable<DesiredIssue> IssuesOf(string path) =>
        Issues.Where(i => i.Path == path || i.Path.StartsWith(path + ".", StringComparison.Ordinal));
}

/// <summary>
/// Reads the desired-properties document (the twin's <c>desired</c> section, or the same shape from configuration):
/// <code>
/// { "registry": "https://models.example.com/edgeml",
///   "models": { "ocr-cls": { "version": "latest" | 3, "pinned": false, "providers": ["tensorrt","cuda","cpu"] | "cuda,cpu",
///                            "policy": "prefer" | "require" | "strict", "batching": "auto" | { "enabled": true | "auto", "maxBatchSize": 8, "maxDelayMs": 2 },
///                            "threads": 1, "maxConcurrency": 2, "capture": { "sampleRate": 0.01, … },
///                            "probation": { "enabled": true, "duration": "00:10:00", "minRequests": 200, "maxP95Ratio": 1.5, … },
///                            "shadow": { "version": 4, "sampleRate": 0.1, "promoteWhen": { "agreement": 0.98, "samples": 500 } } } },
///   "healthReportInterval": "00:00:10", "telemetryInterval": 60, "pollInterval": "00:05:00" }
/// </code>
/// Every problem is named by its path; nothing throws for a bad document.
/// </summary>
internal static class DesiredStateParser
{
    private static readonly string[] TopLevel = ["registry", "models", "healthReportInterval", "telemetryInterval", "pollInterval"];
    private static readonly string[] ModelKeys = ["version", "pinned", "providers", "policy", "batching", "threads", "maxConcurrency", "capture", "probation", "shadow"];
    private static readonly string[] ProbationKeys = ["enabled", "duration", "minRequests", "maxErrorRate", "maxErrorRateIncrease", "maxP95Ratio", "minP95IncreaseMs", "maxPsi", "maxMemoryGrowthMb"];
    private static readonly string[] ShadowKeys = ["version", "sampleRate", "promoteWhen", "tolerance", "cpuBudget"];
    private static readonly string[] PromoteKeys = ["agreement", "samples"];
    private static readonly string[] BatchingKeys = ["enabled", "maxBatchSize", "maxDelayMs"];
    private static readonly string[] CaptureKeys = ["enabled", "sampleRate", "driftingSampleRate", "lowConfidenceThreshold", "confidenceOutput", "captureErrors", "maxRecordBytes"];

    public static DesiredParseResult Parse(JsonObject desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        var issues = new List<DesiredIssue>();
        var defaults = DesiredState.Empty;
        foreach (var (key, _) in desired)
        {
            if (!key.StartsWith('$') && !TopLevel.Contains(key, StringComparer.Ordinal))
            {
                issues.Add(new(key, $"unknown property; known: {string.Join(", ", TopLevel)}"));
            }
        }

        string? registry = null;
        if (desired["registry"] is { } r)
        {
            registry = String(r, "registry", issues) is { } text && text.Trim().Length > 0 ? text.Trim() : null;
        }

        var models = Models(desired["models"], issues);

        var state = new DesiredState
        {
            Registry = registry,
            Models = models,
            HealthReportInterval = Interval(desired["healthReportInterval"], "healthReportInterval", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), issues) ?? defaults.HealthReportInterval,
            TelemetryInterval = Interval(desired["telemetryInterval"], "telemetryInterval", TimeSpan.FromSeconds(5), TimeSpan.FromDays(1), issues) ?? defaults.TelemetryInterval,
            PollInterval = Interval(desired["pollInterval"], "pollInterval", TimeSpan.FromSeconds(5), TimeSpan.FromDays(7), issues) ?? defaults.PollInterval,
        };
        return new DesiredParseResult(state, issues);
    }

    private static DesiredModel? Model(JsonNode entry, string path, List<DesiredIssue> issues)
    {
        if (entry is not JsonObject o)
        {
            issues.Add(new(path, "must be an object such as {\"version\": \"latest\"}"));
            return null;
        }

        Unknown(o, path, ModelKeys, issues);
        var model = new DesiredModel();
        long? version = null;
        switch (o["version"])
        {
            case null:
                break;
            case JsonValue v when Whole(v) is { } number && number > 0:
                version = number;
                break;
            case JsonValue v when v.TryGetValue(out string? text) && string.Equals(text, "latest", StringComparison.OrdinalIgnoreCase):
                break;
            case JsonValue v when v.TryGetValue(out string? text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed > 0:
                version = parsed;
                break;
            default:
                issues.Add(new($"{path}.version", $"must be \"latest\" or a positive integer, not {o["version"]!.ToJsonString()}"));
                break;
        }

        IReadOnlyList<string>? providers = null;
        if (o["providers"] is { } p)
        {
            providers = Providers(p, $"{path}.providers", issues);
        }

        var policy = ProviderPolicy.Prefer;
        if (o["policy"] is { } pol && String(pol, $"{path}.policy", issues) is { } policyText)
        {
            // By name only: Enum.TryParse would also take "1" for require.
            if (Enum.GetNames<ProviderPolicy>().FirstOrDefault(n => string.Equals(n, policyText.Trim(), StringComparison.OrdinalIgnoreCase)) is { } known)
            {
                policy = Enum.Parse<ProviderPolicy>(known);
            }
            else
            {
                issues.Add(new($"{path}.policy", $"must be \"prefer\", \"require\" or \"strict\", not \"{policyText}\""));
            }
        }

        var batching = false;
        var auto = false;
        var maxBatch = model.MaxBatchSize;
        var maxDelay = model.MaxBatchDelay;
        switch (o["batching"])
        {
            case null:
                break;
            case JsonValue v when v.TryGetValue(out string? text) && text == "auto":
                auto = true;
                break;
            case JsonObject b:
                Unknown(b, $"{path}.batching", BatchingKeys, issues);
                if (b["enabled"] is JsonValue e && e.TryGetValue(out string? enabledText) && enabledText == "auto")
                {
                    auto = true;
                }
                else
                {
                    batching = Bool(b["enabled"], $"{path}.batching.enabled", issues) ?? false;
                }

                maxBatch = Int(b["maxBatchSize"], $"{path}.batching.maxBatchSize", 1, 1024, issues) ?? maxBatch;
                maxDelay = Number(b["maxDelayMs"], $"{path}.batching.maxDelayMs", 0, 1000, issues) is { } ms ? TimeSpan.FromMilliseconds(ms) : maxDelay;
                break;
            default:
                issues.Add(new($"{path}.batching", "must be \"auto\" or an object such as {\"enabled\": true, \"maxBatchSize\": 8, \"maxDelayMs\": 2} (enabled may be \"auto\")"));
                break;
        }

        return model with
        {
            Version = version,
            Pinned = Bool(o["pinned"], $"{path}.pinned", issues) ?? false,
            Providers = providers,
            Policy = policy,
            Batching = batching,
            BatchingAuto = auto,
            MaxBatchSize = maxBatch,
            MaxBatchDelay = maxDelay,
            Threads = Int(o["threads"], $"{path}.threads", 0, 256, issues) ?? 0,
            MaxConcurrency = Int(o["maxConcurrency"], $"{path}.maxConcurrency", 1, 256, issues),
            Capture = o["capture"] is { } c ? Capture(c, $"{path}.capture", issues) : null,
            Probation = o["probation"] is { } pr ? Probation(pr, $"{path}.probation", issues) : ProbationSettings.Default,
            Shadow = o["shadow"] is { } sh ? Shadow(sh, $"{path}.shadow", version, issues) : null,
        };
    }

    private static ProbationSettings Probation(JsonNode node, string path, List<DesiredIssue> issues)
    {
        var defaults = ProbationSettings.Default;
        if (node is not JsonObject o)
        {
            issues.Add(new(path, "must be an object such as {\"duration\": \"00:10:00\", \"minRequests\": 200}"));
            return defaults;
        }

        Unknown(o, path, ProbationKeys, issues);
        return new ProbationSettings
        {
            Enabled = Bool(o["enabled"], $"{path}.enabled", issues) ?? defaults.Enabled,
            Duration = Interval(o["duration"], $"{path}.duration", TimeSpan.Zero, TimeSpan.FromDays(7), issues) ?? defaults.Duration,
            MinRequests = Int(o["minRequests"], $"{path}.minRequests", 1, 10_000_000, issues) ?? defaults.MinRequests,
            MaxErrorRate = Number(o["maxErrorRate"], $"{path}.maxErrorRate", 0, 1, issues) ?? defaults.MaxErrorRate,
            MaxErrorRateIncrease = Number(o["maxErrorRateIncrease"], $"{path}.maxErrorRateIncrease", 0, 1, issues) ?? defaults.MaxErrorRateIncrease,
            MaxP95Ratio = Number(o["maxP95Ratio"], $"{path}.maxP95Ratio", 1, 1000, issues) ?? defaults.MaxP95Ratio,
            MinP95IncreaseMs = Number(o["minP95IncreaseMs"], $"{path}.minP95IncreaseMs", 0, 60_000, issues) ?? defaults.MinP95IncreaseMs,
            MaxPsi = Number(o["maxPsi"], $"{path}.maxPsi", 0, 100, issues) ?? defaults.MaxPsi,
            MaxMemoryGrowthMb = Number(o["maxMemoryGrowthMb"], $"{path}.maxMemoryGrowthMb", 1, 1024 * 1024, issues) ?? defaults.MaxMemoryGrowthMb,
        };
    }

    private static ShadowSettings? Shadow(JsonNode node, string path, long? active, List<DesiredIssue> issues)
    {
        if (node is not JsonObject o)
        {
            issues.Add(new(path, "must be an object such as {\"version\": 4, \"sampleRate\": 0.1}"));
            return null;
        }

        Unknown(o, path, ShadowKeys, issues);
        var defaults = new ShadowSettings();
        long version = 0;
        if (o["version"] is JsonValue v && Whole(v) is { } number && number > 0)
        {
            version = number;
        }
        else
        {
            issues.Add(new($"{path}.version", $"must be a positive integer, not {o["version"]?.ToJsonString() ?? "missing"}"));
        }

        if (active is { } pinned && version == pinned)
        {
            issues.Add(new($"{path}.version", $"is the desired version itself; a shadow runs a different version beside it"));
        }

        double? agreement = defaults.PromoteAgreement;
        var samples = defaults.PromoteSamples;
        switch (o["promoteWhen"])
        {
            case null:
                break;
            case JsonObject p:
                Unknown(p, $"{path}.promoteWhen", PromoteKeys, issues);
                agreement = Number(p["agreement"], $"{path}.promoteWhen.agreement", 0, 1, issues) ?? agreement;
                samples = Int(p["samples"], $"{path}.promoteWhen.samples", 1, 10_000_000, issues) ?? samples;
                break;
            case JsonValue p when p.GetValueKind() == JsonValueKind.False:
                agreement = null; // measured only, never promoted
                break;
            default:
                issues.Add(new($"{path}.promoteWhen", "must be an object such as {\"agreement\": 0.98, \"samples\": 500}, or false"));
                break;
        }

        return new ShadowSettings
        {
            Version = version,
            SampleRate = Number(o["sampleRate"], $"{path}.sampleRate", 0, 1, issues) ?? defaults.SampleRate,
            PromoteAgreement = agreement,
            PromoteSamples = samples,
            Tolerance = Number(o["tolerance"], $"{path}.tolerance", 0, 1e9, issues) ?? defaults.Tolerance,
            CpuBudget = Number(o["cpuBudget"], $"{path}.cpuBudget", 0.01, 64, issues) ?? defaults.CpuBudget,
        };
    }

    private static string[]? Providers(JsonNode node, string path, List<DesiredIssue> issues)
    {
        string[] names;
        if (node is JsonArray array)
        {
            names = array.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : null).Where(s => s is not null).Select(s => s!.Trim()).ToArray();
            if (names.Length != array.Count)
            {
                issues.Add(new(path, "must list provider names as strings"));
                return null;
            }
        }
        else if (node is JsonValue v && v.TryGetValue(out string? text))
        {
            names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }
        else
        {
            issues.Add(new(path, "must be a list such as [\"cuda\", \"cpu\"] or a string such as \"cuda,cpu\""));
            return null;
        }

        if (names.Length == 0)
        {
            issues.Add(new(path, "names no provider"));
            return null;
        }

        foreach (var unknown in names.Where(n => !ProviderNames.IsKnown(n)))
        {
            issues.Add(new(path, $"'{unknown}' is not an execution provider; known: {string.Join(", ", ProviderNames.Known)}"));
        }

        var duplicates = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (duplicates.Length > 0)
        {
            issues.Add(new(path, $"names {string.Join(", ", duplicates)} more than once"));
        }

        return names.Select(n => n.ToLowerInvariant()).ToArray();
    }

    /// <summary>The models that read without an issue; one with an issue is left out (its issues say why).</summary>
    private static Dictionary<string, DesiredModel> Models(JsonNode? node, List<DesiredIssue> issues)
    {
        var models = new Dictionary<string, DesiredModel>(StringComparer.Ordinal);
        if (node is null)
        {
            return models;
        }

        if (node is not JsonObject map)
        {
            issues.Add(new("models", "must be an object of model name → settings"));
            return models;
        }

        foreach (var (name, entry) in map)
        {
            var path = $"models.{name}";
            if (!ManifestRules.IsValidName(name))
            {
                issues.Add(new(path, "a model name is 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit"));
                continue;
            }

            if (entry is null)
            {
                continue; // a deleted model (a twin patch sets it to null)
            }

            var before = issues.Count;
            var model = Model(entry, path, issues);
            if (model is not null && issues.Count == before)
            {
                models[name] = model;
            }
        }

        return models;
    }

    private static CaptureOptions? Capture(JsonNode node, string path, List<DesiredIssue> issues)
    {
        if (node is not JsonObject o)
        {
            issues.Add(new(path, "must be an object such as {\"sampleRate\": 0.01}"));
            return null;
        }

        Unknown(o, path, CaptureKeys, issues);
        var defaults = new CaptureOptions();
        var capture = new CaptureOptions
        {
            Enabled = Bool(o["enabled"], $"{path}.enabled", issues) ?? defaults.Enabled,
            SampleRate = Number(o["sampleRate"], $"{path}.sampleRate", issues) ?? defaults.SampleRate,
            DriftingSampleRate = Number(o["driftingSampleRate"], $"{path}.driftingSampleRate", issues) ?? defaults.DriftingSampleRate,
            LowConfidenceThreshold = Number(o["lowConfidenceThreshold"], $"{path}.lowConfidenceThreshold", issues) ?? defaults.LowConfidenceThreshold,
            ConfidenceOutput = o["confidenceOutput"] is { } co ? String(co, $"{path}.confidenceOutput", issues) : defaults.ConfidenceOutput,
            CaptureErrors = Bool(o["captureErrors"], $"{path}.captureErrors", issues) ?? defaults.CaptureErrors,
            MaxRecordBytes = Int(o["maxRecordBytes"], $"{path}.maxRecordBytes", int.MinValue, int.MaxValue, issues) ?? defaults.MaxRecordBytes,
        };

        // The ranges are configuration's: the same annotations through the same generated validator, the same messages.
        issues.AddRange(CaptureSettingsRules.Check(path, capture).Select(p => new DesiredIssue($"{path}.{JsonNamingPolicy.CamelCase.ConvertName(p.Member)}", p.Message)));
        return capture;
    }

    private static void Unknown(JsonObject o, string path, string[] known, List<DesiredIssue> issues)
    {
        foreach (var (key, _) in o)
        {
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                issues.Add(new($"{path}.{key}", $"unknown property; known: {string.Join(", ", known)}"));
            }
        }
    }

    private static string? String(JsonNode node, string path, List<DesiredIssue> issues)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return v.GetValue<string>();
        }

        issues.Add(new(path, $"must be a string, not {node.ToJsonString()}"));
        return null;
    }

    private static bool? Bool(JsonNode? node, string path, List<DesiredIssue> issues)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetValue<bool>();
        }

        issues.Add(new(path, $"must be true or false, not {node.ToJsonString()}"));
        return null;
    }

    private static int? Int(JsonNode? node, string path, int min, int max, List<DesiredIssue> issues)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && Whole(v) is { } value && value >= min && value <= max)
        {
            return (int)value;
        }

        var range = (min, max) == (int.MinValue, int.MaxValue) ? "" : $" from {min} to {max}";
        issues.Add(new(path, $"must be a whole number{range}, not {node.ToJsonString()}"));
        return null;
    }

    /// <summary>Any finite number; its range is checked where the setting's annotations are.</summary>
    private static double? Number(JsonNode? node, string path, List<DesiredIssue> issues)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && Real(v) is { } value)
        {
            return value;
        }

        issues.Add(new(path, $"must be a number, not {node.ToJsonString()}"));
        return null;
    }

    private static double? Number(JsonNode? node, string path, double min, double max, List<DesiredIssue> issues)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && Real(v) is { } value && value >= min && value <= max)
        {
            return value;
        }

        issues.Add(new(path, $"must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, not {node.ToJsonString()}"));
        return null;
    }

    // A number from its JSON text: parsed documents hold JsonElements, configuration holds long/double/bool
    // primitives, and GetValue<double>() on a long primitive throws instead of converting.
    private static double? Real(JsonValue v) =>
        v.GetValueKind() == JsonValueKind.Number && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;

    private static long? Whole(JsonValue v) =>
        v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : null;

    /// <summary>A <c>TimeSpan</c> as "hh:mm:ss" or a number of seconds.</summary>
    private static TimeSpan? Interval(JsonNode? node, string path, TimeSpan min, TimeSpan max, List<DesiredIssue> issues)
    {
        if (node is null)
        {
            return null;
        }

        TimeSpan? value = node switch
        {
            // Range-checked as seconds first: TimeSpan.FromSeconds throws beyond about 29,000 years.
            JsonValue v when Real(v) is { } seconds => seconds >= min.TotalSeconds && seconds <= max.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null,
            // "10" means seconds, as a number would; TimeSpan alone would read it as ten days.
            JsonValue v when v.GetValueKind() == JsonValueKind.String && double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) =>
                seconds >= min.TotalSeconds && seconds <= max.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Contains(':', StringComparison.Ordinal)
                && TimeSpan.TryParse(v.GetValue<string>(), CultureInfo.InvariantCulture, out var t) => t,
            _ => null,
        };
        if (value is { } ok && ok >= min && ok <= max)
        {
            return ok;
        }

        issues.Add(new(path, $"must be a duration from {min:c} to {max:c}, as \"hh:mm:ss\" or seconds, not {node.ToJsonString()}"));
        return null;
    }
}
