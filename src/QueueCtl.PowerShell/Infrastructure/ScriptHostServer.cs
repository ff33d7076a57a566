using System.Collections.Concurrent;
using System.ComponentModel;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The entry point of a script-host process, the child pwsh a worker starts per slot
/// (<see cref="ScriptHostProcess"/>). Public only so that child can call it; not part of QueueCtl's interface. It reads
/// <see cref="ScriptFrames"/> from its standard input, runs one job at a time in a <see cref="ScriptSession"/>, and
/// answers on its standard output. A reader thread takes stop requests during a run, and ends the process when the
/// worker goes (its end of the pipe closes).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ScriptHostServer
{
    public static int Serve(int workerProcessId)
    {
        var (input, output) = ScriptHostStdio.Take(workerProcessId);
        using var session = new ScriptSession();
        ScriptFrames.Write(output, ScriptFrames.Ready);
        var runs = new BlockingCollection<(ScriptRunRequest Job, CancellationTokenSource Stop)>();
        var reader = new Thread(() => Read(input, runs)) { IsBackground = true, Name = "QueueCtl script-host reader" };
        reader.Start();
        foreach (var (job, stop) in runs.GetConsumingEnumerable())
        {
            var reply = session.Run(job, stop.Token);
            ScriptFrames.Write(output, ScriptFrames.Done, reply.WriteTo);
            if (reply.Retiring) return 0;
        }
        return 0;
    }

    private static void Read(Stream input, BlockingCollection<(ScriptRunRequest, CancellationTokenSource)> runs)
    {
        CancellationTokenSource? latest = null;
        try
        {
            while (ScriptFrames.Read(input) is { } frame)
            {
                if (frame.Kind == ScriptFrames.Run)
                {
                    latest = new CancellationTokenSource();
                    runs.Add((ScriptRunRequest.ReadFrom(frame.Fields), latest));
                }
                else if (frame.Kind == ScriptFrames.Stop) latest?.Cancel();
            }
        }
        catch (IOException)
        {
        }
        // The worker closed the pipe or died: a job still running here has no one to report to.
        Environment.Exit(0);
    }
}
