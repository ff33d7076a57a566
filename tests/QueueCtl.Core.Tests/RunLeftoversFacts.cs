using System.Diagnostics;
using QueueCtl.Execution;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

/// <summary>What a shell run leaves running (Linux: found by its run token), and who counts as gone.</summary>
public class RunLeftoversFacts : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("queuectl-leftovers-").FullName;
    private readonly List<int> _started = new();

    public void Dispose()
    {
        foreach (var pid in _started)
            try { using var p = Process.GetProcessById(pid); p.Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        Directory.Delete(_folder, recursive: true);
    }

    private Task<RunOutcome> Run(string command, TimeSpan? timeout = null) =>
        new ShellCommandRunner().RunAsync(new JobExecution(
            new QueueJob { Id = "job-1", Command = command, WorkingDirectory = _folder },
            timeout ?? TimeSpan.FromSeconds(30), 65536, "worker-1"), CancellationToken.None);

    private int PidFrom(string file)
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(_folder, file)).Trim());
        _started.Add(pid);
        return pid;
    }

    [Fact]
    public async Task ABackgroundChild_IsStopped_AndTheRunEndsWithItsShell()
    {
        if (!OperatingSystem.IsLinux()) return;
        var watch = Stopwatch.StartNew();
        var outcome = await Run("sleep 60 & echo $! > child.pid; echo started");
        // The child would hold the run for 60 s; a loaded test machine may take a few seconds to start and stop it.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Equal(RunResultKind.Succeeded, outcome.Kind);
        Assert.Equal("started\n", outcome.Output!.StandardOutput);
        var child = PidFrom("child.pid");
        // A killed process is gone once its new parent (init or a subreaper) has reaped it: on a loaded machine that
        // can lag the end of the run by a moment. Left running, it would be there for 60 s.
        var gone = Stopwatch.StartNew();
        while (ProcessTree.IsAlive(child, null) && gone.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        Assert.False(ProcessTree.IsAlive(child, null), $"pid {child} still there {gone.Elapsed} after the run ended");
        Assert.Contains($"left 1 process(es) running; stopped when it ended: {child} sleep 60", outcome.Output.StandardError);
    }

    [Fact]
    public async Task ASetsidGrandchild_OutsideTheTree_IsKilledOnTimeout()
    {
        if (!OperatingSystem.IsLinux()) return;
        var outcome = await Run("(setsid sleep 60 & echo $! > grandchild.pid); sleep 30", TimeSpan.FromMilliseconds(700));
        Assert.Equal(RunResultKind.Failed, outcome.Kind);
        Assert.False(ProcessTree.IsAlive(PidFrom("grandchild.pid"), null));
    }

    [Fact]
    public async Task AServiceStartedWithoutTheToken_IsLeftRunning()
    {
        if (!OperatingSystem.IsLinux()) return;
        var outcome = await Run("env -u QUEUECTL_RUN_TOKEN setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $! > service.pid");
        Assert.Equal(RunResultKind.Succeeded, outcome.Kind);
        Assert.True(ProcessTree.IsAlive(PidFrom("service.pid"), null));
        Assert.Equal("", outcome.Output!.StandardError);
    }

    [Fact]
    public void TheJobsFile_KeepsEachRunsToken_AndStillReadsLinesWithout()
    {
        var path = Path.Combine(_folder, "w.jobs");
        File.WriteAllText(path, "+10 1000\n+11 2000 abc123\n+12 3000 ../x\n-10\n");
        var runs = RunningProcesses.Read(path).OrderBy(r => r.Pid).ToList();
        Assert.Equal(new (int, long, string?)[] { (11, 2000, "abc123"), (12, 3000, null) }, runs);
    }

    [Fact]
    public void AWorkerOnThisMachineWhoseProcessIsGone_IsListedAsLostAtOnce()
    {
        using var queue = new TempQueue(TimeProvider.System);
        var registry = queue.Db.Workers;
        registry.Register("gone", QueueWorkerState.Running, int.MaxValue - 7, DateTime.UtcNow, 1, null, null);
        registry.Register("here", QueueWorkerState.Running, Environment.ProcessId, Process.GetCurrentProcess().StartTime.ToUniversalTime(), 1, null, null);
        var states = registry.List().ToDictionary(w => w.Id, w => w.State);
        Assert.Equal(QueueWorkerState.Lost, states["gone"]);
        Assert.Equal(QueueWorkerState.Running, states["here"]);
    }
}
