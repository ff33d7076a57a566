using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Expands the -Id values of a job-changing cmdlet into the jobs they name (wildcards allowed).</summary>
internal static class JobTargets
{
    /// <summary>Each job named by <paramref name="ids"/>, or the refusal for an exact id that does not exist.</summary>
    public static IEnumerable<(string Target, QueueJob? Job, QueueException? Error)> Resolve(JobStore store, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var filter = new WildcardFilter(id);
            if (filter.Literal is { } literal)
            {
                var job = store.Find(literal);
                yield return job is null ? (literal, null, JobStore.NotFound(literal)) : (literal, job, null);
                continue;
            }
            foreach (var job in store.List(new[] { filter }).ToList())
                yield return (job.Id, job, null);
        }
    }
}
