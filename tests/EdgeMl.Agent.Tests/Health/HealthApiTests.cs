using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Methods;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Http;
using EdgeMl.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Tests.Health;

/// <summary><c>/api/health</c>, <c>/api/events</c> and <c>/api/support-bundle</c> on Kestrel on loopback, behind the bearer token.</summary>
public sealed class HealthApiTests : IAsyncLifetime
{
    private const string Token = "health-test-token";
    private readonly string _data = Directory.CreateTempSubdirectory("edgeml-health-api-").FullName;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddEdgeMlRuntime();
        builder.Services.AddHttpApi();
        builder.Services.Configure<HttpApiOptions>(o => o.Token = Token);
        builder.Services.Configure<AgentOptions>(o => (o.DataDirectory, o.DeviceId) = (_data, "dev-api"));
        builder.Services.AddSingleton<AgentEventLog>();
        builder.Services.AddHealthReporting();
        builder.Services.AddDirectMethods();
        _app = builder.Build();
        _app.UseHttpApi();
        _app.MapHealthApi().MapSupportBundle();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task GetHealth_WithToken_AnswersTheDocumentAsJson()
    {
        using var response = await Get("/api/health", Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("dev-api", json.RootElement.GetProperty("deviceId").GetString());
        Assert.Equal("healthy", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("1.32.0", json.RootElement.GetProperty("accelerators").GetProperty("onnxRuntime").GetProperty("version").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("models").GetArrayLength());
    }

    [Fact]
    public async Task Versions_ServerMetadataHealthAndSupportBundle_OneAgentVersion()
    {
        using var server = await Get("/v2", Token);
        using var health = await Get("/api/health", Token);
        using var bundle = await Get("/api/support-bundle", Token);

        var versions = new[]
        {
            JsonDocument.Parse(await server.Content.ReadAsStringAsync()).RootElement.GetProperty("version").GetString(),
            JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("version").GetString(),
            JsonDocument.Parse(await bundle.Content.ReadAsStringAsync()).RootElement.GetProperty("versions").GetProperty("agent").GetString(),
        };
        Assert.All(versions, v => Assert.Equal(AgentVersion.Value, v));
    }

    [Fact]
    public async Task GetHealth_WithoutToken_401()
    {
        using var response = await Get("/api/health", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GetEvents_Max2_TheNewestTwoOldestFirst()
    {
        var log = _app.Services.GetRequiredService<AgentEventLog>();
        for (var i = 1; i <= 4; i++)
        {
            log.Add(AgentEventKinds.Activated, "ocr-cls", i, $"v{i} activated");
        }

        using var response = await Get("/api/events?max=2", Token);
        using var bad = await Get("/api/events?max=zero", Token);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal([3L, 4L], json.RootElement.EnumerateArray().Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task GetSupportBundle_WithToken_HasHealthAndNoToken()
    {
        using var response = await Get("/api/support-bundle", Token);

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("dev-api", JsonDocument.Parse(text).RootElement.GetProperty("health").GetProperty("deviceId").GetString());
        Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> Get(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _client.SendAsync(request);
    }
}
