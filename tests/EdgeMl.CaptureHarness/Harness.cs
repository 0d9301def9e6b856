using EdgeMl.Agent.Capture;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeMl.CaptureHarness;

/// <summary>
/// <c>capture DB BATCH</c>: appends batches of records numbered on from the last one in the store, printing
/// <c>committed N</c> after each commit, until killed. <c>upload DB CONNECTION CONTAINER</c>: uploads batches,
/// printing <c>ack ID</c> just before and <c>acked ID</c> just after deleting an acknowledged batch, and
/// <c>done</c> when the store is empty. The test SIGKILLs it at those moments.
/// </summary>
internal static class Harness
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2)
        {
            await Console.Error.WriteLineAsync("usage: capture DB BATCH | upload DB CONNECTION CONTAINER");
            return 2;
        }

        using var meters = new TestMeterFactory();
        var metrics = new CaptureMetrics(meters);
        using var store = CaptureStore.Open(new CaptureStoreOptions { Path = args[1] }, metrics, TimeProvider.System, NullLogger.Instance);
        Console.WriteLine($"opened {store.RecordCount} moved={store.Startup.MovedAsideTo ?? "-"}");
        return args[0] switch
        {
            "capture" => Capture(store, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)),
            "upload" => await UploadAsync(store, args[2], args[3], meters),
            _ => 2,
        };
    }

    /// <summary>The sequence number a harness record carries in its first input element.</summary>
    public static int SequenceOf(UploadRecord record) => (int)BitConverter.ToSingle(record.Inputs[0].Data!, 0);

    public static CaptureRecord Record(int seq) => new()
    {
        Model = "kill",
        Version = 1,
        Timestamp = DateTimeOffset.UtcNow,
        Provider = "cpu",
        Inputs = [CaptureRecord.Copy(InferenceTensor.Create("x", [1, 8], new float[] { seq, 1, 2, 3, 4, 5, 6, 7 }))],
        Outputs = [CaptureRecord.Copy(InferenceTensor.Create("p", [1, 2], new float[] { 0.1f, 0.9f }))],
    };

    private static int Capture(CaptureStore store, int batchSize)
    {
        long after = 0;
        var next = 0;
        while (store.Read(null, after, 10_000) is { Count: > 0 } page)
        {
            next = SequenceOf(page[^1]) + 1;
            after = page[^1].Id;
        }

        while (true)
        {
            var batch = Enumerable.Range(next, batchSize).Select(Record).ToArray();
            var result = store.Append(batch);
            if (result.Stored != batchSize)
            {
                Console.WriteLine($"lost {batchSize - result.Stored}");
                return 1;
            }

            next += batchSize;
            Console.WriteLine($"committed {next - 1}");
        }
    }

    private static async Task<int> UploadAsync(CaptureStore store, string connection, string container, TestMeterFactory meters)
    {
        var options = new UploadOptions { DeviceId = "harness", ConnectionString = connection, Container = container, MaxRecordsPerBatch = 10 };
        var uploader = new CaptureUploader(
            new AnnouncingSource(new CaptureUploadSource(store, Options.Create(options))),
            AzureBlobCaptureSink.Create(options),
            Options.Create(options),
            new UploadMetrics(meters),
            TimeProvider.System,
            NullLogger<CaptureUploader>.Instance);
        while (true)
        {
            switch (await uploader.UploadOnceAsync(CancellationToken.None))
            {
                case UploadOutcome.Idle:
                    Console.WriteLine("done");
                    return 0;
                case UploadOutcome.Failed:
                    Console.WriteLine($"failed {uploader.LastError}");
                    return 1;
            }
        }
    }

    private sealed class AnnouncingSource(ICaptureUploadSource inner) : ICaptureUploadSource
    {
        public ValueTask<UploadBatch?> NextBatchAsync(int maxRecords, CancellationToken cancellationToken) =>
            inner.NextBatchAsync(maxRecords, cancellationToken);

        public async ValueTask AcknowledgeAsync(UploadBatch batch, CancellationToken cancellationToken)
        {
            Console.WriteLine($"ack {batch.BatchId}");
            await inner.AcknowledgeAsync(batch, cancellationToken);
            Console.WriteLine($"acked {batch.BatchId}");

            // A pause between batches, so a fast machine cannot finish every batch before the test has killed it
            // as often as it means to (the kill lands around the acknowledgement above, not here).
            await Task.Delay(25, cancellationToken);
        }
    }
}
