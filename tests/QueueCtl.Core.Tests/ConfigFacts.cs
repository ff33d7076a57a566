using QueueCtl.Configuration;
using QueueCtl.Storage;

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
        var store = new ConfigStore(_queue.Db);
        var error = Assert.Throws<QueueException>(() => store.Set(name, value));
        Assert.Equal(QueueErrorCode.InvalidConfigValue, error.Code);
        Assert.Contains(name, error.Message);
        Assert.True(store.Get(name).IsDefault);
    }

    [Fact]
    public void Set_RefusesUnknownNames()
    {
        var error = Assert.Throws<QueueException>(() => new ConfigStore(_queue.Db).Set("max-retry", "3"));
        Assert.Equal(QueueErrorCode.UnknownConfigName, error.Code);
        Assert.Contains("max-retries", error.Message);
    }

    [Fact]
    public void Set_StoresTheValue_ForEveryConnection()
    {
        new ConfigStore(_queue.Db).Set("MAX-RETRIES", " 5 ");
        Assert.Equal(5, _queue.Db.Config.MaxRetries);
        using var other = _queue.Open();
        Assert.Equal(5, other.Config.MaxRetries);
        Assert.Equal(5, new ConfigStore(other).Get("max-retries").Value);
    }

    [Fact]
    public void Seconds_AcceptsTimeSpanText()
    {
        var entry = new ConfigStore(_queue.Db).Set("job-timeout", "00:02:00");
        Assert.Equal(TimeSpan.FromMinutes(2), entry.Value);
    }

    [Fact]
    public void Reset_ReturnsToTheDefault()
    {
        var store = new ConfigStore(_queue.Db);
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
