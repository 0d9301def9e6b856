using EdgeMl.Agent.Capture;

namespace EdgeMl.Agent.Tests.Capture;

public sealed class CaptureStoreTests : IDisposable
{
    private readonly CaptureTestKit _kit = new();

    [Fact]
    public void Open_Defaults_WalAndSynchronousFull()
    {
        _kit.Open();
        Assert.Equal("wal", _kit.Store!.Pragma("journal_mode"));
        Assert.Equal("2", _kit.Store.Pragma("synchronous")); // FULL
        Assert.Equal("ok", _kit.Store!.CheckIntegrity());
        Assert.True(_kit.Store.Startup.Created);
    }

    [Fact]
    public void Open_SynchronousNormal_Applied()
    {
        _kit.Options.Synchronous = CaptureSynchronous.Normal;
        _kit.Open();
        Assert.Equal("1", _kit.Store!.Pragma("synchronous"));
    }

    [Fact]
    public void Append_ThenRead_SameRecords()
    {
        var store = _kit.Open();
        var result = store.Append([_kit.Record(1), _kit.Record(2) with { Reason = CaptureReason.Error, Error = "boom", Confidence = 0.3 }]);
        Assert.Equal(new AppendResult(2, 0, 0, 0, 0), result);

        var records = store.Read(null, 0, 10);
        Assert.Equal(2, records.Count);
        Assert.Equal([1, 2], records.Select(CaptureTestKit.SequenceOf));
        Assert.Equal("m", records[0].Model);
        Assert.Equal(CaptureTestKit.Start, records[0].Timestamp);
        Assert.Equal("sampled", records[0].Reason);
        Assert.Equal("error", records[1].Reason);
        Assert.Equal("boom", records[1].Error);
        Assert.Equal(0.3, records[1].Confidence);
        Assert.Equal([1L, 4L], records[0].Inputs[0].Shape);
        Assert.Equal("FP32", records[0].Outputs[0].Datatype);
        Assert.Equal(2, store.RecordCount);
        Assert.Equal(2, _kit.Metrics.StoredTotal);
    }

    [Fact]
    public void Append_ManyRecords_AllStoredInOrder()
    {
        var store = _kit.Open();
        Assert.Equal(70, store.Append(Enumerable.Range(0, 70).Select(i => _kit.Record(i)).ToArray()).Stored);
        Assert.Equal(Enumerable.Range(0, 70), store.Read(null, 0, 100).Select(CaptureTestKit.SequenceOf));
    }

    [Fact]
    public void Append_OverQuotaEvictOldest_OldestDeletedAndCounted()
    {
        _kit.Options.QuotaBytes = 64 * 1024;
        var store = _kit.Open();
        var size = Size(store);
        var fit = (int)(_kit.Options.QuotaBytes / size);
        for (var i = 0; i < fit + 10; i++)
        {
            store.Append([_kit.Record(i)]);
        }

        Assert.Equal(10, _kit.Metrics.Dropped(CaptureDropReason.QuotaEvicted));
        Assert.Equal(fit, store.RecordCount);
        Assert.True(store.UsedBytes <= _kit.Options.QuotaBytes);
        Assert.Equal(10, CaptureTestKit.SequenceOf(store.Read(null, 0, 1)[0]));
    }

    [Fact]
    public void Append_OverQuotaRejectNew_NewRefusedAndCounted()
    {
        _kit.Options.QuotaBytes = 64 * 1024;
        _kit.Options.Overflow = CaptureOverflowPolicy.RejectNew;
        var store = _kit.Open();
        var size = Size(store);
        var fit = (int)(_kit.Options.QuotaBytes / size);
        var batch = Enumerable.Range(0, fit + 10).Select(i => _kit.Record(i)).ToArray();
        var result = store.Append(batch);

        Assert.Equal(fit, result.Stored);
        Assert.Equal(10, result.Rejected);
        Assert.Equal(10, _kit.Metrics.Dropped(CaptureDropReason.QuotaRejected));
        Assert.Equal(0, CaptureTestKit.SequenceOf(store.Read(null, 0, 1)[0]));
    }

