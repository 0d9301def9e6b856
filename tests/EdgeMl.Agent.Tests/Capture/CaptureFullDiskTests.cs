using EdgeMl.Agent.Capture;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>Capture on a 2 MiB tmpfs: the quota policy holds, a full disk is counted, and capture recovers.</summary>
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

    public void Dispose()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            _cleanup[i].Dispose();
        }
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
