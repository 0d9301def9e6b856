using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Tests.Http;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace EdgeMl.Agent.Tests.Diagnostics;

/// <summary>
/// The real HTTP API on Kestrel with the real engine serving the fixture classifier (asked for on
/// <c>cuda,cpu</c>, so it is degraded here), plus test-owned <c>/api/health</c>, <c>/api/events</c> and
/// <c>/api/support-bundle</c> that follow the health contract and that a test changes while it runs.
/// </summary>
internal sealed class FieldAgent : IAsyncDisposable
{
    public const string Model = "ocr-cls";
    private static readonly DateTimeOffset Started = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly List<JsonObject> _events = [];
    private readonly Lock _lock = new();
    private string _health = "{}";
    private int _stopped;

    private FieldAgent(ApiHost host) => Host = host;

    public ApiHost Host { get; }

    public Uri Address => Host.Address;

    /// <summary>Bytes served at <c>/api/support-bundle</c>.</summary>
    public byte[] SupportBundle { get; } = """{"deviceId":"field-1"}"""u8.ToArray();

    public static async Task<FieldAgent> StartAsync(string? token = null)
    {
        FieldAgent? agent = null;
        var host = await ApiHost.StartAsync(
            o => o.Token = token,
            app =>
            {
                app.MapGet("/api/health", () => Results.Text(agent!.HealthJson, "application/json"));
                app.MapGet("/api/events", (int? max) => Results.Text(agent!.EventsJson(max ?? 100), "application/json"));
                app.MapGet("/api/support-bundle", () => Results.File(agent!.SupportBundle, "application/json"));
            },

            // The real drift monitors; a model is monitored once a test activates it with a baseline.
            services => services.AddDrift(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Drift:MinSamples"] = "4",
            }).Build()));
        agent = new FieldAgent(host);
        var activation = await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            Providers = ProviderChainOptions.Of(ProviderPolicy.Prefer, ProviderNames.Cuda, ProviderNames.Cpu),
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        agent.SetHealth(phase: "downloading", progress: 0.4, message: "fetching v2 (40 %)");
        agent.AddEvent("started", null, null, "agent started");
        return agent;
    }

    public string HealthJson
    {
        get
        {
            lock (_lock)
            {
                return _health;
            }
        }
    }

    /// <summary>A health document per the contract, with the model section read from the real engine.</summary>
    /// <param name="notReady">Why the agent is not ready for traffic; null when it is.</param>
    public void SetHealth(string phase, double? progress, string? message, long targetVersion = 2, string status = "degraded", string? notReady = null)
    {
        var models = new JsonArray();
        foreach (var m in Host.Engine.GetStatuses())
        {
            models.Add(new JsonObject
            {
                ["name"] = m.Name,
                ["state"] = m.State.ToString().ToLowerInvariant(),
                ["version"] = m.Version,
                ["provider"] = m.Providers?.Effective,
                ["requestedProviders"] = new JsonArray([.. (m.Providers?.Requested ?? []).Select(p => JsonValue.Create(p))]),
                ["chain"] = new JsonArray([.. (m.Providers?.Chain ?? []).Select(p => new JsonObject
                {
                    ["provider"] = p.Provider,
                    ["state"] = JsonNamingPolicy.CamelCase.ConvertName(p.State.ToString()),
                    ["reason"] = p.Reason,
                })]),
                ["degraded"] = m.Providers?.IsDegraded ?? false,
                ["degradedReason"] = m.Providers?.DegradedReason,
                ["building"] = null,
                ["latencyMs"] = new JsonObject { ["p50"] = 1.25, ["p99"] = 3.5 },
                ["requests"] = 1234,
                ["errors"] = 2,
                ["lastFailure"] = null,
                ["drift"] = new JsonObject { ["level"] = "none", ["maxPsi"] = 0.031 },
            });
        }

        var active = phase == "active" ? targetVersion : targetVersion - 1;
        var doc = new JsonObject
        {
            ["deviceId"] = "press-line-7",
            ["status"] = status,
            ["ready"] = new JsonObject { ["ready"] = notReady is null, ["reason"] = notReady },
            ["desired"] = "twin",
            ["startedAt"] = Started.ToString("O", CultureInfo.InvariantCulture),
            ["at"] = Started.AddMinutes(5).ToString("O", CultureInfo.InvariantCulture),
            ["version"] = "1.4.0",
            ["models"] = models,
            ["sync"] = new JsonObject
            {
                ["registry"] = "https://registry.example/models",
                ["registryError"] = null,
                ["lastReconcileAt"] = Started.AddMinutes(4).ToString("O", CultureInfo.InvariantCulture),
                ["models"] = new JsonArray(new JsonObject
                {
                    ["name"] = Model,
                    ["desired"] = "latest",
                    ["phase"] = phase,
                    ["activeVersion"] = active,
                    ["targetVersion"] = targetVersion,
                    ["progress"] = progress,
                    ["message"] = message,
                }),
            },
            ["hub"] = new JsonObject { ["configured"] = true, ["connected"] = true, ["error"] = null, ["droppedMessages"] = 0 },
            ["broker"] = new JsonObject { ["configured"] = true, ["connected"] = false, ["broker"] = "mqtts://broker.local:8883", ["error"] = "connection refused", ["droppedEvents"] = 17 },
            ["disk"] = new JsonObject { ["path"] = "/var/lib/edgeml", ["freeBytes"] = 12_500_000_000L, ["totalBytes"] = 32_000_000_000L },
            ["capture"] = new JsonObject { ["enabled"] = true, ["rows"] = 5120, ["usedBytes"] = 48_000_000L, ["evicted"] = 0 },
            // A GPU box whose image lacks cuDNN: the driver and the GPU are there, one library is not.
            ["accelerators"] = new JsonObject
            {
                ["onnxRuntime"] = new JsonObject { ["version"] = "1.32.0", ["flavour"] = "gpu", ["providers"] = new JsonArray("tensorrt", "cuda", "cpu"), ["library"] = "/app/runtimes/linux-x64/native/libonnxruntime.so" },
                ["libraries"] = new JsonArray(
                    new JsonObject { ["name"] = "libcuda.so.1", ["found"] = true, ["detail"] = null },
                    new JsonObject { ["name"] = "libcudnn.so.9", ["found"] = false, ["detail"] = "libcudnn.so.9: cannot open shared object file: No such file or directory" }),
                ["cuda"] = new JsonObject
                {
                    ["driverVersion"] = "13.0",
                    ["error"] = null,
                    ["devices"] = new JsonArray(new JsonObject { ["index"] = 0, ["name"] = "NVIDIA A2", ["memoryBytes"] = 15_716_581_376L, ["computeCapability"] = "8.6" }),
                },
                ["tensorRtVersion"] = null,
            },
        };
        lock (_lock)
        {
            _health = doc.ToJsonString();
        }
    }

    /// <summary>Replaces the whole document, e.g. with one that leaves fields out.</summary>
    public void SetHealth(JsonObject document)
    {
        lock (_lock)
        {
            _health = document.ToJsonString();
        }
    }

    public void AddEvent(string kind, string? model, long? version, string message)
    {
        lock (_lock)
        {
            _events.Add(new JsonObject
            {
                ["at"] = Started.AddMinutes(_events.Count).ToString("O", CultureInfo.InvariantCulture),
                ["kind"] = kind,
                ["model"] = model,
                ["version"] = version,
                ["message"] = message,
            });
        }
    }

    private string EventsJson(int max)
    {
        lock (_lock)
        {
            return new JsonArray([.. _events.Skip(Math.Max(0, _events.Count - max)).Select(e => e.DeepClone())]).ToJsonString();
        }
    }

    /// <summary>Stops the agent, as when it crashes or the device reboots; disposing afterwards is a no-op.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await Host.DisposeAsync();
        }
    }
}
