using Parquet;
using Parquet.Schema;

namespace EdgeMl.CloudSync.Upload;

/// <summary>
/// Writes <see cref="CaptureParquet"/>'s layout column by column, with the definition and repetition levels of the
/// nested <c>inputs</c>/<c>outputs</c> lists computed here. Parquet.Net's class serializer writes the same file but
/// reflects over the row types and compiles expression trees, which trimming and Native AOT break; this writer does
/// neither. One row group per <see cref="WriteRowGroupAsync"/>.
/// </summary>
public sealed class CaptureParquetWriter : IAsyncDisposable
{
    // Levels of a tensor's fields: the list is there (1), the tensor is there (3), its field is there (4); a shape
    // list is there (4) and holds a dimension (5). Repetition: a new row (0), the next tensor (1), the next dimension (2).
    private const int ListPresent = 1;
    private const int TensorPresent = 3;
    private const int FieldPresent = 4;
    private const int DimensionPresent = 5;

    private static readonly ParquetSchema Layout = new(
        new DataField<string>("device_id"), new DataField<string>("batch_id"), new DataField<long>("record_id"),
        new DataField<string>("model"), new DataField<long>("model_version"),
        new DateTimeDataField("timestamp", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: false),
        new DataField<double>("latency_ms"), new DataField<string>("provider"), new DataField<string>("reason"),
        new DataField<double?>("confidence"), new DataField<string>("error"),
        Tensors("inputs"), Tensors("outputs"));

    private readonly ParquetWriter _writer;

    private CaptureParquetWriter(ParquetWriter writer) => _writer = writer;

    /// <summary>The layout's schema, as pandas, pyarrow and Spark read it.</summary>
    public static ParquetSchema Schema => Layout;

