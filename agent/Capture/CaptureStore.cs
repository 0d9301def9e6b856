using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Capture;

/// <summary>What one <see cref="CaptureStore.Append"/> did with its records.</summary>
internal readonly record struct AppendResult(int Stored, int Evicted, int Rejected, int DiskFull, int Failed);

/// <summary>A capture store that cannot be read as it is; it was left untouched.</summary>
internal sealed class CaptureStoreDamagedException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>What the store found when it opened.</summary>
internal sealed record CaptureStoreStartup(bool Created, string? MovedAsideTo, string? Problem, long Records, long Bytes);

/// <summary>
/// The capture buffer: one SQLite database in WAL mode, written in batched transactions through one connection
/// (the writer and the uploader take turns). A byte quota bounds the records kept, with an explicit overflow
/// policy; every record lost is counted by reason. A corrupt database found on start is moved aside and a
/// fresh one started, so capture never stops serving.
/// </summary>
internal sealed partial class CaptureStore : IDisposable
{
    public const int SchemaVersion = 1;

    /// <summary>Bytes charged per row beyond its payload: ids, columns and b-tree overhead, roughly.</summary>
    public const int RowOverhead = 96;

    private const int SqliteFull = 13;
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADb = 26;

    private readonly CaptureStoreOptions _options;
    private readonly CaptureMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private SqliteConnection _connection = null!;
    private SqliteCommand _insert = null!;
    private long _usedBytes;
    private long _records;

    private CaptureStore(CaptureStoreOptions options, CaptureMetrics metrics, TimeProvider time, ILogger logger)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>A short random id of this database, part of every batch id so a fresh store never reuses one.</summary>
    public string StoreId { get; private set; } = "";

    public CaptureStoreStartup Startup { get; private set; } = null!;

    public string Path => _options.Path;

    public long UsedBytes => Interlocked.Read(ref _usedBytes);

    public long RecordCount => Interlocked.Read(ref _records);

    /// <summary>Opens (or creates) the store; a corrupt or unreadable database is moved aside and replaced.</summary>
    public static CaptureStore Open(CaptureStoreOptions options, CaptureMetrics metrics, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        var store = new CaptureStore(options, metrics, time, logger);
        store.OpenOrReplace();
        return store;
    }

    /// <summary>
    /// Opens an existing store for reading only, as <c>capture export</c> does: nothing is created, moved or
    /// changed, and a damaged store is an error instead of being replaced.
    /// </summary>
    /// <exception cref="CaptureStoreDamagedException">The store fails its integrity check or cannot be read.</exception>
    public static CaptureStore OpenReadOnly(string path, CaptureMetrics metrics, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        var store = new CaptureStore(new CaptureStoreOptions { Path = path }, metrics, time, logger);
        try
        {
            store.OpenForReading();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Writes a batch in one transaction, making room or refusing records as the quota policy says.</summary>
    public AppendResult Append(IReadOnlyList<CaptureRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return default;
        }

        var (payloads, sizes) = Encode(records);
        lock (_gate)
        {
            var (accept, needed, rejected) = Admit(sizes);
            var evicted = 0;
            long freed = 0;
            var stored = 0;
            using var tx = _connection.BeginTransaction();
            try
            {
                if (_usedBytes + needed > _options.QuotaBytes)
                {
                    (evicted, freed) = EvictOldest(_usedBytes + needed - _options.QuotaBytes, tx);
                }

                _insert.Transaction = tx;
                for (var i = 0; i < records.Count; i++)
                {
                    if (accept[i])
                    {
                        Bind(records[i], payloads[i], sizes[i]);
                        _insert.ExecuteNonQuery();
                        stored++;
                    }
                }

                tx.Commit();
            }
            catch (SqliteException e)
            {
                SafeRollback(tx);
                var lost = records.Count;
                var full = e.SqliteErrorCode == SqliteFull;
                _metrics.CountDropped(full ? CaptureDropReason.DiskFull : CaptureDropReason.StoreError, lost);
                Log.CaptureBatchLost(_logger, lost, e.SqliteErrorCode, e.Message);
                return full ? new AppendResult(0, 0, 0, lost, 0) : new AppendResult(0, 0, 0, 0, lost);
            }

            Interlocked.Add(ref _usedBytes, needed - freed);
            Interlocked.Add(ref _records, stored - evicted);
            _metrics.CountStored(stored);
            _metrics.CountDropped(CaptureDropReason.QuotaEvicted, evicted);
            _metrics.CountDropped(CaptureDropReason.QuotaRejected, rejected);
            PublishGauges();
            return new AppendResult(stored, evicted, rejected, 0, 0);
        }
    }

    /// <summary>Each record's payload, and the bytes it counts against the quota.</summary>
    private static (byte[][] Payloads, long[] Sizes) Encode(IReadOnlyList<CaptureRecord> records)
    {
        var payloads = new byte[records.Count][];
        var sizes = new long[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            payloads[i] = CapturePayload.Encode(records[i]);
            sizes[i] = payloads[i].Length + RowOverhead + records[i].Model.Length + records[i].Provider.Length + (records[i].Error?.Length ?? 0);
        }

        return (payloads, sizes);
    }

    /// <summary>
    /// Which records the quota takes: under evict-oldest, all that fit in the quota on their own (older rows make room);
    /// under reject-new, those that fit beside what is stored. Called under the gate.
    /// </summary>
    private (bool[] Accept, long Needed, int Rejected) Admit(long[] sizes)
    {
        var accept = new bool[sizes.Length];
        long needed = 0;
        var rejected = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            var fits = _options.Overflow == CaptureOverflowPolicy.EvictOldest
                ? needed + sizes[i] <= _options.QuotaBytes
                : _usedBytes + needed + sizes[i] <= _options.QuotaBytes;
            accept[i] = fits;
            if (fits)
            {
                needed += sizes[i];
            }
            else
            {
                rejected++;
            }
        }

        return (accept, needed, rejected);
    }

