using QueueCtl.Configuration;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

public abstract class ConfigFacts : DriverFacts
{
    protected ConfigFacts(DriverKind kind) : base(kind)
    {
    }


    [SkippableFact]
    public void Defaults_MatchTheDocumentedValues()
    {
        var config = Queue.Db.Config;
        Assert.Equal(3, config.MaxRetries);
        Assert.Equal(2, config.BackoffBase);
        Assert.Equal(TimeSpan.FromSeconds(300), config.JobTimeout);
        Assert.Equal("FULL", config.Synchronous);
    }

    [SkippableTheory]
    [InlineData("max-retries", "-1")]
    [InlineData("max-retries", "abc")]
    [InlineData("max-retries", "1.5")]
    [InlineData("backoff-base", "0.5")]
    [InlineData("job-timeout", "0")]
    [InlineData("job-timeout", "NaN")]
    [InlineData("synchronous", "OFF")]
    public void Set_RefusesInvalidValues_AndWritesNothing(string name, string value)
    {
        var store = Queue.Db.Settings;
        var error = Assert.Throws<QueueException>(() => store.Set(name, value));
        Assert.Equal(QueueErrorCode.InvalidConfigValue, error.Code);
        Assert.Contains(name, error.Message);
        Assert.True(store.Get(name).IsDefault);
    }

    [SkippableFact]
    public void Set_RefusesUnknownNames()
    {
        var error = Assert.Throws<QueueException>(() => Queue.Db.Settings.Set("max-retry", "3"));
        Assert.Equal(QueueErrorCode.UnknownConfigName, error.Code);
        Assert.Contains("max-retries", error.Message);
    }

    [SkippableFact]
    public void Set_StoresTheValue_ForEveryConnection()
    {
        Queue.Db.Settings.Set("MAX-RETRIES", " 5 ");
        Assert.Equal(5, Queue.Db.Config.MaxRetries);
        using var other = Queue.Open();
        Assert.Equal(5, other.Config.MaxRetries);
        Assert.Equal(5, other.Settings.Get("max-retries").Value);
    }

    [SkippableFact]
    public void Seconds_AcceptsTimeSpanText()
    {
        var entry = Queue.Db.Settings.Set("job-timeout", "00:02:00");
        Assert.Equal(TimeSpan.FromMinutes(2), entry.Value);
    }

    [SkippableFact]
    public void Reset_ReturnsToTheDefault()
    {
        var store = Queue.Db.Settings;
        store.Set("backoff-base", "3");
        store.Reset("backoff-base");
        Assert.True(store.Get("backoff-base").IsDefault);
        Assert.Equal(2, Queue.Db.Config.BackoffBase);
    }

    [SkippableFact]
    public void EverySetting_HasAValidDefault()
    {
        foreach (var setting in ConfigSettings.All)
            Assert.Equal(setting.DefaultValue, setting.Normalize(setting.DefaultValue));
    }
}

public sealed class SqliteConfigFacts() : ConfigFacts(DriverKind.Sqlite);

public sealed class PostgresConfigFacts() : ConfigFacts(DriverKind.Postgres);

/// <summary>Values another tool wrote to the config table are validated on read (issue 8, item 14).</summary>
public class StoredConfigFacts : IDisposable
{
    private readonly TempQueue _queue = new();

    public void Dispose() => _queue.Dispose();

    private void Store(string name, string value)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_queue.Path_};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO config (name, value) VALUES ($n, $v) ON CONFLICT (name) DO UPDATE SET value = excluded.value";
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$v", value);
        command.ExecuteNonQuery();
    }

    [Fact]
    public void ABadRow_DoesNotBreakOpening_NorTheOtherSettings()
    {
        Store("max-retries", "abc");
        Store("backoff-base", "5");
        using var db = _queue.Open();
        Assert.Equal(3, db.Config.MaxRetries); // the default applies
        Assert.Equal(5, db.Config.BackoffBase);
        var problem = Assert.Single(db.Config.Problems);
        Assert.Equal("max-retries", problem.Name);
        Assert.Equal("abc", problem.StoredValue);
        Assert.Equal(QueueErrorCode.InvalidConfigValue, problem.ToException().Code);
        Assert.Contains("max-retries", problem.ToException().Message);
    }

    [Fact]
    public void List_ShowsTheBadValueAsStored_WithItsProblem()
    {
        Store("max-retries", "abc");
        using var db = _queue.Open();
        var entry = db.Settings.Get("max-retries");
        Assert.Equal("abc", entry.Value);
        Assert.False(entry.IsDefault);
        Assert.Contains("whole number", entry.Problem);
        Assert.Null(db.Settings.Get("backoff-base").Problem);
    }

    [Fact]
    public void Set_RepairsABadRow()
    {
        Store("max-retries", "abc");
        using var db = _queue.Open();
        db.Settings.Set("max-retries", "7");
        Assert.Equal(7, db.Config.MaxRetries);
        Assert.Empty(db.Config.Problems);
        using var again = _queue.Open();
        Assert.Equal(7, again.Config.MaxRetries);
    }

    [Fact]
    public void AStoredSynchronousOff_IsNotApplied()
    {
        Store("synchronous", "OFF");
        using var db = (SqliteDriver)_queue.Open();
        Assert.Equal("FULL", db.Config.Synchronous);
        Assert.Equal(2L, db.Read(() => db.Scalar<long>("PRAGMA synchronous"))); // 2 = FULL, 0 = OFF
        Assert.Equal("synchronous", Assert.Single(db.Config.Problems).Name);
    }
}
