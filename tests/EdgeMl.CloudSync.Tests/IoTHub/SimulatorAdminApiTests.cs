using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class SimulatorAdminApiTests : IAsyncLifetime
{
    private readonly Sim _sim = new();
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await _sim.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        SimulatorHost.MapAdminApi(_app, _sim);
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        await _sim.DisposeAsync();
    }

    [Fact]
    public async Task AdminApi_CreateDevicePatchDesiredReadTwin_RoundTrips()
    {
        using var created = await _http.PostAsync(new Uri("devices/dev1", UriKind.Relative), null);
        var connectionString = await created.Content.ReadAsStringAsync();
        using var patch = new StringContent("""{"threshold":0.7}""", Encoding.UTF8, "application/json");
        using var patched = await _http.PatchAsync(new Uri("twins/dev1/desired", UriKind.Relative), patch);
        var twin = await _http.GetFromJsonAsync<JsonObject>(new Uri("twins/dev1", UriKind.Relative));
        var method = await _http.PostAsync(new Uri("methods/dev1/reload", UriKind.Relative), null);
        var methodBody = await method.Content.ReadFromJsonAsync<JsonObject>();
        method.Dispose();

        Assert.Contains("DeviceId=dev1;SharedAccessKey=", connectionString, StringComparison.Ordinal);
        Assert.True(patched.IsSuccessStatusCode);
        Assert.Equal(0.7, twin!["desired"]!["threshold"]!.GetValue<double>());
        Assert.Equal(2, twin["desired"]!["$version"]!.GetValue<int>());
        Assert.Equal(404, methodBody!["status"]!.GetValue<int>());
    }
}
