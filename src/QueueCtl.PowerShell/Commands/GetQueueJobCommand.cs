using System.Management.Automation;
using QueueCtl.Jobs;
using QueueCtl.PowerShell.Infrastructure;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets jobs from the queue.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "QueueJob")]
[OutputType(typeof(QueueJob))]
public sealed class GetQueueJobCommand : QueueCmdlet
{
    #region Parameters

    /// <summary>Ids of the jobs to get. Wildcards are allowed.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(JobIdCompleter))]
    public string[]? Id { get; set; }

    /// <summary>Only jobs in these states.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public QueueJobState[]? State { get; set; }

    /// <summary>Only jobs in these named queues.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(QueueNameCompleter))]
    public string[]? Queue { get; set; }

    /// <summary>Only jobs with any of these tags (case-insensitive).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    /// <summary>At most this many jobs, oldest first.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; } = int.MaxValue;

    #endregion

    protected override void ProcessRecord()
    {
        var filters = Id?.Select(i => Wildcards.TryCreate(i, this)).OfType<WildcardFilter>().ToList();
        if (filters is { Count: 0 }) return; // every pattern was refused: listing all jobs instead would be wrong
        IReadOnlyList<string>? queues = null;
        if (Queue is not null && !TryQueue(() => queues = QueueNames.NormalizeAll(Queue), Queue)) return;
        var store = Db.Jobs;
        var found = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            foreach (var job in store.List(filters, State, First == int.MaxValue ? null : First, queues: queues, tags: Tag))
            {
                found.Add(job.Id);
                WriteObject(job);
            }
        }
        catch (QueueException ex)
        {
            ThrowQueueError(ex, Id);
        }
        if (filters is null || State is { Length: > 0 } || queues is not null || Tag is not null) return;
        foreach (var literal in filters.Where(f => f.Literal is not null && !found.Contains(f.Literal)))
            WriteQueueError(JobStoreExtensions.NotFound(literal.Literal!), literal.Literal);
    }
}
