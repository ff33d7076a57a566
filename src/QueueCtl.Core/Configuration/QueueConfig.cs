using System.Globalization;

namespace QueueCtl.Configuration;

/// <summary>A typed snapshot of the queue's configuration, defaults filled in.</summary>
public sealed record QueueConfig
{
    public int MaxRetries { get; init; }
    public double BackoffBase { get; init; }
    public TimeSpan BackoffMax { get; init; }
    public TimeSpan JobTimeout { get; init; }
    public TimeSpan LeaseDuration { get; init; }
    public int OutputLimit { get; init; }
    public TimeSpan PollInterval { get; init; }
    public string Synchronous { get; init; } = "";

    public static QueueConfig Default { get; } = From(new Dictionary<string, string>());
    // = new();

    /// <summary>Builds the snapshot from stored (already validated) name/value pairs.</summary>
    public static QueueConfig From(IReadOnlyDictionary<string, string> stored)
    {
        string Get(string name) => stored.TryGetValue(name, out var v) ? v : ConfigSettings.Find(name).DefaultValue;
        double Num(string name) => double.Parse(Get(name), CultureInfo.InvariantCulture);
        return new QueueConfig
        {
            MaxRetries = (int)Num(ConfigSettings.MaxRetries),
            BackoffBase = Num(ConfigSettings.BackoffBase),
            BackoffMax = TimeSpan.FromSeconds(Num(ConfigSettings.BackoffMax)),
            JobTimeout = TimeSpan.FromSeconds(Num(ConfigSettings.JobTimeout)),
            LeaseDuration = TimeSpan.FromSeconds(Num(ConfigSettings.LeaseDuration)),
            OutputLimit = (int)Num(ConfigSettings.OutputLimit),
            PollInterval = TimeSpan.FromSeconds(Num(ConfigSettings.PollInterval)),
            Synchronous = Get(ConfigSettings.Synchronous),
        };
    }
}
