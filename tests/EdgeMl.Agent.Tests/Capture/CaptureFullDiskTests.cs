using EdgeMl.Agent.Capture;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>Capture on a 2 MiB tmpfs: the quota policy holds, a full disk is counted, and capture recovers.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class CaptureFullDiskTests : IDisposable
{
    private const long DiskBytes = 2 * 1024 * 1024;
    private readonly List<IDisposable> _cleanup = [];

    [SmallDiskFact]
    public void Append_QuotaBelowDisk_EvictsOldestAndNeverFillsDisk()
    {
        var kit = Kit(out _);
        kit.Options.QuotaBytes = 768 * 1024;
        kit.Options.WalCheckpointPages = 64;
        var store = kit.Open();
        var attempted = 0;
        for (var i = 0; i < 200; i++)
        {
            var batch = Enumerable.Range(attempted, 32).Select(s => kit.Record(s, inputFloats: 64)).ToArray();
            attempted += batch.Length;
            var result = store.Append(batch);
            Assert.Equal(0, result.DiskFull);
        }

        Assert.True(kit.Metrics.Dropped(CaptureDropReason.QuotaEvicted) > 0);
        Assert.Equal(attempted, store.RecordCount + kit.Metrics.Dropped(CaptureDropReason.QuotaEvicted));
        Assert.True(store.UsedBytes <= kit.Options.QuotaBytes);
        Assert.Equal("ok", store.CheckIntegrity());
    }

    [SmallDiskFact]
    public void Append_DiskFillsBeforeQuota_CountsEveryLostRecordAndRecoversWhenSpaceFreed()
    {
        var kit = Kit(out var disk);
        kit.Options.QuotaBytes = 64L * 1024 * 1024;
        kit.Options.WalCheckpointPages = 64;
        var filler = Path.Combine(disk.Path, "filler");
        File.WriteAllBytes(filler, new byte[1024 * 1024]);
        var store = kit.Open();

        var attempted = 0;
        var sawFull = false;
        for (var i = 0; i < 400 && !sawFull; i++)
        {
            var batch = Enumerable.Range(attempted, 32).Select(s => kit.Record(s, inputFloats: 64)).ToArray();
            attempted += batch.Length;
            sawFull = store.Append(batch).DiskFull > 0;
        }

        Assert.True(sawFull, "the disk never filled");
        // Still full: more batches are lost, and counted.
        var more = store.Append(Enumerable.Range(attempted, 32).Select(s => kit.Record(s, inputFloats: 64)).ToArray());
        attempted += 32;
        Assert.Equal(32, more.DiskFull);
        Assert.Equal(attempted, store.RecordCount + kit.Metrics.Dropped(CaptureDropReason.DiskFull));

        // Space comes back: capture goes on by itself, no restart.
        File.Delete(filler);
        var after = store.Append(Enumerable.Range(attempted, 32).Select(s => kit.Record(s, inputFloats: 64)).ToArray());
        attempted += 32;
        Assert.Equal(32, after.Stored);
        Assert.Equal(attempted, store.RecordCount + kit.Metrics.Dropped(CaptureDropReason.DiskFull));
        Assert.Equal("ok", store.CheckIntegrity());

        var kept = store.RecordCount;
        store.Dispose();
        var reopened = kit.Reopen();
        Assert.Null(reopened.Startup.MovedAsideTo);
        Assert.Equal(kept, reopened.RecordCount);
    }

    [SmallDiskFact]
    public void Capture_DiskFull_PredictionsStillHandedOffAndEveryRecordAccountedFor()
    {
        var kit = Kit(out var disk);
        kit.Options.WalCheckpointPages = 64;
        File.WriteAllBytes(Path.Combine(disk.Path, "filler"), new byte[(int)DiskBytes - (256 * 1024)]);
        var settings = new CaptureSettings { ChannelCapacity = 64, Store = kit.Options, Defaults = new CaptureOptions { SampleRate = 1 } };
        var channel = new CaptureChannel(Microsoft.Extensions.Options.Options.Create(settings));
        var recorder = new CaptureRecorder(new FixedSettings(settings), channel, kit.Metrics, kit.Time, NoDrift.Instance);
        var writer = new CaptureWriterService(channel, kit.Open(), Microsoft.Extensions.Options.Options.Create(settings), Microsoft.Extensions.Logging.Abstractions.NullLogger<CaptureWriterService>.Instance, TimeProvider.System);
        var request = new EdgeMl.Runtime.Tensors.InferenceRequest([EdgeMl.Runtime.Tensors.InferenceTensor.Create("x", [1, 64], new float[64])]);
        var result = EdgeMl.Runtime.Tensors.InferenceResult.Success("m", 1, []);

        var outcomes = new List<CaptureOutcome>();
        for (var round = 0; round < 50; round++)
        {
            for (var i = 0; i < 100; i++)
            {
                outcomes.Add(recorder.Capture(request, result, TimeSpan.Zero, "cpu"));
            }

            writer.DrainOnce();
        }

        Assert.All(outcomes, o => Assert.True(o is CaptureOutcome.Queued or CaptureOutcome.DroppedQueueFull));
        Assert.True(kit.Metrics.Dropped(CaptureDropReason.DiskFull) > 0, "the disk never filled");
        Assert.Equal(outcomes.Count(o => o == CaptureOutcome.DroppedQueueFull), kit.Metrics.Dropped(CaptureDropReason.QueueFull));
        Assert.Equal(kit.Metrics.QueuedTotal, kit.Store!.RecordCount + kit.Metrics.Dropped(CaptureDropReason.DiskFull));
    }

    public void Dispose()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            _cleanup[i].Dispose();
        }
    }

    private sealed class FixedSettings(CaptureSettings value) : Microsoft.Extensions.Options.IOptionsMonitor<CaptureSettings>
    {
        public CaptureSettings CurrentValue => value;

        public CaptureSettings Get(string? name) => value;

        public IDisposable? OnChange(Action<CaptureSettings, string?> listener) => null;
    }

    private CaptureTestKit Kit(out SmallDisk disk)
    {
        disk = SmallDisk.Mount(DiskBytes);
        _cleanup.Add(disk);
        var kit = new CaptureTestKit(Path.Combine(disk.Path, "data"));
        Directory.CreateDirectory(kit.Folder);
        _cleanup.Add(kit);
        return kit;
    }
}
