using Microsoft.Extensions.Logging.Abstractions;
using System.Security.Cryptography;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace EdgeMl.CloudSync.Tests.Registries;

public sealed class FileDownloaderTests : IDisposable
{
    private readonly DistributionHarness _h = new();
    private readonly TestMeterFactory _meters = new();
    private readonly List<MetricCollector<long>> _collectors = [];
    private readonly byte[] _content = new byte[700_000];
    private readonly string _sha;

    public FileDownloaderTests()
    {
        new Random(5).NextBytes(_content);
        _sha = Convert.ToHexStringLower(SHA256.HashData(_content));
        Directory.CreateDirectory(Path.Combine(_h.RegistryRoot, "m"));
        File.WriteAllBytes(Path.Combine(_h.RegistryRoot, "m", "file.bin"), _content);
    }

    public void Dispose()
    {
        foreach (var collector in _collectors)
        {
            collector.Dispose();
        }

        _meters.Dispose();
        _h.Dispose();
    }

    [Fact]
    public async Task DownloadAsync_KeptPrefixFromKilledRun_ResumesAndFetchesOnlyTheRest()
    {
        var (downloader, bytes) = Downloader();
        var target = _h.Temp("out/file.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllBytesAsync(target + FileDownloader.PartialSuffix, _content.AsSpan(0, 300_000).ToArray());

        await downloader.DownloadAsync(TestRegistries.Create(_h.RegistryRoot), "m/file.bin", target, _content.Length, _sha, null, CancellationToken.None);

        Assert.Equal(_content, await File.ReadAllBytesAsync(target));
        Assert.Equal(400_000, bytes());
    }

    [Fact]
    public async Task DownloadAsync_CorruptKeptPrefix_RefusedAsHashMismatchAndPartialDeleted()
    {
        var (downloader, _) = Downloader();
        var target = _h.Temp("out/file.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var prefix = _content.AsSpan(0, 300_000).ToArray();
        prefix[12] ^= 0x80;
        await File.WriteAllBytesAsync(target + FileDownloader.PartialSuffix, prefix);

        var e = await Assert.ThrowsAsync<DownloadException>(() =>
            downloader.DownloadAsync(TestRegistries.Create(_h.RegistryRoot), "m/file.bin", target, _content.Length, _sha, null, CancellationToken.None));

        Assert.Equal(DownloadFailure.HashMismatch, e.Failure);
        Assert.False(File.Exists(target + FileDownloader.PartialSuffix));
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task DownloadAsync_PartialAlreadyComplete_RenamedWithoutFetching()
    {
        var (downloader, bytes) = Downloader();
        var target = _h.Temp("out/file.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllBytesAsync(target + FileDownloader.PartialSuffix, _content);

        await downloader.DownloadAsync(TestRegistries.Create(_h.RegistryRoot), "m/file.bin", target, _content.Length, _sha, null, CancellationToken.None);

        Assert.True(File.Exists(target));
        Assert.Equal(0, bytes());
    }

    private (FileDownloader Downloader, Func<long> Bytes) Downloader()
    {
        var metrics = new DistributionMetrics(_meters);
        var collector = new MetricCollector<long>(metrics.DownloadedBytes);
        _collectors.Add(collector);
        return (new FileDownloader(new DownloadOptions { RetryDelay = TimeSpan.Zero }, TimeProvider.System, NullLogger<FileDownloader>.Instance, metrics), () => collector.GetMeasurementSnapshot().Sum(m => m.Value));
    }
}
