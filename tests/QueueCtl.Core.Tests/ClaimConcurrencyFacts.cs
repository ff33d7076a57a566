using System.Diagnostics;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

namespace QueueCtl.Tests;

/// <summary>One job goes to exactly one claimer, however many threads and processes claim at once.</summary>
public abstract class ClaimConcurrencyFacts : DriverFacts
{
    protected ClaimConcurrencyFacts(DriverKind kind) : base(kind, TimeProvider.System)
    {
    }


    [SkippableFact]
    public void ManyThreads_EachWithItsOwnConnection_NeverClaimTheSameJob()
    {
        const int jobs = 2000;
        Queue.Jobs.Enqueue(Enumerable.Range(0, jobs).Select(i => new JobSpec { Id = $"t{i}", Command = "true" }).ToList());
        var claimedBy = new System.Collections.Concurrent.ConcurrentBag<(string Job, int Thread)>();
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var db = Queue.Open();
            var leases = db.Leases($"thread-{t}");
            var random = new Random(t);
            start.SignalAndWait();
            var finished = new List<FinishedRun>();
            while (true)
            {
                var cycle = leases.FinishAndClaim(finished, 1 + t % 4);
                if (cycle.Claimed.Count == 0) break;
                foreach (var c in cycle.Claimed) claimedBy.Add((c.Job.Id, t));
                finished = cycle.Claimed.Select(c => new FinishedRun(c, RunOutcome.Success())).ToList();
                Thread.Sleep(random.Next(2)); // "run" the jobs, as a worker would, before finishing them
            }
            leases.FinishAndClaim(finished, 0);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var twice = claimedBy.GroupBy(c => c.Job).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"claimed more than once: {string.Join(", ", twice.Take(10))}");
        Assert.Equal(jobs, claimedBy.Count);
        Assert.True(claimedBy.Select(c => c.Thread).Distinct().Count() > 1, "the work should have been shared");
        Assert.Equal(jobs, Queue.Jobs.Status().Completed);
    }

    [SkippableFact]
    public void ManyProcesses_ClaimingWhileOthersEnqueue_RunEveryJobExactlyOnce()
    {
        const int enqueuers = 3, perEnqueuer = 400, claimers = 4;
        var probe = Path.Combine(AppContext.BaseDirectory, "QueueCtl.ClaimProbe.dll");
        var producers = Enumerable.Range(0, enqueuers).Select(i => Probe(probe, "enqueue", $"p{i}", perEnqueuer)).ToList();
        var consumers = Enumerable.Range(0, claimers).Select(i => Probe(probe, "claim", $"c{i}", 1 + i % 3, enqueuers * perEnqueuer)).ToList();
        var outputs = consumers.Select(p => p.StandardOutput.ReadToEndAsync()).ToList();
        foreach (var p in producers.Concat(consumers))
        {
            Assert.True(p.WaitForExit(120_000), "probe process hung");
            Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        }
        var claimed = outputs.SelectMany(o => o.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var expected = Enumerable.Range(0, enqueuers).SelectMany(i => Enumerable.Range(0, perEnqueuer).Select(n => $"p{i}-{n}")).ToHashSet();

        Assert.Equal(claimed.Count, claimed.Distinct().Count());
        Assert.True(expected.SetEquals(claimed), $"missing: {string.Join(",", expected.Except(claimed).Take(10))}");
        Assert.Equal(enqueuers * perEnqueuer, Queue.Jobs.Status().Completed);
    }

    private Process Probe(string dll, string verb, string name, params int[] numbers)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, verb, Queue.Path_, name }.Concat(numbers.Select(n => n.ToString()))) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }
}

public sealed class SqliteClaimConcurrencyFacts() : ClaimConcurrencyFacts(DriverKind.Sqlite);

public sealed class PostgresClaimConcurrencyFacts() : ClaimConcurrencyFacts(DriverKind.Postgres);
