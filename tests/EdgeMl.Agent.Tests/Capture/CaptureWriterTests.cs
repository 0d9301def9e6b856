using EdgeMl.Agent.Capture;
using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Capture;

public sealed class CaptureWriterTests : IDisposable
{
    private readonly CaptureTestKit _kit = new();

    [Fact]
    public void DrainOnce_WaitingRecords_WrittenInBatchesOfMaxSize()
    {
        var settings = new CaptureSettings { Store = _kit.Options };
        settings.Store.MaxBatchSize = 2;
        var channel = new CaptureChannel(Options.Create(settings));
        var writer = new CaptureWriterService(channel, _kit.Open(), Options.Create(settings), NullLogger<CaptureWriterService>.Instance, TimeProvider.System);
        var commits = 0;
        writer.Committed = () => commits++;
        for (var i = 0; i < 5; i++)
        {
            Assert.True(channel.Writer.TryWrite(_kit.Record(i)));
        }

        Assert.Equal(5, writer.DrainOnce());
        Assert.Equal(3, commits);
        Assert.Equal(5, _kit.Store!.RecordCount);
    }

    [Fact]
    public async Task ExecuteAsync_RecordsThenStop_AllStored()
    {
        var settings = new CaptureSettings { Store = _kit.Options };
        var channel = new CaptureChannel(Options.Create(settings));
        using var writer = new CaptureWriterService(channel, _kit.Open(), Options.Create(settings), NullLogger<CaptureWriterService>.Instance, TimeProvider.System);
        var stored = new TaskCompletionSource();
        writer.Committed = () =>
        {
            if (_kit.Store!.RecordCount == 3)
            {
                stored.TrySetResult();
            }
        };
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 3; i++)
        {
            channel.Writer.TryWrite(_kit.Record(i));
        }

        await stored.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(3, _kit.Store!.RecordCount);
    }

    [Fact]
    public async Task UploadSource_NextAndAcknowledge_DeletesRows()
    {
        var store = _kit.Open();
        store.Append([_kit.Record(0), _kit.Record(1)]);
        var source = new CaptureUploadSource(store, Options.Create(new UploadOptions { DeviceId = "d" }));
        var batch = await source.NextBatchAsync(10, CancellationToken.None);
        Assert.Equal(2, batch!.Records.Count);
        await source.AcknowledgeAsync(batch, CancellationToken.None);
        Assert.Null(await source.NextBatchAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task Export_Model_ParquetReadableWithSameRecords()
    {
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 7).Select(i => _kit.Record(i, model: i % 2 == 0 ? "m" : "other")).ToArray());
        var output = Path.Combine(_kit.Folder, "m.parquet");

        var count = await CaptureExport.ExportAsync(store, "m", output, "device-1", NullLogger.Instance, CancellationToken.None);

        Assert.Equal(4, count);
        await using var file = File.OpenRead(output);
        var rows = await CaptureParquet.ReadAsync(file, CancellationToken.None);
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal("m", r.Model));
        Assert.Equal([0f, 2f, 4f, 6f], rows.Select(r => BitConverter.ToSingle(r.Inputs[0].Data!, 0)));
        Assert.Equal(7, store.RecordCount); // export leaves the rows in the store
    }

    [Fact]
    public async Task Export_EmptyStore_ValidEmptyFile()
    {
        var output = Path.Combine(_kit.Folder, "empty.parquet");
        Assert.Equal(0, await CaptureExport.ExportAsync(_kit.Open(), "m", output, "d", NullLogger.Instance, CancellationToken.None));
        await using var file = File.OpenRead(output);
        Assert.Empty(await CaptureParquet.ReadAsync(file, CancellationToken.None));
    }

    public void Dispose() => _kit.Dispose();
}
