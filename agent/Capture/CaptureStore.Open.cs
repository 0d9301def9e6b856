using System.Globalization;
using Microsoft.Data.Sqlite;

namespace EdgeMl.Agent.Capture;

/// <summary>Opening, integrity check, schema and the corrupt-database fallback.</summary>
internal sealed partial class CaptureStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS records(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            version INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            provider TEXT NOT NULL,
            reason INTEGER NOT NULL,
            confidence REAL,
            error TEXT,
            size INTEGER NOT NULL,
            payload BLOB NOT NULL,
            batch_id TEXT);
        CREATE INDEX IF NOT EXISTS records_batch ON records(batch_id) WHERE batch_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS batches(
            id TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            version INTEGER NOT NULL,
            hour INTEGER NOT NULL,
            created INTEGER NOT NULL) WITHOUT ROWID;
        """;

    private void OpenOrReplace()
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_options.Path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        var existed = File.Exists(_options.Path);
        string? problem;
        try
        {
            problem = TryOpen();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteCorrupt or SqliteNotADb)
        {
            problem = $"SQLite error {e.SqliteErrorCode}: {e.Message}";
        }

        string? movedTo = null;
        if (problem is not null)
        {
            CloseQuietly();
            movedTo = MoveAside();
            _metrics.CorruptMovedAside++;
            Log.CaptureStoreCorrupt(_logger, _options.Path, movedTo, problem);
            var second = TryOpen();
            if (second is not null)
            {
                throw new InvalidOperationException($"A fresh capture store at {_options.Path} failed its check: {second}");
            }
        }

        Startup = new CaptureStoreStartup(!existed || movedTo is not null, movedTo, problem, _records, _usedBytes);
        PublishGauges();
        Log.CaptureStoreOpened(_logger, _options.Path, _records, _usedBytes, _options.QuotaBytes);
    }

    /// <summary>Opens the database; returns why it is unusable, or null.</summary>
    private string? TryOpen()
    {
        _connection = new SqliteConnection(ConnectionString(_options.Path));
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL");
        Execute("PRAGMA synchronous=" + _options.Synchronous.ToString().ToUpperInvariant());
        Execute("PRAGMA journal_size_limit=" + (_options.WalCheckpointPages * 4096L).ToString(CultureInfo.InvariantCulture));
        Execute("PRAGMA wal_autocheckpoint=" + _options.WalCheckpointPages.ToString(CultureInfo.InvariantCulture));
        if (_options.IntegrityCheckOnStart)
        {
            using var check = _connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            var result = Convert.ToString(check.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (result != "ok")
            {
                return $"integrity_check: {result}";
            }
        }

        if (EnsureSchema() is { } schemaProblem)
        {
            return schemaProblem;
        }

        using (var totals = _connection.CreateCommand())
        {
            totals.CommandText = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records";
            using var reader = totals.ExecuteReader();
            reader.Read();
            _records = reader.GetInt64(0);
            _usedBytes = reader.GetInt64(1);
        }

        PrepareInsert();
        return null;
    }

    /// <summary>Creates the schema in a new store, or checks an existing store's version; null when it can be used, else why not.</summary>
    private string? EnsureSchema()
    {
        using var tx = _connection.BeginTransaction();
        using var create = _connection.CreateCommand();
        create.Transaction = tx;
        create.CommandText = Schema;
        create.ExecuteNonQuery();
        var version = Meta("schema_version", tx);
        if (version is null)
        {
            SetMeta("schema_version", SchemaVersion.ToString(CultureInfo.InvariantCulture), tx);
            SetMeta("store_id", Guid.NewGuid().ToString("N")[..12], tx);
            SetMeta("created", _time.GetUtcNow().ToString("O"), tx);
        }
        else if (version != SchemaVersion.ToString(CultureInfo.InvariantCulture))
        {
            return $"schema version {version} is not {SchemaVersion}";
        }

        StoreId = Meta("store_id", tx) ?? "store";
        tx.Commit();
        return null;
    }

    /// <summary>The one prepared insert every record goes through.</summary>
    private void PrepareInsert()
    {
        _insert = _connection.CreateCommand();
        _insert.CommandText = """
            INSERT INTO records(model, version, ts, latency_ms, provider, reason, confidence, error, size, payload)
            VALUES($model, $version, $ts, $latency, $provider, $reason, $confidence, $error, $size, $payload)
            """;
        foreach (var (name, type) in new[]
        {
            ("$model", SqliteType.Text), ("$version", SqliteType.Integer), ("$ts", SqliteType.Integer), ("$latency", SqliteType.Real),
            ("$provider", SqliteType.Text), ("$reason", SqliteType.Integer), ("$confidence", SqliteType.Real), ("$error", SqliteType.Text),
            ("$size", SqliteType.Integer), ("$payload", SqliteType.Blob),
        })
        {
            _insert.Parameters.Add(name, type);
        }

        _insert.Prepare();
    }

    /// <summary>How many corrupt databases moved aside are kept for a look; older ones are removed.</summary>
    public const int KeepMovedAside = 3;

    private const string MovedAsideInfix = ".corrupt-";

    private void OpenForReading()
    {
        var what = $"the capture store at {_options.Path}";
        try
        {
            _connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = _options.Path,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
                DefaultTimeout = 30,
            }.ToString());
            _connection.Open();
            using var check = _connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            var result = Convert.ToString(check.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (result != "ok")
            {
                throw new CaptureStoreDamagedException($"{what} is damaged (integrity_check: {result})");
            }

            using var version = _connection.CreateCommand();
            version.CommandText = "SELECT value FROM meta WHERE key = 'schema_version'";
            var schema = version.ExecuteScalar() as string;
            if (schema != SchemaVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw new CaptureStoreDamagedException($"{what} has schema version '{schema}'; this edgeml reads {SchemaVersion}");
            }

            StoreId = "export";
        }
        catch (SqliteException e)
        {
            throw new CaptureStoreDamagedException($"{what} is damaged or unreadable (SQLite error {e.SqliteErrorCode}: {e.Message})", e);
        }
    }

    private string MoveAside()
    {
        var stamp = _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var target = $"{_options.Path}{MovedAsideInfix}{stamp}";
        for (var n = 1; File.Exists(target); n++)
        {
            target = $"{_options.Path}{MovedAsideInfix}{stamp}-{n}";
        }

        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            if (File.Exists(_options.Path + suffix))
            {
                File.Move(_options.Path + suffix, target + suffix);
            }
        }

        PruneMovedAside();
        return target;
    }

    // A device that keeps finding its store corrupt (a failing card) must not fill its disk with copies.
    private void PruneMovedAside()
    {
        var full = System.IO.Path.GetFullPath(_options.Path);
        var folder = System.IO.Path.GetDirectoryName(full)!;
        var prefix = System.IO.Path.GetFileName(full) + MovedAsideInfix;
        var stale = Directory.EnumerateFiles(folder, prefix + "*")
            .Select(System.IO.Path.GetFileName)
            .OfType<string>()
            .Where(name => !name.EndsWith("-wal", StringComparison.Ordinal) && !name.EndsWith("-shm", StringComparison.Ordinal))
            .Select(name => (Name: name, Order: MovedAsideOrder(name[prefix.Length..])))
            .OrderByDescending(m => m.Order.Stamp, StringComparer.Ordinal)
            .ThenByDescending(m => m.Order.Number)
            .Skip(KeepMovedAside);
        foreach (var (name, _) in stale)
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(System.IO.Path.Combine(folder, name + suffix));
            }

            _metrics.MovedAsidePruned++;
            Log.CaptureStorePruned(_logger, System.IO.Path.Combine(folder, name), KeepMovedAside);
        }
    }

    // "20260301T100000Z" or "20260301T100000Z-2" (a second one within the same second).
    private static (string Stamp, int Number) MovedAsideOrder(string suffix)
    {
        var dash = suffix.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 || !int.TryParse(suffix[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? (suffix, 0)
            : (suffix[..dash], n);
    }

    private void CloseQuietly()
    {
        _insert?.Dispose();
        _insert = null!;
        _connection?.Dispose();
        SqliteConnection.ClearAllPools();
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private string? Meta(string key, SqliteTransaction tx)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT value FROM meta WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar() as string;
    }

    private void SetMeta(string key, string value, SqliteTransaction tx)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "INSERT OR REPLACE INTO meta(key, value) VALUES($key, $value)";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        command.ExecuteNonQuery();
    }
}
