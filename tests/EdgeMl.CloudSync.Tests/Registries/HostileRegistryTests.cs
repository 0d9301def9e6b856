using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.CloudSync.Tests.Registries;

/// <summary>
/// A registry run by an attacker who cannot sign: special files and links in a folder, servers that trickle or send
/// without end. Every read is bounded, nothing blocks, and what is refused says nothing about what lies outside.
/// </summary>
public sealed class HostileRegistryTests : IAsyncLifetime, IDisposable
{
    // The guard only keeps a regression from hanging the suite; the reads under test end at once or after one stall window.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly DownloadOptions Limits = new() { MinBytesPerSecond = 4096, StallWindow = TimeSpan.FromSeconds(1), RetryDelay = TimeSpan.Zero, MaxAttempts = 1 };
    private readonly DistributionHarness _h = new();
    private LoopbackRegistryServer _server = null!;

    public Task InitializeAsync()
    {
        _server = new LoopbackRegistryServer(_h.RegistryRoot);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData("cls/versions.json")]
    [InlineData("cls/versions.sig")]
    [InlineData("cls/2/manifest.json")]
    [InlineData("cls/2/model.onnx")]
    public async Task PullAsync_FolderFileIsAFifo_RefusedAtOnceAndV1StaysActive(string path)
    {
        await _h.StartWithActiveV1Async();
        _h.Publish(_h.Package(2));
        var fifo = Path.Combine(_h.RegistryRoot, path);
        File.Delete(fifo);
        SpecialFiles.MakeFifo(fifo);

        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(TestRegistries.Create(_h.RegistryRoot, Limits)).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.Denied, e.Failure);
        Assert.Contains($"{path} in {_h.RegistryRoot} is not a regular file", e.Message, StringComparison.Ordinal);
        _h.AssertActiveAndIntact(1);
    }

    [Fact]
    public async Task PullAsync_VersionListLinkedToDevZero_RefusedWithoutReadingIt()
    {
        _h.Publish(_h.Package(1));
        SpecialFiles.Link(Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.FileName), "/dev/zero");

        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(TestRegistries.Create(_h.RegistryRoot, Limits)).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.Denied, e.Failure);
        Assert.Contains("versions.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("is a link", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("/dev/zero", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PullAsync_LinkToAFileOutsideTheRegistry_RefusedWithoutItsSizeOrPath(bool linkTheFolder)
    {
        _h.Publish(_h.Package(1));
        var secret = _h.Temp("outside-secret.bin");
        await File.WriteAllBytesAsync(secret, new byte[12_345]);
        if (linkTheFolder)
        {
            var outside = Directory.CreateDirectory(_h.Temp("outside-folder")).FullName;
            File.Copy(secret, Path.Combine(outside, VersionsDocument.SignatureFileName));
            File.Move(Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.FileName), Path.Combine(outside, VersionsDocument.FileName));
            Directory.Delete(Path.Combine(_h.RegistryRoot, "cls"), recursive: true);
            Directory.CreateSymbolicLink(Path.Combine(_h.RegistryRoot, "cls"), outside);
        }
        else
        {
            SpecialFiles.Link(Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.SignatureFileName), secret);
        }

        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(TestRegistries.Create(_h.RegistryRoot, Limits)).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.Denied, e.Failure);
        Assert.Contains(linkTheFolder ? "is reached through a link" : "is a link", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("12345", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("outside", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cls/versions.json")]
    [InlineData("cls/versions.sig")]
    [InlineData("cls/1/manifest.json")]
    [InlineData("cls/1/manifest.sig")]
    public async Task PullAsync_HttpServerTricklesADocument_CutAsStalled(string path)
    {
        _h.Publish(_h.Package(1));
        _server.Faults = (_, requested, _) => requested == path ? new ServerFault { TrickleInterval = TimeSpan.FromSeconds(2) } : null;

        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(Http()).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.Stalled, e.Failure);
        Assert.Contains($"{path} at {_server.Uri.AbsoluteUri} stalled: fewer than 4096 bytes/s over 1 s", e.Message, StringComparison.Ordinal);
        Assert.Null(_h.Store.GetActive("cls"));
    }

    [Fact]
    public async Task PullAsync_HttpServerSendsHeadersThenNothing_CutAsStalled()
    {
        _h.Publish(_h.Package(1));
        _server.Faults = (_, requested, _) => requested == "cls/versions.json" ? new ServerFault { HangAfter = 0 } : null;

        var e = await Assert.ThrowsAsync<RegistryException>(() => PullAsync(Http()).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.Stalled, e.Failure);
    }

    [Fact]
    public async Task TryReadAsync_BlobServerTricklesTheVersionList_CutAsStalled()
    {
        await using var blobServer = new LoopbackRegistryServer(_h.RegistryRoot, "/account/registry/");
        _h.Publish(_h.Package(1));
        blobServer.Faults = (_, requested, _) => requested == "cls/versions.json" ? new ServerFault { TrickleInterval = TimeSpan.FromSeconds(2) } : null;
        var registry = TestRegistries.Create("blob:" + blobServer.Uri.AbsoluteUri.TrimEnd('/'), Limits);

        var e = await Assert.ThrowsAsync<RegistryException>(() => registry.TryReadAsync("cls/versions.json", PackageLimits.MaxManifestBytes, CancellationToken.None).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.Stalled, e.Failure);
    }

    [Fact]
    public async Task TryReadAsync_BlobFarLargerThanTheCap_RefusedWithoutDownloadingIt()
    {
        await using var blobServer = new LoopbackRegistryServer(_h.RegistryRoot, "/account/registry/");
        Directory.CreateDirectory(Path.Combine(_h.RegistryRoot, "cls"));
        await using (var huge = File.Create(Path.Combine(_h.RegistryRoot, "cls", VersionsDocument.FileName)))
        {
            huge.SetLength(4 * PackageLimits.MaxManifestBytes);
        }

        var registry = TestRegistries.Create("blob:" + blobServer.Uri.AbsoluteUri.TrimEnd('/'), Limits);

        var e = await Assert.ThrowsAsync<RegistryException>(() => registry.TryReadAsync("cls/versions.json", PackageLimits.MaxManifestBytes, CancellationToken.None).WaitAsync(Guard));

        Assert.Equal(RegistryFailure.TooLarge, e.Failure);
        // What the socket buffers hold is all that left the server; a whole download would be 64 MiB.
        Assert.True(blobServer.BodyBytesSent < 2 * PackageLimits.MaxManifestBytes, $"{blobServer.BodyBytesSent} bytes were sent");
    }

    [Fact]
    public async Task DownloadAsync_SourceIgnoresCancellation_AbandonedWhenItStalls()
    {
        // What a file on a hung network mount does: a read that never returns and does not listen to its token.
        var downloader = new FileDownloader(Limits);

        var e = await Assert.ThrowsAsync<DownloadException>(() =>
            downloader.DownloadAsync(new HungRegistry(), "cls/1/model.onnx", _h.Temp("model.onnx"), 1000, new string('0', 64), null, CancellationToken.None).WaitAsync(Guard));

        Assert.Equal(DownloadFailure.Stalled, e.Failure);
    }

    [Fact]
    public async Task DownloadAsync_SourceIgnoresCancellation_EndsWhenThePullIsCancelled()
    {
        // The agent's PullTimeout and SIGTERM cancel the pull's token; a hung read must not outlive it.
        var downloader = new FileDownloader(new DownloadOptions { StallWindow = TimeSpan.FromHours(1), MaxAttempts = 1 });
        using var cancel = new CancellationTokenSource();
        var registry = new HungRegistry();
        var download = downloader.DownloadAsync(registry, "cls/1/model.onnx", _h.Temp("model.onnx"), 1000, new string('0', 64), null, cancel.Token);
        await registry.Reading.WaitAsync(Guard);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download.WaitAsync(Guard));
    }

    private IModelRegistry Http() => TestRegistries.Create(_server.Uri.AbsoluteUri, Limits);

    private Task<PullResult> PullAsync(IModelRegistry registry) =>
        new ModelPuller(registry, _h.Store, _h.Trust, new FileDownloader(Limits))
            .PullAsync(new PullRequest("cls"), new AcceptingValidator(), null, CancellationToken.None);

    /// <summary>A registry whose content stream hangs in every read and ignores cancellation.</summary>
    private sealed class HungRegistry : IModelRegistry
    {
        public SemaphoreSlim Reading { get; } = new(0);

        public string Description => "a hung mount";

        public Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken) =>
            Task.FromResult(new RegistryContent(new HungStream(Reading), 0));

        public Task WriteAsync(string path, Stream content, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class HungStream(SemaphoreSlim reading) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            reading.Release();
            return new(new TaskCompletionSource<int>().Task);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
