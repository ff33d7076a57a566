using System.Management.Automation;
using QueueCtl.Jobs;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Matches -Id values (wildcards allowed) against workers; an exact id that matches nothing is an error.</summary>
internal static class WorkerTargets
{
    public static IEnumerable<QueueWorker> Filter(IReadOnlyList<QueueWorker> workers, string[]? ids, Cmdlet cmdlet)
    {
        if (ids is null) return workers;
        var matched = new List<QueueWorker>();
        foreach (var id in ids)
        {
            if (Wildcards.TryCreate(id, cmdlet) is not { } pattern) continue;
            var hits = workers.Where(w => pattern.IsMatch(w.Id)).ToList();
            if (hits.Count == 0 && pattern.Literal is not null)
                cmdlet.WriteError(QueueErrors.ToRecord(new QueueException(QueueErrorCode.WorkerNotFound,
                    $"No worker with id '{id}' is registered in the queue."), id));
            matched.AddRange(hits.Where(h => !matched.Contains(h)));
        }
        return matched;
    }
}
