using System.Net;
using System.Net.Http.Headers;

namespace EdgeMl.Agent.Tests.Http;

public sealed class BearerTokenTests
{
    [Fact]
    public async Task Request_TokenConfigured_HealthIsOpenAndEverythingElseNeedsIt()
    {
        await using var host = await ApiHost.StartAsync(o => o.Token = "s3cret");

        using var live = await host.Client.GetAsync("/v2/health/live");
        using var anonymous = await host.Client.GetAsync("/v2");
        using var wrong = await Send(host, "/v2", "guess");
        using var right = await Send(host, "/v2", "s3cret");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("\"error\"", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    private static Task<HttpResponseMessage> Send(ApiHost host, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return host.Client.SendAsync(request);
    }
}
