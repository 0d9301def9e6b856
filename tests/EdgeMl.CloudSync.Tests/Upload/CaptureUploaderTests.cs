using EdgeMl.CloudSync.Upload;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.CloudSync.Tests.Upload;

public sealed class CaptureUploaderTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 10, 30, 0, TimeSpan.Zero);
    private readonly TestMeterFactory _meters = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly MemorySource _source = new();
    private readonly MemorySink _sink = new();
    private readonly UploadOptions _options = new()
    {
        DeviceId = "dev-1",
        MaxRecordsPerBatch = 10,
        RetryMinDelay = TimeSpan.FromSeconds(1),
        RetryMaxDelay = TimeSpan.FromMinutes(10),
        ProbeInterval = TimeSpan.FromSeconds(5),
    };

    private readonly CaptureUploader _uploader;

    public CaptureUploaderTests()
    {
        _uploader = new CaptureUploader(_source, _sink, Options.Create(_options), new UploadMetrics(_meters), _time, NullLogger<CaptureUploader>.Instance);
    }

    [Fact]
    public async Task UploadOnceAsync_Records_ParquetAtPathThenAcknowledged()
    {
        _source.Add(3, Start);
        Assert.Equal(UploadOutcome.Uploaded, await _uploader.UploadOnceAsync(CancellationToken.None));

        var (path, bytes) = Assert.Single(_sink.Blobs);
        Assert.Equal("dev-1/m/2/2026/03/01/10/s-1-3.parquet", path);
        Assert.Equal(["s-1-3"], _source.Acknowledged);
        using var stream = new MemoryStream(bytes);
        var rows = await CaptureParquet.ReadAsync(stream, CancellationToken.None);
        Assert.Equal([1L, 2L, 3L], rows.Select(r => r.RecordId));
        Assert.All(rows, r => Assert.Equal("dev-1", r.DeviceId));
        Assert.Equal(UploadOutcome.Idle, await _uploader.UploadOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task UploadOnceAsync_SinkDown_NotAcknowledgedAndRetriedUnderSameId()
    {
        _source.Add(3, Start);
        _sink.Available = false;
        Assert.Equal(UploadOutcome.Failed, await _uploader.UploadOnceAsync(CancellationToken.None));
        Assert.Equal(UploadOutcome.Failed, await _uploader.UploadOnceAsync(CancellationToken.None));
        Assert.Empty(_source.Acknowledged);
        Assert.Equal(3, _source.Remaining);

        _sink.Available = true;
        Assert.Equal(UploadOutcome.Uploaded, await _uploader.UploadOnceAsync(CancellationToken.None));
        Assert.Equal(["s-1-3"], _source.Acknowledged);
        Assert.Single(_sink.Blobs);
        Assert.Equal(0, _uploader.ConsecutiveFailures);
    }

    [Fact]
    public async Task BackOff_Failures_DoublesUpToMax()
    {
        _source.Add(1, Start);
        _sink.Available = false;
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 12; i++)
        {
            await _uploader.UploadOnceAsync(CancellationToken.None);
            delays.Add(_uploader.BackOff());
        }

        Assert.Equal(TimeSpan.FromSeconds(1), delays[0]);
        Assert.Equal(TimeSpan.FromSeconds(2), delays[1]);
        Assert.Equal(TimeSpan.FromSeconds(256), delays[8]);
        Assert.Equal(TimeSpan.FromMinutes(10), delays[11]);
    }

    [Fact]
    public async Task WaitForLinkAsync_LinkReturnsDuringLongBackOff_ResumesAtNextProbe()
    {
        _source.Add(1, Start);
        _sink.Available = false;
        for (var i = 0; i < 12; i++)
        {
            await _uploader.UploadOnceAsync(CancellationToken.None);
        }

        Assert.Equal(TimeSpan.FromMinutes(10), _uploader.BackOff());
        var wait = _uploader.WaitForLinkAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        await Until(() => _sink.Probes == 1);
        Assert.False(wait.IsCompleted); // the probe failed: still backing off

        _sink.Available = true;
        var advanced = TimeSpan.Zero;
        while (!wait.IsCompleted && advanced < TimeSpan.FromMinutes(1))
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            advanced += TimeSpan.FromSeconds(1);
            await Task.Delay(10);
        }

        // Resumed at the next probe, not after the ten-minute back-off.
        Assert.True(wait.IsCompleted);
        Assert.InRange(advanced, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal(2, _sink.Probes);
        Assert.Equal(UploadOutcome.Uploaded, await _uploader.UploadOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task WaitForLinkAsync_Wake_ReturnsAtOnce()
    {
        _source.Add(1, Start);
        _sink.Available = false;
        await _uploader.UploadOnceAsync(CancellationToken.None);
        var wait = _uploader.WaitForLinkAsync(CancellationToken.None);
        _uploader.Wake();
        await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, _sink.Probes);
    }

    [Fact]
    public async Task ExecuteAsync_OutageThenLink_AllRecordsArriveOnce()
    {
        _options.IdleInterval = TimeSpan.FromSeconds(1);
        _source.Add(25, Start);
        _sink.Available = false;
        await _uploader.StartAsync(CancellationToken.None);
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }

        Assert.Equal(25, _source.Remaining);
        _sink.Available = true;
        _uploader.Wake();
        await Eventually.AdvanceUntilAsync(_time, () => _source.Remaining == 0, "every record uploaded");

        await _uploader.StopAsync(CancellationToken.None);
        Assert.Equal(0, _source.Remaining);
        Assert.Equal(3, _sink.Blobs.Count);
        var ids = new List<long>();
        foreach (var blob in _sink.Blobs.Values)
        {
            using var s = new MemoryStream(blob);
            ids.AddRange((await CaptureParquet.ReadAsync(s, CancellationToken.None)).Select(r => r.RecordId));
        }

        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), ids.Order());
    }

    private static Task Until(Func<bool> condition) => Eventually.UntilAsync(condition, "the uploader's progress");

    public void Dispose()
    {
        _uploader.Dispose();
        _meters.Dispose();
    }
}
