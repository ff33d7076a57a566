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

    /// <summary>
    /// Stored values that failed validation, by setting; the default applies to each instead. A bad row must not
    /// break reading the others, nor the Set-QueueConfig that repairs it.
    /// </summary>
    public IReadOnlyList<ConfigProblem> Problems { get; init; } = Array.Empty<ConfigProblem>();

    public static QueueConfig Default { get; } = From(new Dictionary<string, string>());

    /// <summary>The problem of the stored value of <paramref name="name"/>, or null when it is valid or not stored.</summary>
    public ConfigProblem? ProblemOf(string name) =>
        Problems.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Builds the snapshot from stored name/value pairs, validating each; an invalid value takes the default.</summary>
    public static QueueConfig From(IReadOnlyDictionary<string, string> stored)
    {
        var problems = new List<ConfigProblem>();
        string Get(string name)
        {
            var setting = ConfigSettings.Find(name);
            if (!stored.TryGetValue(name, out var value)) return setting.DefaultValue;
            if (setting.Check(value) is not { } problem) return setting.Normalize(value);
            problems.Add(problem);
            return setting.DefaultValue;
        }
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
            Problems = problems,
        };
    }
}
