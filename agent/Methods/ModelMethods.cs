using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Sync;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Secrets;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Methods;

/// <summary>
/// The direct methods operators call on the device: <c>getHealth</c>, <c>listModels</c>, <c>activateModel</c>,
/// <c>rollbackModel</c> and <c>getSupportBundle</c>. A payload missing a field or carrying the wrong type is
/// answered 400 with what was expected; model control answers with its own status (404, 409, 500…).
/// </summary>
internal sealed class ModelMethods(
    HealthCollector collector,
    InferenceEngine engine,
    SupportBundle bundle,
    HealthMetrics metrics,
    ILogger<ModelMethods> logger,
    IServiceProvider services)
{
    public const string GetHealth = "getHealth";
    public const string ListModels = "listModels";
    public const string ActivateModel = "activateModel";
    public const string RollbackModel = "rollbackModel";
    public const string GetSupportBundle = "getSupportBundle";

    public IReadOnlyDictionary<string, DirectMethodHandler> Handlers => new Dictionary<string, DirectMethodHandler>(StringComparer.Ordinal)
    {
        [GetHealth] = (request, ct) => Guard((_, _) => Task.FromResult(DirectMethodResponse.Ok(HealthJson.ToNode(collector.Collect()))), request, ct),
        [ListModels] = (request, ct) => Guard((_, _) => Task.FromResult(DirectMethodResponse.Ok(new JsonObject { ["models"] = Models() })), request, ct),
        [ActivateModel] = (request, ct) => Guard(ActivateAsync, request, ct),
        [RollbackModel] = (request, ct) => Guard(RollbackAsync, request, ct),
        [GetSupportBundle] = (request, ct) => Guard((_, _) => Task.FromResult(DirectMethodResponse.Ok(bundle.Build())), request, ct),
    };

    internal static JsonObject Serving(ModelStatus status) => new()
    {
        ["state"] = HealthJsonContext.Name(status.State),
        ["version"] = status.Version,
        ["provider"] = status.Providers?.Effective,
        ["degraded"] = status.Providers?.IsDegraded ?? false,
        ["building"] = status.Building,
    };

    internal static JsonObject Providers(ProviderReport report) => new()
    {
        ["requested"] = new JsonArray(report.Requested.Select(p => (JsonNode)p).ToArray()),
        ["applied"] = new JsonArray(report.Applied.Select(p => (JsonNode)p).ToArray()),
        ["skipped"] = new JsonArray(report.Skipped.Select(s => (JsonNode)new JsonObject { ["provider"] = s.Provider, ["state"] = HealthJsonContext.Name(s.State), ["reason"] = s.Reason }).ToArray()),
        ["policy"] = HealthJsonContext.Name(report.Policy),
        ["effective"] = report.Effective,
        ["degraded"] = report.IsDegraded,
        ["degradedReason"] = report.DegradedReason,
    };

    private JsonArray Models() => InstalledModels(engine, services.GetService<ModelStore>(), detailed: false);

    /// <summary>Every model served or installed: versions on disk, the active and previous one, and how it serves.</summary>
    /// <param name="detailed">Adds the provider report and the last rejection (the support bundle's view).</param>
    internal static JsonArray InstalledModels(InferenceEngine engine, ModelStore? store, bool detailed)
    {
        var statuses = engine.GetStatuses().ToDictionary(s => s.Name, StringComparer.Ordinal);
        var names = new SortedSet<string>(statuses.Keys, StringComparer.Ordinal);
        if (store is not null && Directory.Exists(store.ModelsFolder))
        {
            foreach (var folder in Directory.EnumerateDirectories(store.ModelsFolder))
            {
                names.Add(Path.GetFileName(folder));
            }
        }

        var models = new JsonArray();
        foreach (var name in names)
        {
            var status = statuses.GetValueOrDefault(name);
            var active = store?.GetActive(name);
            var model = new JsonObject
            {
                ["name"] = name,
                ["installed"] = new JsonArray((store?.GetInstalledVersions(name) ?? []).Select(v => (JsonNode)v).ToArray()),
                ["active"] = active?.Version,
                ["previous"] = active?.Previous,
                ["serving"] = status is null ? null : Serving(status),
            };
            if (detailed)
            {
                model["providers"] = status?.Providers is { } p ? Providers(p) : null;
                model["lastRejection"] = store?.GetLastRejection(name) is { } r
                    ? new JsonObject { ["version"] = r.Version, ["stage"] = r.Stage, ["reason"] = r.Reason, ["at"] = r.At }
                    : null;
            }

            models.Add((JsonNode)model);
        }

        return models;
    }

    private async Task<DirectMethodResponse> ActivateAsync(DirectMethodRequest request, CancellationToken cancellationToken)
    {
        if (Arguments(request, out var problem, ("name", JsonValueKind.String), ("version", JsonValueKind.Number)) is not { } args)
        {
            return Error(400, $"activateModel expects {{\"name\": string, \"version\": integer}}: {problem}");
        }

        if (!args["version"]!.AsValue().TryGetValue(out long version) || version < 1)
        {
            return Error(400, "activateModel expects {\"name\": string, \"version\": integer}: 'version' must be a positive integer");
        }

        if (services.GetService<IModelControl>() is not { } control)
        {
            return Error(503, "model control is not available on this agent");
        }

        return Result(await control.ActivateAsync(args["name"]!.GetValue<string>(), version, cancellationToken).ConfigureAwait(false));
    }

    private async Task<DirectMethodResponse> RollbackAsync(DirectMethodRequest request, CancellationToken cancellationToken)
    {
        if (Arguments(request, out var problem, ("name", JsonValueKind.String)) is not { } args)
        {
            return Error(400, $"rollbackModel expects {{\"name\": string}}: {problem}");
        }

        if (services.GetService<IModelControl>() is not { } control)
        {
            return Error(503, "model control is not available on this agent");
        }

        return Result(await control.RollbackAsync(args["name"]!.GetValue<string>(), cancellationToken).ConfigureAwait(false));
    }

    /// <returns>The payload object when every field is present with its kind (and strings are not empty); otherwise null and why.</returns>
    internal static JsonObject? Arguments(DirectMethodRequest request, out string problem, params (string Name, JsonValueKind Kind)[] fields)
    {
        JsonNode? payload;
        try
        {
            payload = request.PayloadJson;
        }
        catch (JsonException e)
        {
            problem = $"the payload is not JSON ({e.Message})";
            return null;
        }

        if (payload is not JsonObject args)
        {
            problem = payload is null ? "the payload is empty" : $"the payload is a {payload.GetValueKind().ToString().ToLowerInvariant()}, not an object";
            return null;
        }

        foreach (var (name, kind) in fields)
        {
            if (args[name] is not { } value)
            {
                problem = $"'{name}' is missing";
                return null;
            }

            var actual = value.GetValueKind();
            if (actual != kind || (kind == JsonValueKind.String && value.GetValue<string>().Length == 0))
            {
                problem = $"'{name}' must be a non-empty {(kind == JsonValueKind.Number ? "integer" : kind.ToString().ToLowerInvariant())}, not {(actual == JsonValueKind.String ? "a string" : actual.ToString().ToLowerInvariant())}";
                return null;
            }
        }

        problem = "";
        return args;
    }

    private static DirectMethodResponse Result(ModelControlResult result) =>
        new(result.Status, new JsonObject { ["status"] = result.Status, ["message"] = result.Message, ["activeVersion"] = result.ActiveVersion });

    private static DirectMethodResponse Error(int status, string message) => new(status, new JsonObject { ["status"] = status, ["message"] = message });

    private async Task<DirectMethodResponse> Guard(
        Func<DirectMethodRequest, CancellationToken, Task<DirectMethodResponse>> handler, DirectMethodRequest request, CancellationToken cancellationToken)
    {
        DirectMethodResponse response;
        try
        {
            response = await handler(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The caller gets a 500 with the reason instead of a timeout; the agent keeps serving.
            Log.MethodFailed(logger, request.Name, e);
            response = Error(500, $"{request.Name} failed: {SecretRedactor.RedactValue(e.Message)}");
        }

        metrics.MethodAnswered(request.Name, response.Status);
        Log.MethodAnswered(logger, request.Name, response.Status);
        return response;
    }
}

/// <summary>Registers the direct methods on the IoT Hub client at start (when there is one) and removes them at stop.</summary>
internal sealed class DirectMethodRegistration(ModelMethods methods, ILogger<DirectMethodRegistration> logger, IServiceProvider services) : Microsoft.Extensions.Hosting.IHostedService
{
    private readonly IIoTHubClient? _hub = services.GetService<IIoTHubClient>();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_hub is not null)
        {
            foreach (var (name, handler) in methods.Handlers)
            {
                _hub.SetMethodHandler(name, handler);
            }

            Log.MethodsRegistered(logger, string.Join(", ", methods.Handlers.Keys));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_hub is not null)
        {
            foreach (var name in methods.Handlers.Keys)
            {
                _hub.SetMethodHandler(name, null);
            }
        }

        return Task.CompletedTask;
    }
}
