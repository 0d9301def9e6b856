using EdgeMl.Agent.Http;
using EdgeMl.Agent.Telemetry;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Tests.Http;

/// <summary>The real HTTP API on Kestrel, on a free loopback port, serving a real engine.</summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiHost(WebApplication app, Uri address)
    {
        _app = app;
        Client = new HttpClient { BaseAddress = address };
    }

    public HttpClient Client { get; }

    public InferenceEngine Engine => _app.Services.GetRequiredService<InferenceEngine>();

    public Uri Address => Client.BaseAddress!;

    public IServiceProvider Services => _app.Services;

    /// <param name="map">Routes to add beside the API, e.g. a test's stand-in for an endpoint built elsewhere.</param>
    /// <param name="services">Features to register beside the API, e.g. drift monitoring.</param>
    public static async Task<ApiHost> StartAsync(
        Action<HttpApiOptions>? configure = null, Action<IEndpointRouteBuilder>? map = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        builder.Services.AddEdgeMlRuntime();
        builder.Services.AddHttpApi();
        builder.Services.Configure<HttpApiOptions>(o => configure?.Invoke(o));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseHttpApi();
        map?.Invoke(app);
        app.Services.StartTelemetry();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ApiHost(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
