using QueueCtl.Configuration;

namespace QueueCtl.Storage.Sqlite;

/// <summary>Reads and writes the config table; every value is validated against <see cref="ConfigSettings"/>.</summary>
internal sealed class SqliteConfigStore : IConfigStore
{
    private readonly SqliteDriver _db;

    public SqliteConfigStore(SqliteDriver db) => _db = db;

    public IReadOnlyList<QueueConfigEntry> List() =>
        StoredRows.ConfigEntries(_db.Read(() => _db.Query("SELECT name, value FROM config", r => (r.GetString(0), r.GetString(1)))));

    public QueueConfigEntry Get(string name)
    {
        var setting = ConfigSettings.Find(name);
        return List().Single(e => e.Name == setting.Name);
    }

    /// <summary>Validates and stores one value; nothing is written when it is refused.</summary>
    public QueueConfigEntry Set(string name, string value)
    {
        var setting = ConfigSettings.Find(name);
        var normalized = setting.Normalize(value);
        _db.Write(() => _db.Execute(
            "INSERT INTO config (name, value) VALUES ($name, $value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            ("$name", setting.Name), ("$value", normalized)));
        _db.ReloadConfig();
        return StoredRows.ConfigEntry(setting, normalized);
    }

    /// <summary>Forgets a stored value so the default applies again.</summary>
    public QueueConfigEntry Reset(string name)
    {
        var setting = ConfigSettings.Find(name);
        _db.Write(() => _db.Execute("DELETE FROM config WHERE name = $name", ("$name", setting.Name)));
        _db.ReloadConfig();
        return StoredRows.ConfigEntry(setting, null);
    }
}
