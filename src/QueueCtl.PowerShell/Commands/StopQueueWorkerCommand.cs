using System.Management.Automation;
using QueueCtl.Execution;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;
using QueueCtl.Worker;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Stops workers: gracefully through the queue (each finishes its running jobs first), or at once with -Force.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "QueueWorker", SupportsShouldProcess = true, DefaultParameterSetName = IdSet)]
[OutputType(typeof(QueueWorker))]
public sealed class StopQueueWorkerCommand : QueueCmdlet
{
    private const string IdSet = "Id";
    private const string AllSet = "All";
    private readonly List<string> _waitFor = new();

    #region Parameters

    /// <summary>Ids of the workers to stop. Wildcards are allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WorkerIdCompleter))]
    [Alias("WorkerId")]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Stops every live worker of the queue, on any machine.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    /// <summary>Kills the worker processes (on this machine) at once; their running jobs are recovered and retried.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How long to wait for graceful stops; 0 returns at once. A number means seconds. Default: until they stop.</summary>
    [Parameter]
    [SecondsTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>Emits each worker once it has stopped (or when the wait ends).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    #endregion

    protected override void ProcessRecord()
    {
        var registry = Db.Workers;
        IReadOnlyList<QueueWorker> workers = Array.Empty<QueueWorker>();
        if (!TryQueue(() => workers = registry.List(), Id)) return;
        // -Force also reaches a worker recorded as Lost whose process is still here (frozen, or stopped with SIGSTOP).
        var targets = All ? workers.Where(w => w.IsAlive || (Force && LiveHere(w))) : WorkerTargets.Filter(workers, Id, this);
        foreach (var worker in targets)
        {
            if (!worker.IsAlive && !(Force && LiveHere(worker)))
            {
                WriteVerbose($"Worker '{worker.Id}' is already {worker.State}.");
                if (PassThru) WriteObject(worker);
                continue;
            }
            if (!ShouldProcess($"Worker '{worker.Id}' (pid {worker.ProcessId} on {worker.HostName})", Force ? "Kill" : "Stop")) continue;
            if (Force && Guard(() => TryKill(registry, worker), worker.Id)) continue;
            TryQueue(() =>
            {
                if (registry.RequestStop(worker.Id)) _waitFor.Add(worker.Id);
            }, worker.Id);
        }
    }

    protected override void EndProcessing()
    {
        if (_waitFor.Count == 0) return;
        var registry = Db.Workers;
        var deadline = Timeout is { } t ? DateTime.UtcNow + t : DateTime.MaxValue;
        var progress = new ProgressRecord(1, "Stopping queue workers", "Waiting for running jobs to finish") { PercentComplete = 0 };
        using var watcher = Db.Listen();
        using var onCancel = StopToken.Register(watcher.Poke);
        var pending = _waitFor.ToList();
        while (!StopToken.IsCancellationRequested)
        {
            var workers = Guard(registry.List, _waitFor).ToDictionary(w => w.Id, StringComparer.OrdinalIgnoreCase);
            foreach (var id in pending.Where(id => !workers.TryGetValue(id, out var w) || !w.IsAlive).ToList())
            {
                pending.Remove(id);
                if (PassThru && workers.TryGetValue(id, out var stopped)) WriteObject(stopped);
            }
            if (pending.Count == 0) break;
            if (DateTime.UtcNow >= deadline)
            {
                foreach (var id in pending)
                {
                    WriteError(QueueErrors.Record("WorkerStopTimeout", ErrorCategory.OperationTimeout,
                        $"Worker '{id}' has not stopped yet; it will once its running jobs finish. Use -Force to kill it.", id));
                    if (PassThru && workers.TryGetValue(id, out var w)) WriteObject(w);
                }
                break;
            }
            progress.StatusDescription = $"{_waitFor.Count - pending.Count} of {_waitFor.Count} stopped; waiting for {string.Join(", ", pending)}";
            progress.PercentComplete = 100 * (_waitFor.Count - pending.Count) / _waitFor.Count;
            WriteProgress(progress);
            var wait = deadline - DateTime.UtcNow;
            watcher.Wait(wait < Db.Config.PollInterval ? wait : Db.Config.PollInterval);
        }
        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
    }

    /// <summary>Kills a worker of this machine (see <see cref="WorkerKill"/>); false when it runs elsewhere.</summary>
    private bool TryKill(IWorkerRegistry registry, QueueWorker worker)
    {
        var (result, recovered) = WorkerKill.Kill(Db, worker.Id);
        if (result == WorkerKillResult.OnAnotherMachine)
        {
            WriteError(QueueErrors.Record("WorkerOnAnotherMachine", ErrorCategory.InvalidOperation,
                $"Worker '{worker.Id}' runs on {worker.HostName}; it cannot be killed from here, so it was asked to stop gracefully.", worker.Id));
            return false;
        }
        WriteVerbose($"Killed worker {worker.Id}; recovered {recovered.Count} job(s): {string.Join(", ", recovered)}.");
        if (PassThru) WriteObject(registry.Find(worker.Id));
        return true;
    }

    private bool LiveHere(QueueWorker worker) => WorkerKill.IsAliveHere(Db, worker.Id);
}
