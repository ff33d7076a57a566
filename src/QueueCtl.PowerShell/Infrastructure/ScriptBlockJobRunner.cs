using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QueueCtl.Execution;
using QueueCtl.Jobs;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Runs script-block jobs in PowerShell runspaces inside the worker process. Starting a PowerShell pipeline costs more
/// than half a millisecond, so each pooled runspace runs one long-lived pipeline, a small host loop
/// (<see cref="ScriptHost"/>), that takes jobs from a channel and invokes each in a new child scope: the variables,
/// functions and preferences a job sets vanish with it. After a failed or stopped run the runspace is reset
/// (ResetRunspaceState), global scope included; otherwise changes a job makes to the global scope ($global: variables,
/// imported modules) stay for the next job in that runspace. A run fails when the script throws a terminating error or
/// writes anything to its error stream (exit just ends it, as in Start-Job); output objects are kept as CliXml, with errors, warnings and information, for
/// Receive-QueueJob. The job's details are in $QueueJob.
/// </summary>
internal sealed class ScriptBlockJobRunner : IJobRunner, IDisposable
{
    private readonly ConcurrentBag<ScriptHost> _idle = new();

    public async Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel)
    {
        var job = execution.Job;
        if (job.WorkingDirectory is { } wd && !Directory.Exists(wd))
            return RunOutcome.Failure($"The working directory '{wd}' does not exist on {Environment.MachineName}.");
        var records = new ScriptOutput(execution.OutputLimit);
        CapturedOutput Output() => new(OutputFormat.CliXml, records.ToJson(), "", records.Dropped, 0);
        var host = _idle.TryTake(out var idle) ? idle : new ScriptHost();
        var healthy = false;
        try
        {
            var request = new ScriptRequest(host.Compile(job.Command), Arguments(job.Arguments), job.WorkingDirectory,
                JobInfo(execution), records);
            var ended = await host.RunAsync(request, execution.Timeout, cancel).ConfigureAwait(false);
            switch (ended)
            {
                case ScriptEnd.Stopped when cancel.IsCancellationRequested:
                    return RunOutcome.Cancel("The run was stopped.", Output());
                case ScriptEnd.Stopped:
                    return RunOutcome.Failure($"Timed out after {Durations.Describe(execution.Timeout)}; the script was stopped.", null, Output());
                case ScriptEnd.Threw:
                    return RunOutcome.Failure($"The script threw: {request.TerminatingError}", null, Output());
            }
            // 'exit' ends the run like the end of the script; as with Start-Job, its code is not observed.
            if (records.ErrorCount > 0)
                return RunOutcome.Failure($"The script wrote {records.ErrorCount} error(s); the first: {records.FirstError}", null, Output());
            healthy = true;
            return RunOutcome.Success(0, Output());
        }
        catch (Exception ex) when (ex is ParseException or RuntimeException)
        {
            return RunOutcome.Failure($"The script could not be run: {ex.Message}", null, Output());
        }
        finally
        {
            if (healthy || host.TryReset()) _idle.Add(host);
            else ThreadPool.QueueUserWorkItem(_ => host.Dispose());
        }
    }

    /// <summary>Opens a runspace per slot, in parallel, and runs an empty script in each so its code paths are compiled.</summary>
    public void Warm(int slots)
    {
        var hosts = new ScriptHost[Math.Max(0, slots - _idle.Count)];
        Parallel.For(0, hosts.Length, i =>
        {
            hosts[i] = new ScriptHost();
            var request = new ScriptRequest(hosts[i].Compile(""), Array.Empty<object?>(), null, new PSObject(), new ScriptOutput(0));
            hosts[i].RunAsync(request, TimeSpan.FromMinutes(1), CancellationToken.None).GetAwaiter().GetResult();
        });
        foreach (var host in hosts) _idle.Add(host);
    }

    private static PSObject JobInfo(JobExecution execution)
    {
        var job = execution.Job;
        var info = new PSObject();
        info.Properties.Add(new PSNoteProperty("Id", job.Id));
        info.Properties.Add(new PSNoteProperty("Attempt", job.Attempts));
        info.Properties.Add(new PSNoteProperty("Run", job.Runs));
        info.Properties.Add(new PSNoteProperty("WorkerId", execution.WorkerId));
        info.Properties.Add(new PSNoteProperty("Database", job.Database));
        return info;
    }

    private static object?[] Arguments(string? serialized)
    {
        if (serialized is null) return Array.Empty<object?>();
        var value = PSSerializer.Deserialize(serialized);
        var inner = value is PSObject pso ? pso.BaseObject : value;
        return inner is IList list ? list.Cast<object?>().ToArray() : new[] { value };
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var host)) host.Dispose();
    }
}
