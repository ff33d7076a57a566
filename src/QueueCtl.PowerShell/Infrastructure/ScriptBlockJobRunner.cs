using System.Collections.Concurrent;
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
    private int _startFailures;
    private readonly ConcurrentDictionary<ScriptHostProcess, long> _busy = new();
    private Exception? _lastStartFailure;

    public async Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel)
    {
        var job = execution.Job;
        if (job.WorkingDirectory is { } wd && !Directory.Exists(wd))
            return RunOutcome.Failure($"The working directory '{wd}' does not exist on {Environment.MachineName}.");
        ScriptHostProcess host;
        try
        {
            host = await RentAsync().ConfigureAwait(false);
            _busy[host] = Environment.TickCount64;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            return RunOutcome.Failure($"The script could not be run: {ex.Message}");
        }
        var request = new ScriptRunRequest(job.Command, job.Arguments, job.WorkingDirectory, job.Id, job.Attempts, job.Runs,
            execution.WorkerId, job.Database, execution.OutputLimit, execution.RunToken);
        var lastPid = RunLeftovers.LastPid();
        var started = Environment.TickCount64;
        ScriptRunReply reply;
        try
        {
            reply = await host.RunAsync(request, execution.Timeout, cancel).ConfigureAwait(false);
        }
        finally
        {
            _busy.TryRemove(host, out _);
            KillLeftovers(execution.RunToken, lastPid, started);
            if (host.Usable) _idle.Writer.TryWrite(host);
            else Drop(host);
        }
        return Outcome(reply, execution.Timeout, cancel.IsCancellationRequested);
    }

    /// <summary>
    /// Stops what the run started and left running (Linux: every process carrying its run token), as for shell runs. No
    /// process started anywhere meanwhile (the kernel's last pid unchanged) means nothing to look for, which keeps tiny
    /// script blocks cheap.
    /// </summary>
    private static void KillLeftovers(string token, int lastPid, long started)
    {
        if (!RunLeftovers.IsSupported || RunLeftovers.LastPid() == lastPid) return;
        var left = RunLeftovers.KillAfterRun(token, lastPid, TimeSpan.FromMilliseconds(Environment.TickCount64 - started), atOnce: false);
        if (left.Count > 0)
            Console.Error.WriteLine($"A script-block run left {left.Count} process(es) running; stopped when it ended: {string.Join("; ", left)}");
    }

    /// <summary>
    /// A run that finds no idle host waits for one to come free, looking this often whether to start another.
    /// </summary>
    private static readonly TimeSpan LookEvery = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Another host is started for a waiting run only when every busy host has been on its current run at least this
    /// long. A host costs about a second of CPU to start, and short runs (a millisecond or so, several times that for a
    /// cold worker on a loaded machine) free a host far sooner; a run beside long ones needs a host of its own.
    /// </summary>
    internal static TimeSpan LongRun { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// An idle host; else the first host another run gives back, or, beside long runs (<see cref="LongRun"/>)
    /// and while there are fewer hosts than slots, one started meanwhile (it joins the pool, so whichever is free first
    /// serves this run). An idle host found dead (killed from outside) is dropped. When no host can be started, the
    /// run fails with the reason.
    /// </summary>
    private async Task<ScriptHostProcess> RentAsync()
    {
        var failuresBefore = Volatile.Read(ref _startFailures);
        var asked = false;
        while (true)
        {
            if (_idle.Reader.TryRead(out var host))
            {
                if (!host.HasExited) return host;
                Drop(host);
                continue;
            }
            if (Volatile.Read(ref _hosts) == 0)
            {
                if (Volatile.Read(ref _startFailures) != failuresBefore && _lastStartFailure is { } failure)
                    throw new InvalidOperationException(failure.Message, failure);
                asked = StartInBackground() || asked;
            }
            using var patience = new CancellationTokenSource(LookEvery);
            try
            {
                host = await _idle.Reader.ReadAsync(patience.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // One more host per waiting run at most, and only beside long runs: a host busy with short runs one
                // after another (a queue of tiny jobs on a loaded machine) comes free sooner than a new host starts.
                if (!asked && AllBusyWithLongRuns()) asked = StartInBackground();
                continue;
            }
            if (!host.HasExited) return host;
            Drop(host);
        }
    }

    private bool AllBusyWithLongRuns()
    {
        var now = Environment.TickCount64;
        var any = false;
        foreach (var rentedAt in _busy.Values)
        {
            if (now - rentedAt < LongRun.TotalMilliseconds) return false;
            any = true;
        }
        return any;
    }

    /// <summary>Starts one more host into the pool unless there are as many as slots; says whether it started one.</summary>
    private bool StartInBackground()
    {
        if (Interlocked.Increment(ref _hosts) > _slots)
        {
            Interlocked.Decrement(ref _hosts);
            return false;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                _idle.Writer.TryWrite(await ScriptHostProcess.StartAsync().ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                _lastStartFailure = ex;
                Interlocked.Increment(ref _startFailures);
                Interlocked.Decrement(ref _hosts);
            }
        });
        return true;
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
