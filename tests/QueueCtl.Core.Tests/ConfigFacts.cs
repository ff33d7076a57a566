using QueueCtl.Configuration;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

public class ConfigFacts : IDisposable
{
    private readonly TempQueue _queue = new();

    public void Dispose() => _queue.Dispose();

    [Fact]
    public void Defaults_MatchTheDocumentedValues()
    {
        var config = _queue.Db.Config;
        Assert.Equal(3, config.MaxRetries);
        Assert.Equal(2, config.BackoffBase);
        Assert.Equal(TimeSpan.FromSeconds(300), config.JobTimeout);
        Assert.Equal("FULL", config.Synchronous);
    }

    [Theory]
    [InlineData("max-retries", "-1")]
    [InlineData("max-retries", "abc")]
    [InlineData("max-retries", "1.5")]
    [InlineData("backoff-base", "0.5")]
    [InlineData("job-timeout", "0")]
    [InlineData("job-timeout", "NaN")]
    [InlineData("synchronous", "OFF")]
    public void Set_RefusesInvalidValues_AndWritesNothing(string name, string value)
    {
        var store = _queue.Db.Settings;
        var error = Assert.Throws<QueueException>(() => store.Set(name, value));
        Assert.Equal(QueueErrorCode.InvalidConfigValue, error.Code);
        Assert.Contains(name, error.Message);
        Assert.True(store.Get(name).IsDefault);
    }

    [Fact]
    public void Set_RefusesUnknownNames()
    {
        var error = Assert.Throws<QueueException>(() => _queue.Db.Settings.Set("max-retry", "3"));
        Assert.Equal(QueueErrorCode.UnknownConfigName, error.Code);
        Assert.Contains("max-retries", error.Message);
    }

    [Fact]
    public void Set_StoresTheValue_ForEveryConnection()
    {
        _queue.Db.Settings.Set("MAX-RETRIES", " 5 ");
        Assert.Equal(5, _queue.Db.Config.MaxRetries);
        using var other = _queue.Open();
        Assert.Equal(5, other.Config.MaxRetries);
        Assert.Equal(5, other.Settings.Get("max-retries").Value);
    }

    [Fact]
    public void Seconds_AcceptsTimeSpanText()
    {
        var entry = _queue.Db.Settings.Set("job-timeout", "00:02:00");
        Assert.Equal(TimeSpan.FromMinutes(2), entry.Value);
    }

    [Fact]
    public void Reset_ReturnsToTheDefault()
    {
        var store = _queue.Db.Settings;
        store.Set("backoff-base", "3");
        store.Reset("backoff-base");
        Assert.True(store.Get("backoff-base").IsDefault);
        Assert.Equal(2, _queue.Db.Config.BackoffBase);
    }

    [Fact]
    public void EverySetting_HasAValidDefault()
    {
        foreach (var setting in ConfigSettings.All)
            Assert.Equal(setting.DefaultValue, setting.Normalize(setting.DefaultValue));
    }
}

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
        using var db = _queue.Open();
        Assert.Equal("FULL", db.Config.Synchronous);
        Assert.Equal(2L, db.Read(() => db.Scalar<long>("PRAGMA synchronous"))); // 2 = FULL, 0 = OFF
        Assert.Equal("synchronous", Assert.Single(db.Config.Problems).Name);
    }
}
