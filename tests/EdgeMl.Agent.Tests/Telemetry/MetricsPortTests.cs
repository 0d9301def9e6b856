using System.Globalization;
using System.Net;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Tests.Hosting;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Telemetry;

/// <summary>The real agent host on loopback: the metrics port answers <c>/metrics</c> and nothing else.</summary>
public sealed class MetricsPortTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task MetricsPort_ServesOnlyMetrics_ApiPortUnaffected()
    {
        var api = HostingRulesTests.FreePort();
        var metrics = HostingRulesTests.FreePort();
        var mqtt = HostingRulesTests.FreePort();
        await using var app = AgentHost.Build(
        [
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
            $"--EdgeMl:DeviceId=edge01",
            $"--EdgeMl:Http:Urls=http://127.0.0.1:{api.ToString(CultureInfo.InvariantCulture)}",
            $"--EdgeMl:MetricsUrls=http://127.0.0.1:{metrics.ToString(CultureInfo.InvariantCulture)}",
            "--EdgeMl:Grpc:Urls=http://127.0.0.1:0",
            $"--EdgeMl:Mqtt:EmbeddedPort={mqtt.ToString(CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning",
            "--EdgeMl:DrainWindow=00:00:00",
        ]);
        using var start = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await app.StartAsync(start.Token);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var metricsBase = $"http://127.0.0.1:{metrics.ToString(CultureInfo.InvariantCulture)}";
            var apiBase = $"http://127.0.0.1:{api.ToString(CultureInfo.InvariantCulture)}";

            using var scrape = await http.GetAsync(new Uri($"{metricsBase}/metrics"));
            using var live = await http.GetAsync(new Uri($"{metricsBase}/v2/health/live"));
            using var post = await http.PostAsync(new Uri($"{metricsBase}/metrics"), new StringContent(""));
            using var apiLive = await http.GetAsync(new Uri($"{apiBase}/v2/health/live"));

            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
            Assert.Contains("# TYPE", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, live.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
            Assert.Equal(HttpStatusCode.OK, apiLive.StatusCode);
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await app.StopAsync(stop.Token);
        }
    }
}
