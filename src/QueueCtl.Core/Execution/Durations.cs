using System.Globalization;

namespace QueueCtl.Execution;

public static class Durations
{
    /// <summary>"1.5 s" for short spans, "00:05:00" for long ones: how timeouts read in errors.</summary>
    public static string Describe(TimeSpan span) =>
        span.TotalSeconds < 120 ? $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s" : span.ToString("c", CultureInfo.InvariantCulture);
}
