using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QueueCtl.Execution;
using QueueCtl.Jobs;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Runs script-block jobs in PowerShell runspaces inside the worker process. Runspaces are pooled and reset between
/// jobs (variables and location; modules a job imported stay loaded). A run fails when the script throws a terminating
/// error or writes anything to its error stream; output objects are kept as CliXml, with errors, warnings and
/// information, for Receive-QueueJob. The job's details are in $QueueJob.
/// </summary>
internal sealed class ScriptBlockJobRunner : IJobRunner, IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private readonly ConcurrentBag<Runspace> _idle = new();

    public Task<RunOutcome> RunAsync(JobExecution execution, CancellationToken cancel) =>
        // PowerShell invocations block their thread; give each its own so the thread pool stays free.
        Task.Factory.StartNew(() => Run(execution, cancel), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private RunOutcome Run(JobExecution execution, CancellationToken cancel)
    {
        var job = execution.Job;
        if (job.WorkingDirectory is { } wd && !Directory.Exists(wd))
            return RunOutcome.Failure($"The working directory '{wd}' does not exist on {Environment.MachineName}.");
        var records = new ScriptOutput(execution.OutputLimit);
        CapturedOutput Output() => new(OutputFormat.CliXml, records.ToJson(), "", records.Dropped, 0);
        var runspace = Rent();
        var reusable = true;
        try
        {
            Prepare(runspace, execution);
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = runspace;
            ps.AddScript(job.Command);
            foreach (var argument in Arguments(job.Arguments)) ps.AddArgument(argument);
            var output = new PSDataCollection<PSObject>();
            output.DataAdded += (_, e) => records.AddOutput(output[e.Index]);
            ps.Streams.Error.DataAdded += (_, e) => records.AddError(ps.Streams.Error[e.Index]);
            ps.Streams.Warning.DataAdded += (_, e) => records.AddMessage(ScriptOutput.WarningStream, ps.Streams.Warning[e.Index].Message);
            ps.Streams.Information.DataAdded += (_, e) => records.AddMessage(ScriptOutput.InformationStream, ps.Streams.Information[e.Index].MessageData?.ToString() ?? "");
            ps.Streams.Verbose.DataAdded += (_, e) => records.AddMessage(ScriptOutput.VerboseStream, ps.Streams.Verbose[e.Index].Message);

            var invocation = ps.BeginInvoke<PSObject, PSObject>(null, output);
            var signalled = WaitHandle.WaitAny(new[] { invocation.AsyncWaitHandle, cancel.WaitHandle }, execution.Timeout);
            if (signalled != 0)
            {
                var stop = ps.BeginStop(null, null);
                reusable = stop.AsyncWaitHandle.WaitOne(StopGrace);
                return cancel.IsCancellationRequested
                    ? RunOutcome.Cancel("The run was stopped.", Output())
                    : RunOutcome.Failure($"Timed out after {Durations.Describe(execution.Timeout)}; the script was stopped.", null, Output());
            }
            try
            {
                ps.EndInvoke(invocation);
            }
            catch (RuntimeException ex)
            {
                return RunOutcome.Failure($"The script threw: {ScriptOutput.Describe(ex.ErrorRecord)}", null, Output());
            }
            if (records.ErrorCount > 0)
                return RunOutcome.Failure($"The script wrote {records.ErrorCount} error(s); the first: {records.FirstError}", null, Output());
            return RunOutcome.Success(0, Output());
        }
        finally
        {
            Return(runspace, reusable);
        }
    }

    private static void Prepare(Runspace runspace, JobExecution execution)
    {
        var job = execution.Job;
        if (job.WorkingDirectory is { } wd)
            runspace.SessionStateProxy.Path.SetLocation(WildcardPattern.Escape(wd));
        var info = new PSObject();
        foreach (var (name, value) in new (string, object?)[]
                 { ("Id", job.Id), ("Attempt", job.Attempts), ("Run", job.Runs), ("WorkerId", execution.WorkerId), ("Database", job.Database) })
            info.Properties.Add(new PSNoteProperty(name, value));
        runspace.SessionStateProxy.SetVariable("QueueJob", info);
    }

    private static IEnumerable<object?> Arguments(string? serialized)
    {
        if (serialized is null) return Array.Empty<object?>();
        var value = PSSerializer.Deserialize(serialized);
        var inner = value is PSObject pso ? pso.BaseObject : value;
        return inner is IList list ? list.Cast<object?>() : new[] { value };
    }

    private Runspace Rent()
    {
        if (_idle.TryTake(out var runspace)) return runspace;
        runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        return runspace;
    }

    private void Return(Runspace runspace, bool reusable)
    {
        if (reusable && runspace.RunspaceStateInfo.State == RunspaceState.Opened)
        {
            try
            {
                runspace.ResetRunspaceState();
                _idle.Add(runspace);
                return;
            }
            catch (Exception ex) when (ex is InvalidRunspaceStateException or PSInvalidOperationException)
            {
                // Fall through: a runspace that cannot be reset is not reused.
            }
        }
        // A script that would not stop may still hold this runspace; let it go in the background.
        ThreadPool.QueueUserWorkItem(_ => runspace.Dispose());
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var runspace)) runspace.Dispose();
    }
}
