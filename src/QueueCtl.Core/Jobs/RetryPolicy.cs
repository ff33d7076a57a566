using QueueCtl.Configuration;

namespace QueueCtl.Jobs;

/// <summary>Exponential backoff: after failed run number n the next run waits base^n seconds, capped.</summary>
public sealed class RetryPolicy
{
    public RetryPolicy(double backoffBase, TimeSpan backoffMax)
    {
        if (backoffBase < 1) throw new ArgumentOutOfRangeException(nameof(backoffBase));
        BackoffBase = backoffBase;
        BackoffMax = backoffMax;
    }

    public static RetryPolicy From(QueueConfig config) => new(config.BackoffBase, config.BackoffMax);

    public double BackoffBase { get; }
    public TimeSpan BackoffMax { get; }

    /// <summary>The wait before the run that follows failed attempt <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan DelayAfter(int attempt)
    {
        var seconds = Math.Pow(BackoffBase, Math.Max(attempt, 0));
        return seconds >= BackoffMax.TotalSeconds ? BackoffMax : TimeSpan.FromSeconds(seconds);
    }
}
