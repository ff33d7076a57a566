using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Expands the -Id values of a job-changing cmdlet into the jobs they name (wildcards allowed).</summary>
internal static class JobTargets
{
    /// <summary>
    /// Each job named by <paramref name="ids"/>, or the refusal for an exact id that does not exist or a pattern that
    /// cannot match. A database failure is not an item's refusal: it throws.
    /// </summary>
    public static IEnumerable<(string Target, QueueJob? Job, QueueException? Error)> Resolve(IJobStore store, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var (filter, refused) = Parse(id);
            if (filter is null)
            {
                yield return (id, null, refused);
                continue;
            }
            if (filter.Literal is { } literal)
            {
                var job = store.Find(literal);
                yield return job is null ? (literal, null, JobStoreExtensions.NotFound(literal)) : (literal, job, null);
                continue;
            }
            foreach (var job in store.List(new[] { filter }).ToList())
                yield return (job.Id, job, null);
        }
    }

    private static (WildcardFilter? Filter, QueueException? Error) Parse(string pattern)
    {
        try
        {
            return (new WildcardFilter(pattern), null);
        }
        catch (QueueException ex)
        {
            return (null, ex);
        }
    }
}
