using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// The drift baseline of a model package (the manifest's <c>baseline</c>): the distributions its publisher saw,
/// which the device compares its own traffic with.
/// </summary>
/// <example>
/// <code>
/// "baseline": {
///   "samples": 5000,
///   "inputs":  [ { "tensor": "x", "statistic": "mean", "edges": [0, 0.25, 0.5, 0.75, 1], "counts": [10, 40, 40, 10] },
///                { "tensor": "features", "statistic": "feature", "index": 3, "edges": [...], "counts": [...] } ],
///   "outputs": [ { "tensor": "softmax", "statistic": "class", "labels": ["0", "180"], "counts": [0.7, 0.3] } ]
/// }
/// </code>
/// </example>
public sealed record DriftBaseline
{
    /// <summary>How many samples the baseline was computed from (information only).</summary>
    public long Samples { get; init; }

    public IReadOnlyList<BaselineDistribution> Inputs { get; init; } = [];

    public IReadOnlyList<BaselineDistribution> Outputs { get; init; } = [];

    /// <summary>The baseline of a manifest, or null when it declares none.</summary>
    /// <exception cref="ModelManifestException">The baseline breaks the schema; every problem is listed.</exception>
    public static DriftBaseline? FromManifest(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Baseline is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } json ? Parse(json) : null;
    }

    /// <exception cref="ModelManifestException">The baseline breaks the schema; every problem is listed.</exception>
    public static DriftBaseline Parse(JsonElement json)
    {
        DriftBaseline? baseline;
        try
        {
            baseline = json.Deserialize(DriftBaselineJsonContext.Default.DriftBaseline);
        }
        catch (JsonException e)
        {
            throw new ModelManifestException([$"baseline: {e.Message}"]);
        }

        if (baseline is null)
        {
            throw new ModelManifestException(["baseline is empty"]);
        }

        var problems = baseline.Check();
        return problems.Count == 0 ? baseline : throw new ModelManifestException(problems);
    }

    /// <summary>The baseline as a JSON element, ready for <see cref="ModelManifest.Baseline"/>.</summary>
    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, DriftBaselineJsonContext.Default.DriftBaseline);

    /// <summary>Every schema problem, empty when the baseline is valid.</summary>
    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (list, side) in new[] { (Inputs, "inputs"), (Outputs, "outputs") })
        {
            for (var i = 0; i < list.Count; i++)
            {
                var d = list[i];
                var where = $"baseline {side}[{i}]";
                if (d is null)
                {
                    problems.Add($"{where} is null");
                    continue;
                }

                d.Check(where, problems);
                if (!keys.Add(side + "/" + d.Key))
                {
                    problems.Add($"{where}: '{d.Key}' is declared twice");
                }
            }
        }

        if (Samples < 0)
        {
            problems.Add("baseline samples must not be negative");
        }

        return problems;
    }
}

/// <summary>What is measured of a tensor for a drift distribution.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BaselineStatistic>))]
public enum BaselineStatistic
{
    /// <summary>Mean of all elements of the tensor (per request), binned by <see cref="BaselineDistribution.Edges"/>.</summary>
    [JsonStringEnumMemberName("mean")]
    Mean,

    /// <summary>Population standard deviation of all elements.</summary>
    [JsonStringEnumMemberName("std")]
    Std,

    [JsonStringEnumMemberName("min")]
    Min,

    [JsonStringEnumMemberName("max")]
    Max,

    /// <summary>
    /// One feature of a tabular tensor: element <see cref="BaselineDistribution.Index"/> along the last axis,
    /// one observation per row.
    /// </summary>
    [JsonStringEnumMemberName("feature")]
    Feature,

    /// <summary>Every element is an observation (a scalar score, a regression output).</summary>
    [JsonStringEnumMemberName("value")]
    Value,

    /// <summary>
    /// Categorical: the arg-max along the last axis (one class per row) for scores, or the value itself for
    /// integer label tensors. <see cref="BaselineDistribution.Counts"/> holds one count per class.
    /// </summary>
    [JsonStringEnumMemberName("class")]
    Class,
}

/// <summary>
/// One baseline distribution: a binned histogram (<see cref="Edges"/> has one more entry than
/// <see cref="Counts"/>; values outside the edges fall into the first or last bin) or, for
/// <see cref="BaselineStatistic.Class"/>, class counts. Counts may be counts or frequencies; they are normalized.
/// </summary>
public sealed record BaselineDistribution
{
    public required string Tensor { get; init; }

    public required BaselineStatistic Statistic { get; init; }

    /// <summary>The feature index along the last axis, for <see cref="BaselineStatistic.Feature"/>.</summary>
    public int? Index { get; init; }

    /// <summary>Ascending bin edges; absent for classes.</summary>
    public IReadOnlyList<double>? Edges { get; init; }

    public required IReadOnlyList<double> Counts { get; init; }

    /// <summary>Optional class names, one per count.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>A stable name: <c>x:mean</c>, <c>features:feature[3]</c>, <c>softmax:class</c>.</summary>
    [JsonIgnore]
    public string Key => Statistic == BaselineStatistic.Feature
        ? $"{Tensor}:feature[{Index}]"
        : $"{Tensor}:{Statistic.ToString().ToLowerInvariant()}";

    /// <summary>The number of bins (or classes).</summary>
    [JsonIgnore]
    public int Bins => Counts.Count;

    internal void Check(string where, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(Tensor))
        {
            problems.Add($"{where}: tensor is required");
        }

        if (Counts is null || Counts.Count == 0)
        {
            problems.Add($"{where}: counts must not be empty");
            return;
        }

        if (Counts.Any(c => c < 0 || !double.IsFinite(c)))
        {
            problems.Add($"{where}: counts must be finite and not negative");
        }
        else if (Counts.Sum() <= 0)
        {
            problems.Add($"{where}: counts must not all be zero");
        }

        if (Statistic == BaselineStatistic.Feature && Index is not >= 0)
        {
            problems.Add($"{where}: a feature needs an index of 0 or more");
        }

        if (Statistic == BaselineStatistic.Class)
        {
            if (Edges is not null)
            {
                problems.Add($"{where}: class counts take no edges");
            }

            if (Labels is not null && Labels.Count != Counts.Count)
            {
                problems.Add($"{where}: {Labels.Count} labels for {Counts.Count} classes");
            }

            return;
        }

        if (Edges is null || Edges.Count != Counts.Count + 1)
        {
            problems.Add($"{where}: edges must have one more entry than counts ({Counts.Count + 1})");
            return;
        }

        for (var i = 0; i < Edges.Count; i++)
        {
            if (!double.IsFinite(Edges[i]) || (i > 0 && Edges[i] <= Edges[i - 1]))
            {
                problems.Add($"{where}: edges must be finite and strictly ascending");
                break;
            }
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(DriftBaseline))]
internal sealed partial class DriftBaselineJsonContext : JsonSerializerContext;
