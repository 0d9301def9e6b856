using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using EdgeMl.Agent.Http;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Benchmarks;

/// <summary>
/// The classifier at batch 1 through bare ONNX Runtime, the engine in process, and the Open Inference Protocol
/// over loopback HTTP with the binary tensor extension and with JSON: what the HTTP API adds per request.
/// </summary>
[Config(typeof(EdgeMlBenchmarkConfig))]
public class HttpBenchmarks
{
    private static readonly long[] Shape = [1, 3, 48, 192];
    private InferenceSession _bare = null!;
    private RunOptions _runOptions = null!;
    private float[] _data = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private InferenceEngine _engine = null!;
    private InferenceRequest _request = null!;
    private byte[] _binaryBody = null!;
    private string _binaryHeaderLength = null!;
    private byte[] _jsonBody = null!;

    [GlobalSetup]
    public void Setup()
    {
        _data = ModelFixtures.SampleInput(Shape, seed: 1);
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 };
        _bare = new InferenceSession(ModelFixtures.Classifier, options);
        _runOptions = new RunOptions();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddEdgeMlRuntime();
        _app = builder.Build();
        _app.UseHttpApi();
        _app.StartAsync().GetAwaiter().GetResult();
        _engine = _app.Services.GetRequiredService<InferenceEngine>();
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

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address) };
        _request = new InferenceRequest([InferenceTensor.Create("x", Shape, _data)]);

        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{_data.Length * 4}}}}}],"outputs":[{"name":"softmax_0.tmp_0","parameters":{"binary_data":true}}]}""");
        _binaryHeaderLength = header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _binaryBody = [.. header, .. MemoryMarshal.AsBytes(_data.AsSpan())];
        _jsonBody = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":{{JsonSerializer.Serialize(_data)}}}]}""");
    }

    [Benchmark(Baseline = true, Description = "bare ONNX Runtime Run")]
    public float Bare()
    {
        using var input = OrtValue.CreateTensorValueFromMemory(_data, Shape);
        using var results = _bare.Run(_runOptions, ["x"], [input], ["softmax_0.tmp_0"]);
        return results[0].GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark(Description = "engine in process")]
    public async Task<float> InProcess() => (await _engine.InferAsync("cls", _request)).Outputs[0].Span<float>()[0];

    [Benchmark(Description = "HTTP v2 binary")]
    public async Task<int> HttpBinary()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/cls/infer") { Content = new ByteArrayContent(_binaryBody) };
        request.Headers.Add("Inference-Header-Content-Length", _binaryHeaderLength);
        using var response = await _client.SendAsync(request);
        return (await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync()).Length;
    }

    [Benchmark(Description = "HTTP v2 JSON")]
    public async Task<int> HttpJson()
    {
        using var content = new ByteArrayContent(_jsonBody);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _client.PostAsync("/v2/models/cls/infer", content);
        return (await response.EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync()).Length;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bare.Dispose();
        _runOptions.Dispose();
    }
}
