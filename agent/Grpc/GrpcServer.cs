using EdgeMl.Agent.Http;
using EdgeMl.Agent.Sequences;
using EdgeMl.Agent.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// The gRPC front door: a Kestrel of its own on <see cref="GrpcApiOptions.Urls"/>, HTTP/2 only (cleartext gRPC
/// clients speak HTTP/2 from the first byte), serving <see cref="InferenceGrpcService"/>. Its own server keeps the
/// two ports' pipelines apart: nothing of the HTTP API answers here and no gRPC method answers on the HTTP port.
/// The agent's singletons (pipeline, readiness, drain) are handed in, so a prediction here is the same as over HTTP.
/// </summary>
/// <remarks>The token rule of the HTTP API is checked on the addresses this server bound, as <see cref="BoundAddressCheck"/> does for the HTTP port.</remarks>
internal sealed partial class GrpcServer(IServiceProvider services, IOptions<GrpcApiOptions> options, IOptions<HttpApiOptions> http, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<GrpcServer>();
    private WebApplication? _app;

    /// <summary>The gRPC server's own container once started (tests look at what it holds).</summary>
    internal IServiceProvider? ServerServices => _app?.Services;

    /// <summary>The addresses bound once started (the real port when 0 was asked for); empty when the service is off.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var urls = Split(options.Value.Urls);
        if (urls.Length == 0)
        {
            return;
        }

        var app = Build(urls);
        app.MapGrpcService<InferenceGrpcService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Urls.ToArray();
        var problems = BoundAddressCheck.Problems(bound, http.Value.Token, new HashSet<int>())
            .Select(p => p.Replace("the API listens on", "the gRPC service listens on", StringComparison.Ordinal)).ToList();
        if (problems.Count > 0)
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw new OptionsValidationException(HttpApiOptions.Section, typeof(HttpApiOptions), problems);
        }

        _app = app;
        Addresses = bound;
        Log.Listening(_logger, string.Join(", ", bound));
    }

    /// <summary>The gRPC server's own host: HTTP/2 only, its transport tuned, the gate and the front door from the agent.</summary>
    private WebApplication Build(string[] urls)
    {
        // A bare builder: the agent's appsettings.json and environment are the outer host's, not this server's. The
        // sources are cleared, but a watcher the builder started on appsettings.json would outlive them: none is started.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [SettingsFiles.ReadOnce], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<ILoggerFactory>(new ServerLoggers(loggers));
        builder.Services.AddSingleton<IHostLifetime, ServerLifetime>();
        builder.WebHost.UseUrls(urls);
        var limit = (int)Math.Min(http.Value.MaxRequestBodyBytes, int.MaxValue);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
            GrpcTransport.Apply(k.Limits.Http2, limit);
        });
        builder.WebHost.UseSockets(GrpcTransport.Apply);

        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = limit;
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = false;

            // Answers are tensors: compressing them costs more CPU than loopback or a LAN saves, whatever the client accepts.
            grpc.ResponseCompressionAlgorithm = null;
            grpc.Interceptors.Add<GrpcGate>();
        });
        // One gate for every call: an interceptor not in the container is built anew for each call (the token's bytes
        // and the host rules with it), which the profile of the request path showed.
        builder.Services.AddSingleton<GrpcGate>();
        builder.Services.AddSingleton(new GrpcFrontDoor(
            services.GetRequiredService<PredictionPipeline>(),
            services.GetRequiredService<SequenceStore>(),
            services.GetRequiredService<ServingReadiness>(),
            services.GetService<ShutdownDrain>(),
            services.GetService<ServingMetrics>(),
            services.GetService<BoundAddressCheck>(),
            http.Value));
        return builder.Build();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    internal static string[] Split(string? urls) => (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static partial class Log
    {
        [LoggerMessage(5700, LogLevel.Information, "gRPC inference service (inference.GRPCInferenceService) listening on {Addresses}")]
        public static partial void Listening(ILogger logger, string addresses);
    }
}

/// <summary>What the gRPC server borrows from the agent.</summary>
internal sealed record GrpcFrontDoor(
    PredictionPipeline Pipeline,
    SequenceStore Sequences,
    ServingReadiness Readiness,
    ShutdownDrain? Drain,
    ServingMetrics? Metrics,
    BoundAddressCheck? HttpAddresses,
    HttpApiOptions Http);
