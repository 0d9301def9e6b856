using Microsoft.Extensions.Logging.Abstractions;
using System.Security.Cryptography;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Tests.Registries;

public sealed class DistributionServicesTests : IDisposable
{
    private readonly DistributionHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void AddModelDistribution_InvalidOptions_RefusedAtStart()
    {
        using var services = new ServiceCollection()
            .AddModelDistribution(o => o.DataDirectory = "", d => d.MaxAttempts = 0)
            .BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ModelStoreOptions>>().Value);

        Assert.Contains("DataDirectory", e.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<DownloadOptions>>().Value);
    }

    [Fact]
    public async Task DownloadAsync_WithMetrics_CountsBytesAndFailures()
    {
        using var meters = new TestMeterFactory();
        var metrics = new DistributionMetrics(meters);
        using var bytes = new MetricCollector<long>(metrics.DownloadedBytes);
        using var failures = new MetricCollector<long>(metrics.DownloadFailures);
        var published = _h.Publish(_h.Package(1));
        var model = Path.Combine(published, PackageBuilder.ModelFileName);
        var size = new FileInfo(model).Length;
        var downloader = new FileDownloader(new DownloadOptions { RetryDelay = TimeSpan.Zero }, TimeProvider.System, NullLogger<FileDownloader>.Instance, metrics);
        var registry = TestRegistries.Create(_h.RegistryRoot);

        await downloader.DownloadAsync(registry, "cls/1/model.onnx", _h.Temp("ok.onnx"), size, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(model))), null, CancellationToken.None);
        await Assert.ThrowsAsync<DownloadException>(() =>
            downloader.DownloadAsync(registry, "cls/1/model.onnx", _h.Temp("bad.onnx"), size, new string('0', 64), null, CancellationToken.None));

        Assert.Equal(2 * size, bytes.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal("HashMismatch", Assert.Single(failures.GetMeasurementSnapshot()).Tags["failure"]);
    }
}
