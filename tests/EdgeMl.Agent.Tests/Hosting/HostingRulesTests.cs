using System.Net;
using System.Net.Sockets;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Http;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Hosting;

public sealed class HostingRulesTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("http://127.0.0.1:8000")]
    [InlineData("http://localhost:8000")]
    [InlineData("http://[::1]:8000")]
    [InlineData("https://127.0.0.2:8443/")]
    [InlineData("http://127.0.0.1:8000;http://[::1]:8000")]
    public void HttpApiRules_LoopbackWithoutToken_Valid(string urls)
    {
        var result = new HttpApiOptionsRules().Validate(null, new HttpApiOptions { Urls = urls });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8000,http://127.0.0.1:9600", "http://127.0.0.1:9600", "http://127.0.0.1:8000", "http://127.0.0.1:9600")]
    [InlineData("http://127.0.0.1:8000,http://[::1]:8000,http://127.0.0.1:9600", "http://+:9600", "http://127.0.0.1:8000, http://[::1]:8000", "http://127.0.0.1:9600")]
    [InlineData("http://127.0.0.1:8000", "", "http://127.0.0.1:8000", "")]
    [InlineData("http://127.0.0.1:8000", "http://127.0.0.1:0", "http://127.0.0.1:8000", "http://127.0.0.1:0")]
    public void StartedLine_SaysTheApiAndTheMetricsAddressesApart(string bound, string metricsUrls, string api, string metrics)
    {
        var (saidApi, saidMetrics) = AgentHost.SplitBound(bound.Split(','), metricsUrls);

        Assert.Equal(api, saidApi);
        Assert.Equal(metrics, saidMetrics);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8000")]
    [InlineData("http://[::]:8000")]
    [InlineData("http://+:8000")]
    [InlineData("http://192.168.1.20:8000")]
    [InlineData("http://127.0.0.1:8000;http://0.0.0.0:8001")]
    public void HttpApiRules_BeyondLoopbackWithoutToken_RefusedWithClearMessage(string urls)
    {
        var result = new HttpApiOptionsRules().Validate(null, new HttpApiOptions { Urls = urls });

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("beyond loopback", failure, StringComparison.Ordinal);
        Assert.Contains("set EdgeMl:Http:Token (16 characters or more)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpApiRules_BeyondLoopbackWithShortOrLongToken_OnlyLongAccepted()
    {
        var rules = new HttpApiOptionsRules();

        Assert.True(rules.Validate(null, new HttpApiOptions { Urls = "http://0.0.0.0:8000", Token = "short" }).Failed);
        Assert.True(rules.Validate(null, new HttpApiOptions { Urls = "http://0.0.0.0:8000", Token = new string('t', 16) }).Succeeded);
    }

    [Theory]
    [InlineData("edgeml", true)]
    [InlineData("edgeml; press-7.plant.example ;*.plant.example", true)]
    [InlineData("*", false)]
    [InlineData("edgeml:8000", false)]
    [InlineData("http://edgeml", false)]
    [InlineData("*edgeml", false)]
    public void HttpApiRules_AllowedHosts_NamesOnly(string allowedHosts, bool valid)
    {
        var result = new HttpApiOptionsRules().Validate(null, new HttpApiOptions { AllowedHosts = allowedHosts });

        Assert.Equal(valid, result.Succeeded);
        Assert.All(result.Failures ?? [], f => Assert.Contains("EdgeMl:Http:AllowedHosts", f, StringComparison.Ordinal));
    }

    [Fact]
    public void HttpApiRules_TokenIsAnUnexpandedTemplateVariable_Refused()
    {
        var result = new HttpApiOptionsRules().Validate(null, new HttpApiOptions { Urls = "http://0.0.0.0:8000", Token = "$EDGEML_HTTP_TOKEN" });

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("unexpanded deployment variable", failure, StringComparison.Ordinal);
        Assert.Contains("examples/module.env", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpApiRules_NotHttp_Refused()
    {
        var result = new HttpApiOptionsRules().Validate(null, new HttpApiOptions { Urls = "ftp://127.0.0.1:21" });

        Assert.Contains("is not an http:// or https:// URL", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void AgentOptions_Defaults_Valid()
    {
        var options = new AgentOptions { DeviceId = "edge01" };

        Assert.True(new AgentOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new AgentOptionsRules().Validate(null, options).Succeeded);
    }

    [Fact]
    public void AgentOptions_DeviceIdWithSlash_RefusedWithItsMessage()
    {
        var result = new AgentOptionsValidator().Validate(null, new AgentOptions { DeviceId = "edge/01" });

        Assert.Contains("DeviceId must be one topic level", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void AgentOptions_RangesChecked()
    {
        var result = new AgentOptionsValidator().Validate(null, new AgentOptions { DeviceId = "d", PullTimeout = TimeSpan.FromSeconds(1), RetryMinDelay = TimeSpan.Zero });

        Assert.True(result.Failed);
        Assert.Contains(nameof(AgentOptions.PullTimeout), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(AgentOptions.RetryMinDelay), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void AgentOptionsRules_SeveralProblems_ReportedTogether()
    {
        var missing = _temp.Sub("nope.pem");
        var options = new AgentOptions
        {
            DeviceId = "d",
            TrustedKeyFiles = [missing],
            RetryMinDelay = TimeSpan.FromMinutes(5),
            RetryMaxDelay = TimeSpan.FromMinutes(1),
            MetricsUrls = "https://127.0.0.1:9600;nonsense",
        };

        var failures = new AgentOptionsRules().Validate(null, options).Failures!.ToArray();

        Assert.Equal(4, failures.Length);
        Assert.Contains($"EdgeMl:TrustedKeyFiles: {missing} does not exist.", failures);
        Assert.Contains("EdgeMl:RetryMinDelay must not exceed EdgeMl:RetryMaxDelay.", failures);
        Assert.Contains("EdgeMl:MetricsUrls: 'https://127.0.0.1:9600' is not an http:// URL.", failures);
        Assert.Contains("EdgeMl:MetricsUrls: 'nonsense' is not an http:// URL.", failures);
    }

    [Theory]
    [InlineData("http://+:9600", null, new[] { 9600 })]
    [InlineData("http://*:9600", null, new[] { 9600 })]
    [InlineData("http://0.0.0.0:9600;http://[::]:9601", null, new[] { 9600, 9601 })]
    [InlineData("http://127.0.0.1:0", "EdgeMl:MetricsUrls: 'http://127.0.0.1:0' has port 0", new[] { 0 })]
    public void AgentOptionsRules_MetricsUrls_AsKestrelBindsThem(string urls, string? problem, int[] ports)
    {
        var result = new AgentOptionsRules().Validate(null, new AgentOptions { DeviceId = "d", MetricsUrls = urls });

        Assert.Equal(problem is null, result.Succeeded);
        Assert.True(problem is null || result.FailureMessage!.StartsWith(problem, StringComparison.Ordinal), result.FailureMessage);
        Assert.Equal(ports, AgentOptions.Ports(urls).Order());
    }

    [Fact]
    public void AgentOptionsRules_DrainWindowNotShorterThanShutdownTimeout_Refused()
    {
        var options = new AgentOptions { DeviceId = "d", DrainWindow = TimeSpan.FromSeconds(30), ShutdownTimeout = TimeSpan.FromSeconds(30) };

        var failure = Assert.Single(new AgentOptionsRules().Validate(null, options).Failures!);

        Assert.Equal("EdgeMl:DrainWindow (00:00:30) must be shorter than EdgeMl:ShutdownTimeout (00:00:30): requests in flight need time to finish after it.", failure);
        Assert.True(new AgentOptionsRules().Validate(null, new AgentOptions { DeviceId = "d" }).Succeeded);
    }

    [Fact]
    public async Task Build_ShutdownTimeout_IsTheHostsLimitOnTheStop()
    {
        await using var app = AgentHost.Build([$"--EdgeMl:DataDirectory={_temp.Sub("data")}", "--EdgeMl:ShutdownTimeout=00:00:07"]);

        Assert.Equal(TimeSpan.FromSeconds(7), app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }

    [Fact]
    public async Task Build_HostingDiagnosticsLogger_IsOffSoNoRequestActivityIsMadeWithoutATraceListener()
    {
        await using var app = AgentHost.Build([$"--EdgeMl:DataDirectory={_temp.Sub("data")}"]);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();

        // ASP.NET Core starts an Activity for every request when this category logs at Critical, for log scopes the
        // agent does not write: with it off, a request allocates none (docs/benchmarks.md).
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Critical));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public async Task Build_GrpcCallErrors_AreNotLoggedPerCall_ButFailuresAre()
    {
        await using var app = AgentHost.Build([$"--EdgeMl:DataDirectory={_temp.Sub("data")}"]);
        var calls = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler");

        // A caller's bad request is its status code, not a line in the device's log for every call (as over HTTP);
        // a method that fails inside the server still logs at Error.
        Assert.False(calls.IsEnabled(LogLevel.Information));
        Assert.True(calls.IsEnabled(LogLevel.Error));
    }

    /// <summary>The settings files are part of the image or given at start: read once, with no watcher thread on the executable's folder.</summary>
    [Fact]
    public async Task Build_SettingsFiles_AreReadOnceNotWatched()
    {
        var config = Path.Combine(_temp.Path, "settings.json");
        await File.WriteAllTextAsync(config, "{}");

        await using var app = AgentHost.Build([$"--EdgeMl:DataDirectory={_temp.Sub("data")}"], config);

        var files = ((IConfigurationRoot)app.Configuration).Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.Contains(files, f => f.Source.Path == "appsettings.json");
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, $"{f.Source.Path} is watched for changes"));
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
