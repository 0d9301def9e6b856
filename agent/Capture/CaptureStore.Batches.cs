using EdgeMl.CloudSync.Upload;
using Microsoft.Data.Sqlite;

namespace EdgeMl.Agent.Capture;

/// <summary>
/// Upload batches: rows are assigned to a batch in a transaction before they are handed out, so after a crash the
/// same batch (same id, same rows) comes back and its upload overwrites instead of duplicating.
/// </summary>
internal sealed partial class CaptureStore
{
    // One model version and one hour per batch: its blob path names both.
    private const string UnbatchedFilter = "batch_id IS NULL AND model = $model AND version = $version AND ts >= $from AND ts < $to";

    private const long MicrosPerHour = 3_600_000_000;

    /// <summary>The pending batch, or a new one from the oldest unassigned records; null when nothing waits.</summary>
    public UploadBatch? NextBatch(int maxRecords, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        lock (_gate)
        {
            while (true)
            {
                var pending = PendingBatch();
                if (pending is null)
                {
                    return FormBatch(maxRecords, maxBytes);
                }

                var records = ReadRecords("batch_id = $batch", ("$batch", pending.Value.Id), int.MaxValue);
                if (records.Count > 0)
                {
                    return new UploadBatch(pending.Value.Id, pending.Value.Model, pending.Value.Version, FromMicros(pending.Value.Hour), records);
                }

                // Every row of the batch was evicted under the quota; nothing is left to send.
                Delete(pending.Value.Id);
            }
        }
    }

    /// <summary>Deletes an acknowledged batch and its rows.</summary>
    public void Acknowledge(string batchId)
    {
        lock (_gate)
        {
            Delete(batchId);
        }
    }

    /// <summary>Records of a model (all when null), oldest first, after a row id: for export and tests.</summary>
    public IReadOnlyList<UploadRecord> Read(string? model, long afterId, int limit)
    {
        lock (_gate)
        {
            return model is null
                ? ReadRecords("id > $after", ("$after", afterId), limit)
                : ReadRecords("id > $after AND model = $model", ("$after", afterId), limit, ("$model", model));
        }
    }

