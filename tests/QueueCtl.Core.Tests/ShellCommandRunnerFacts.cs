using System.Diagnostics;
using QueueCtl.Execution;
using QueueCtl.Jobs;

namespace QueueCtl.Tests;

public class ShellCommandRunnerFacts : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("queuectl-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Task<RunOutcome> Run(string command, TimeSpan? timeout = null, int limit = 65536, string? workingDirectory = null,
        CancellationToken cancel = default) =>
        new ShellCommandRunner().RunAsync(new JobExecution(
            new QueueJob { Id = "job-7", Command = command, Attempts = 2, Runs = 3, WorkingDirectory = workingDirectory ?? _folder, Database = "/q.db" },
            timeout ?? TimeSpan.FromSeconds(30), limit, "worker-1"), cancel);

    [Fact]
    public async Task Success_CapturesStdoutAndStderr()
    {
        var outcome = await Run("echo out; echo err >&2");
        Assert.Equal(RunResultKind.Succeeded, outcome.Kind);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal("out\n", outcome.Output!.StandardOutput);
        Assert.Equal("err\n", outcome.Output.StandardError);
    }

    [Fact]
    public async Task NonZeroExit_IsAFailure_NamingTheCodeAndTheLastErrorLine()
    {
        var outcome = await Run("echo first >&2; echo 'disk full' >&2; exit 3");
        Assert.Equal(RunResultKind.Failed, outcome.Kind);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Equal("Exited with code 3: disk full", outcome.Error);
    }

    [Fact]
    public async Task UnknownCommand_FailsCleanly()
    {
        var outcome = await Run("definitely-not-a-command-xyz");
        Assert.Equal(RunResultKind.Failed, outcome.Kind);
        Assert.Equal(127, outcome.ExitCode);
        Assert.Contains("not found", outcome.Error);
    }

    [Fact]
    public async Task RunsInTheWorkingDirectory_WithTheJobsEnvironment()
    {
        var outcome = await Run("pwd; echo $QUEUECTL_JOB_ID $QUEUECTL_JOB_ATTEMPT $QUEUECTL_JOB_RUN $QUEUECTL_WORKER_ID $QUEUECTL_DATABASE");
        Assert.Equal($"{_folder}\njob-7 2 3 worker-1 /q.db\n", outcome.Output!.StandardOutput);
    }

    [Fact]
    public async Task MissingWorkingDirectory_IsAClearFailure()
    {
        var outcome = await Run("true", workingDirectory: Path.Combine(_folder, "gone"));
        Assert.Equal(RunResultKind.Failed, outcome.Kind);
        Assert.Contains("does not exist", outcome.Error);
    }

    [Fact]
    public async Task StandardInput_IsClosed()
    {
        var outcome = await Run("cat; echo done");
        Assert.Equal("done\n", outcome.Output!.StandardOutput);
    }

    [Fact]
    public async Task Timeout_KillsTheWholeProcessTree()
    {
        var pidFile = Path.Combine(_folder, "child.pid");
        var watch = Stopwatch.StartNew();
        var outcome = await Run($"sleep 60 & echo $! > {pidFile}; wait", timeout: TimeSpan.FromMilliseconds(700));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(RunResultKind.Failed, outcome.Kind);
        Assert.Contains("Timed out after 0.7 s", outcome.Error);
        var childPid = int.Parse(File.ReadAllText(pidFile).Trim());
        await WaitUntil(() => !ProcessTree.IsAlive(childPid, null));
    }

    [Fact]
    public async Task Cancel_StopsTheRun()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var outcome = await Run("sleep 60", cancel: cancel.Token);
        Assert.Equal(RunResultKind.Cancelled, outcome.Kind);
    }

    [Fact]
    public async Task Output_IsBounded_KeepingTheTail()
    {
        var outcome = await Run("seq 1 20000", limit: 100);
        Assert.EndsWith("19999\n20000\n", outcome.Output!.StandardOutput);
        Assert.Equal(100, System.Text.Encoding.UTF8.GetByteCount(outcome.Output.StandardOutput));
        Assert.True(outcome.Output.DroppedOutput > 100_000);
    }

    [Fact]
    public async Task ABackgroundChildHoldingThePipe_DoesNotHangTheRun()
    {
        var watch = Stopwatch.StartNew();
        var outcome = await Run("sleep 3 & echo started");
        Assert.Equal(RunResultKind.Succeeded, outcome.Kind);
        Assert.Equal("started\n", outcome.Output!.StandardOutput);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    internal static async Task WaitUntil(Func<bool> condition, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(50);
        }
    }
}
