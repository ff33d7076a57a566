using QueueCtl.Jobs;

namespace QueueCtl.Worker;

/// <summary>
/// Runs that ended and wait to be recorded. They stay here until a transaction that records them commits, so a
/// database that is locked, full or failing for a while costs time, not results: the finish is fenced on the run's
/// token (seq, run, worker, Processing), so it lands unless another worker has recovered the job meanwhile.
/// </summary>
internal sealed class PendingResults
{
    private readonly List<(RunningJob Job, FinishedRun Run)> _held = new();

    public int Count => _held.Count;

    public void Add(RunningJob job, RunOutcome outcome) => _held.Add((job, new FinishedRun(job.Claim, outcome)));

    public IEnumerable<long> Seqs => _held.Select(h => h.Run.Claim.Seq);

    /// <summary>What to record next; pass it to <see cref="Recorded"/> once the transaction has committed.</summary>
    public IReadOnlyList<(RunningJob Job, FinishedRun Run)> Batch() => _held.ToList();

    public void Recorded(IReadOnlyList<(RunningJob Job, FinishedRun Run)> batch) => _held.RemoveRange(0, batch.Count);
}
