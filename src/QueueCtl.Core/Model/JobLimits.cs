using System.Globalization;

namespace QueueCtl;

/// <summary>
/// The one list of what a job may be: the JSON parser, the cmdlet parameters, the config catalogue and the engine all
/// check against these, so a value accepted by one path is accepted by every path.
/// </summary>
public static class JobLimits
{
    /// <summary>The most retries a job may have (a job runs at most 1 + this many times).</summary>
    public const int MaxRetriesMax = 1000;
    public const int IdMaxLength = 200;
    public const double TimeoutMinSeconds = 0.001;
    /// <summary>A year: long enough for any job, short enough that deadlines never overflow.</summary>
    public const double TimeoutMaxSeconds = 31_536_000;
    /// <summary>Ten years: the longest -Delay; -RunAt names later times exactly when needed.</summary>
    public const double DelayMaxSeconds = 315_360_000;

    /// <summary>Priorities run from -100 (last) to 100 (first); 0 is the default.</summary>
    public const int PriorityMin = -100;
    public const int PriorityMax = 100;

    public static void CheckPriority(double value)
    {
        if (!double.IsFinite(value) || value != Math.Floor(value) || value < PriorityMin || value > PriorityMax)
            throw Invalid($"Priority must be a whole number from {PriorityMin} to {PriorityMax} (higher runs first), not {Text(value)}.");
    }

    public const int TagMaxLength = 64;
    public const int TagsMax = 20;

    /// <summary>A job's tags: up to 20, each 1 to 64 printable characters without leading or trailing spaces.</summary>
    public static void CheckTags(IReadOnlyList<string>? tags)
    {
        if (tags is null) return;
        if (tags.Count > TagsMax) throw Invalid($"A job may have at most {TagsMax} tags, not {tags.Count}.");
        foreach (var tag in tags)
        {
            if (tag is null || tag.Length == 0 || tag.Length > TagMaxLength || tag.Any(char.IsControl) || tag.Trim() != tag)
                throw Invalid($"The tag '{Printable(tag ?? "")}' is not valid: use 1 to {TagMaxLength} printable characters without leading or trailing spaces.");
        }
    }

    public static void CheckMaxRetries(double value)
    {
        if (!double.IsFinite(value) || value != Math.Floor(value) || value < 0 || value > MaxRetriesMax)
            throw Invalid($"MaxRetries must be a whole number from 0 to {MaxRetriesMax}, not {Text(value)}.");
    }

    /// <summary>A timeout in seconds as a TimeSpan, refused outside 1 ms .. 1 year.</summary>
    public static TimeSpan Timeout(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < TimeoutMinSeconds || seconds > TimeoutMaxSeconds)
            throw Invalid($"Timeout must be from {Text(TimeoutMinSeconds)} to {Text(TimeoutMaxSeconds)} seconds, not {Text(seconds)}.");
        return TimeSpan.FromSeconds(seconds);
    }

    public static void CheckTimeout(TimeSpan value) => Timeout(value.TotalSeconds);

    public static void CheckDelay(TimeSpan value)
    {
        if (value < TimeSpan.Zero || value.TotalSeconds > DelayMaxSeconds)
            throw Invalid($"Delay must be from 0 to {Text(DelayMaxSeconds)} seconds (ten years), not {value}.");
    }

    public static void CheckId(string id)
    {
        if (id.Length == 0 || id.Length > IdMaxLength || id.Any(char.IsControl) || id.Trim() != id)
            throw Invalid($"The job id '{Printable(id)}' is not valid: use 1 to {IdMaxLength} printable characters without leading or trailing spaces.");
        if (id.IndexOfAny(['*', '?', '[', ']']) >= 0)
            throw Invalid($"The job id '{id}' contains a wildcard character (*, ?, [ or ]); ids must be matchable exactly.");
    }

    /// <summary>
    /// A NUL ends the command for the shell (and for C strings everywhere), so what runs would not be what is stored
    /// and shown: refused in any text a job carries.
    /// </summary>
    public static void CheckText(string? text, string what)
    {
        if (text is not null && text.Contains('\0'))
            throw Invalid($"The job's {what} contains a NUL character (\\0); only the part before it would run.");
    }

    private static QueueException Invalid(string message) => new(QueueErrorCode.InvalidJobSpec, message);

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Printable(string text) => new(text.Select(c => char.IsControl(c) ? '\uFFFD' : c).ToArray());
}
