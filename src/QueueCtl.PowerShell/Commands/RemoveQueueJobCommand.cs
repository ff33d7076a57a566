using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Deletes jobs and their output from the queue.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "QueueJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QueueJob))]
public sealed class RemoveQueueJobCommand : QueueCmdlet
{
    /// <summary>Ids of the jobs to delete. Wildcards are allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Also deletes Processing jobs; their worker's result is then discarded.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Emits each deleted job.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var store = Db.Jobs;
        ChangeJobs(store, Id, "Remove", id => store.Remove(id, Force), PassThru);
    }
}