    [Fact]
    public void Open_CorruptFile_MovedAsideAndFreshStoreServes()
    {
        File.WriteAllBytes(_kit.Options.Path, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());
        var store = _kit.Open();

        Assert.NotNull(store.Startup.MovedAsideTo);
        Assert.True(File.Exists(store.Startup.MovedAsideTo));
        Assert.Equal(1, _kit.Metrics.CorruptMovedAside);
        Assert.Equal(1, store.Append([_kit.Record(1)]).Stored);
        Assert.Equal("ok", store.CheckIntegrity());
    }

    [Fact]
    public void Open_CorruptTimeAfterTime_KeepsTheNewestThreeMovedAsideAndCountsThePruned()
    {
        // Three sets moved aside on earlier days, each with its WAL and shared-memory files.
        var earlier = new[] { "20260101T000000Z", "20260201T000000Z", "20260201T000000Z-1" }
            .Select(stamp => Path.Combine(_kit.Folder, "capture.db.corrupt-" + stamp)).ToArray();
        foreach (var file in earlier.SelectMany(e => new[] { e, e + "-wal", e + "-shm" }))
        {
            File.WriteAllBytes(file, [1, 2, 3]);
        }

        var moved = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            File.WriteAllBytes(_kit.Options.Path, Enumerable.Range(0, 8192).Select(b => (byte)(b * 7)).ToArray());
            moved.Add(_kit.Open().Startup.MovedAsideTo!);
            _kit.Store!.Dispose();
            _kit.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var left = Directory.EnumerateFiles(_kit.Folder, "capture.db.corrupt-*").Order(StringComparer.Ordinal);
        string[] kept = [earlier[2], earlier[2] + "-shm", earlier[2] + "-wal", .. moved];
        Assert.Equal(kept.Order(StringComparer.Ordinal), left);
        Assert.Equal(2, _kit.Metrics.CorruptMovedAside);
        Assert.Equal(2, _kit.Metrics.MovedAsidePruned);
    }

    [Fact]
    public void OpenReadOnly_CorruptFile_ThrowsAndLeavesTheFolderAsItWas()
    {
        var garbage = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(_kit.Options.Path, garbage);

        Assert.Throws<CaptureStoreDamagedException>(() => CaptureStore.OpenReadOnly(_kit.Options.Path, _kit.Metrics, _kit.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Equal([_kit.Options.Path], Directory.EnumerateFiles(_kit.Folder));
        Assert.Equal(garbage, File.ReadAllBytes(_kit.Options.Path));
        Assert.Equal(0, _kit.Metrics.CorruptMovedAside);
    }

    [Fact]
    public void Open_DamagedPages_MovedAside()
    {
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 500).Select(i => _kit.Record(i, inputFloats: 64)).ToArray());
        store.Dispose();
        // Overwrite the middle of the file (past the header page) with garbage.
        using (var f = new FileStream(_kit.Options.Path, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = f.Length / 2;
            f.Write(Enumerable.Repeat((byte)0xA5, 16384).ToArray());
        }

        var reopened = _kit.Reopen();
        Assert.NotNull(reopened.Startup.MovedAsideTo);
        Assert.Equal(0, reopened.RecordCount);
        Assert.Equal(1, reopened.Append([_kit.Record(1)]).Stored);
    }

    [Fact]
    public void Open_NewerSchema_MovedAsideAndFreshStore()
    {
        _kit.Open().Dispose();
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection(CaptureStore.ConnectionString(_kit.Options.Path)))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema_version'";
            cmd.ExecuteNonQuery();
        }

