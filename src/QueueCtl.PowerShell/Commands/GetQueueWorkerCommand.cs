using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets the workers registered in the queue, with their state, heartbeat and current jobs.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "QueueWorker")]
[OutputType(typeof(QueueWorker))]
public sealed class GetQueueWorkerCommand : QueueCmdlet
{
    /// <summary>Ids of the workers to get. Wildcards are allowed.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(WorkerIdCompleter))]
    [Alias("WorkerId")]
    public string[]? Id { get; set; }

    /// <summary>Only workers in these states.</summary>
    [Parameter]
    public QueueWorkerState[]? State { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<QueueWorker> workers = Array.Empty<QueueWorker>();
        if (!TryQueue(() => workers = Db.Workers.List(), Id)) return;
        foreach (var worker in WorkerTargets.Filter(workers, Id, this))
            if (State is not { Length: > 0 } || State.Contains(worker.State)) WriteObject(worker);
    }
}
