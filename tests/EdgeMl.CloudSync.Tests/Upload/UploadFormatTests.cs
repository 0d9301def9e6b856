using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Time.Testing;
using Parquet;
using Parquet.Schema;

namespace EdgeMl.CloudSync.Tests.Upload;

public class UploadFormatTests
{
    [Fact]
    public void For_Batch_PartitionedPath()
    {
        var batch = new UploadBatch("abc-000000000001-000000000009", "ocr/cls", 7, new DateTimeOffset(2026, 1, 2, 3, 0, 0, TimeSpan.Zero), []);
        Assert.Equal("dev/ocr_cls/7/2026/01/02/03/abc-000000000001-000000000009.parquet", BlobPaths.For("dev", batch));
    }

    [Fact]
    public async Task WriteAsync_Records_StandardColumnsAndTypes()
    {
        var record = new UploadRecord
        {
            Id = 5,
            Model = "m",
            Version = 3,
            Timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero),
            LatencyMilliseconds = 1.25,
            Provider = "cuda",
            Reason = "low_confidence",
            Confidence = 0.4,
            Inputs = [new UploadTensor("x", "FP32", [1, 3, 2, 2]) { Mean = 0.5, Std = 0.1, Min = 0, Max = 1 }],
            Outputs = [new UploadTensor("p", "FP32", [1, 2]) { Data = [1, 2, 3, 4, 5, 6, 7, 8] }],
        };
        using var stream = new MemoryStream();
        await CaptureParquet.WriteAsync([record], "dev", "b1", stream, CancellationToken.None);

        stream.Position = 0;
        await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true))
        {
            var names = reader.Schema.Fields.Select(f => f.Name).ToArray();
            Assert.Equal(
                ["device_id", "batch_id", "record_id", "model", "model_version", "timestamp", "latency_ms", "provider", "reason", "confidence", "error", "inputs", "outputs"],
                names);
            Assert.IsType<ListField>(reader.Schema.Fields[^1]);
            Assert.Equal("edgeml.capture/v1", reader.CustomMetadata["edgeml.schema"]);
        }

        stream.Position = 0;
        var row = Assert.Single(await CaptureParquet.ReadAsync(stream, CancellationToken.None));
        Assert.Equal(5, row.RecordId);
        Assert.Equal(record.Timestamp.UtcDateTime, row.Timestamp);
        Assert.Equal("low_confidence", row.Reason);
        Assert.Equal(0.4, row.Confidence);
        Assert.Null(row.Error);
        Assert.Null(row.Inputs[0].Data);
        Assert.Equal(0.5, row.Inputs[0].Mean);
        Assert.Equal([1L, 3L, 2L, 2L], row.Inputs[0].Shape);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, row.Outputs[0].Data);
    }

    [Fact]
    public async Task ThrottledStream_Cap_ReadsNoFasterThanRate()
    {
        var time = new FakeTimeProvider();
        using var inner = new MemoryStream(new byte[1000]);
        await using var throttled = new ThrottledStream(inner, 100, time);
        var copy = throttled.CopyToAsync(Stream.Null);

        // 1000 bytes at 100 B/s take 10 s of (fake) time.
        for (var i = 0; i < 9; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        Assert.False(copy.IsCompleted);
        for (var i = 0; i < 20 && !copy.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        await copy.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(time.GetUtcNow() - new FakeTimeProvider().GetUtcNow(), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(12));
    }
}
