namespace QueueCtl.Configuration;

/// <summary>The catalogue of configuration keys. Unknown names are refused.</summary>
public static class ConfigSettings
{
    public const string MaxRetries = "max-retries";
    public const string BackoffBase = "backoff-base";
    public const string BackoffMax = "backoff-max";
    public const string JobTimeout = "job-timeout";
    public const string LeaseDuration = "lease-duration";
    public const string OutputLimit = "output-limit";
    public const string PollInterval = "poll-interval";
    public const string Synchronous = "synchronous";

    public static IReadOnlyList<ConfigSetting> All { get; } = new[]
    {
        new ConfigSetting(MaxRetries, ConfigValueKind.Integer, "3", 0, JobLimits.MaxRetriesMax,
            "Retries after the first run for jobs enqueued without -MaxRetries: a job runs at most 1 + max-retries times."),
        new ConfigSetting(BackoffBase, ConfigValueKind.Number, "2", 1, 100,
            "After failed run number n the next run is due backoff-base^n seconds later."),
        new ConfigSetting(BackoffMax, ConfigValueKind.Seconds, "3600", 0, 31_536_000,
            "The longest retry delay, in seconds: backoff-base^n is capped at this."),
        new ConfigSetting(JobTimeout, ConfigValueKind.Seconds, "300", JobLimits.TimeoutMinSeconds, JobLimits.TimeoutMaxSeconds,
            "How long a job without its own -Timeout may run, in seconds, before its process tree is killed."),
        new ConfigSetting(LeaseDuration, ConfigValueKind.Seconds, "30", 1, 86_400,
            "How long a claimed job stays a worker's without a heartbeat; a job whose lease expires is run again."),
        new ConfigSetting(OutputLimit, ConfigValueKind.Integer, "65536", 0, 16_777_216,
            "Bytes of standard output and of standard error kept per run (the tail is kept)."),
        new ConfigSetting(PollInterval, ConfigValueKind.Seconds, "1", 0.01, 60,
            "The safety-net poll of idle workers and waits when no change notification arrives, in seconds."),
        new ConfigSetting(Synchronous, ConfigValueKind.Choice, "FULL", 0, 0,
            "SQLite synchronous level: FULL survives power loss; NORMAL survives any process crash but may lose the last commits on power loss.",
            new[] { "FULL", "NORMAL" }),
    };

    public static ConfigSetting Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new QueueException(QueueErrorCode.UnknownConfigName,
            $"'{name}' is not a configuration name. Known names: {string.Join(", ", All.Select(s => s.Name))}.");
}
