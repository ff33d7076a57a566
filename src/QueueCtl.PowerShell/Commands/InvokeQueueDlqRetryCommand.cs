using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Sends jobs in the dead letter queue back to Pending.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "QueueDlqRetry", SupportsShouldProcess = true, DefaultParameterSetName = IdSet)]
[OutputType(typeof(QueueJob))]
public sealed class InvokeQueueDlqRetryCommand : QueueCmdlet
{
    private const string IdSet = "Id";
    private const string AllSet = "All";

    /// <summary>Ids of Dead jobs to retry. Wildcards are allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Retries every Dead job.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    /// <summary>Emits each job after it was put back.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var store = Db.Jobs;
        if (All)
        {
            var dead = store.List(states: new[] { QueueJobState.Dead }).ToList();
            if (dead.Count == 0 || !ShouldProcess($"{dead.Count} Dead job(s)", "Retry")) return;
            foreach (var job in dead) ChangeJob(job.Id, store.RetryDead, PassThru);
            return;
        }
        ChangeJobs(store, Id, "Retry", store.RetryDead, PassThru);
    }
}
