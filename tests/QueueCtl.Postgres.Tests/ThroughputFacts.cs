using System.Diagnostics;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using Xunit.Abstractions;

namespace QueueCtl.Postgres.Tests;

public sealed class ThroughputFacts : IDisposable
{
    private readonly PgQueues _queues = new();
    private readonly ITestOutputHelper _output;

    public ThroughputFacts(ITestOutputHelper output) => _output = output;

    public void Dispose() => _queues.Dispose();

    [Fact]
    public async Task Claim_and_finish_throughput_of_eight_workers()
    {
        if (!PgQueues.Ready()) return;
        const int jobs = 8000, workers = 8;
        using (var db = _queues.Open())
            foreach (var batch in Enumerable.Range(0, jobs).Chunk(1000))
                db.Jobs.Enqueue(batch.Select(i => new JobSpec { Command = "echo" }).ToList());
        using var start = new Barrier(workers + 1);
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(() =>
        {
            using var db = _queues.Open();
            var leases = db.Leases($"w{w}");
            start.SignalAndWait();
            var held = new List<ClaimedJob>();
            do
            {
                held = leases.FinishAndClaim(held.Select(c => new FinishedRun(c, RunOutcome.Success())).ToList(), 4).Claimed.ToList();
            }
            while (held.Count > 0);
        }, TaskCreationOptions.LongRunning)).ToArray();
        start.SignalAndWait();
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(tasks);
        sw.Stop();
        _output.WriteLine($"Claim+finish: {jobs} jobs by {workers} workers (4 at a time) in {sw.ElapsedMilliseconds} ms: {jobs / sw.Elapsed.TotalSeconds:0} jobs/s");
        using var check = _queues.Open();
        Assert.Equal(jobs, check.Jobs.Status().Completed);
    }
}