    /// <summary>Runs <c>PRAGMA integrity_check</c>; "ok" when the database is sound.</summary>
    public string CheckIntegrity()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
        }
    }

    /// <summary>A PRAGMA's value on the store's connection (diagnostics).</summary>
    public string Pragma(string name)
    {
        if (!name.All(c => char.IsAsciiLetter(c) || c == '_'))
        {
            throw new ArgumentException("Not a pragma name.", nameof(name));
        }

        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "PRAGMA " + name;
            return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _insert?.Dispose();
            _connection?.Dispose();
        }
    }

    internal static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = false,
        DefaultTimeout = 30,
    }.ToString();

    private (int Count, long Bytes) EvictOldest(long toFree, SqliteTransaction tx)
    {
        long freed = 0;
        var count = 0;
        long cutoff = -1;
        using var select = _connection.CreateCommand();
        select.Transaction = tx;
        select.CommandText = "SELECT id, size FROM records WHERE id > $after ORDER BY id LIMIT 1024";
        var after = select.Parameters.Add("$after", SqliteType.Integer);
        while (freed < toFree)
        {
            after.Value = cutoff;
            var any = false;
            using (var reader = select.ExecuteReader())
            {
                while (freed < toFree && reader.Read())
                {
                    any = true;
                    cutoff = reader.GetInt64(0);
                    freed += reader.GetInt64(1);
                    count++;
                }
            }

            if (!any)
            {
                break;
            }
        }

        if (count > 0)
        {
            using var delete = _connection.CreateCommand();
            delete.Transaction = tx;
            delete.CommandText = "DELETE FROM records WHERE id <= $cutoff";
            delete.Parameters.AddWithValue("$cutoff", cutoff);
            delete.ExecuteNonQuery();
        }

        return (count, freed);
    }

    private void Bind(CaptureRecord r, byte[] payload, long size)
    {
        var p = _insert.Parameters;
        p[0].Value = r.Model;
        p[1].Value = r.Version;
        p[2].Value = ToMicros(r.Timestamp);
        p[3].Value = r.LatencyMilliseconds;
        p[4].Value = r.Provider;
        p[5].Value = (int)r.Reason;
        p[6].Value = (object?)r.Confidence ?? DBNull.Value;
        p[7].Value = (object?)r.Error ?? DBNull.Value;
        p[8].Value = size;
        p[9].Value = payload;
    }

    private void PublishGauges()
    {
        _metrics.StoreBytes = UsedBytes;
        _metrics.StoreRecords = RecordCount;
    }

    private static void SafeRollback(SqliteTransaction tx)
    {
        try
        {
            tx.Rollback();
        }
        catch (SqliteException)
        {
            // SQLite may already have rolled back on a full disk; the transaction is gone either way.
        }
        catch (InvalidOperationException)
        {
            // Already completed.
        }
    }

    internal static long ToMicros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    internal static DateTimeOffset FromMicros(long micros) => new(DateTimeOffset.UnixEpoch.UtcTicks + (micros * 10), TimeSpan.Zero);
}
