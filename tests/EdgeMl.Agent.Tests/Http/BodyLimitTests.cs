using System.Net;
using System.Text.Json;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Http;

/// <summary>
/// EdgeMl:Http:MaxRequestBodyBytes in the real agent, where Kestrel enforces the same limit: an oversized body gets
/// 413 with the protocol's error body whether it declares its length or streams without one.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class BodyLimitTests : IAsyncLifetime
{
    private const int Limit = 64 * 1024;
    private readonly TestPackages.TempFolder _temp = new();
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        _agent = AgentProcess.Start([$"--EdgeMl:DataDirectory={_temp.Sub("data")}", $"--EdgeMl:Mqtt:Port={AgentProcess.FreePort()}", $"--EdgeMl:Http:MaxRequestBodyBytes={Limit}"]);
        await _agent.WaitUntilLiveAsync();
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
