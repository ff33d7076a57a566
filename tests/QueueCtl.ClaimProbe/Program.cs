using QueueCtl;
using QueueCtl.Jobs;
using QueueCtl.Storage;
using QueueCtl.Storage.Sqlite;

// claim <db> <worker-id> <batch> <total>: claims and finishes jobs, printing each claimed id, until <total> jobs of the
//   queue are completed. The end is a count, not a spell of idle polls: enqueuers that start late must not be raced.
// enqueue <db> <prefix> <count>: enqueues <count> jobs with ids <prefix>-<n>, in batches of 50.
if (args.Length < 4 || (args[0] == "claim" && args.Length < 5)) { Console.Error.WriteLine("usage: claim <db> <name> <batch> <total> | enqueue <db> <name> <n>"); return 2; }
using var db = QueueDrivers.Open(args[1]);
switch (args[0])
{
    case "claim":
        var leases = db.Leases(args[2]);
        var batch = int.Parse(args[3]);
        var total = long.Parse(args[4]);
        var jobs = db.Jobs;
        var finished = new List<FinishedRun>();
        while (true)
        {
            var cycle = leases.FinishAndClaim(finished, batch);
            finished = cycle.Claimed.Select(c => new FinishedRun(c, RunOutcome.Success())).ToList();
            foreach (var c in cycle.Claimed) Console.WriteLine(c.Job.Id);
            if (cycle.Claimed.Count > 0) continue;
            if (jobs.Status().Completed >= total) return 0;
            Thread.Sleep(10);
        }
    case "enqueue":
        var store = db.Jobs;
        var count = int.Parse(args[3]);
        for (var i = 0; i < count; i += 50)
            store.Enqueue(Enumerable.Range(i, Math.Min(50, count - i)).Select(n => new JobSpec { Id = $"{args[2]}-{n}", Command = "true" }).ToList());
        return 0;
    default:
        return 2;
}
