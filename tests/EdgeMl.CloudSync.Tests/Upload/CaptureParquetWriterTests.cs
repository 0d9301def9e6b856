using System.Text.Json;
using EdgeMl.CloudSync.Upload;
using Parquet;
using Parquet.Serialization;

namespace EdgeMl.CloudSync.Tests.Upload;

/// <summary>
/// The column writer (no reflection, Native AOT ready) writes the file Parquet.Net's class serializer wrote before it:
/// the same physical schema, the same definition and repetition levels in every column, the same rows read back.
/// </summary>
public sealed class CaptureParquetWriterTests
{
    private static readonly UploadRecord[] Records =
    [
        new()
        {
            Id = 5, Model = "m", Version = 3, Timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), LatencyMilliseconds = 1.25,
            Provider = "cuda", Reason = "low_confidence", Confidence = 0.4,
            Inputs = [new UploadTensor("x", "FP32", [1, 3]) { Mean = 0.5, Std = 0.1, Min = 0, Max = 1 }, new UploadTensor("len", "INT64", []) { Data = [1, 2] }],
            Outputs = [],
        },
        new()
        {
            Id = 6, Model = "m", Version = 3, Timestamp = DateTimeOffset.UnixEpoch, Provider = "cpu", Reason = "error", Error = "boom",
            Inputs = [], Outputs = [new UploadTensor("p", "FP32", [2]) { Data = [9] }, new UploadTensor("q", "FP32", [2, 2, 1]) { Data = [] }],
        },
        new()
        {
            Id = 7, Model = "", Version = 4, Timestamp = DateTimeOffset.UnixEpoch, Provider = "cpu", Reason = "",
            Inputs = [new UploadTensor("mask", "BOOL", [3]) { Data = [1, 0, 1] }], Outputs = [new UploadTensor("y", "FP32", [1])],
        },
    ];

    [Fact]
    public async Task WriteAsync_SameFileAsTheClassSerializer_SchemaLevelsAndRows()
    {
        var rows = Records.Select(r => CaptureParquetRow.From(r, "dev", "b1")).ToList();
        using var expected = new MemoryStream();
        await ParquetSerializer.SerializeAsync(rows, expected);
        using var actual = new MemoryStream();
        await CaptureParquet.WriteAsync(Records, "dev", "b1", actual, CancellationToken.None);

        Assert.Equal(await DescribeAsync(expected), await DescribeAsync(actual));
        Assert.Equal(await RowsAsync(expected), await RowsAsync(actual));
    }

    [Fact]
    public async Task WriteRowGroupAsync_TwoPages_TwoRowGroupsOfOneFile()
    {
        using var file = new MemoryStream();
        await using (var writer = await CaptureParquetWriter.CreateAsync(file, CaptureParquet.Metadata("dev", "export"), CancellationToken.None))
        {
            await writer.WriteRowGroupAsync([CaptureParquetRow.From(Records[0], "dev", "export")], CancellationToken.None);
            await writer.WriteRowGroupAsync([.. Records[1..].Select(r => CaptureParquetRow.From(r, "dev", "export"))], CancellationToken.None);
        }

        file.Position = 0;
        await using (var reader = await ParquetReader.CreateAsync(file, leaveStreamOpen: true))
        {
            Assert.Equal(2, reader.RowGroupCount);
            Assert.Equal("export", reader.CustomMetadata["edgeml.batch"]);
        }

        file.Position = 0;
        Assert.Equal([5L, 6L, 7L], (await CaptureParquet.ReadAsync(file, CancellationToken.None)).Select(r => r.RecordId));
    }

    /// <summary>Every schema element (physical and logical type, repetition) and every column's levels, as text.</summary>
    private static async Task<string> DescribeAsync(MemoryStream file)
    {
        file.Position = 0;
        await using var reader = await ParquetReader.CreateAsync(file, leaveStreamOpen: true);
        var lines = reader.Metadata!.Schema.Select(e => $"{e.Name} {e.Type} {e.RepetitionType} {e.ConvertedType} {JsonSerializer.Serialize(e.LogicalType)}").ToList();
        using var group = reader.OpenRowGroupReader(0);
        foreach (var field in reader.Schema.GetDataFields())
        {
            using var column = await group.ReadRawColumnDataBaseAsync(field);
            var definitions = field.MaxDefinitionLevel > 0 ? string.Join(",", column.DefinitionLevels.ToArray()) : "-";
            var repetitions = field.MaxRepetitionLevel > 0 ? string.Join(",", column.RepetitionLevels.ToArray()) : "-";
            lines.Add($"{field.Path}: definitions {definitions}; repetitions {repetitions}");
        }

        return string.Join('\n', lines);
    }

    private static async Task<string> RowsAsync(MemoryStream file)
    {
        file.Position = 0;
        return JsonSerializer.Serialize(await CaptureParquet.ReadAsync(file, CancellationToken.None));
    }
}
