using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using QueueCtl.Jobs;
using QueueCtl.Postgres.Tests;
using QueueCtl.Storage;
using QueueCtl.Storage.Postgres;
using QueueCtl.Worker;

namespace QueueCtl.Tests;

/// <summary>
/// A worker whose link to the server stops passing bytes (a cut cable: no error, no reset) is stuck in a storage call
/// for seconds. Its runs must still stop before their leases end, or another host would start them again meanwhile.
/// </summary>
public sealed class LinkFenceFacts() : DriverFacts(DriverKind.Postgres, TimeProvider.System)
{
    private readonly ConcurrentQueue<string> _log = new();
    private FreezingProxy? _proxy;
    private CancellationTokenSource? _stop;
    private Task? _run;

    [SkippableFact]
    public async Task AWorkerCutOffMidCall_StopsItsRunBeforeTheLeaseEnds()
    {
        Queue.Db.Settings.Set("lease-duration", "3");
        var pidFile = Path.Combine(Queue.Folder, "pid");
        Queue.Jobs.Enqueue(new JobSpec { Id = "long", Command = $"echo $$ > '{pidFile}'; exec sleep 30" });

        var server = PostgresAddress.Parse(Queue.Path_, null);
        _proxy = new FreezingProxy(server.Builder.Host!, server.Builder.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(server.Builder.ConnectionString) { Host = "127.0.0.1", Port = _proxy.Port };
        var db = PostgresDriver.Open(viaProxy.ConnectionString + ";Schema=" + server.Schema, QueueOpenOptions.Default);
        var host = new WorkerHost(db, new WorkerOptions { WorkerId = "cut-off", Concurrency = 1, HeartbeatInterval = TimeSpan.FromMilliseconds(200) },
            new JobRunners(), new Log(_log));
        _stop = new CancellationTokenSource();
        _run = Task.Run(() => host.RunAsync(_stop.Token));

        await ShellCommandRunnerFacts.WaitUntil(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, 20);
        var pid = int.Parse(File.ReadAllText(pidFile).Trim());
        // Let a renewal go through, then cut the link: the lease ends at most 3 s after the last renewal.
        await Task.Delay(400);
        _proxy.Freeze();
        var cut = Stopwatch.StartNew();
        await ShellCommandRunnerFacts.WaitUntil(() => !Execution.ProcessTree.IsAlive(pid, null), 20);
        Assert.True(cut.Elapsed < TimeSpan.FromSeconds(3),
            $"the run was stopped {cut.ElapsedMilliseconds} ms after the link was cut, after its lease could have ended: " + string.Join(" | ", _log));
        Assert.Contains(_log, l => l.Contains("could not be renewed"));
    }

    public override void Dispose()
    {
        _proxy?.Thaw();
        _stop?.Cancel();
        _run?.Wait(TimeSpan.FromSeconds(60));
        _proxy?.Dispose();
        base.Dispose();
    }

    private sealed class Log(ConcurrentQueue<string> lines) : IWorkerLog
    {
        public void Write(WorkerLogLevel level, string message) => lines.Enqueue($"{level}: {message}");
    }
}
