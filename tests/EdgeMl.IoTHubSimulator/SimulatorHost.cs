using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EdgeMl.IoTHubSimulator;

/// <summary>The standalone simulator: the MQTT endpoint plus a small admin HTTP API to drive it.</summary>
public static class SimulatorHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var options = new IoTHubSimulatorOptions
        {
            Port = int.Parse(Arg("--port", "8883"), CultureInfo.InvariantCulture),
            HubHostName = Arg("--hub", "sim-hub.azure-devices.net"),
            EdgeHubMode = args.Contains("--edgehub"),
        };
        await using var simulator = new IoTHubSimulator(options);
        await simulator.StartAsync();
        var caOut = Path.GetFullPath(Arg("--ca-out", "iothub-sim-ca.pem"));
        await File.WriteAllTextAsync(caOut, simulator.Certificates.CertificateAuthorityPem);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://{Arg("--http", "127.0.0.1:8080")}");
        await using var app = builder.Build();
        MapAdminApi(app, simulator);
        Console.WriteLine($"IoT Hub simulator: mqtts://127.0.0.1:{simulator.Port} (hub {simulator.HubHostName}), CA in {caOut}");
        await app.RunAsync();
        return 0;
    }

    /// <summary>
    /// POST /devices/{d}[/modules/{m}] → connection string · GET /twins/{d}[/{m}] · PATCH /twins/{d}[/{m}]/desired ·
    /// PATCH /twins/{d}/{m}/tags · POST /methods/{d}[/{m}]/{name}?timeout=30 · GET /messages · GET /traffic · GET /ca.pem.
    /// </summary>
    public static void MapAdminApi(WebApplication app, IoTHubSimulator simulator)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(simulator);
        SimulatedIdentity? Find(string d, string? m) => simulator.Identities.FirstOrDefault(i => i.DeviceId == d && i.ModuleId == m);

        app.MapPost("/devices/{deviceId}", (string deviceId) =>
            Results.Text(simulator.ConnectionString(Find(deviceId, null) ?? simulator.AddDevice(deviceId))));
        app.MapPost("/devices/{deviceId}/modules/{moduleId}", (string deviceId, string moduleId) =>
            Results.Text(simulator.ConnectionString(Find(deviceId, moduleId) ?? simulator.AddModule(deviceId, moduleId))));

        app.MapGet("/twins/{deviceId}/{moduleId?}", (string deviceId, string? moduleId) =>
            Find(deviceId, moduleId) is { } id ? Results.Text(id.Twin.ToProperties(true).ToJsonString(), "application/json") : Results.NotFound());

        app.MapMethods("/twins/{deviceId}/desired", ["PATCH"], (string deviceId, HttpRequest request) => PatchDesired(deviceId, null, request));
        app.MapMethods("/twins/{deviceId}/{moduleId}/desired", ["PATCH"], (string deviceId, string moduleId, HttpRequest request) => PatchDesired(deviceId, moduleId, request));

        app.MapPost("/methods/{deviceId}/{name}", (string deviceId, string name, HttpRequest request) => Invoke(deviceId, null, name, request));
        app.MapPost("/methods/{deviceId}/{moduleId}/{name}", (string deviceId, string moduleId, string name, HttpRequest request) => Invoke(deviceId, moduleId, name, request));

        app.MapGet("/messages", () => Results.Json(new JsonArray(simulator.Messages.Select(m => (JsonNode)new JsonObject
        {
            ["identity"] = m.IdentityKey,
            ["topic"] = m.Topic,
            ["body"] = m.BodyText,
            ["system"] = new JsonObject(m.SystemProperties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["properties"] = new JsonObject(m.ApplicationProperties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        }).ToArray())));

        app.MapMethods("/twins/{deviceId}/{moduleId}/tags", ["PATCH"], async (string deviceId, string moduleId, HttpRequest request) =>
        {
            if (Find(deviceId, moduleId) is not { } id)
            {
                return Results.NotFound();
            }

            if (await JsonNode.ParseAsync(request.Body) is not JsonObject patch)
            {
                return Results.BadRequest("expected a JSON object");
            }

            id.Twin.PatchTags(patch);
            return Results.Json(id.Twin.Tags);
        });

        // What each identity sent, as IoT Hub meters it (reported patches, twin GETs, device-to-cloud messages, connections).
        app.MapGet("/traffic", () => Results.Json(new JsonObject(simulator.Identities.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i =>
        {
            var t = i.Traffic.Snapshot();
            return KeyValuePair.Create(i.Key, (JsonNode?)new JsonObject
            {
                ["reportedPatches"] = t.ReportedPatches,
                ["twinGets"] = t.TwinGets,
                ["deviceToCloudMessages"] = t.DeviceToCloudMessages,
                ["connections"] = t.Connections,
                ["lastConnectedAt"] = i.LastConnectedAt?.ToString("O", CultureInfo.InvariantCulture),
            });
        }))));

        app.MapGet("/ca.pem", () => Results.Text(simulator.Certificates.CertificateAuthorityPem, "application/x-pem-file"));

        async Task<IResult> PatchDesired(string deviceId, string? moduleId, HttpRequest request)
        {
            if (Find(deviceId, moduleId) is not { } id)
            {
                return Results.NotFound();
            }

            if (await JsonNode.ParseAsync(request.Body) is not JsonObject patch)
            {
                return Results.BadRequest("expected a JSON object");
            }

            return Results.Json(new JsonObject { ["$version"] = await simulator.UpdateDesiredAsync(id, patch) });
        }

        async Task<IResult> Invoke(string deviceId, string? moduleId, string name, HttpRequest request)
        {
            if (Find(deviceId, moduleId) is not { } id)
            {
                return Results.NotFound();
            }

            var timeout = TimeSpan.FromSeconds(int.TryParse(request.Query["timeout"], CultureInfo.InvariantCulture, out var s) ? s : 30);
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var payload = await reader.ReadToEndAsync();
            var result = await simulator.InvokeMethodRawAsync(id, name, Encoding.UTF8.GetBytes(payload.Length == 0 ? "null" : payload), timeout);
            return Results.Json(new JsonObject { ["status"] = result.Status, ["payload"] = result.Payload is null ? null : JsonNode.Parse(result.Payload) });
        }
    }
}
