using QueueCtl.Configuration;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// Reads and writes the config table; every value is validated against <see cref="ConfigSettings"/>. A change wakes
/// the queue's listeners, so workers apply it to their very next claim. The synchronous setting is SQLite's: it is
/// kept and shown like the others and has no effect on PostgreSQL.
/// </summary>
internal sealed class PostgresConfigStore : IConfigStore
{
    private readonly PostgresDriver _db;

    public PostgresConfigStore(PostgresDriver db) => _db = db;

    public IReadOnlyList<QueueConfigEntry> List() =>
        StoredRows.ConfigEntries(_db.Run(session => session.Query("SELECT name, value FROM {s}.config", r => (r.GetString(0), r.GetString(1)))));

    public QueueConfigEntry Get(string name)
    {
        var setting = ConfigSettings.Find(name);
        return List().Single(e => e.Name == setting.Name);
    }

    public QueueConfigEntry Set(string name, string value)
    {
        var setting = ConfigSettings.Find(name);
        var normalized = setting.Normalize(value);
        _db.Run(session =>
        {
            session.Execute("INSERT INTO {s}.config (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                Pg.Text("name", setting.Name), Pg.Text("value", normalized));
            session.Notify(QueueChanges.Config);
        });
        _db.ConfigChangedHere();
        return StoredRows.ConfigEntry(setting, normalized);
    }

    public QueueConfigEntry Reset(string name)
    {
        var setting = ConfigSettings.Find(name);
        _db.Run(session =>
        {
            session.Execute("DELETE FROM {s}.config WHERE name = @name", Pg.Text("name", setting.Name));
            session.Notify(QueueChanges.Config);
        });
        _db.ConfigChangedHere();
        return StoredRows.ConfigEntry(setting, null);
    }
}
