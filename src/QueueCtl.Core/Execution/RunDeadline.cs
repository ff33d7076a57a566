namespace QueueCtl.Execution;

/// <summary>
/// A token that fires when a run's timeout has passed. .NET timers stop at about 49.7 days (uint.MaxValue - 1 ms), and a
/// job may have a timeout of up to a year (<see cref="JobLimits.TimeoutMaxSeconds"/>), so a longer deadline is reached
/// in steps: the timer is re-armed for what remains, measured on the monotonic clock.
/// </summary>
public sealed class RunDeadline : IDisposable
{
    /// <summary>The longest single timer step; kept well under the platform's limit.</summary>
    internal static TimeSpan LongestStep { get; set; } = TimeSpan.FromDays(24);

    private readonly CancellationTokenSource _fired = new();
    private readonly long _dueTicks;
    private readonly Timer? _timer;

    public RunDeadline(TimeSpan timeout)
    {
        if (timeout == System.Threading.Timeout.InfiniteTimeSpan) return;
        if (timeout <= TimeSpan.Zero)
        {
            _fired.Cancel();
            return;
        }
        _dueTicks = Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        _timer = new Timer(_ => Check(), null, Step(timeout), System.Threading.Timeout.InfiniteTimeSpan);
    }

    public CancellationToken Token => _fired.Token;

    private void Check()
    {
        var remaining = TimeSpan.FromMilliseconds(_dueTicks - Environment.TickCount64);
        if (remaining <= TimeSpan.Zero)
        {
            try { _fired.Cancel(); }
            catch (ObjectDisposedException) { }
            return;
        }
        try { _timer?.Change(Step(remaining), System.Threading.Timeout.InfiniteTimeSpan); }
        catch (ObjectDisposedException) { }
    }

    private static TimeSpan Step(TimeSpan remaining) => remaining < LongestStep ? remaining : LongestStep;

    public void Dispose()
    {
        _timer?.Dispose();
        _fired.Dispose();
    }
}
