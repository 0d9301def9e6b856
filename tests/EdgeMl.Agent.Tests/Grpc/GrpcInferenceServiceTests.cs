using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EdgeMl.Agent.Grpc;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Tests.Grpc;

/// <summary>
/// The gRPC service with a client generated in this project from the agent's .proto, every answer compared with what
/// the HTTP API of the same agent says for the same request, on the real classifier.
/// </summary>
public sealed class GrpcInferenceServiceTests : IAsyncLifetime
{
    private const string Model = "ocr-cls";
    private const string Output = ModelFixtures.ClassifierOutput;
    private GrpcApiHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await GrpcApiHost.StartAsync(o => o.MaxRequestBodyBytes = 1_000_000);
        var activation = await _host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task HealthAndMetadata_AnswerAsHttpDoes()
    {
        var client = _host.Client;
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.Equal(await HttpOk("/v2/health/ready"), (await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.Equal(await HttpOk($"/v2/models/{Model}/ready"), (await client.ModelReadyAsync(new ModelReadyRequest { Name = Model, Version = "1" })).Ready);

        using var server = await HttpJson("/v2");
        var metadata = await client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal(server.RootElement.GetProperty("name").GetString(), metadata.Name);
        Assert.Equal(server.RootElement.GetProperty("version").GetString(), metadata.Version);
        Assert.Equal(server.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()), metadata.Extensions);

        using var model = await HttpJson($"/v2/models/{Model}");
        var grpc = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = Model });
        Assert.Equal(model.RootElement.GetProperty("name").GetString(), grpc.Name);
        Assert.Equal(model.RootElement.GetProperty("platform").GetString(), grpc.Platform);
        Assert.Equal(model.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetString()), grpc.Versions);
        Assert.Equal(Specs(model.RootElement.GetProperty("inputs")), grpc.Inputs.Select(t => $"{t.Name} {t.Datatype} [{string.Join(',', t.Shape)}]"));
        Assert.Equal(Specs(model.RootElement.GetProperty("outputs")), grpc.Outputs.Select(t => $"{t.Name} {t.Datatype} [{string.Join(',', t.Shape)}]"));
    }

    [Fact]
    public async Task UnknownModelOrVersion_IsNotFound_AsHttpSays404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Http.GetAsync("/v2/models/nope/ready")).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" }))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = Model, Version = "2" }))).StatusCode);
        var infer = Typed(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1));
        infer.ModelName = "nope";
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ModelInferAsync(infer))).StatusCode);
    }

    [Fact]
    public async Task ModelInfer_TypedContents_SameOutputsAsHttpJson()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 11);
        var request = Typed(input);
        request.Id = "typed-1";

        var response = await _host.Client.ModelInferAsync(request);

        Assert.Equal("typed-1", response.Id);
        Assert.Equal(Model, response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Empty(response.RawOutputContents);
        var output = Assert.Single(response.Outputs);
        Assert.Equal(Output, output.Name);
        Assert.Equal("FP32", output.Datatype);
        var (shape, http) = await HttpInfer(input);
        Assert.Equal(shape, output.Shape);
        Assert.Equal(http, output.Contents.Fp32Contents);
    }

    [Fact]
    public async Task ModelInfer_RawContents_SameBytesAsHttpBinary()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 12);
        var request = Raw(input);

        var response = await _host.Client.ModelInferAsync(request);

        var output = Assert.Single(response.Outputs);
        Assert.Null(output.Contents);
        var raw = Assert.Single(response.RawOutputContents).ToByteArray();
        Assert.Equal(await HttpBinaryInfer(input), raw);
    }

    [Fact]
    public async Task ModelInfer_RawOutputs_StayTheirAnswers_AfterLaterCalls()
    {
        // The raw outputs wrap the engine's arrays without a copy: an answer must not change when later calls run.
        var first = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 31);
        var kept = await _host.Client.ModelInferAsync(Raw(first));
        var keptBytes = kept.RawOutputContents[0].ToByteArray();
        for (var seed = 32; seed < 36; seed++)
        {
            _ = await _host.Client.ModelInferAsync(Raw(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed)));
        }

        Assert.Equal(keptBytes, kept.RawOutputContents[0].ToByteArray());
        Assert.Equal(await HttpBinaryInfer(first), keptBytes);
    }

    [Fact]
    public async Task ModelInfer_ConcurrentRawCalls_EachGetsItsOwnAnswer()
    {
        // Raw inputs are read into pooled buffers handed back after each call: no call may see another's tensor.
        var inputs = Enumerable.Range(40, 12).Select(seed => ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed)).ToArray();
        var expected = new List<byte[]>();
        foreach (var input in inputs)
        {
            expected.Add(await HttpBinaryInfer(input));
        }

        for (var round = 0; round < 3; round++)
        {
            var answers = await Task.WhenAll(inputs.Select(async i => (await _host.Client.ModelInferAsync(Raw(i))).RawOutputContents[0].ToByteArray()));
            for (var i = 0; i < inputs.Length; i++)
            {
                Assert.Equal(expected[i], answers[i]);
            }
        }
    }

    [Fact]
    public async Task Gate_IsOneInstance_ForEveryCall()
    {
        // Built per call, the gate re-encoded the token and rebuilt its host rules on every request.
        _ = await _host.Client.ServerLiveAsync(new ServerLiveRequest());
        _ = await _host.Client.ServerMetadataAsync(new ServerMetadataRequest());

        var services = _host.Services.GetRequiredService<GrpcServer>().ServerServices!;
        var gate = services.GetService<GrpcGate>();
        Assert.NotNull(gate);
        Assert.Same(gate, services.GetService<GrpcGate>());
    }

    [Fact]
    public async Task ModelStreamInfer_AnswersEachRequestInOrder_ErrorsInline_SameAsHttp()
    {
        using var call = _host.Client.ModelStreamInfer();
        var inputs = Enumerable.Range(20, 6).Select(seed => ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed)).ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            var request = i % 2 == 0 ? Typed(inputs[i]) : Raw(inputs[i]);
            request.Id = $"s{i}";
            await call.RequestStream.WriteAsync(request);
            if (i == 2)
            {
                var bad = Typed([1f, 2f]);
                bad.Id = "bad";
                await call.RequestStream.WriteAsync(bad);
            }
        }

        await call.RequestStream.CompleteAsync();
        var answers = new List<ModelStreamInferResponse>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            answers.Add(answer);
        }

        Assert.Equal(["s0", "s1", "s2", "bad", "s3", "s4", "s5"], answers.Select(a => a.InferResponse.Id));
        Assert.Contains("needs 27648", answers[3].ErrorMessage, StringComparison.Ordinal);
        var good = answers.Where(a => a.InferResponse.Id != "bad").ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal("", good[i].ErrorMessage);
            var (_, http) = await HttpInfer(inputs[i]);
            var values = i % 2 == 0
                ? good[i].InferResponse.Outputs[0].Contents.Fp32Contents.ToArray()
                : MemoryMarshal.Cast<byte, float>(good[i].InferResponse.RawOutputContents[0].Span).ToArray();
            Assert.Equal(http, values);
        }
    }

    [Theory]
    [InlineData("shape", "input 'x': contents.fp32_contents has 2 values; shape [1,3,48,192] needs 27648")]
    [InlineData("datatype", "datatype 'FLOAT' is not one of")]
    [InlineData("raw-count", "raw_input_contents has 2 entries for 1 inputs")]
    [InlineData("raw-size", "unexpected size for input 'x': raw contents have 8 bytes")]
    [InlineData("version", "model version 'latest' must be a positive integer")]
    [InlineData("negative", "input 'x': shape [1,3,-48,192] has a negative dimension")]
    [InlineData("overflow", "input 'x': shape [1099511627776,1099511627776] has too many elements")]
    public async Task ModelInfer_BadRequest_IsInvalidArgumentNamingTheProblem(string what, string expected)
    {
        var request = what switch
        {
            "shape" => Typed([1f, 2f]),
            "datatype" => Retyped(Typed(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1)), "FLOAT"),
            "raw-count" => WithExtraRaw(Raw(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1))),
            "raw-size" => Raw([1f, 2f], ModelFixtures.ClassifierShape),
            "negative" => Raw([1f, 2f], [1, 3, -48, 192]),
            "overflow" => Raw([1f, 2f], [1L << 40, 1L << 40]),
            _ => Versioned(Typed(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1)), "latest"),
        };

        var e = await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_RequiredForAllButLiveAndReady_AsOverHttp()
    {
        await using var host = await GrpcApiHost.StartAsync(o => o.Token = "a-token-of-16-chars-or-more");

        Assert.True((await host.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        _ = await host.Client.ServerReadyAsync(new ServerReadyRequest());
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.ServerMetadataAsync(new ServerMetadataRequest()));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.ServerMetadataAsync(new ServerMetadataRequest(), new Metadata { { "authorization", "Bearer not-the-token-at-all" } }));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);

        var metadata = await host.Client.ServerMetadataAsync(new ServerMetadataRequest(), new Metadata { { "authorization", "Bearer a-token-of-16-chars-or-more" } });
        Assert.Equal("edgeml", metadata.Name);
    }

    [Fact]
    public async Task ForeignHostName_IsPermissionDenied()
    {
        // As a page under a rebinding attacker's DNS name would reach the port: the name in :authority.
        using var channel = GrpcChannel.ForAddress(_host.GrpcAddress, new GrpcChannelOptions { HttpHandler = new AuthorityHandler("attacker.example") });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ServerMetadataAsync(new ServerMetadataRequest()));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Contains("attacker.example", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ports_AreSeparate_NoGrpcOnTheHttpPortAndNoHttpOnTheGrpcPort()
    {
        using var onHttpPort = GrpcChannel.ForAddress(_host.Http.BaseAddress!);
        var viaHttpPort = new GRPCInferenceService.GRPCInferenceServiceClient(onHttpPort);
        await Assert.ThrowsAsync<RpcException>(async () => await viaHttpPort.ServerLiveAsync(new ServerLiveRequest()));

        using var http2 = new HttpClient { BaseAddress = _host.GrpcAddress, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await http2.GetAsync("/v2/health/live");
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task BeyondLoopbackWithoutToken_RefusesToStart_AsTheHttpApiDoes()
    {
        var e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(async () =>
            await GrpcApiHost.StartAsync(settings: new Dictionary<string, string?> { ["EdgeMl:Grpc:Urls"] = "http://0.0.0.0:0" }));

        Assert.Contains("the gRPC service listens on http://0.0.0.0:", e.Message, StringComparison.Ordinal);
        Assert.Contains("set EdgeMl:Http:Token (16 characters or more)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http2Settings_AdvertiseLargeFramesAndWindowsForTheLargestMessage()
    {
        // The host's limit is 1,000,000 bytes: windows of the whole message and its 5-byte prefix, no WINDOW_UPDATE needed.
        using var connection = await RawHttp2.ConnectAsync(_host.GrpcAddress);

        Assert.Equal(GrpcTransport.MaxFrameSize, connection.Settings[RawHttp2.MaxFrameSizeSetting]);
        Assert.Equal(262_144, GrpcTransport.MaxFrameSize);
        Assert.Equal(1_000_005, connection.Settings[RawHttp2.InitialWindowSizeSetting]);
        Assert.Equal(1_048_576, connection.ConnectionWindow);
        Assert.Equal(100, connection.Settings[RawHttp2.MaxConcurrentStreamsSetting]);
        Assert.Equal((786_432, 1_048_576), GrpcTransport.Windows(1000));
        Assert.Equal((64 * 1024 * 1024 + 5, 64 * 1024 * 1024 + 5), GrpcTransport.Windows(64 * 1024 * 1024));
        Assert.Equal((int.MaxValue, int.MaxValue), GrpcTransport.Windows(int.MaxValue));
    }

    [Fact]
    public async Task ModelInfer_WholeRequestInOneDataFrame_IsAnswered()
    {
        // As a client that follows SETTINGS_MAX_FRAME_SIZE sends it: the classifier's 110 KB request in one DATA frame
        // (with the protocol's 16 KB, the server would end the connection with FRAME_SIZE_ERROR).
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 51);
        var message = Raw(input).ToByteArray();
        using var connection = await RawHttp2.ConnectAsync(_host.GrpcAddress);

        var answer = await connection.UnaryAsync("/inference.GRPCInferenceService/ModelInfer", message);

        Assert.True(message.Length + GrpcTransport.MessagePrefix > 16_384);
        var response = ModelInferResponse.Parser.ParseFrom(answer);
        Assert.Equal(await HttpBinaryInfer(input), Assert.Single(response.RawOutputContents).ToByteArray());
    }

    [Fact]
    public async Task MaxSizeMessage_IsServed_OneByteMore_IsResourceExhaustedAsBefore()
    {
        // The limit (EdgeMl:Http:MaxRequestBodyBytes, here 1,000,000) is the message's: the larger windows change nothing of it.
        var atLimit = Padded(Raw(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 52)), 1_000_000);
        var beyond = Padded(Raw(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 52)), 1_000_001);

        var served = await _host.Client.ModelInferAsync(atLimit);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ModelInferAsync(beyond));

        Assert.Equal(atLimit.Id, served.Id);
        Assert.Single(served.RawOutputContents);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
    }

    [Fact]
    public async Task Answers_AreNotCompressed_WhenTheClientAcceptsGzip()
    {
        using var call = _host.Client.ModelInferAsync(Raw(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 53)), new Metadata { { "grpc-accept-encoding", "gzip,identity" } });

        var headers = await call.ResponseHeadersAsync;
        _ = await call.ResponseAsync;

        Assert.True(headers.GetValue("grpc-encoding") is null or "identity");
    }

    /// <summary>The request with an <c>id</c> long enough to make the whole message exactly <paramref name="size"/> bytes.</summary>
    private static ModelInferRequest Padded(ModelInferRequest request, int size)
    {
        request.Id = new string('p', size - request.CalculateSize() - 4);
        while (request.CalculateSize() < size)
        {
            request.Id += "p";
        }

        while (request.CalculateSize() > size)
        {
            request.Id = request.Id[..^1];
        }

        Assert.Equal(size, request.CalculateSize());
        return request;
    }

    [Theory]
    [InlineData(InferenceErrorKind.InvalidInput, StatusCode.InvalidArgument)]
    [InlineData(InferenceErrorKind.ModelNotFound, StatusCode.NotFound)]
    [InlineData(InferenceErrorKind.NotReady, StatusCode.Unavailable)]
    [InlineData(InferenceErrorKind.Overloaded, StatusCode.ResourceExhausted)]
    [InlineData(InferenceErrorKind.RuntimeFailure, StatusCode.Internal)]
    public void EngineErrors_MapToStatusCodes(InferenceErrorKind kind, StatusCode expected) =>
        Assert.Equal(expected, InferenceGrpcService.StatusOf(kind));

    internal static ModelInferRequest Typed(float[] input, long[]? shape = null)
    {
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { shape ?? ModelFixtures.ClassifierShape }, Contents = new InferTensorContents() };
        tensor.Contents.Fp32Contents.AddRange(input);
        return new ModelInferRequest { ModelName = Model, Inputs = { tensor } };
    }

    internal static ModelInferRequest Raw(float[] input, long[]? shape = null) => new()
    {
        ModelName = Model,
        Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { shape ?? ModelFixtures.ClassifierShape } } },
        RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(input.AsSpan())) },
    };

    private static ModelInferRequest Retyped(ModelInferRequest request, string datatype)
    {
        request.Inputs[0].Datatype = datatype;
        return request;
    }

    private static ModelInferRequest Versioned(ModelInferRequest request, string version)
    {
        request.ModelVersion = version;
        return request;
    }

    private static ModelInferRequest WithExtraRaw(ModelInferRequest request)
    {
        request.RawInputContents.Add(ByteString.CopyFrom(1, 2, 3, 4));
        return request;
    }

    private static IEnumerable<string> Specs(JsonElement specs) =>
        specs.EnumerateArray().Select(s => $"{s.GetProperty("name").GetString()} {s.GetProperty("datatype").GetString()} [{string.Join(',', s.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))}]");

    private async Task<bool> HttpOk(string path)
    {
        using var response = await _host.Http.GetAsync(path);
        return response.StatusCode == HttpStatusCode.OK;
    }

    private async Task<JsonDocument> HttpJson(string path)
    {
        using var response = await _host.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private async Task<(long[] Shape, float[] Data)> HttpInfer(float[] input)
    {
        var body = $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":{{JsonSerializer.Serialize(input)}}}]}""";
        using var response = await _host.Http.PostAsync($"/v2/models/{Model}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var output = json.RootElement.GetProperty("outputs")[0];
        return ([.. output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())], [.. output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle())]);
    }

    private async Task<byte[]> HttpBinaryInfer(float[] input)
    {
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":[{"name":"{{{Output}}}","parameters":{"binary_data":true}}]}""");
        using var content = new ByteArrayContent([.. header, .. MemoryMarshal.AsBytes(input.AsSpan())]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        using var response = await _host.Http.PostAsync($"/v2/models/{Model}/infer", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var length = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
        return bytes[length..];
    }

    /// <summary>Sends every request with another Host (<c>:authority</c>) than the address it connects to.</summary>
    private sealed class AuthorityHandler(string host) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Host = host;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