        var store = _kit.Reopen();
        Assert.Contains("schema version 99", store.Startup.Problem, StringComparison.Ordinal);
        Assert.NotNull(store.Startup.MovedAsideTo);
        Assert.Equal(1, store.Append([_kit.Record(1)]).Stored);
    }

    [Fact]
    public void NextBatch_NotAcknowledged_SameIdAndRowsAfterReopen()
    {
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 5).Select(i => _kit.Record(i)).ToArray());
        var first = store.NextBatch(3, long.MaxValue)!;
        store.Append([_kit.Record(99)]);
        var again = _kit.Reopen().NextBatch(3, long.MaxValue)!;

        Assert.Equal(first.BatchId, again.BatchId);
        Assert.Equal(first.Records.Select(r => r.Id), again.Records.Select(r => r.Id));
        Assert.Equal(3, again.Records.Count);
    }

    [Fact]
    public void Acknowledge_Batch_RowsDeletedAndNextBatchFollows()
    {
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 5).Select(i => _kit.Record(i)).ToArray());
        var used = store.UsedBytes;
        var first = store.NextBatch(3, long.MaxValue)!;
        store.Acknowledge(first.BatchId);

        Assert.Equal(2, store.RecordCount);
        Assert.True(store.UsedBytes < used);
        var second = store.NextBatch(3, long.MaxValue)!;
        Assert.NotEqual(first.BatchId, second.BatchId);
        Assert.Equal([3, 4], second.Records.Select(CaptureTestKit.SequenceOf));
        store.Acknowledge(second.BatchId);
        Assert.Null(store.NextBatch(3, long.MaxValue));
        Assert.Equal(0, store.UsedBytes);
    }

    [Fact]
    public void NextBatch_ModelsAndHours_OneBatchEach()
    {
        var store = _kit.Open();
        store.Append([_kit.Record(0), _kit.Record(1, model: "other"), _kit.Record(2)]);
        _kit.Time.Advance(TimeSpan.FromHours(1));
        store.Append([_kit.Record(3)]);

        var batches = new List<EdgeMl.CloudSync.Upload.UploadBatch>();
        while (store.NextBatch(100, long.MaxValue) is { } b)
        {
            batches.Add(b);
            store.Acknowledge(b.BatchId);
        }

        Assert.Equal(3, batches.Count);
        Assert.Equal([0, 2], batches[0].Records.Select(CaptureTestKit.SequenceOf));
        Assert.Equal(CaptureTestKit.Start, batches[0].Hour);
        Assert.Equal("other", batches[1].Model);
        Assert.Equal(CaptureTestKit.Start.AddHours(1), batches[2].Hour);
    }

    [Fact]
    public void NextBatch_ByteLimit_SplitsBatch()
    {
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 4).Select(i => _kit.Record(i)).ToArray());
        var size = Size(store);
        Assert.Equal(2, store.NextBatch(100, (2 * size) + 1)!.Records.Count);
    }

    [Fact]
    public void Append_AfterEverythingAcknowledged_IdsNeverReused()
    {
        var store = _kit.Open();
        store.Append([_kit.Record(0)]);
        var first = store.NextBatch(10, long.MaxValue)!;
        store.Acknowledge(first.BatchId);
        store = _kit.Reopen();
        store.Append([_kit.Record(1)]);
        var second = store.NextBatch(10, long.MaxValue)!;
        Assert.True(second.Records[0].Id > first.Records[0].Id);
        Assert.NotEqual(first.BatchId, second.BatchId);
    }

    [Fact]
    public void NextBatch_RowsEvictedWhilePending_BatchSkipped()
    {
        _kit.Options.QuotaBytes = 64 * 1024;
        var store = _kit.Open();
        store.Append([_kit.Record(0)]);
        var pending = store.NextBatch(10, long.MaxValue)!;
        var fit = (int)(_kit.Options.QuotaBytes / Size(store));
        for (var i = 1; i <= fit; i++)
        {
            store.Append([_kit.Record(i)]);
        }

        var next = store.NextBatch(10, long.MaxValue)!;
        Assert.NotEqual(pending.BatchId, next.BatchId);
        Assert.Equal(1, CaptureTestKit.SequenceOf(next.Records[0]));
    }

    public void Dispose() => _kit.Dispose();

    private static long Size(CaptureStore store)
    {
        // Every test record has the same size; measure one in a scratch store.
        using var scratch = new CaptureTestKit();
        var s = scratch.Open();
        s.Append([scratch.Record(0)]);
        _ = store;
        return s.UsedBytes;
    }
}
