using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace QueueCtl.Storage.Sqlite;

/// <summary>
/// One SQL statement prepared once on a connection and run through SQLite's own API. Microsoft.Data.Sqlite opens the
/// connection, but its per-execution overhead (tens of microseconds, more for RETURNING) was larger than the work of
/// the claim and finish statements themselves, so the queue's statements bypass it.
/// </summary>
internal sealed class Statement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private readonly Dictionary<string, int> _parameters = new(StringComparer.Ordinal);

    public Statement(sqlite3 db, string sql)
    {
        _db = db;
        var rc = raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _stmt, out var tail);
        if (rc != raw.SQLITE_OK) throw Error(db, rc);
        if (!string.IsNullOrWhiteSpace(tail))
        {
            _stmt.Dispose();
            throw new ArgumentException("A statement must be a single SQL statement; use Exec for scripts.", nameof(sql));
        }
        var count = raw.sqlite3_bind_parameter_count(_stmt);
        for (var i = 1; i <= count; i++) _parameters[raw.sqlite3_bind_parameter_name(_stmt, i).utf8_to_string()] = i;
    }

    public void Bind((string Name, object? Value)[] parameters)
    {
        raw.sqlite3_clear_bindings(_stmt);
        foreach (var (name, value) in parameters)
        {
            if (!_parameters.TryGetValue(name, out var index))
                throw new ArgumentException($"The statement has no parameter {name}.", nameof(parameters));
            var rc = value switch
            {
                null => raw.sqlite3_bind_null(_stmt, index),
                string s => raw.sqlite3_bind_text(_stmt, index, s),
                long l => raw.sqlite3_bind_int64(_stmt, index, l),
                int i => raw.sqlite3_bind_int64(_stmt, index, i),
                bool b => raw.sqlite3_bind_int64(_stmt, index, b ? 1 : 0),
                double d => raw.sqlite3_bind_double(_stmt, index, d),
                _ => raw.sqlite3_bind_text(_stmt, index, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)),
            };
            if (rc != raw.SQLITE_OK) throw Error(_db, rc);
        }
    }

    /// <summary>Runs the statement to its end; returns the rows it changed.</summary>
    public int Execute()
    {
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_stmt)) == raw.SQLITE_ROW) { }
            if (rc != raw.SQLITE_DONE) throw Error(_db, rc);
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    /// <summary>Runs the statement and maps every row it returns (RETURNING rows included).</summary>
    public List<T> Query<T>(Func<Row, T> map)
    {
        var rows = new List<T>();
        var row = new Row(_stmt);
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_stmt)) == raw.SQLITE_ROW) rows.Add(map(row));
            if (rc != raw.SQLITE_DONE) throw Error(_db, rc);
            return rows;
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    public static SqliteException Error(sqlite3 db, int rc) =>
        new(raw.sqlite3_errmsg(db).utf8_to_string() ?? $"SQLite error {rc}", rc & 0xFF, raw.sqlite3_extended_errcode(db));

    public void Dispose() => _stmt.Dispose();
}

/// <summary>The current row of a running statement.</summary>
internal readonly struct Row
{
    private readonly sqlite3_stmt _stmt;

    public Row(sqlite3_stmt stmt) => _stmt = stmt;

    public bool IsDBNull(int column) => raw.sqlite3_column_type(_stmt, column) == raw.SQLITE_NULL;
    public long GetInt64(int column) => raw.sqlite3_column_int64(_stmt, column);
    public int GetInt32(int column) => raw.sqlite3_column_int(_stmt, column);
    public double GetDouble(int column) => raw.sqlite3_column_double(_stmt, column);
    public string GetString(int column) => raw.sqlite3_column_text(_stmt, column).utf8_to_string() ?? "";

    public object? GetValue(int column) => raw.sqlite3_column_type(_stmt, column) switch
    {
        raw.SQLITE_NULL => null,
        raw.SQLITE_INTEGER => GetInt64(column),
        raw.SQLITE_FLOAT => GetDouble(column),
        _ => GetString(column),
    };
}