    /// <param name="destination">Written from its current position; left open.</param>
    /// <param name="metadata">The file's key-value metadata (<c>edgeml.schema</c>, the device, the batch).</param>
    public static async Task<CaptureParquetWriter> CreateAsync(Stream destination, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var writer = await ParquetWriter.CreateAsync(Layout, destination, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }, cancellationToken: cancellationToken);
        writer.CustomMetadata = metadata.ToDictionary(StringComparer.Ordinal);
        return new CaptureParquetWriter(writer);
    }

    public async Task WriteRowGroupAsync(IReadOnlyList<CaptureParquetRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var group = _writer.CreateRowGroup();
        var fields = Layout.GetDataFields();
        var i = 0;
        await Scalar(group, fields[i++], rows, r => Text(r.DeviceId), cancellationToken);
        await Scalar(group, fields[i++], rows, r => Text(r.BatchId), cancellationToken);
        await Scalar(group, fields[i++], rows, r => (true, r.RecordId), cancellationToken);
        await Scalar(group, fields[i++], rows, r => Text(r.Model), cancellationToken);
        await Scalar(group, fields[i++], rows, r => (true, r.ModelVersion), cancellationToken);
        await Scalar(group, fields[i++], rows, r => (true, r.Timestamp), cancellationToken);
        await Scalar(group, fields[i++], rows, r => (true, r.LatencyMilliseconds), cancellationToken);
        await Scalar(group, fields[i++], rows, r => Text(r.Provider), cancellationToken);
        await Scalar(group, fields[i++], rows, r => Text(r.Reason), cancellationToken);
        await Scalar(group, fields[i++], rows, r => (r.Confidence.HasValue, r.Confidence.GetValueOrDefault()), cancellationToken);
        await Scalar(group, fields[i++], rows, r => Text(r.Error), cancellationToken);
        foreach (var list in new Func<CaptureParquetRow, List<CaptureParquetTensor>?>[] { r => r.Inputs, r => r.Outputs })
        {
            await Tensor(group, fields[i++], rows, list, t => Text(t.Name), cancellationToken);
            await Tensor(group, fields[i++], rows, list, t => Text(t.Datatype), cancellationToken);
            await Shape(group, fields[i++], rows, list, cancellationToken);
            await Tensor(group, fields[i++], rows, list, t => (t.Data is not null, new ReadOnlyMemory<byte>(t.Data)), cancellationToken);
            await Tensor(group, fields[i++], rows, list, t => (t.Mean.HasValue, t.Mean.GetValueOrDefault()), cancellationToken);
            await Tensor(group, fields[i++], rows, list, t => (t.Std.HasValue, t.Std.GetValueOrDefault()), cancellationToken);
            await Tensor(group, fields[i++], rows, list, t => (t.Min.HasValue, t.Min.GetValueOrDefault()), cancellationToken);
            await Tensor(group, fields[i++], rows, list, t => (t.Max.HasValue, t.Max.GetValueOrDefault()), cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    private static ListField Tensors(string name) => new(name, new StructField("element",
        new DataField<string>("name"), new DataField<string>("datatype"), new ListField("shape", new DataField<long>("element")),
        new DataField<byte[]>("data"), new DataField<double?>("mean"), new DataField<double?>("std"),
        new DataField<double?>("min"), new DataField<double?>("max")));

    private static (bool Present, ReadOnlyMemory<char> Value) Text(string? text) => (text is not null, text.AsMemory());

    /// <summary>A column of the row itself: one value per row, or a null where the column is optional.</summary>
    private static Task Scalar<T>(ParquetRowGroupWriter group, DataField field, IReadOnlyList<CaptureParquetRow> rows, Func<CaptureParquetRow, (bool Present, T Value)> get, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new List<T>(rows.Count);
        var definitions = new int[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            var (present, value) = get(rows[r]);
            definitions[r] = present ? field.MaxDefinitionLevel : 0;
            if (present)
            {
                values.Add(value);
            }
        }

        return field.MaxDefinitionLevel > 0
            ? group.WriteAllPartsAsync<T>(field, values.ToArray(), definitions, null, cancellationToken)
            : group.WriteAsync<T>(field, values.ToArray(), null, null, cancellationToken);
    }

    /// <summary>A field of each tensor in a row's list: one entry per tensor, or one for an empty or missing list.</summary>
    private static Task Tensor<T>(ParquetRowGroupWriter group, DataField field, IReadOnlyList<CaptureParquetRow> rows, Func<CaptureParquetRow, List<CaptureParquetTensor>?> list, Func<CaptureParquetTensor, (bool Present, T Value)> get, CancellationToken cancellationToken)
        where T : struct
    {
        var levels = new Levels<T>();
        foreach (var row in rows)
        {
            if (list(row) is not { Count: > 0 } tensors)
            {
                levels.Add(list(row) is null ? 0 : ListPresent, 0);
                continue;
            }

            for (var k = 0; k < tensors.Count; k++)
            {
                var (present, value) = get(tensors[k]);
                levels.Add(present ? FieldPresent : TensorPresent, k == 0 ? 0 : 1, present, value);
            }
        }

        return levels.WriteAsync(group, field, cancellationToken);
    }

    /// <summary>Each tensor's shape: a list inside the list, so a dimension repeats at level 2.</summary>
    private static Task Shape(ParquetRowGroupWriter group, DataField field, IReadOnlyList<CaptureParquetRow> rows, Func<CaptureParquetRow, List<CaptureParquetTensor>?> list, CancellationToken cancellationToken)
    {
        var levels = new Levels<long>();
        foreach (var row in rows)
        {
            if (list(row) is not { Count: > 0 } tensors)
            {
                levels.Add(list(row) is null ? 0 : ListPresent, 0);
                continue;
            }

            for (var k = 0; k < tensors.Count; k++)
            {
                var tensor = k == 0 ? 0 : 1;
                if (tensors[k].Shape is not { Count: > 0 } shape)
                {
                    levels.Add(tensors[k].Shape is null ? TensorPresent : FieldPresent, tensor);
                    continue;
                }

                for (var j = 0; j < shape.Count; j++)
                {
                    levels.Add(DimensionPresent, j == 0 ? tensor : 2, true, shape[j]);
                }
            }
        }

        return levels.WriteAsync(group, field, cancellationToken);
    }

    /// <summary>The present values of a nested column with a definition and a repetition level per entry.</summary>
    private sealed class Levels<T>
        where T : struct
    {
        private readonly List<T> _values = [];
        private readonly List<int> _definitions = [];
        private readonly List<int> _repetitions = [];

        public void Add(int definition, int repetition, bool present = false, T value = default)
        {
            _definitions.Add(definition);
            _repetitions.Add(repetition);
            if (present)
            {
                _values.Add(value);
            }
        }

        public Task WriteAsync(ParquetRowGroupWriter group, DataField field, CancellationToken cancellationToken) =>
            group.WriteAllPartsAsync<T>(field, _values.ToArray(), _definitions.ToArray(), _repetitions.ToArray(), cancellationToken);
    }
}
