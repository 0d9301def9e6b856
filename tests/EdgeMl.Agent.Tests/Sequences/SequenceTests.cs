using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using EdgeMl.Agent.Sequences;
using EdgeMl.Agent.Tests.Grpc;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Grpc.Core;
using Inference;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Sequences;

/// <summary>
/// Sequences of a stateful model (<see cref="OnnxGraphs.Accumulator"/>: stateN = 0.5 state + x, y = 2 stateN) kept by
/// the server, checked against a client that carries the state itself through the same server.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class SequenceTests : IAsyncLifetime
{
    private const string Model = "acc";
    private readonly TestPackages.TempFolder _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero));
    private GrpcApiHost _host = null!;
    private MetricCollector<long> _evicted = null!;
    private MetricCollector<long> _timedOut = null!;

    public async Task InitializeAsync()
    {
        _host = await GrpcApiHost.StartAsync(services: s =>
        {
            s.AddSingleton<TimeProvider>(_time);
            s.Configure<SequenceOptions>(o => (o.MaxLive, o.IdleTimeout) = (20, TimeSpan.FromSeconds(30)));
        });
        var meters = _host.Services.GetRequiredService<IMeterFactory>();
        _evicted = new MetricCollector<long>(meters, "EdgeMl.Agent.Sequences", "edgeml.sequences.evicted");
        _timedOut = new MetricCollector<long>(meters, "EdgeMl.Agent.Sequences", "edgeml.sequences.timed_out");
        var path = _temp.Sub("acc.onnx");
        await File.WriteAllBytesAsync(path, OnnxGraphs.Accumulator());
        var activation = await _host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = path,
            Providers = ProviderChainOptions.CpuOnly,
            States = [new StatePair("stateN", "state", InferenceTensor.Create("state", [1, 2], new float[2]))],
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
    }

    public async Task DisposeAsync()
    {
        _evicted.Dispose();
        _timedOut.Dispose();
        await _host.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Http_TwentyInterleavedSequences_SameOutputsAsAClientCarryingTheState()
    {
        const int Sequences = 20, Steps = 5;
        var carried = Enumerable.Range(0, Sequences).Select(_ => new float[2]).ToArray();
        var order = new Random(7);
        for (var step = 0; step < Steps; step++)
        {
            // Every sequence's call of this step at once, in a shuffled order: the server must keep them apart.
            var calls = Enumerable.Range(0, Sequences).OrderBy(_ => order.Next()).Select(async s =>
            {
                float[] x = [s + 1, step * 0.25f];
                var parameters = $$"""{"sequence_id":"seq-{{s}}"{{(step == 0 ? ",\"sequence_start\":true" : "")}}{{(step == Steps - 1 ? ",\"sequence_end\":true" : "")}}}""";
                var served = await Infer($$"""{"parameters":{{parameters}},"inputs":[{{Tensor("x", x)}}]}""");
                var mine = await Infer($$"""{"inputs":[{{Tensor("x", x)}},{{Tensor("state", carried[s])}}]}""");
                Assert.Equal(mine["y"], served["y"]);
                Assert.Equal(mine["stateN"], served["stateN"]);
                carried[s] = mine["stateN"];
            });
            await Task.WhenAll(calls);
        }

        Assert.Equal(0, _host.Services.GetRequiredService<SequenceStore>().LiveCount);
    }

    [Fact]
    public async Task Grpc_InterleavedSequences_SameOutputsAsHttpCarryingTheState_UnknownIsFailedPrecondition()
    {
        var carried = new[] { new float[2], new float[2], new float[2] };
        for (var step = 0; step < 4; step++)
        {
            for (var s = 0; s < carried.Length; s++)
            {
                float[] x = [step + 1, s];
                var request = new ModelInferRequest
                {
                    ModelName = Model,
                    Parameters = { ["sequence_id"] = new InferParameter { Int64Param = 100 + s } },
                    Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 2 }, Contents = new InferTensorContents { Fp32Contents = { x } } } },
                };
                if (step == 0)
                {
                    request.Parameters["sequence_start"] = new InferParameter { BoolParam = true };
                }

                var served = await _host.Client.ModelInferAsync(request);
                var mine = await Infer($$"""{"inputs":[{{Tensor("x", x)}},{{Tensor("state", carried[s])}}]}""");
                Assert.Equal(mine["y"], served.Outputs.Single(o => o.Name == "y").Contents.Fp32Contents);
                carried[s] = mine["stateN"];
            }
        }

        var unknown = new ModelInferRequest
        {
            ModelName = Model,
            Parameters = { ["sequence_id"] = new InferParameter { StringParam = "never" } },
            Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 2 }, Contents = new InferTensorContents { Fp32Contents = { 1, 2 } } } },
        };
        var e = await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ModelInferAsync(unknown));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("sequence 'never' of model 'acc' is not live", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxLive_StartingOneMore_EvictsTheOneIdleLongest_CountedAndItsNextCallRefused()
    {
        for (var s = 0; s < 20; s++)
        {
            await Infer(Start($"s{s}"));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        await Infer(Continue("s0")); // s0 is now the most recent; s1 is idle longest
        await Infer(Start("s20"));

        var (status, error) = await InferError(Continue("s1"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("sequence 's1' of model 'acc' is not live: it was evicted", error, StringComparison.Ordinal);
        Assert.Equal(1, _evicted.GetMeasurementSnapshot().Sum(m => m.Value));
        await Infer(Continue("s0"));
        await Infer(Continue("s20"));
    }

    [Fact]
    public async Task IdleTimeout_EndsTheSequence_CountedAndItsNextCallRefused()
    {
        await Infer(Start("quiet"));
        await Infer(Start("busy"));
        _time.Advance(TimeSpan.FromSeconds(20));
        await Infer(Continue("busy"));
        _time.Advance(TimeSpan.FromSeconds(20));

        var (status, error) = await InferError(Continue("quiet"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("sequence 'quiet' of model 'acc' is not live: it idled out after 30 s without a call", error, StringComparison.Ordinal);
        Assert.True(_timedOut.GetMeasurementSnapshot().Sum(m => m.Value) >= 1);
        await Infer(Continue("busy"));
    }

    [Fact]
    public async Task Misuse_IsA400SayingWhat()
    {
        var (never, neverError) = await InferError(Continue("never-started"));
        Assert.Equal(HttpStatusCode.BadRequest, never);
        Assert.Contains("never started", neverError, StringComparison.Ordinal);

        var (carried, carriedError) = await InferError($$"""{"parameters":{"sequence_id":"c","sequence_start":true},"inputs":[{{Tensor("x", [1, 2])}},{{Tensor("state", [0, 0])}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, carried);
        Assert.Contains("input 'state' is the state the server carries in a sequence", carriedError, StringComparison.Ordinal);

        var (noId, noIdError) = await InferError($$"""{"parameters":{"sequence_start":true},"inputs":[{{Tensor("x", [1, 2])}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, noId);
        Assert.Contains("sequence_start and sequence_end need a sequence_id", noIdError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PackState_DeclaresThePairAndZeroInitialState_ServedAsASequence()
    {
        var model = _temp.Sub("acc-pack.onnx");
        await File.WriteAllBytesAsync(model, OnnxGraphs.Accumulator());
        var folder = _temp.Sub("pkg");
        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pack", model, "--name", "acc2", "--version", "1", "--out", folder, "--state", "stateN=state"], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, error);

        var definition = ModelPackage.Open(folder).CreateDefinition();
        var pair = Assert.Single(definition.States);
        Assert.Equal(("stateN", "state"), (pair.Output, pair.Input));
        Assert.Equal([1L, 2], pair.Initial.Shape);
        Assert.Equal([0f, 0f], pair.Initial.Span<float>().ToArray());
        Assert.True((await _host.Engine.ActivateAsync(definition)).Succeeded);

        var first = await Infer($$"""{"parameters":{"sequence_id":1,"sequence_start":true},"inputs":[{{Tensor("x", [1, 2])}}]}""", "acc2");
        var second = await Infer($$"""{"parameters":{"sequence_id":1},"inputs":[{{Tensor("x", [1, 2])}}]}""", "acc2");
        Assert.Equal([2f, 4f], first["y"]);
        Assert.Equal([3f, 6f], second["y"]);

        var (wrong, _, wrongError) = await EdgeMlProcess.RunAsync(["model", "pack", model, "--name", "acc3", "--version", "1", "--out", _temp.Sub("pkg3"), "--state", "y=x", "--state", "nope=state"], TimeSpan.FromMinutes(3));
        Assert.Equal(2, wrong);
        Assert.Contains("--state nope=state: 'nope' is not an output", wrongError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PackInitialState_FromARequestFile_SignedWithThePackageAndSequencesStartFromIt()
    {
        var model = _temp.Sub("acc-initial.onnx");
        await File.WriteAllBytesAsync(model, OnnxGraphs.Accumulator());
        var initial = _temp.Sub("initial.json");
        await File.WriteAllTextAsync(initial, $$"""{"inputs":[{{Tensor("state", [4, 8])}}]}""");
        var folder = _temp.Sub("pkg-initial");
        var (code, _, error) = await EdgeMlProcess.RunAsync(
            ["model", "pack", model, "--name", "acc4", "--version", "1", "--out", folder, "--state", "stateN=state", "--initial-state", initial], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, error);

        // The initial state is a file of the package: hashed, signed and verified with the rest.
        var keys = _temp.Sub("keys");
        Assert.Equal(0, (await EdgeMlProcess.RunAsync(["keys", "create", "--name", "t", "--out", keys], TimeSpan.FromMinutes(1))).Code);
        Assert.Equal(0, (await EdgeMlProcess.RunAsync(["model", "sign", folder, "--key", Path.Combine(keys, "t.key.pem")], TimeSpan.FromMinutes(1))).Code);
        var (verified, verifyOut, verifyError) = await EdgeMlProcess.RunAsync(["model", "verify", folder, "--trust", Path.Combine(keys, "t.pub.pem")], TimeSpan.FromMinutes(1));
        Assert.True(verified == 0, verifyOut + verifyError);
        var manifest = ModelManifest.Parse(await File.ReadAllBytesAsync(Path.Combine(folder, ModelManifest.FileName)));
        var pair = Assert.Single(manifest.States);
        Assert.Contains(manifest.Files, f => f.Path == pair.File);

        var definition = ModelPackage.Open(folder).CreateDefinition();
        Assert.Equal([4f, 8f], Assert.Single(definition.States).Initial.Span<float>().ToArray());
        Assert.True((await _host.Engine.ActivateAsync(definition)).Succeeded);

        // stateN = 0.5·state + x, y = 2·stateN, from [4, 8]: [3, 6] → y [6, 12]; then [2.5, 5] → y [5, 10].
        var first = await Infer($$"""{"parameters":{"sequence_id":7,"sequence_start":true},"inputs":[{{Tensor("x", [1, 2])}}]}""", "acc4");
        var second = await Infer($$"""{"parameters":{"sequence_id":7},"inputs":[{{Tensor("x", [1, 2])}}]}""", "acc4");
        Assert.Equal([6f, 12f], first["y"]);
        Assert.Equal([5f, 10f], second["y"]);

        await File.WriteAllTextAsync(initial, $$"""{"inputs":[{{Tensor("x", [4, 8])}}]}""");
        var (wrong, _, wrongError) = await EdgeMlProcess.RunAsync(
            ["model", "pack", model, "--name", "acc5", "--version", "1", "--out", _temp.Sub("pkg5"), "--state", "stateN=state", "--initial-state", initial], TimeSpan.FromMinutes(3));
        Assert.Equal(2, wrong);
        Assert.Contains("--initial-state names 'x', which is not the input of a --state pair (state inputs: state)", wrongError, StringComparison.Ordinal);
    }

    private static string Start(string id) => $$"""{"parameters":{"sequence_id":"{{id}}","sequence_start":true},"inputs":[{{Tensor("x", [1, 1])}}]}""";

    private static string Continue(string id) => $$"""{"parameters":{"sequence_id":"{{id}}"},"inputs":[{{Tensor("x", [1, 1])}}]}""";

    private static string Tensor(string name, float[] values) =>
        $$"""{"name":"{{name}}","datatype":"FP32","shape":[1,2],"data":[{{string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}""";

    private async Task<Dictionary<string, float[]>> Infer(string body, string model = Model)
    {
        using var response = await _host.Http.PostAsync($"/v2/models/{model}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(
            o => o.GetProperty("name").GetString()!,
            o => o.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    private async Task<(HttpStatusCode Status, string Error)> InferError(string body)
    {
        using var response = await _host.Http.PostAsync($"/v2/models/{Model}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.GetProperty("error").GetString()!);
    }
}
