using System.Diagnostics;
using QueueCtl.Execution;
using QueueCtl.Jobs;

namespace QueueCtl.Tests;

[Collection("RunDeadline")]
public class RunDeadlineFacts
{
    [Fact]
    public async Task TheLongestTimeoutAJobMayHave_RunsTheJob_InsteadOfFailingIt()
    {
        // Issue 8, item 1: a timeout above ~49.7 days threw from the timer after the process had started.
        var job = new QueueJob { Id = "long", Command = "echo ran", Database = "/q.db" };
        var outcome = await new ShellCommandRunner().RunAsync(
            new JobExecution(job, TimeSpan.FromSeconds(JobLimits.TimeoutMaxSeconds), 4096, "worker-1"), CancellationToken.None);
        Assert.Equal(RunResultKind.Succeeded, outcome.Kind);
        Assert.Equal("ran\n", outcome.Output!.StandardOutput);
    }

    [Fact]
    public async Task ADeadlineLongerThanOneTimerStep_FiresAtTheDeadline_NotAtTheFirstStep()
    {
        var step = RunDeadline.LongestStep;
        RunDeadline.LongestStep = TimeSpan.FromMilliseconds(40);
        try
        {
            var clock = Stopwatch.StartNew();
            using var deadline = new RunDeadline(TimeSpan.FromMilliseconds(400));
            var fired = new TaskCompletionSource();
            using var _ = deadline.Token.Register(() => fired.TrySetResult());
            await fired.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.InRange(clock.ElapsedMilliseconds, 390, 9000);
        }
        finally
        {
            RunDeadline.LongestStep = step;
        }
    }

    [Fact]
    public void AYearLongDeadline_HasNotFired()
    {
        using var deadline = new RunDeadline(TimeSpan.FromDays(365));
        Assert.False(deadline.Token.IsCancellationRequested);
    }
}
