using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EdgeMl.Agent.Http;
using EdgeMl.Runtime.Providers;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Agent.Tests.Http;

/// <summary>The protocol as Triton's and KServe's clients speak it, against the real classifier on Kestrel.</summary>
public sealed class OpenInferenceProtocolTests : IAsyncLifetime
{
    private const string Output = ModelFixtures.ClassifierOutput;
    private ApiHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ApiHost.StartAsync(o => o.MaxRequestBodyBytes = 1_000_000);
        var activation = await _host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-cls",
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
    public async Task Health_LiveAndReady_Answer200WithKServeBodies()
    {
        Assert.Equal("""{"live":true}""", await Text(await _host.Client.GetAsync("/v2/health/live"), HttpStatusCode.OK));
        Assert.Equal("""{"ready":true}""", await Text(await _host.Client.GetAsync("/v2/health/ready"), HttpStatusCode.OK));
        Assert.Equal("""{"name":"ocr-cls","ready":true}""", await Text(await _host.Client.GetAsync("/v2/models/ocr-cls/versions/1/ready"), HttpStatusCode.OK));
    }

    [Fact]
    public async Task Metadata_Model_ListsSignatureWithDynamicDimensions()
    {
        using var json = JsonDocument.Parse(await Text(await _host.Client.GetAsync("/v2/models/ocr-cls"), HttpStatusCode.OK));

        var root = json.RootElement;
        Assert.Equal("ocr-cls", root.GetProperty("name").GetString());
        Assert.Equal("1", root.GetProperty("versions")[0].GetString());
        Assert.Equal("""{"name":"x","datatype":"FP32","shape":[-1,3,-1,-1]}""", root.GetProperty("inputs")[0].GetRawText());
        Assert.Equal(Output, root.GetProperty("outputs")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Metadata_UnknownModelOrVersion_Is404WithErrorBody()
    {
        Assert.Equal(
            """{"error":"Request for unknown model: 'nope' is not found"}""",
            await Text(await _host.Client.GetAsync("/v2/models/nope"), HttpStatusCode.NotFound));
        Assert.Contains("version 2 is not found", await Text(await _host.Client.GetAsync("/v2/models/ocr-cls/versions/2"), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Equal("""{"error":"Not Found"}""", await Text(await _host.Client.GetAsync("/v3/anything"), HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task Infer_JsonRequest_MatchesBareOnnxRuntimeAndEchoesId()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 3);
        var body = $$"""{"id":"42","inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":{{JsonSerializer.Serialize(input)}}}]}""";

        using var json = JsonDocument.Parse(await Text(await _host.Client.PostAsync("/v2/models/ocr-cls/infer", new StringContent(body, Encoding.UTF8, "application/json")), HttpStatusCode.OK));

        var root = json.RootElement;
        Assert.Equal("42", root.GetProperty("id").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        var output = root.GetProperty("outputs")[0];
        Assert.Equal("[1,2]", output.GetProperty("shape").GetRawText());
        Assert.Equal(Bare(input), output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [Fact]
    public async Task Infer_NestedJsonData_IsAcceptedLikeFlat()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 4);
        var nested = JsonSerializer.Serialize(input.Chunk(192).Chunk(48).Chunk(3));
        var body = $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":{{nested}}}]}""";

        using var json = JsonDocument.Parse(await Text(await _host.Client.PostAsync("/v2/models/ocr-cls/infer", Json(body)), HttpStatusCode.OK));

        Assert.Equal(Bare(input), json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [Fact]
    public async Task Infer_BinaryRequestAsTritonClientSendsIt_AnswersBinaryOutput()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 5);
        using var request = BinaryRequest(input, $$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"outputs":[{"name":"{{{Output}}}","parameters":{"binary_data":true}}]}""");

        using var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType!.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        using var json = JsonDocument.Parse(bytes.AsMemory(0, headerLength));
        var output = json.RootElement.GetProperty("outputs")[0];
        Assert.Equal("""{"binary_data_size":8}""", output.GetProperty("parameters").GetRawText());
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(headerLength + 8, bytes.Length);
        Assert.Equal(Bare(input), new[] { BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength)), BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + 4)) });
    }

    [Fact]
    public async Task Infer_TensorOfManyBlocks_ReadThroughTheConnectionPoolsLargeBlocks_AllGivenBackWhenTheConnectionCloses()
    {
        var pools = Assert.IsType<ConnectionMemoryPoolFactory>(_host.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 6);
        using var request = BinaryRequest(input, $$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"parameters":{"binary_data_output":true}}""");
        using (var client = new HttpClient { BaseAddress = _host.Address })
        {
            using var response = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Bare(input), new[] { BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength)), BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + 4)) });
            Assert.True(pools.Created.Sum(p => p.LargeRents) > 0, "Kestrel's transport did not take its blocks from the agent's pool");
        }

        // A kept-alive connection may hold the block its last request ended in; closed, it gives every block back.
        await Eventually(() => pools.Created.All(p => p.LargeOut == 0));
    }

