using EdgeMl.Agent.Grpc;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Telemetry;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Serving;
using Grpc.Net.Client;
using Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Tests.Grpc;

/// <summary>The HTTP API and the gRPC service of one agent, each on a free loopback port, serving one real engine.</summary>
internal sealed class GrpcApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcApiHost(WebApplication app, Uri http, Uri grpc)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = http };
        Channel = GrpcChannel.ForAddress(grpc);
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
        GrpcAddress = grpc;
    }

    public HttpClient Http { get; }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    public Uri GrpcAddress { get; }

    public IServiceProvider Services => _app.Services;

    public InferenceEngine Engine => _app.Services.GetRequiredService<InferenceEngine>();

    public static async Task<GrpcApiHost> StartAsync(Action<HttpApiOptions>? configure = null, Action<IServiceCollection>? services = null, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["EdgeMl:Grpc:Urls"] = "http://127.0.0.1:0" })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        builder.Services.AddEdgeMlRuntime();
        builder.Services.AddHttpApi();
        builder.Services.AddGrpcApi(configuration);
        builder.Services.Configure<HttpApiOptions>(o => configure?.Invoke(o));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseHttpApi();
        app.Services.StartTelemetry();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var http = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var grpc = app.Services.GetRequiredService<GrpcServer>().Addresses[0];
        return new GrpcApiHost(app, new Uri(http), new Uri(grpc));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
