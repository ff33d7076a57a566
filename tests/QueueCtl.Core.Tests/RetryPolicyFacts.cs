using QueueCtl.Jobs;

namespace QueueCtl.Tests;

public class RetryPolicyFacts
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 8)]
    [InlineData(10, 1024)]
    public void DelayAfter_IsBaseToThePowerOfTheAttempt(int attempt, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), new RetryPolicy(2, TimeSpan.FromHours(1)).DelayAfter(attempt));

    [Fact]
    public void DelayAfter_IsCappedAtTheMaximum() =>
        Assert.Equal(TimeSpan.FromSeconds(60), new RetryPolicy(2, TimeSpan.FromSeconds(60)).DelayAfter(30));

    [Fact]
    public void DelayAfter_HandlesHugeExponentsWithoutOverflow() =>
        Assert.Equal(TimeSpan.FromHours(1), new RetryPolicy(100, TimeSpan.FromHours(1)).DelayAfter(int.MaxValue));

    [Fact]
    public void Constructor_RefusesABaseBelowOne() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(0.5, TimeSpan.FromHours(1)));
}

public class JobTransitionFacts
{
    private static readonly DateTime Now = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly RetryPolicy Policy = new(2, TimeSpan.FromHours(1));

    [Fact]
    public void Success_Completes() =>
        Assert.Equal(new JobTransition(QueueJobState.Completed, null, true), JobTransition.After(RunResultKind.Succeeded, 1, 3, Now, Policy));

    [Fact]
    public void Failure_WithRetriesLeft_SchedulesARetryAfterBaseToTheAttempt()
    {
        var next = JobTransition.After(RunResultKind.Failed, 2, 3, Now, Policy);
        Assert.Equal(QueueJobState.Failed, next.State);
        Assert.Equal(Now.AddSeconds(4), next.RetryAt);
        Assert.False(next.IsFinal);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(4, 3)]
    public void Failure_OfTheLastAllowedRun_IsDead(int attempts, int maxRetries) =>
        Assert.Equal(QueueJobState.Dead, JobTransition.After(RunResultKind.Failed, attempts, maxRetries, Now, Policy).State);

    [Fact]
    public void Cancel_IsFinalAndNeverRetried() =>
        Assert.Equal(new JobTransition(QueueJobState.Cancelled, null, true), JobTransition.After(RunResultKind.Cancelled, 1, 5, Now, Policy));
}
