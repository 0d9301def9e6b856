using System.Text.Json;
using EdgeMl.Agent.Drift;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Diagnostics;

/// <summary>
/// <c>/api/drift</c>: for each drift-monitored model, every distribution's baseline proportions beside the live
/// window's counts over the same bins, with PSI, KS and Jensen–Shannon, so the page can draw what a bare PSI only
/// summarizes.
/// </summary>
internal static class DriftView
{
    public static void WriteJson(Utf8JsonWriter json, DriftRegistry? registry)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteStartArray("models");
        foreach (var monitor in (registry?.Monitors ?? []).OrderBy(m => m.Model, StringComparer.Ordinal))
        {
            var distributions = monitor.Distributions();
            var known = distributions.Select(d => d.Drift.Level).Where(l => l != DriftLevel.Unknown).ToArray();
            json.WriteStartObject();
            json.WriteString("name", monitor.Model);
            json.WriteNumber("version", monitor.Version);
            json.WriteString("level", Name(known.Length == 0 ? DriftLevel.Unknown : known.Max()));
            json.WriteStartArray("distributions");
            foreach (var distribution in distributions)
            {
                Write(json, distribution);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Write(Utf8JsonWriter json, DriftDistribution distribution)
    {
        var (baseline, live, drift) = (distribution.Baseline, distribution.Live, distribution.Drift);
        json.WriteStartObject();
        json.WriteString("key", baseline.Key);
        json.WriteString("tensor", baseline.Tensor);
        json.WriteString("side", drift.Side);
        json.WriteString("statistic", Name(baseline.Statistic));
        if (baseline.Edges is { } edges)
        {
            Numbers(json, "edges", edges);
        }

        if (baseline.Labels is { } labels)
        {
            json.WriteStartArray("labels");
            foreach (var label in labels)
            {
                json.WriteStringValue(label);
            }

            json.WriteEndArray();
        }

        Numbers(json, "baseline", DriftStatistics.Normalize([.. baseline.Counts]));
        json.WriteStartArray("live");
        foreach (var count in live)
        {
            json.WriteNumberValue(count);
        }

        json.WriteEndArray();
        json.WriteNumber("samples", drift.Samples);
        json.WriteNumber("psi", Math.Round(drift.PopulationStabilityIndex, 6));
        json.WriteNumber("ks", Math.Round(drift.KolmogorovSmirnov, 6));
        json.WriteNumber("js", Math.Round(drift.JensenShannon, 6));
        json.WriteString("level", Name(drift.Level));
        json.WriteEndObject();
    }

    // Edges from a manifest are finite (the manifest is checked when the package is verified); rounding keeps the
    // document small.
    private static void Numbers(Utf8JsonWriter json, string name, IEnumerable<double> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteNumberValue(double.IsFinite(value) ? Math.Round(value, 6) : 0);
        }

        json.WriteEndArray();
    }

    private static string Name<T>(T value) where T : struct, Enum => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());
}
