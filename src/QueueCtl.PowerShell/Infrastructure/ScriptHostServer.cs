using System.ComponentModel;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The entry point of a script-host process, the child pwsh a worker starts per slot
/// (<see cref="ScriptHostProcess"/>). Public only so that child can call it; not part of QueueCtl's interface. A reader
/// thread takes <see cref="ScriptFrames"/> from standard input (runs, and stop requests during a run) and ends the
/// process when the worker goes (its end of the pipe closes); the calling thread runs the jobs in a
/// <see cref="ScriptSession"/> and answers on standard output.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ScriptHostServer
{
    public static int Serve(int workerProcessId)
    {
        var (input, output) = ScriptHostStdio.Take(workerProcessId);
        using var session = new ScriptSession(output);
        var reader = new Thread(() => Read(input, session)) { IsBackground = true, Name = "QueueCtl script-host reader" };
        reader.Start();
        session.Serve();
        return 0;
    }

    private static void Read(Stream input, ScriptSession session)
    {
        try
        {
            while (ScriptFrames.Read(input) is { } frame)
            {
                if (frame.Kind == ScriptFrames.Run) session.Post(ScriptRunRequest.ReadFrom(frame.Fields));
                else if (frame.Kind == ScriptFrames.Stop) session.Stop();
            }
        }
        catch (IOException)
        {
        }
        // The worker closed the pipe or died: a job still running here has no one to report to.
        Environment.Exit(0);
    }
}
