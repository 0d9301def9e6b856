using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.IoTHubSimulator;

/// <summary>
/// The IoT Edge workload API on a Unix socket, as the documented endpoints (api-version 2018-06-28): sign with
/// the module's key from the simulator, and the trust bundle (the simulator's CA).
/// </summary>
public sealed class WorkloadApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WorkloadApiServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public Uri Uri => new($"unix://{SocketPath}");

    public int SignRequests { get; private set; }

    /// <summary>Answer every request with this status (e.g. 500) to test failures; null serves normally.</summary>
    public int? FailWith { get; set; }

    public static async Task<WorkloadApiServer> StartAsync(IoTHubSimulator simulator, string deviceId, string socketPath)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath));
        var app = builder.Build();
        var server = new WorkloadApiServer(app, socketPath);

        app.Use(async (context, next) =>
        {
            if (server.FailWith is { } status)
            {
                context.Response.StatusCode = status;
                await context.Response.WriteAsJsonAsync(new JsonObject { ["message"] = "simulated failure" });
                return;
            }

            var version = context.Request.Query["api-version"].ToString();
            if (string.CompareOrdinal(version, "2018-06-28") < 0)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new JsonObject { ["message"] = $"api-version '{version}' is not supported" });
                return;
            }

            await next(context);
        });

        app.MapPost("/modules/{moduleId}/genid/{genId}/sign", async (string moduleId, string genId, HttpContext context) =>
        {
            server.SignRequests++;
            var body = await context.Request.ReadFromJsonAsync<JsonObject>();
            var identity = simulator.Identities.FirstOrDefault(i => i.DeviceId == deviceId && i.ModuleId == moduleId);
            if (identity?.PrimaryKey is null)
            {
                return Results.Json(new JsonObject { ["message"] = $"Module '{moduleId}' not found" }, statusCode: 404);
            }

            if (body?["data"]?.GetValue<string>() is not { } data)
            {
                return Results.Json(new JsonObject { ["message"] = "data is required" }, statusCode: 400);
            }

            var digest = HMACSHA256.HashData(Convert.FromBase64String(identity.PrimaryKey), Convert.FromBase64String(data));
            return Results.Json(new JsonObject { ["digest"] = Convert.ToBase64String(digest) });
        });

        app.MapGet("/trust-bundle", () => Results.Json(new JsonObject { ["certificate"] = simulator.Certificates.CertificateAuthorityPem }));

        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        File.Delete(SocketPath);
    }
}
