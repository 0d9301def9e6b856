using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// The local API of the real <c>edgeml run</c>, on its default binding (loopback, no token), against callers who do
/// not belong there: a web page in a browser on the device (DNS rebinding, cross-site posts), hostile bodies that
/// claim more than they carry, made-up model names; and a command line that binds beyond loopback behind its back.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class LocalApiTrustTests(LocalApiTrustTests.ServingAgent fixture) : IClassFixture<LocalApiTrustTests.ServingAgent>
{
    private const string Model = "ocr-cls";
    private const long MemoryBudgetKb = 300 * 1024;

    [Fact]
    public async Task SupportBundle_ForeignHostHeader_421AndNothingOfItServed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/support-bundle");
        request.Headers.Host = $"attacker.example:{fixture.Agent.HttpPort}";

        using var response = await fixture.Agent.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        Assert.Contains("attacker.example", JsonNode.Parse(text)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("configuration", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SupportBundle_LocalCaller_ListsTheAgentsVariablesAndNoSecret()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/support-bundle");
        request.Headers.Host = $"localhost:{fixture.Agent.HttpPort}";

        using var response = await fixture.Agent.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        foreach (var secret in ServingAgent.Secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        var environment = JsonNode.Parse(text)!["environment"]!.AsObject();
        Assert.Equal("0", environment["DOTNET_gcServer"]!.GetValue<string>());
        Assert.Equal("***", environment["EdgeMl__Registry__ApiKey"]!.GetValue<string>());
        Assert.False(environment.ContainsKey("API_KEY"));
    }

    [Fact]
    public async Task Infer_TextPlainFromAForeignOrigin_403_WithoutOrigin_415_FromItsOwnPage_Served()
    {
        var foreign = await PostAsync(Classifier(), "text/plain", origin: "http://attacker.example");
        var form = await PostAsync(Classifier(), "application/x-www-form-urlencoded", origin: null);
        var own = await PostAsync(Classifier(), "application/json", origin: $"http://127.0.0.1:{fixture.Agent.HttpPort}");

        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.Status);
        Assert.True(own.Status == HttpStatusCode.OK, own.Text);
    }

    [Fact]
    public async Task Infer_UnknownModel_404BeforeTheBodyIsRead()
    {
        using var response = await fixture.Agent.Http.PostAsync("/v2/models/made-up/infer", new StringContent("{\"inputs\":[", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model 'made-up' is not served", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    /// <summary>
    /// Bodies of a few bytes whose shapes claim gigabytes: each is a 400 naming the input, and the process's peak
    /// memory stays where it was (before, the JSON one cost 1.6 GB a request, touched, and the BYTES one a 500).
    /// </summary>
    [Fact]
    public async Task Infer_BodiesClaimingMoreThanTheyCarry_400NamingTheInputAndPeakMemoryFlat()
    {
        var before = PeakKb();

        foreach (var elements in new[] { 268435455L, 200000000, 200000000, 200000000, 200000000 })
        {
            var json = $$"""{"inputs":[{"name":"x","shape":[{{elements}}],"datatype":"FP64","data":[1]}]}""";
            var answer = await PostAsync(json, "application/json", origin: null);
            Assert.True(answer.Status == HttpStatusCode.BadRequest, answer.Text);
            Assert.Contains($"input 'x': data has 1 elements; shape needs {elements}", answer.Text, StringComparison.Ordinal);
        }

        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2147483647],"datatype":"BYTES","parameters":{"binary_data_size":8}}]}""");
        using var binary = new ByteArrayContent([.. header, 1, 0, 0, 0, 0x61, 0, 0, 0]);
        binary.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        binary.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        using var bytes = await fixture.Agent.Http.PostAsync($"/v2/models/{Model}/infer", binary);
        Assert.Equal(HttpStatusCode.BadRequest, bytes.StatusCode);
        Assert.Contains("input 'x'", await bytes.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Twenty connections each declare 60 MB, send 64 KB and wait: the bytes, not the claim, size the buffers, and
        // the agent goes on serving others meanwhile.
        var liars = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => LyingContentLengthAsync(60_000_000, 64 * 1024)));
        try
        {
            var served = await PostAsync(Classifier(), "application/json", origin: null);
            Assert.True(served.Status == HttpStatusCode.OK, served.Text);
        }
        finally
        {
            foreach (var liar in liars)
            {
                liar.Dispose();
            }
        }

        Assert.InRange(PeakKb() - before, 0, MemoryBudgetKb);
        Assert.False(fixture.Agent.HasExited);
    }

    [Fact]
    public async Task Metrics_ThousandsOfMadeUpModelNames_DoNotGrowTheScrape()
    {
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{fixture.Agent.MetricsPort}") };
        var before = await metrics.GetStringAsync("/metrics");

        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            // A request that parses: before, it reached the engine, which labelled it with the made-up name.
            using var body = new StringContent("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}""", Encoding.UTF8, "application/json");
            using var response = await fixture.Agent.Http.PostAsync($"/v2/models/made-up-{i}/infer", body, ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        });
        var after = await metrics.GetStringAsync("/metrics");

        Assert.DoesNotContain("made-up-", after, StringComparison.Ordinal);
        Assert.InRange(after.Length - before.Length, -4096, 4096);
    }

    /// <summary>Endpoints from Kestrel's own configuration bind beyond loopback: the token rule sees what was bound.</summary>
    [Fact]
    public async Task Run_KestrelEndpointBeyondLoopbackWithoutToken_RefusesToStartWithExit2()
    {
        using var temp = new TestPackages.TempFolder();
        var port = AgentProcess.FreePort();

        var (code, _, error) = await EdgeMlProcess.RunAsync(
        [
            "run",
            $"--EdgeMl:DataDirectory={temp.Sub("data")}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            $"--Kestrel:Endpoints:x:Url=http://0.0.0.0:{port}",
            "--EdgeMl:Grpc:Urls=http://127.0.0.1:0",
        ], TimeSpan.FromSeconds(60));

        Assert.True(code == 2, error);
        Assert.Contains($"http://0.0.0.0:{port}", error, StringComparison.Ordinal);
        Assert.Contains("EdgeMl:Http:Token", error, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, string Text)> PostAsync(string body, string contentType, string? origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{Model}/infer") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        using var response = await fixture.Agent.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A raw request whose Content-Length promises more than is sent, its connection left open.</summary>
    private async Task<TcpClient> LyingContentLengthAsync(long declared, int sent)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, fixture.Agent.HttpPort);
        var head = $"POST /v2/models/{Model}/infer HTTP/1.1\r\nHost: 127.0.0.1:{fixture.Agent.HttpPort}\r\nContent-Type: application/octet-stream\r\n"
            + $"Inference-Header-Content-Length: 16\r\nContent-Length: {declared}\r\n\r\n";
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head));
        await client.GetStream().WriteAsync(new byte[sent]);
        return client;
    }

    private long PeakKb() =>
        long.Parse(File.ReadLines($"/proc/{fixture.Agent.Id}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static string Classifier() =>
        $$"""{"inputs":[{"name":"x","shape":[1,3,48,192],"datatype":"FP32","data":[{{string.Join(',', Enumerable.Repeat("0.5", 3 * 48 * 192))}}]}]}""";

    /// <summary>One agent for the class: the fixture classifier from a signed folder registry, secrets in its environment.</summary>
    public sealed class ServingAgent : IAsyncLifetime
    {
        /// <summary>Values that must never leave the device.</summary>
        public static readonly string[] Secrets = ["api-key-7f3a", "storage-account-key-91c2", "mqtt-pass-5d0e", "registry-api-key-44b1"];

        private readonly TestPackages.TempFolder _temp = new();

        internal AgentProcess Agent { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            using var key = SigningKey.Create();
            var package = TestPackages.Classifier(_temp.Sub("pkg"), Model, 1, key);
            TestPackages.PublishToFolder(_temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
            var trust = Path.Combine(_temp.Path, "trust.pem");
            await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
            Agent = AgentProcess.Start(
                [
                    $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
                    $"--EdgeMl:TrustedKeyFiles:0={trust}",
                    $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
                    $"--EdgeMl:Desired:registry={_temp.Sub("registry")}",
                    $"--EdgeMl:Desired:models:{Model}:version=latest",
                    $"--EdgeMl:Desired:models:{Model}:providers=cpu",
                    $"--EdgeMl:Desired:models:{Model}:threads=1",
                ],
                environment: new Dictionary<string, string>
                {
                    ["API_KEY"] = Secrets[0],
                    ["STORAGE_ACCOUNT_KEY"] = Secrets[1],
                    ["MQTT_PASS"] = Secrets[2],
                    ["EdgeMl__Registry__ApiKey"] = Secrets[3],
                });
            await Agent.WaitUntilLiveAsync();
            var guard = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                using (var ready = await Agent.Http.GetAsync("/v2/health/ready"))
                {
                    if (ready.IsSuccessStatusCode)
                    {
                        return;
                    }
                }

                Assert.True(DateTime.UtcNow < guard && !Agent.HasExited, $"the agent did not get ready:\n{Agent.Output}");
                await Task.Delay(100);
            }
        }

        public async Task DisposeAsync()
        {
            await Agent.DisposeAsync();
            _temp.Dispose();
        }
    }
}
