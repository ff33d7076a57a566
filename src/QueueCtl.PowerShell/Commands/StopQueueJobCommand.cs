using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Cancels jobs: a waiting job becomes Cancelled at once; a running one is killed by its worker.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "QueueJob", SupportsShouldProcess = true)]
[OutputType(typeof(QueueJob))]
public sealed class StopQueueJobCommand : QueueCmdlet
{
    /// <summary>Ids of the jobs to cancel. Wildcards are allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Emits each job after the request (a running job shows CancelRequested until its worker stops it).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var store = Db.Jobs;
        ChangeJobs(store, Id, "Cancel", store.Cancel, PassThru);
    }
}
