using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EdgeMl.Agent.Tests.Grpc;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing.Distribution;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace EdgeMl.Agent.Tests.Serving;

/// <summary>
/// Large outputs lie in pooled buffers that each front door gives back once the answer is written. Callers in parallel
/// must each get their own answer, whole: a buffer given back too early would be refilled by another caller's answer
/// (and it is overwritten with 0xCD the moment it goes back).
/// </summary>
public sealed class PooledOutputFrontDoorTests : IAsyncLifetime
{
    private const string Model = "echo";
    private const int Width = ModelSession.PooledOutputBytes / sizeof(float) + 100;
    private readonly TestPackages.TempFolder _temp = new();
    private GrpcApiHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await GrpcApiHost.StartAsync(o => o.MaxRequestBodyBytes = 8_000_000);
        var path = _temp.Sub("echo.onnx");
        await File.WriteAllBytesAsync(path, OnnxGraphs.Echo(Width));
        var activation = await _host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = path,
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = [1, Width] } },
            Serving = new ServingOptions { MaxConcurrency = 4 },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        var accumulator = _temp.Sub("acc.onnx");
        await File.WriteAllBytesAsync(accumulator, OnnxGraphs.Accumulator(Width));
        activation = await _host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = "acc",
            Version = 1,
            ModelPath = accumulator,
            Providers = ProviderChainOptions.CpuOnly,
            States = [new StatePair("stateN", "state", InferenceTensor.Create("state", [1, Width], new float[Width]))],
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task EveryFrontDoor_InParallel_AnswersEachCallerWithItsOwnOutput()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Func<float[], Task<float[]>>[] doors = [HttpBinary, HttpJson, GrpcRaw, GrpcTyped, input => GrpcStream(input, cancel.Token)];

        await Task.WhenAll(Enumerable.Range(0, 10).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < 6; i++)
            {
                var input = Input(caller * 100 + i);
                var door = doors[(caller + i) % doors.Length];
                Assert.Equal(input, await door(input));
            }
        })));
    }

    [Fact]
    public async Task Stream_AnswersInOrder_EachWithItsOwnOutput()
    {
        using var call = _host.Client.ModelStreamInfer();
        var inputs = Enumerable.Range(0, 8).Select(i => Input(900 + i)).ToArray();
        foreach (var input in inputs)
        {
            await call.RequestStream.WriteAsync(Raw(input));
        }

        await call.RequestStream.CompleteAsync();
        var answers = new List<float[]>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal("", answer.ErrorMessage);
            answers.Add(MemoryMarshal.Cast<byte, float>(answer.InferResponse.RawOutputContents[0].Span).ToArray());
        }

        Assert.Equal(inputs, answers);
    }

    [Fact]
    public async Task Sequences_WithALargeState_CarryItAcrossCalls_WhileTheAnswersGoBack()
    {
        // Three sequences interleaved, each asking for y only: the state (stateN) the server keeps is as large as y.
        var state = new float[3][];
        for (var step = 0; step < 4; step++)
        {
            for (var s = 0; s < 3; s++)
            {
                var x = Input(step * 10 + s);
                state[s] = step == 0 ? new float[Width] : state[s];
                var expected = new float[Width];
                for (var i = 0; i < Width; i++)
                {
                    state[s][i] = (0.5f * state[s][i]) + x[i];
                    expected[i] = state[s][i] + state[s][i];
                }

                var parameters = $$"""{"sequence_id":"s{{s}}","sequence_start":{{(step == 0 ? "true" : "false")}}}""";
                var answer = await HttpBinary(x, "acc", parameters, """[{"name":"y","parameters":{"binary_data":true}}]""");
                Assert.All(expected.Zip(answer), p => Assert.Equal(p.First, p.Second, 1e-5f));
            }
        }
    }

    private static float[] Input(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, Width).Select(_ => (float)random.NextDouble())];
    }

    private Task<float[]> HttpBinary(float[] input) => HttpBinary(input, Model, """{"binary_data_output":true}""", "[]");

    private async Task<float[]> HttpBinary(float[] input, string model, string parameters, string outputs)
    {
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"x","shape":[1,{{{Width}}}],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":{{{outputs}}},"parameters":{{{parameters}}}}""");
        using var content = new ByteArrayContent([.. header, .. MemoryMarshal.AsBytes(input.AsSpan())]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        using var response = await _host.Http.PostAsync($"/v2/models/{model}/infer", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var length = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
        return MemoryMarshal.Cast<byte, float>(bytes.AsSpan(length)).ToArray();
    }

    private async Task<float[]> HttpJson(float[] input)
    {
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "x", shape = new[] { 1, Width }, datatype = "FP32", data = input } } });
        using var response = await _host.Http.PostAsync($"/v2/models/{Model}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];
    }

    private async Task<float[]> GrpcRaw(float[] input)
    {
        var response = await _host.Client.ModelInferAsync(Raw(input));
        return MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span).ToArray();
    }

    private async Task<float[]> GrpcTyped(float[] input)
    {
        var request = new ModelInferRequest { ModelName = Model, Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, Width }, Contents = new InferTensorContents() } } };
        request.Inputs[0].Contents.Fp32Contents.AddRange(input);
        var response = await _host.Client.ModelInferAsync(request);
        return [.. response.Outputs[0].Contents.Fp32Contents];
    }

    private async Task<float[]> GrpcStream(float[] input, CancellationToken cancellationToken)
    {
        using var call = _host.Client.ModelStreamInfer(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(Raw(input), cancellationToken);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(cancellationToken));
        Assert.Equal("", call.ResponseStream.Current.ErrorMessage);
        return MemoryMarshal.Cast<byte, float>(call.ResponseStream.Current.InferResponse.RawOutputContents[0].Span).ToArray();
    }

    private static ModelInferRequest Raw(float[] input) => new()
    {
        ModelName = Model,
        Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, Width } } },
        RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(input.AsSpan())) },
    };
}