    private (string Id, string Model, long Version, long Hour)? PendingBatch()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, model, version, hour FROM batches ORDER BY created, id LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)) : null;
    }

    private UploadBatch? FormBatch(int maxRecords, long maxBytes)
    {
        if (OldestUnbatched() is not { } oldest)
        {
            return null;
        }

        var (model, version, hour) = oldest;
        var (firstId, lastId) = NextRange(model, version, hour, maxRecords, maxBytes);
        var batchId = $"{StoreId}-{firstId:D12}-{lastId:D12}";
        Assign(batchId, model, version, hour, lastId);
        var records = ReadRecords("batch_id = $batch", ("$batch", batchId), int.MaxValue);
        return new UploadBatch(batchId, model, version, FromMicros(hour), records);
    }

    /// <summary>The model version and hour of the oldest record in no batch; null when every record is in one.</summary>
    private (string Model, long Version, long Hour)? OldestUnbatched()
    {
        using var first = _connection.CreateCommand();
        first.CommandText = "SELECT model, version, ts FROM records WHERE batch_id IS NULL ORDER BY id LIMIT 1";
        using var reader = first.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2) / MicrosPerHour * MicrosPerHour) : null;
    }

    /// <summary>The ids of the next batch: the oldest unbatched records of one version and hour, within the count and byte limits.</summary>
    private (long FirstId, long LastId) NextRange(string model, long version, long hour, int maxRecords, long maxBytes)
    {
        long firstId = -1, lastId = -1, bytes = 0;
        var count = 0;
        using var select = _connection.CreateCommand();
        select.CommandText = $"SELECT id, size FROM records WHERE {UnbatchedFilter} ORDER BY id LIMIT $limit";
        AddFilter(select, model, version, hour);
        select.Parameters.AddWithValue("$limit", maxRecords);
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var size = reader.GetInt64(1);
            if (count > 0 && bytes + size > maxBytes)
            {
                break;
            }

            lastId = reader.GetInt64(0);
            firstId = firstId < 0 ? lastId : firstId;
            bytes += size;
            count++;
        }

        return (firstId, lastId);
    }

    /// <summary>Records the batch and puts its records in it, in one transaction.</summary>
    private void Assign(string batchId, string model, long version, long hour, long lastId)
    {
        using var tx = _connection.BeginTransaction();
        using var insert = _connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO batches(id, model, version, hour, created) VALUES($id, $model, $version, $hour, $created)";
        insert.Parameters.AddWithValue("$id", batchId);
        insert.Parameters.AddWithValue("$model", model);
        insert.Parameters.AddWithValue("$version", version);
        insert.Parameters.AddWithValue("$hour", hour);
        insert.Parameters.AddWithValue("$created", ToMicros(_time.GetUtcNow()));
        insert.ExecuteNonQuery();

        using var assign = _connection.CreateCommand();
        assign.Transaction = tx;
        assign.CommandText = $"UPDATE records SET batch_id = $batch WHERE {UnbatchedFilter} AND id <= $last";
        AddFilter(assign, model, version, hour);
        assign.Parameters.AddWithValue("$batch", batchId);
        assign.Parameters.AddWithValue("$last", lastId);
        assign.ExecuteNonQuery();
        tx.Commit();
    }

    private static void AddFilter(SqliteCommand command, string model, long version, long hour)
    {
        command.Parameters.AddWithValue("$model", model);
        command.Parameters.AddWithValue("$version", version);
        command.Parameters.AddWithValue("$from", hour);
        command.Parameters.AddWithValue("$to", hour + MicrosPerHour);
    }

    private void Delete(string batchId)
    {
        using var tx = _connection.BeginTransaction();
        long freed, count;
        using (var sum = _connection.CreateCommand())
        {
            sum.Transaction = tx;
            sum.CommandText = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records WHERE batch_id = $batch";
            sum.Parameters.AddWithValue("$batch", batchId);
            using var reader = sum.ExecuteReader();
            reader.Read();
            (count, freed) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        using (var delete = _connection.CreateCommand())
        {
            delete.Transaction = tx;
            delete.CommandText = "DELETE FROM records WHERE batch_id = $batch; DELETE FROM batches WHERE id = $batch";
            delete.Parameters.AddWithValue("$batch", batchId);
            delete.ExecuteNonQuery();
        }

        tx.Commit();
        Interlocked.Add(ref _usedBytes, -freed);
        Interlocked.Add(ref _records, -count);
        PublishGauges();
    }

    private List<UploadRecord> ReadRecords(string where, (string Name, object Value) parameter, int limit, (string Name, object Value)? extra = null)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = $"""
            SELECT id, model, version, ts, latency_ms, provider, reason, confidence, error, payload
            FROM records WHERE {where} ORDER BY id LIMIT $limit
            """;
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        if (extra is { } e)
        {
            command.Parameters.AddWithValue(e.Name, e.Value);
        }

        command.Parameters.AddWithValue("$limit", limit);
        var result = new List<UploadRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var (inputs, outputs) = CapturePayload.Decode((byte[])reader[9]);
            result.Add(new UploadRecord
            {
                Id = reader.GetInt64(0),
                Model = reader.GetString(1),
                Version = reader.GetInt64(2),
                Timestamp = FromMicros(reader.GetInt64(3)),
                LatencyMilliseconds = reader.GetDouble(4),
                Provider = reader.GetString(5),
                Reason = CaptureRecord.ReasonName((CaptureReason)reader.GetInt32(6)),
                Confidence = reader.IsDBNull(7) ? null : reader.GetDouble(7),
                Error = reader.IsDBNull(8) ? null : reader.GetString(8),
                Inputs = inputs,
                Outputs = outputs,
            });
        }

        return result;
    }
}
