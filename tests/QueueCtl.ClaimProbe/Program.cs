using QueueCtl;
using QueueCtl.Jobs;
using QueueCtl.Storage;

// claim <db> <worker-id> <batch>: claims and finishes jobs until none is due, printing each claimed id.
// enqueue <db> <prefix> <count>: enqueues <count> jobs with ids <prefix>-<n>, in batches of 50.
if (args.Length < 4) { Console.Error.WriteLine("usage: claim|enqueue <db> <name> <n>"); return 2; }
using var db = QueueDatabase.Open(args[1]);
switch (args[0])
{
    case "claim":
        var leases = new LeaseStore(db, args[2]);
        var batch = int.Parse(args[3]);
        var idle = 0;
        var finished = new List<FinishedRun>();
        while (idle < 20)
        {
            var cycle = leases.FinishAndClaim(finished, batch);
            finished = cycle.Claimed.Select(c => new FinishedRun(c, RunOutcome.Success())).ToList();
            foreach (var c in cycle.Claimed) Console.WriteLine(c.Job.Id);
            idle = cycle.Claimed.Count == 0 ? idle + 1 : 0;
            if (cycle.Claimed.Count == 0) Thread.Sleep(10);
        }
        leases.FinishAndClaim(finished, 0);
        return 0;
    case "enqueue":
        var store = new JobStore(db);
        var count = int.Parse(args[3]);
        for (var i = 0; i < count; i += 50)
            store.Enqueue(Enumerable.Range(i, Math.Min(50, count - i)).Select(n => new JobSpec { Id = $"{args[2]}-{n}", Command = "true" }).ToList());
        return 0;
    default:
        return 2;
}
