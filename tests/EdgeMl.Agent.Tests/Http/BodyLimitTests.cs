using System.Net;
using System.Text.Json;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Http;

/// <summary>
/// EdgeMl:Http:MaxRequestBodyBytes in the real agent, where Kestrel enforces the same limit: an oversized body gets
/// 413 with the protocol's error body whether it declares its length or streams without one.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class BodyLimitTests : IAsyncLifetime
{
    private const int Limit = 64 * 1024;
    private readonly TestPackages.TempFolder _temp = new();
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        // A served model: a body for any other is answered 404 before it is read.
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(_temp.Sub("pkg"), "ocr-cls", 1, key);
        TestPackages.PublishToFolder(_temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = Path.Combine(_temp.Path, "trust.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        _agent = AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}", $"--EdgeMl:Mqtt:Port={AgentProcess.FreePort()}", $"--EdgeMl:Http:MaxRequestBodyBytes={Limit}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}", $"--EdgeMl:Desired:registry={_temp.Sub("registry")}", "--EdgeMl:Desired:models:ocr-cls:providers=cpu",
        ]);
        await _agent.WaitUntilLiveAsync();
        var guard = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            using var ready = await _agent.Http.GetAsync(new Uri("/v2/models/ocr-cls/ready", UriKind.Relative));
            if (ready.IsSuccessStatusCode)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < guard && !_agent.HasExited, $"the model did not get ready:\n{_agent.Output}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _temp.Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Infer_BodyOverTheLimit_Is413WithTheProtocolsError(bool declaresLength)
    {
        var bytes = new byte[Limit * 4];
        HttpContent body = declaresLength ? new ByteArrayContent(bytes) : new StreamContent(new UnknownLengthStream(bytes));

        using var response = await _agent.Http.PostAsync(new Uri("/v2/models/ocr-cls/infer", UriKind.Relative), body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains($"exceeds the maximum allowed input size of {Limit} bytes", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>A body whose length HttpClient cannot know, so it goes chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
