using Azure.Storage.Blobs;
using EdgeMl.Agent.Capture;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Testing;
using EdgeMl.Testing.Azurite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>The capture store uploading to a real Azurite.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class CaptureAzuriteTests : IDisposable
{
    private readonly CaptureTestKit _kit = new();
    private readonly TestMeterFactory _meters = new();

    [AzuriteFact]
    public async Task Upload_RecordsOverTwoHours_PartitionedParquetBlobsAndStoreEmptied()
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 30).Select(i => _kit.Record(i)).ToArray());
        _kit.Time.Advance(TimeSpan.FromHours(1));
        store.Append(Enumerable.Range(30, 5).Select(i => _kit.Record(i)).ToArray());
        var (uploader, container) = Uploader(azurite, store, "upload-basic");

        var outcomes = new List<UploadOutcome>();
        UploadOutcome outcome;
        while ((outcome = await uploader.UploadOnceAsync(CancellationToken.None)) != UploadOutcome.Idle)
        {
            outcomes.Add(outcome);
        }

        Assert.All(outcomes, o => Assert.Equal(UploadOutcome.Uploaded, o));
        Assert.Equal(0, store.RecordCount);
        var blobs = await Blobs(container);
        Assert.Equal(4, blobs.Count); // 10 + 10 + 10 in the first hour, 5 in the second
        Assert.All(blobs.Keys, name => Assert.Matches(@"^dev-7/m/1/2026/03/01/1[01]/[0-9a-f]{12}-\d{12}-\d{12}\.parquet$", name));
        Assert.Equal(5, Assert.Single(blobs, b => b.Key.Contains("/2026/03/01/11/", StringComparison.Ordinal)).Value.Count);
        Assert.Equal(Enumerable.Range(0, 35), blobs.Values.SelectMany(r => r).Select(r => (int)BitConverter.ToSingle(r.Inputs[0].Data!, 0)).Order());
    }

    [AzuriteFact]
    public async Task Upload_AzuriteStoppedForAWhile_RecordsWaitWithinQuotaAndAllArriveOnce()
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        _kit.Options.QuotaBytes = 1024 * 1024;
        var store = _kit.Open();
        var (uploader, container) = Uploader(azurite, store, "upload-outage");
        store.Append(Enumerable.Range(0, 15).Select(i => _kit.Record(i)).ToArray());
        Assert.Equal(UploadOutcome.Uploaded, await uploader.UploadOnceAsync(CancellationToken.None));

        await azurite.StopAsync();
        store.Append(Enumerable.Range(15, 40).Select(i => _kit.Record(i)).ToArray());
        Assert.Equal(UploadOutcome.Failed, await uploader.UploadOnceAsync(CancellationToken.None));
        Assert.Equal(UploadOutcome.Failed, await uploader.UploadOnceAsync(CancellationToken.None));
        store.Append(Enumerable.Range(55, 45).Select(i => _kit.Record(i)).ToArray());
        Assert.Equal(90, store.RecordCount); // 5 left of the first 15, and 85 more: waiting, within the quota
        Assert.Equal(0, _kit.Metrics.DroppedByReason().Values.Sum());

        await azurite.StartAsync();
        // The back-off is long by now; the probe sees the link and the loop resumes without waiting it out.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await uploader.WaitForLinkAsync(timeout.Token);
        while (await uploader.UploadOnceAsync(timeout.Token) != UploadOutcome.Idle)
        {
        }

        Assert.Equal(0, store.RecordCount);
        var sequences = (await Blobs(container)).Values.SelectMany(r => r).Select(r => (int)BitConverter.ToSingle(r.Inputs[0].Data!, 0)).ToList();
        Assert.Equal(Enumerable.Range(0, 100), sequences.Order());
    }

    [AzuriteFact]
    public async Task Upload_BandwidthCap_StillArrivesWhole()
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        var store = _kit.Open();
        store.Append(Enumerable.Range(0, 5).Select(i => _kit.Record(i, inputFloats: 512)).ToArray());
        var (uploader, container) = Uploader(azurite, store, "upload-capped", o => o.MaxBytesPerSecond = 1024 * 1024);
        Assert.Equal(UploadOutcome.Uploaded, await uploader.UploadOnceAsync(CancellationToken.None));
        Assert.Equal(5, (await Blobs(container)).Values.Single().Count);
    }

    public void Dispose()
    {
        _kit.Dispose();
        _meters.Dispose();
    }

    internal static async Task<Dictionary<string, IList<CaptureParquetRow>>> Blobs(BlobContainerClient container)
    {
        var result = new Dictionary<string, IList<CaptureParquetRow>>(StringComparer.Ordinal);
        await foreach (var item in container.GetBlobsAsync())
        {
            using var content = new MemoryStream();
            await container.GetBlobClient(item.Name).DownloadToAsync(content);
            content.Position = 0;
            result[item.Name] = await CaptureParquet.ReadAsync(content, CancellationToken.None);
        }

        return result;
    }

    private (CaptureUploader Uploader, BlobContainerClient Container) Uploader(
        AzuriteServer azurite, CaptureStore store, string container, Action<UploadOptions>? configure = null)
    {
        var options = new UploadOptions
        {
            DeviceId = "dev-7",
            ConnectionString = azurite.ConnectionString,
            Container = container,
            MaxRecordsPerBatch = 10,
            RetryMinDelay = TimeSpan.FromMinutes(5),
            RetryMaxDelay = TimeSpan.FromMinutes(30),
            ProbeInterval = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        var uploader = new CaptureUploader(
            new CaptureUploadSource(store, Options.Create(options)),
            AzureBlobCaptureSink.Create(options),
            Options.Create(options),
            new UploadMetrics(_meters),
            TimeProvider.System,
            NullLogger<CaptureUploader>.Instance);
        return (uploader, new BlobContainerClient(azurite.ConnectionString, container));
    }
}
