using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Serving;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Benchmarks;

/// <summary>
/// The four paths of one classifier prediction, set up once: bare ONNX Runtime, the engine in process, and the
/// agent's real host (<c>edgeml run</c>'s composition, capture and MQTT included) over loopback HTTP, binary and JSON.
/// </summary>
internal sealed class AgentHttpSetup : IAsyncDisposable
{
    public static readonly long[] Shape = [1, 3, 48, 192];
    private readonly string _data = Directory.CreateTempSubdirectory("edgeml-bench-").FullName;
    private readonly InferenceSession _bare;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _input = ModelFixtures.SampleInput(Shape, seed: 1);
    private readonly WebApplication _app;
    private readonly HttpClient _client;
    private readonly Grpc.Net.Client.GrpcChannel _grpcChannel;
    private readonly Inference.GRPCInferenceService.GRPCInferenceServiceClient _grpc;
    private readonly Inference.ModelInferRequest _grpcRequest;
    private readonly InferenceEngine _engine;
    private readonly PredictionPipeline _pipeline;
    private readonly InferenceRequest _request;
    private readonly byte[] _binaryBody;
    private readonly string _binaryHeaderLength;
    private readonly byte[] _jsonBody;

    /// <param name="captureRate">The capture sample rate of the agent (its default is 1 %).</param>
    /// <param name="maxRecordBytes">Records above this keep input summaries instead of the tensors (the agent's default is 256 KiB).</param>
    public AgentHttpSetup(double captureRate = 0.01, int maxRecordBytes = 256 * 1024)
    {
        using (var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 })
        {
            _bare = new InferenceSession(ModelFixtures.Classifier, options);
        }

        var metricsPort = FreePort();
        _app = AgentHost.Build(
        [
            $"--EdgeMl:DataDirectory={_data}",
            "--EdgeMl:Http:Urls=http://127.0.0.1:0",
            $"--EdgeMl:MetricsUrls=http://127.0.0.1:{metricsPort}",
            "--EdgeMl:Grpc:Urls=http://127.0.0.1:0",
            $"--EdgeMl:Mqtt:EmbeddedPort={FreePort()}",
            "--EdgeMl:DrainWindow=00:00:00",
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--EdgeMl:Capture:Defaults:SampleRate={captureRate}"),
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--EdgeMl:Capture:Defaults:MaxRecordBytes={maxRecordBytes}"),
        ], customize: b => b.Logging.ClearProviders());
        _app.StartAsync().GetAwaiter().GetResult();
        _engine = _app.Services.GetRequiredService<InferenceEngine>();
        _pipeline = _app.Services.GetRequiredService<PredictionPipeline>();
        Capture = _app.Services.GetRequiredService<CaptureMetrics>();
        var activation = _engine.ActivateAsync(new ModelDefinition
        {
            Name = "cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Runs = 3, Shapes = { ["x"] = Shape } },
        }).GetAwaiter().GetResult();
        if (!activation.Succeeded)
        {
            throw new InvalidOperationException(activation.Failure!.Reason);
        }

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => new Uri(a).Port != metricsPort);
        _client = new HttpClient { BaseAddress = new Uri(address) };
        _grpcChannel = Grpc.Net.Client.GrpcChannel.ForAddress(_app.Services.GetRequiredService<EdgeMl.Agent.Grpc.GrpcServer>().Addresses[0]);
        _grpc = new Inference.GRPCInferenceService.GRPCInferenceServiceClient(_grpcChannel);
        _grpcRequest = new Inference.ModelInferRequest
        {
            ModelName = "cls",
            Inputs = { new Inference.ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { Shape } } },
            RawInputContents = { Google.Protobuf.ByteString.CopyFrom(MemoryMarshal.AsBytes(_input.AsSpan())) },
        };
        _request = new InferenceRequest([InferenceTensor.Create("x", Shape, _input)]);
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{_input.Length * 4}}}}}],"outputs":[{"name":"softmax_0.tmp_0","parameters":{"binary_data":true}}]}""");
        _binaryHeaderLength = header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _binaryBody = [.. header, .. MemoryMarshal.AsBytes(_input.AsSpan())];
        _jsonBody = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":{{JsonSerializer.Serialize(_input)}}}]}""");
    }

    public float Bare()
    {
        using var input = OrtValue.CreateTensorValueFromMemory(_input, Shape);
        using var results = _bare.Run(_runOptions, ["x"], [input], ["softmax_0.tmp_0"]);
        return results[0].GetTensorDataAsSpan<float>()[0];
    }

    public CaptureMetrics Capture { get; }

    public IServiceProvider Services => _app.Services;

    public ReadOnlyMemory<byte> BinaryBody => _binaryBody;

    public string BinaryHeaderLength => _binaryHeaderLength;

    /// <summary>What every front door runs: the engine, then drift and the capture hand-off.</summary>
    public async Task<float> PipelineAsync() => (await _pipeline.InferAsync("cls", _request, null, CancellationToken.None)).Outputs[0].Span<float>()[0];

    public async Task<float> InProcessAsync() => (await _engine.InferAsync("cls", _request)).Outputs[0].Span<float>()[0];

    public async Task<int> HttpBinaryAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/cls/infer") { Content = new ByteArrayContent(_binaryBody) };
        request.Headers.Add("Inference-Header-Content-Length", _binaryHeaderLength);
        using var response = await _client.SendAsync(request);
        return (await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync()).Length;
    }

    /// <summary>The same prediction over the gRPC service, raw tensors in and out (as <c>tritonclient.grpc</c> sends it).</summary>
    public async Task<int> GrpcRawAsync() => (await _grpc.ModelInferAsync(_grpcRequest)).RawOutputContents[0].Length;

    /// <summary>A GET of <paramref name="path"/>, or a POST of the binary request body to it; any status.</summary>
    public async Task<int> HttpProbeAsync(string path, bool body)
    {
        using var request = new HttpRequestMessage(body ? HttpMethod.Post : HttpMethod.Get, path);
        if (body)
        {
            request.Content = new ByteArrayContent(_binaryBody);
            request.Headers.Add("Inference-Header-Content-Length", _binaryHeaderLength);
        }

        using var response = await _client.SendAsync(request);
        return (await response.Content.ReadAsByteArrayAsync()).Length;
    }

    public async Task<int> HttpJsonAsync()
    {
        using var content = new ByteArrayContent(_jsonBody);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _client.PostAsync("/v2/models/cls/infer", content);
        return (await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync()).Length;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        _grpcChannel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _bare.Dispose();
        _runOptions.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
