using System.Threading.Channels;
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
    private readonly Channel<ScriptHostProcess> _idle = Channel.CreateUnbounded<ScriptHostProcess>();
    private int _hosts; // idle, busy or starting
    private int _slots = int.MaxValue;

    public async Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel)
    {
        var job = execution.Job;
        if (job.WorkingDirectory is { } wd && !Directory.Exists(wd))
            return RunOutcome.Failure($"The working directory '{wd}' does not exist on {Environment.MachineName}.");
        ScriptHostProcess host;
        try
        {
            host = await RentAsync().ConfigureAwait(false);
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
            if (host.Usable) _idle.Writer.TryWrite(host);
            else Drop(host);
        }
        return Outcome(reply, execution.Timeout, cancel.IsCancellationRequested);
    }

    /// <summary>
    /// An idle host; else a new one while there are fewer hosts than slots; else the next host another run gives back.
    /// An idle host found dead (killed from outside) is dropped.
    /// </summary>
    private async Task<ScriptHostProcess> RentAsync()
    {
        while (true)
        {
            if (!_idle.Reader.TryRead(out var host))
            {
                if (Interlocked.Increment(ref _hosts) <= _slots) return await StartAsync().ConfigureAwait(false);
                Interlocked.Decrement(ref _hosts);
                host = await _idle.Reader.ReadAsync().ConfigureAwait(false);
            }
            if (host.HasExited) Drop(host);
            else return host;
        }
    }

    private async Task<ScriptHostProcess> StartAsync()
    {
        try
        {
            return await ScriptHostProcess.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _hosts);
            throw;
        }
    }

    private void Drop(ScriptHostProcess host)
    {
        Interlocked.Decrement(ref _hosts);
        ThreadPool.QueueUserWorkItem(_ => host.Dispose());
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
    /// Starts one script host, so the first script block does not wait for a pwsh to start. The others start when
    /// script blocks run side by side, up to one per slot: a host costs about a second of CPU to start and some 100 MB,
    /// which a worker that runs only commands should not pay for every slot.
    /// </summary>
    public void Warm(int slots)
    {
        _slots = Math.Max(1, slots);
        if (Interlocked.CompareExchange(ref _hosts, 1, 0) != 0) return;
        try
        {
            _idle.Writer.TryWrite(ScriptHostProcess.StartAsync().GetAwaiter().GetResult());
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            Interlocked.Decrement(ref _hosts);
            Console.Error.WriteLine(ex.Message); // a script-block job tries again, and fails with this
        }
    }

    public void Dispose()
    {
        _idle.Writer.TryComplete();
        var hosts = new List<ScriptHostProcess>();
        while (_idle.Reader.TryRead(out var host)) hosts.Add(host);
        Parallel.ForEach(hosts, host => host.Dispose());
    }
}
