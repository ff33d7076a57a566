using System.Collections.Concurrent;
using QueueCtl.Execution;
using QueueCtl.Jobs;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Runs script-block jobs in script hosts: long-lived child pwsh processes, at most one per worker slot
/// (<see cref="ScriptHostProcess"/>), each running jobs in a runspace of its own and restoring a clean state after
/// each (<see cref="ScriptSession"/>). A job that kills its host ([Environment]::Exit, a stack overflow) or cannot be
/// stopped (a hung .NET call: its host is killed) fails that run with a clear error, and the next run gets a new
/// host; the worker is never harmed. A run fails when the script throws a terminating error or writes anything to its
/// error stream (exit just ends it, as in Start-Job); output objects are kept as CliXml, with errors, warnings and
/// information, for Receive-QueueJob. The job's details are in $QueueJob.
/// </summary>
internal sealed class ScriptBlockJobRunner : IJobRunner, IDisposable
{
    private readonly ConcurrentBag<ScriptHostProcess> _idle = new();

    public async Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel)
    {
        var job = execution.Job;
        if (job.WorkingDirectory is { } wd && !Directory.Exists(wd))
            return RunOutcome.Failure($"The working directory '{wd}' does not exist on {Environment.MachineName}.");
        ScriptHostProcess host;
        try
        {
            host = TakeIdle() ?? await ScriptHostProcess.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            return RunOutcome.Failure($"The script could not be run: {ex.Message}");
        }
        var request = new ScriptRunRequest(job.Command, job.Arguments, job.WorkingDirectory, job.Id, job.Attempts, job.Runs,
            execution.WorkerId, job.Database, execution.OutputLimit);
        ScriptRunReply reply;
        try
        {
            reply = await host.RunAsync(request, execution.Timeout, cancel).ConfigureAwait(false);
        }
        finally
        {
            if (host.Usable) _idle.Add(host);
            else ThreadPool.QueueUserWorkItem(_ => host.Dispose());
        }
        return Outcome(reply, execution.Timeout, cancel.IsCancellationRequested);
    }

    /// <summary>An idle host that is still there (one may have been killed from outside while it waited).</summary>
    private ScriptHostProcess? TakeIdle()
    {
        while (_idle.TryTake(out var host))
        {
            if (!host.HasExited) return host;
            ThreadPool.QueueUserWorkItem(_ => host.Dispose());
        }
        return null;
    }

    private static RunOutcome Outcome(ScriptRunReply reply, TimeSpan timeout, bool cancelled)
    {
        var output = new CapturedOutput(OutputFormat.CliXml, reply.Records, "", reply.Dropped, 0);
        switch (reply.End)
        {
            case ScriptEnd.Stopped or ScriptEnd.HostKilled when cancelled:
                return RunOutcome.Cancel("The run was stopped.", output);
            case ScriptEnd.Stopped:
                return RunOutcome.Failure($"Timed out after {Durations.Describe(timeout)}; the script was stopped.", null, output);
            case ScriptEnd.HostKilled:
                return RunOutcome.Failure($"Timed out after {Durations.Describe(timeout)}; {reply.Message}.", null, output);
            case ScriptEnd.HostExited:
                return RunOutcome.Failure(reply.Message!, null, output);
            case ScriptEnd.Unrunnable:
                return RunOutcome.Failure($"The script could not be run: {reply.Message}", null, output);
            case ScriptEnd.Threw:
                return RunOutcome.Failure($"The script threw: {reply.Message}", null, output);
        }
        // 'exit' ends the run like the end of the script; as with Start-Job, its code is not observed.
        if (reply.ErrorCount > 0)
            return RunOutcome.Failure($"The script wrote {reply.ErrorCount} error(s); the first: {reply.FirstError}", null, output);
        return RunOutcome.Success(0, output);
    }

    /// <summary>
    /// Starts one script host, so the first script block does not wait for a pwsh to start. More start when jobs run
    /// side by side (up to one per slot, then kept): a worker that only runs commands pays for one host, not a slot's worth.
    /// </summary>
    public void Warm(int slots)
    {
        if (slots < 1 || !_idle.IsEmpty) return;
        try
        {
            _idle.Add(ScriptHostProcess.StartAsync().GetAwaiter().GetResult());
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine(ex.Message); // a script-block job tries again, and fails with this
        }
    }

    public void Dispose()
    {
        var hosts = new List<ScriptHostProcess>();
        while (_idle.TryTake(out var host)) hosts.Add(host);
        Parallel.ForEach(hosts, host => host.Dispose());
    }
}
