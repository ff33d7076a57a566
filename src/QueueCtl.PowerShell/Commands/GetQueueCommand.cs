using System.Management.Automation;
using QueueCtl.PowerShell.Infrastructure;

namespace QueueCtl.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets the named queues: whether each is paused, and its waiting, retrying and running jobs.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Queue")]
[OutputType(typeof(NamedQueue))]
public sealed class GetQueueCommand : QueueCmdlet
{
    /// <summary>Names of the queues to get. Wildcards are allowed; a queue with no jobs and no settings is shown when named exactly.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Queue")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(QueueNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<NamedQueue> all = Array.Empty<NamedQueue>();
        if (!TryQueue(() => all = Db.Queues.List(), Name)) return;
        if (Name is null)
        {
            WriteObject(all, enumerateCollection: true);
            return;
        }
        var shown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in Name)
        {
            if (WildcardPattern.ContainsWildcardCharacters(name))
            {
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                foreach (var queue in all.Where(q => pattern.IsMatch(q.Name) && shown.Add(q.Name))) WriteObject(queue);
                continue;
            }
            NamedQueue? exact = null;
            if (!TryQueue(() => exact = all.FirstOrDefault(q => q.Name == QueueNames.Normalize(name)) ?? Db.Queues.Get(name), name)) continue;
            if (shown.Add(exact!.Name)) WriteObject(exact);
        }
    }
}