    [Fact]
    public async Task SlowClients_EachHoldingPartOfARequest_HoldNoMoreLargeBlocksThanTheBudget_AndOthersAreStillServed()
    {
        var pools = Assert.IsType<ConnectionMemoryPoolFactory>(_host.Services.GetRequiredService<IMemoryPoolFactory<byte>>()).Created.ToList();
        var slow = new List<System.Net.Sockets.TcpClient>();
        try
        {
            // Connections are dealt to the pools in turn: each pool gets more than its budget of clients that never finish.
            for (var i = 0; i < pools.Count * (ConnectionMemoryPool.LargeBudget + 4); i++)
            {
                var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(_host.Address.Host, _host.Address.Port);
                await client.GetStream().WriteAsync("POST /v2/models/ocr-cls/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"u8.ToArray());
                slow.Add(client);
            }

            await Eventually(() => pools.All(p => p.LargeOut == ConnectionMemoryPool.LargeBudget));
            var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 7);
            using var request = BinaryRequest(input, $$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"parameters":{"binary_data_output":true}}""");
            using var response = await _host.Client.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Bare(input), new[] { BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength)), BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + 4)) });
            Assert.All(pools, p => Assert.Equal(ConnectionMemoryPool.LargeBudget, p.LargeOut));
        }
        finally
        {
            slow.ForEach(c => c.Dispose());
        }

        await Eventually(() => pools.All(p => p.LargeOut == 0));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "the pools did not reach the expected state within 10 s");
    }

    [Fact]
    public async Task Infer_BinaryOutputByRequestDefault_WhenNoOutputsListed()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 6);
        using var request = BinaryRequest(input, $$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}],"parameters":{"binary_data_output":true}}""");

