using System.Diagnostics;
using System.Management.Automation;

namespace QueueCtl.PowerShell.Tests;

public class HostedCmdletFacts : IDisposable
{
    private readonly HostedQueue _queue = new();

    public void Dispose() => _queue.Dispose();

    [Fact]
    public void CtrlC_StopsWaitQueueJob_Promptly()
    {
        _queue.Invoke("New-QueueJob 'sleep 60' -Id never-runs | Out-Null");
        using var ps = _queue.Create("Wait-QueueJob never-runs");
        var invocation = ps.BeginInvoke();
        Thread.Sleep(500);
        Assert.False(invocation.IsCompleted);
        var watch = Stopwatch.StartNew();
        ps.Stop();
        Assert.True(invocation.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
    }

    [Fact]
    public void CtrlC_StopsAForegroundWorker_AfterItsRunningJobFinishes()
    {
        _queue.Invoke("New-QueueJob 'sleep 1' -Id running | Out-Null; New-QueueJob 'true' -Id next -Delay 1 | Out-Null");
        StopWorkerOnceRunning("Start-QueueWorker -Foreground", "running", TimeSpan.Zero);
        Assert.Equal("Completed", _queue.Invoke("(Get-QueueJob running).State.ToString()").Single().ToString());
        Assert.Equal("Pending", _queue.Invoke("(Get-QueueJob next).State.ToString()").Single().ToString());
        Assert.Equal("Stopped", _queue.Invoke("(Get-QueueWorker).State.ToString()").Single().ToString());
    }

    [Fact]
    public void CtrlC_WhileTheWorkerIsWritingToThePipeline_StillFinishesTheRunningJob()
    {
        // A stream of failing jobs keeps the worker writing information records while Ctrl+C arrives: a record
        // written as PowerShell marks the pipeline stopped must not end the cmdlet before its running job finishes.
        _queue.Invoke("New-QueueJob 'sleep 1' -Id running | Out-Null; 1..3000 | ForEach-Object { 'false' } | New-QueueJob -MaxRetries 0 | Out-Null");
        StopWorkerOnceRunning("Start-QueueWorker -Foreground -Concurrency 2", "running", TimeSpan.FromMilliseconds(100));
        Assert.Equal("Completed", _queue.Invoke("(Get-QueueJob running).State.ToString()").Single().ToString());
        Assert.Equal(0L, (long)_queue.Invoke("(Get-QueueStatus).Processing").Single().BaseObject);
    }

    /// <summary>Runs a foreground worker, and presses Ctrl+C once <paramref name="jobId"/> runs (plus a pause).</summary>
    private void StopWorkerOnceRunning(string workerScript, string jobId, TimeSpan pause)
    {
        using var ps = _queue.Create(workerScript);
        var invocation = ps.BeginInvoke();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (_queue.Observe($"(Get-QueueJob {jobId}).State.ToString()") != "Processing")
        {
            Assert.True(DateTime.UtcNow < deadline, "the job never started");
            Thread.Sleep(10);
        }
        Thread.Sleep(pause);
        ps.Stop();
        Assert.True(invocation.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void ABigImport_ReportsProgress_ThatCountsUp_AndCompletes()
    {
        using var ps = _queue.Create("1..2500 | ForEach-Object { \"echo $_\" } | New-QueueJob | Out-Null");
        ps.Invoke();
        var progress = ps.Streams.Progress.Where(p => p.Activity == "Enqueuing jobs").ToList();
        Assert.NotEmpty(progress);
        Assert.Contains(progress, p => p.StatusDescription.Contains("jobs written"));
        Assert.Equal(ProgressRecordType.Completed, progress[^1].RecordType);
        Assert.Equal(2500L, (long)_queue.Invoke("(Get-QueueStatus).Pending").Single().BaseObject);
    }

    [Fact]
    public void ASmallImport_ShowsNoProgress()
    {
        using var ps = _queue.Create("1..5 | ForEach-Object { \"echo $_\" } | New-QueueJob | Out-Null");
        ps.Invoke();
        Assert.DoesNotContain(ps.Streams.Progress, p => p.Activity == "Enqueuing jobs");
    }

    [Fact]
    public void ErrorsCarryAStableIdAndCategory_AndTheRestOfThePipelineGoesOn()
    {
        using var ps = _queue.Create("'a', 'b', 'a', 'c' | ForEach-Object { [pscustomobject]@{ Id = $_; Command = 'true' } } | New-QueueJob");
        var created = ps.Invoke();
        Assert.Equal(new[] { "a", "b", "c" }, created.Select(o => (string)o.Properties["Id"].Value));
        var error = Assert.Single(ps.Streams.Error);
        Assert.Equal("JobAlreadyExists,QueueCtl.PowerShell.Commands.NewQueueJobCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, error.CategoryInfo.Category);
        Assert.Equal("a", error.TargetObject);
    }
}
