using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml status</c>: a running agent's <c>/api/health</c>, summarised for a field engineer, or raw with <c>--json</c>.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var url = AgentConnection.UrlOption();
        var token = AgentConnection.TokenOption();
        var json = new Option<bool>("--json") { Description = "Print the health document as the agent sent it" };
        var command = new Command("status", "Summarise a running agent's health: models, sync, hub, broker, disk") { url, token, json };
        command.SetAction((parse, cancellationToken) => LocalApiVerb.RunAsync("status", parse, url, token, (client, output) =>
            RunAsync(client, parse.GetValue(json), output, cancellationToken)));
        return command;
    }

    internal static async Task<int> RunAsync(LocalApiClient client, bool raw, TextWriter output, CancellationToken cancellationToken)
    {
        if (raw)
        {
            var body = await client.GetBytesAsync("/api/health", cancellationToken);
            await output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(body));
            return ExitCodes.Ok;
        }

        using var doc = await client.GetJsonAsync("/api/health", cancellationToken);
        foreach (var line in Summary(doc.RootElement))
        {
            await output.WriteLineAsync(line);
        }

        return ExitCodes.Ok;
    }

    /// <summary>One served model's lines: state, provider, latency, and what is wrong with it.</summary>
    private static IEnumerable<string> Model(JsonElement m)
    {
        var requested = string.Join(",", m.Items("requestedProviders").Select(p => p.ValueKind == JsonValueKind.String ? p.GetString() : p.GetRawText()));
        var latency = m.Get("latencyMs") ?? default;
        yield return $"  {m.Text("name")}: {m.Text("state")} {m.Version("version")} on {m.Text("provider")}{(requested.Length > 0 ? $" (asked {requested})" : "")}, "
            + $"p50 {HealthText.Ms(latency.Number("p50"))}, p99 {HealthText.Ms(latency.Number("p99"))}, {m.Text("requests")} requests, {m.Text("errors")} errors";
        foreach (var p in m.Items("chain").Where(p => p.Text("state") != "inUse"))
        {
            yield return $"    {p.Text("provider")}: {p.Text("state")}{(p.Text("reason") is var why && why != HealthText.Missing ? $": {why}" : "")}";
        }

        if (m.Flag("degraded") || m.Text("degradedReason") != HealthText.Missing)
        {
            yield return $"    degraded: {m.Text("degradedReason")}";
        }

        if (m.Get("building") is { } building && building.ValueKind is not JsonValueKind.False)
        {
            yield return $"    building: {m.Text("building")}";
        }

        if (m.Get("lastFailure") is { } f)
        {
            yield return $"    last failure: {f.Version("version")} at {f.Text("stage")}: {f.Text("reason")} ({f.Time("at")})";
        }

        if (m.Get("drift") is { } d)
        {
            yield return $"    drift: {d.Text("level")}, max PSI {d.Text("maxPsi")}";
        }
    }

    internal static IEnumerable<string> Summary(JsonElement health)
    {
        yield return $"{health.Text("deviceId")}: {health.Text("status")} (agent {health.Text("version")}, up since {health.Time("startedAt")}, at {health.Time("at")})";
        if (health.Get("ready") is { } ready)
        {
            yield return $"Ready for traffic: {(ready.Flag("ready") ? "yes" : $"no, {ready.Text("reason")}")}; desired state from {health.Text("desired")}";
        }
        yield return "";
        yield return "Models";
        var models = health.Items("models").ToArray();
        if (models.Length == 0)
        {
            yield return "  none loaded";
        }

        foreach (var line in models.SelectMany(Model))
        {
            yield return line;
        }

        var sync = health.Get("sync") ?? default;
        yield return "";
        yield return $"Sync: registry {sync.Text("registry")}, last reconcile {sync.Time("lastReconcileAt")}";
        if (sync.Text("registryError") is var registryError && registryError != HealthText.Missing)
        {
            yield return $"  registry error: {registryError}";
        }

        foreach (var s in sync.Items("models"))
        {
            var progress = s.Number("progress") is { } p ? FormattableString.Invariant($" {Math.Round(p * 100):F0}%") : "";
            var message = s.Text("message") is var text && text != HealthText.Missing ? $": {text}" : "";
            yield return $"  {s.Text("name")}: {s.Text("phase")}{progress}, desired {s.Text("desired")}, active {s.Version("activeVersion")}, target {s.Version("targetVersion")}{message}";
        }

        yield return "";
        yield return $"Hub: {Link(health.Get("hub"), null, "droppedMessages")}";
        yield return $"Broker: {Link(health.Get("broker"), "broker", "droppedEvents")}";
        var disk = health.Get("disk") ?? default;
        yield return $"Disk: {disk.Text("path")}, {HealthText.Bytes(disk.Number("freeBytes"))} free of {HealthText.Bytes(disk.Number("totalBytes"))}";
        yield return health.Get("capture") is { ValueKind: JsonValueKind.Object } capture
            ? "Capture: " + string.Join(", ", capture.EnumerateObject().Select(p => $"{p.Name} {capture.Text(p.Name)}"))
            : "Capture: off";
        foreach (var line in Accelerators(health.Get("accelerators")))
        {
            yield return line;
        }
    }

    private static IEnumerable<string> Accelerators(JsonElement? part)
    {
        if (part is not { } a)
        {
            yield break;
        }

        var onnx = a.Get("onnxRuntime") ?? default;
        yield return "";
        yield return $"Accelerators: ONNX Runtime {onnx.Text("version")} ({onnx.Text("flavour")} flavour), providers {string.Join(", ", onnx.Items("providers").Select(p => p.GetString()))}";
        var cuda = a.Get("cuda") ?? default;
        var devices = cuda.Items("devices").ToArray();
        yield return devices.Length > 0
            ? $"  CUDA driver {cuda.Text("driverVersion")}: " + string.Join("; ", devices.Select(d => $"{d.Text("index")} {d.Text("name")} ({HealthText.Bytes(d.Number("memoryBytes"))}, compute {d.Text("computeCapability")})"))
            : $"  no GPU: {cuda.Text("error")}";
        var libraries = a.Items("libraries").ToArray();
        var found = libraries.Where(l => l.Flag("found")).Select(l => l.Text("name")).ToArray();
        var missing = libraries.Where(l => !l.Flag("found")).Select(l => l.Text("name")).ToArray();
        yield return $"  libraries found: {(found.Length > 0 ? string.Join(", ", found) : "none")}; not found: {(missing.Length > 0 ? string.Join(", ", missing) : "none")}";
        yield return $"  TensorRT: {(a.Text("tensorRtVersion") is var trt && trt != HealthText.Missing ? trt : "not found")}";
    }

    private static string Link(JsonElement? part, string? target, string dropped)
    {
        if (part is not { } p || !p.Flag("configured"))
        {
            return "not configured";
        }

        var where = target is not null ? $" {p.Text(target)}" : "";
        var error = p.Text("error") is var e && e != HealthText.Missing ? $": {e}" : "";
        var drops = p.Number(dropped) is > 0 ? $", {p.Text(dropped)} dropped" : "";
        return $"{(p.Flag("connected") ? "connected" : "disconnected")}{where}{error}{drops}";
    }
}