        using var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("Inference-Header-Content-Length"));
    }

    [Theory]
    [InlineData(999_999, "Inference-Header-Content-Length is 999999, but the body has")]
    [InlineData(-1, "unexpected size for input 'x': expecting 110592 additional bytes")]
    [InlineData(1, "unexpected additional input data: 4 bytes after the last binary input")]
    public async Task Infer_BinaryFramingThatLies_Is400NamingTheProblem(int lie, string expected)
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1);
        var header = $$$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":{{{input.Length * 4}}}}}]}""";
        var data = MemoryMarshalBytes(input);
        var body = lie switch
        {
            -1 => [.. Encoding.UTF8.GetBytes(header), .. data[..^4]],
            1 => [.. Encoding.UTF8.GetBytes(header), .. data, 0, 0, 0, 0],
            _ => Encoding.UTF8.GetBytes(header).Concat(data).ToArray(),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/ocr-cls/infer") { Content = new ByteArrayContent(body) };
        request.Headers.Add("Inference-Header-Content-Length", (lie == 999_999 ? lie : Encoding.UTF8.GetByteCount(header)).ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Contains(expected, await Error(await _host.Client.SendAsync(request), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BinaryInputWithoutHeaderLength_Is400()
    {
        var body = """{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","parameters":{"binary_data_size":110592}}]}""";

        var text = await Text(await _host.Client.PostAsync("/v2/models/ocr-cls/infer", Json(body)), HttpStatusCode.BadRequest);

        Assert.Contains("must give Inference-Header-Content-Length", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"inputs\":[", "failed to parse the request JSON")]
    [InlineData("", "the request body is empty: send an Open Inference Protocol request")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32"}]}""", "input 'x' must set exactly one of 'data' or 'parameters.binary_data_size'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2,3]}]}""", "input 'x': data has 3 elements; shape needs 2")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,2],"datatype":"FLOAT","data":[1,2]}]}""", "datatype 'FLOAT' is not one of")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,3,2,2],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,"x"]}]}""", "element 11 (\"x\") is not a valid FP32 value")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4,1,1],"datatype":"FP32","data":[1,2,3,4]}]}""", "input 'x' dimension 1 is 4; the model expects 3")]
    public async Task Infer_BadJson_Is400WithSpecificError(string body, string expected)
    {
        var error = await Error(await _host.Client.PostAsync("/v2/models/ocr-cls/infer", Json(body)), HttpStatusCode.BadRequest);

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BodyOverLimit_Is413WithTheProtocolsErrorBody()
    {
        var body = new ByteArrayContent(new byte[1_000_001]);

        var text = await Text(await _host.Client.PostAsync("/v2/models/ocr-cls/infer", body), HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("exceeds the maximum allowed input size of 1000000 bytes", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_GzipBodyInflatingOverLimit_Is413()
    {
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(new byte[2_000_000]);
        }

        var body = new ByteArrayContent(compressed.ToArray());
        body.Headers.ContentEncoding.Add("gzip");

        var error = await Error(await _host.Client.PostAsync("/v2/models/ocr-cls/infer", body), HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal("request body exceeds the maximum allowed input size of 1000000 bytes", error);
    }

    [Fact]
    public async Task Infer_UnknownModel_Is404()
    {
        var text = await Text(await _host.Client.PostAsync("/v2/models/ocr-det/infer", Json("""{"inputs":[]}""")), HttpStatusCode.NotFound);

        Assert.Equal("""{"error":"model 'ocr-det' is not served"}""", text);
    }

    [Fact]
    public async Task Infer_GzipBodyAndAcceptEncoding_RoundTripsCompressed()
    {
        var input = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 8);
        var body = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":{{JsonSerializer.Serialize(input)}}}]}""");
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(body);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/ocr-cls/infer") { Content = new ByteArrayContent(compressed.ToArray()) };
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("deflate", 0.5));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip", 1.0));

        using var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", response.Content.Headers.ContentEncoding.Single());
        await using var inflated = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        using var json = await JsonDocument.ParseAsync(inflated);
        Assert.Equal(Bare(input), json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [Fact]
    public async Task Infer_UnsupportedContentEncoding_Is501WithAcceptEncoding()
    {
        var content = Json("{}");
        content.Headers.ContentEncoding.Add("br");

        using var response = await _host.Client.PostAsync("/v2/models/ocr-cls/infer", content);

        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        Assert.Equal("gzip, deflate", response.Headers.GetValues("Accept-Encoding").Single());
        Assert.Equal("""{"error":"Unsupported compression type 'br'"}""", await response.Content.ReadAsStringAsync());
    }

    private static HttpRequestMessage BinaryRequest(float[] input, string header)
    {
        // As tritonclient's sync client sends it: no Content-Type, the header length in bytes, then the tensor.
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/ocr-cls/infer") { Content = new ByteArrayContent([.. headerBytes, .. MemoryMarshalBytes(input)]) };
        request.Headers.Add("Inference-Header-Content-Length", headerBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return request;
    }

    private static byte[] MemoryMarshalBytes(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static float[] Bare(float[] input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(ModelFixtures.Classifier, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, ModelFixtures.ClassifierShape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [value], [Output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static async Task<string> Error(HttpResponseMessage response, HttpStatusCode expected)
    {
        using var json = JsonDocument.Parse(await Text(response, expected));
        return json.RootElement.GetProperty("error").GetString()!;
    }

    private static async Task<string> Text(HttpResponseMessage response, HttpStatusCode expected)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {text}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return text;
        }
    }

    /// <summary>A JSON body as clients label it (a bare StringContent says text/plain, which the API refuses).</summary>
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
