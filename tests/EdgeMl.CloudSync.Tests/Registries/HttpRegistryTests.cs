using Microsoft.Extensions.Logging.Abstractions;
using System.Diagnostics;
using System.Security.Cryptography;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing.Distribution;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace EdgeMl.CloudSync.Tests.Registries;

public sealed class HttpRegistryTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private readonly DistributionHarness _h = new();
    private LoopbackRegistryServer _server = null!;

    private IModelRegistry Http => TestRegistries.Create(_server.Uri.AbsoluteUri);

    public Task InitializeAsync()
    {
        _server = new LoopbackRegistryServer(_h.RegistryRoot);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task PullAsync_OverHttp_ActivatesLatest()
    {
        _h.Publish(_h.Package(1));
        _h.Publish(_h.Package(2));

        var result = await _h.PullAsync(registry: Http);

        Assert.Equal(2, result.Version);
        _h.AssertActiveAndIntact(2);
    }

    [Fact]
    public async Task PullAsync_ConnectionDroppedHalfWay_ResumesWithRangeAndCompletes()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        var modelSize = new FileInfo(Path.Combine(_h.RegistryRoot, "cls", "2", PackageBuilder.ModelFileName)).Length;
        _server.Faults = (method, path, count) => path == "cls/2/model.onnx" && count == 0 ? new ServerFault { DropAfter = modelSize / 2 } : null;

        var result = await _h.PullAsync(registry: Http);

        Assert.True(result.Activation!.Activated);
        _h.AssertActiveAndIntact(2);
        var gets = _server.Requests.Where(r => r.Path == "cls/2/model.onnx").ToArray();
        Assert.Equal(2, gets.Length);
        Assert.Equal(206, gets[1].Status);
        Assert.Equal($"bytes={modelSize / 2}-", gets[1].Range);
        output.WriteLine($"resume after a cut at {modelSize / 2} of {modelSize} bytes: completed with one Range request");
    }

    [Fact]
    public async Task PullAsync_ServerIgnoresRange_StartsOverAndCompletes()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        _server.Faults = (method, path, count) => path == "cls/2/model.onnx"
            ? count == 0 ? new ServerFault { DropAfter = 100_000 } : new ServerFault { IgnoreRange = true }
            : null;

        await _h.PullAsync(registry: Http);

        _h.AssertActiveAndIntact(2);
    }

    [Fact]
    public async Task PullAsync_RegistryAnswers500_RefusedAsUnavailableAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        _server.Faults = (method, path, count) => path == "cls/2/model.onnx" ? new ServerFault { Status = 500 } : null;

        var e = await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync(registry: Http));

        Assert.Equal(DownloadFailure.RegistryUnavailable, e.Failure);
        Assert.Contains("500", e.Message, StringComparison.Ordinal);
        Assert.Equal(_h.Download.MaxAttempts, _server.Requests.Count(r => r.Path == "cls/2/model.onnx"));
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_VersionListAnswers500_RefusedAsRegistryUnavailable()
    {
        await _h.StartWithActiveV1Async();
        _server.Faults = (method, path, count) => path == "cls/versions.json" ? new ServerFault { Status = 503 } : null;

        var e = await Assert.ThrowsAsync<RegistryException>(() => _h.PullAsync(registry: Http));

        Assert.Equal(RegistryFailure.Unavailable, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task DownloadAsync_ServerHangs_AbortedAsStalledAndPartialKept()
    {
        _h.Publish(_h.Package(1));
        var model = Path.Combine(_h.RegistryRoot, "cls", "1", PackageBuilder.ModelFileName);
        var size = new FileInfo(model).Length;
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(model)));
        _server.Faults = (_, path, _) => path == "cls/1/model.onnx" ? new ServerFault { HangAfter = 200_000 } : null;
        var time = new FakeTimeProvider();
        var downloader = new FileDownloader(new DownloadOptions { MaxAttempts = 1, MinBytesPerSecond = 1024, StallWindow = TimeSpan.FromSeconds(10), RetryDelay = TimeSpan.Zero }, time, NullLogger<FileDownloader>.Instance, DistributionMetrics.Unrecorded);
        var target = _h.Temp("dl/model.onnx");

        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new InlineProgress(p =>
        {
            if (p.Received >= 200_000)
            {
                received.TrySetResult();
            }
        });

        var download = downloader.DownloadAsync(Http, "cls/1/model.onnx", target, size, sha, progress, CancellationToken.None);
        await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // Every byte sent has arrived; now fake windows pass until the watchdog sees one without progress.
        for (var i = 0; i < 1000 && !download.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.WhenAny(download, Task.Delay(20));
        }

        var e = await Assert.ThrowsAsync<DownloadException>(() => download.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(DownloadFailure.Stalled, e.Failure);
        Assert.Contains("1024 bytes/s", e.Message, StringComparison.Ordinal);
        Assert.Equal(200_000, new FileInfo(target + FileDownloader.PartialSuffix).Length);
    }

    [Fact]
    public async Task PullAsync_RegistryHangs_RefusedAsStalledAndV1StaysActive()
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        _server.Faults = (_, path, _) => path == "cls/2/model.onnx" ? new ServerFault { HangAfter = 50_000 } : null;
        _h.Download.MaxAttempts = 1;
        _h.Download.StallWindow = TimeSpan.FromMilliseconds(300);
        _h.Download.MinBytesPerSecond = 1024;

        var e = await Assert.ThrowsAsync<DownloadException>(() => _h.PullAsync(registry: Http));

        Assert.Equal(DownloadFailure.Stalled, e.Failure);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task TryReadAsync_UnchangedDocument_RevalidatedWithIfNoneMatch()
    {
        _h.Publish(_h.Package(1));
        var registry = Http;

        var first = await registry.TryReadAsync("cls/versions.json", 1 << 20, CancellationToken.None);
        var second = await registry.TryReadAsync("cls/versions.json", 1 << 20, CancellationToken.None);

        Assert.Equal(first, second);
        var seen = _server.Requests.Where(r => r.Path == "cls/versions.json").ToArray();
        Assert.Equal([200, 304], seen.Select(r => r.Status));
        Assert.NotNull(seen[1].IfNoneMatch);
    }

    [Fact]
    public async Task PublishAsync_ToHttpWithPut_DevicePullsIt()
    {
        var registry = Http;
        await new ModelPublisher(registry).PublishAsync(_h.Package(1), DistributionHarness.Key, TimeSpan.FromDays(1), null, CancellationToken.None);

        var result = await _h.PullAsync(registry: Http);

        Assert.True(result.Activation!.Activated);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task DownloadAsync_LargeFileOverLoopback_ReportsThroughputWithHashing()
    {
        const int size = 128 * 1024 * 1024;
        var path = Path.Combine(_h.RegistryRoot, "big", "blob.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = new byte[size];
        new Random(7).NextBytes(data);
        await File.WriteAllBytesAsync(path, data);
        var sha = Convert.ToHexStringLower(SHA256.HashData(data));
        data = null;
        var downloader = new FileDownloader(new DownloadOptions());
        var target = _h.Temp("big.bin");
        long reports = 0;

        var watch = Stopwatch.StartNew();
        await downloader.DownloadAsync(Http, "big/blob.bin", target, size, sha, new Progress<DownloadProgress>(_ => Interlocked.Increment(ref reports)), CancellationToken.None);
        watch.Stop();

        Assert.Equal(size, new FileInfo(target).Length);
        var rate = size / 1e6 / watch.Elapsed.TotalSeconds;
        output.WriteLine($"loopback HTTP download with streaming sha256 and final verification: {size / 1e6:F0} MB in {watch.Elapsed.TotalSeconds:F2} s = {rate:F0} MB/s");
        Console.WriteLine($"[figure] loopback HTTP download with hashing: {rate:F0} MB/s ({size / 1e6:F0} MB)");
        Assert.True(Interlocked.Read(ref reports) > 0);
    }

    private sealed class InlineProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
