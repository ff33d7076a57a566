using System.Collections;
using System.Management.Automation;
using System.Reflection;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The script host's side of the runs, all on its main thread: takes each job the reader thread posts, runs it in the
/// <see cref="ScriptRunspace"/> loop, answers, and puts the host back in the state it started in. Environment
/// variables and the current directory are restored; a global scope the job changed (<see cref="SessionFingerprint"/>)
/// means a new runspace; an assembly the job loaded (Add-Type, a PowerShell class) cannot be unloaded, so the host
/// retires and the worker starts a new one. Every job starts from the same state.
/// </summary>
internal sealed class ScriptSession : IDisposable
{
    private static readonly string[] TrustedFolders =
    {
        Path.GetDirectoryName(typeof(object).Assembly.Location)! + Path.DirectorySeparatorChar,
        Path.GetDirectoryName(typeof(PSObject).Assembly.Location)! + Path.DirectorySeparatorChar,
        Path.GetDirectoryName(typeof(ScriptSession).Assembly.Location)! + Path.DirectorySeparatorChar,
    };

    private const int WarmRuns = 200;
    private readonly Stream _output;
    private readonly ProcessStateSnapshot _state = new();
    private readonly ScriptChannel _channel;
    private readonly Queue<(ScriptRunRequest Job, long Number)> _posted = new();
    private ScriptRunspace _runspace;
    private ScriptRequest? _current;
    private long _running, _lastPosted, _stopFor; // job numbers: 0 is none
    private long? _clean;
    private bool _replace, _retire;
    private volatile string? _foreignAssembly;

    public ScriptSession(Stream output)
    {
        _output = output;
        _channel = new ScriptChannel(Take);
        _runspace = new ScriptRunspace();
        AppDomain.CurrentDomain.AssemblyLoad += (_, e) => _foreignAssembly ??= Foreign(e.LoadedAssembly);
    }

    /// <summary>From the reader thread: a job to run.</summary>
    public void Post(ScriptRunRequest job)
    {
        lock (_posted)
        {
            _posted.Enqueue((job, ++_lastPosted));
            Monitor.Pulse(_posted);
        }
    }

    /// <summary>From the reader thread: stop the latest job posted (running, or about to).</summary>
    public void Stop()
    {
        lock (_posted)
        {
            _stopFor = _lastPosted;
            if (_running != _stopFor) return;
        }
        _runspace.Stop();
    }

    /// <summary>Serves runs on this thread until the host retires.</summary>
    public void Serve()
    {
        Warm(WarmRuns);
        _foreignAssembly = null; // loaded by the host's own start
        ScriptFrames.Write(_output, ScriptFrames.Ready);
        while (!_retire)
        {
            _runspace.RunLoop(_channel);
            // exit or a stop ended the loop during a run, or Take ended it for a new runspace.
            if (_current is { } unfinished) Complete(unfinished, StopRequested() ? ScriptEnd.Stopped : ScriptEnd.Exited);
            if (_replace && !_retire)
            {
                _runspace.Dispose();
                _runspace = new ScriptRunspace();
                Warm();
            }
        }
    }

    /// <summary>
    /// Runs empty jobs, so the loop's code paths are compiled (by PowerShell, then by the JIT's later tiers: a host's
    /// first runs are several times slower than the rest); the global scope after them is the clean one.
    /// </summary>
    private void Warm(int runs = 1)
    {
        _replace = false;
        var left = runs;
        _runspace.RunLoop(new ScriptChannel(() =>
        {
            if (left-- == 0)
            {
                _clean = _runspace.Fingerprint.Take();
                _state.Restore();
                return null;
            }
            return Start(new ScriptRunRequest("", null, null, "", 0, 0, "", null, 0, ""));
        }));
    }

    /// <summary>Called by the loop: answers the run that just ended, then waits for the next one.</summary>
    private ScriptRequest? Take()
    {
        if (_current is { } done)
        {
            Complete(done, ScriptEnd.Completed);
            if (_replace || _retire) return null;
        }
        while (true)
        {
            var (job, number) = Next();
            lock (_posted)
            {
                if (_stopFor == number)
                {
                    Answer(new ScriptRunReply(ScriptEnd.Stopped, null, "", 0, 0, null, false));
                    continue;
                }
                _running = number;
            }
            try
            {
                // Compared with the fingerprint at the run's end: only what happened during the run makes the runspace
                // dirty, not what PowerShell initializes lazily between runs (seen under load: a runspace then
                // replaced after every run).
                _clean = _runspace.Fingerprint.Take();
                return _current = Start(job);
            }
            catch (Exception ex) when (ex is ParseException or RuntimeException)
            {
                lock (_posted) _running = 0;
                Answer(new ScriptRunReply(ScriptEnd.Unrunnable, ex.Message, "", 0, 0, null, false));
            }
        }
    }

    private (ScriptRunRequest Job, long Number) Next()
    {
        lock (_posted)
        {
            while (_posted.Count == 0) Monitor.Wait(_posted);
            return _posted.Dequeue();
        }
    }

    /// <summary>The run for a job; the loop moves $PWD there, and the process's current directory goes along.</summary>
    private ScriptRequest Start(ScriptRunRequest job)
    {
        var location = job.Location ?? _state.Directory;
        var request = new ScriptRequest(_runspace.Compile(job.Script), Arguments(job.Arguments), location, JobInfo(job),
            new ScriptOutput(job.OutputLimit));
        ProcessStateSnapshot.EnterDirectory(location);
        // Inherited by every process the job starts, so the worker can find what the run left running; the snapshot
        // removes it again after the run.
        if (job.RunToken.Length > 0) Environment.SetEnvironmentVariable(Execution.RunToken.Variable, job.RunToken);
        return request;
    }

    /// <summary>Answers a run and restores the clean state; marks the runspace for replacement or the host to retire.</summary>
    private void Complete(ScriptRequest request, ScriptEnd end)
    {
        _current = null;
        lock (_posted) _running = 0;
        request.EndAs(end);
        var dirty = _runspace.Fingerprint.Take() != _clean;
        _state.Restore();
        if (_foreignAssembly is { } assembly)
        {
            Console.Error.WriteLine($"The job loaded the assembly '{assembly}', which cannot be unloaded: this script host retires.");
            _retire = true;
        }
        _replace |= dirty;
        var records = request.Records;
        Answer(new ScriptRunReply(request.End!.Value, request.TerminatingError, records.ToJson(), records.Dropped,
            records.ErrorCount, records.FirstError, _retire));
    }

    private void Answer(ScriptRunReply reply) => ScriptFrames.Write(_output, ScriptFrames.Done, reply.WriteTo);

    private bool StopRequested()
    {
        lock (_posted) return _running != 0 && _stopFor == _running;
    }

    private static string? Foreign(Assembly assembly)
    {
        if (assembly.IsDynamic || string.IsNullOrEmpty(assembly.Location)) return assembly.FullName;
        return TrustedFolders.Any(t => assembly.Location.StartsWith(t, StringComparison.OrdinalIgnoreCase)) ? null : assembly.Location;
    }

    private static PSObject JobInfo(ScriptRunRequest job)
    {
        var info = new PSObject();
        info.Properties.Add(new PSNoteProperty("Id", job.JobId));
        info.Properties.Add(new PSNoteProperty("Attempt", job.Attempt));
        info.Properties.Add(new PSNoteProperty("Run", job.Run));
        info.Properties.Add(new PSNoteProperty("WorkerId", job.WorkerId));
        info.Properties.Add(new PSNoteProperty("Database", job.Database));
        return info;
    }

    private static object?[] Arguments(string? serialized)
    {
        if (serialized is null) return Array.Empty<object?>();
        var value = PSSerializer.Deserialize(serialized);
        var inner = value is PSObject pso ? pso.BaseObject : value;
        return inner is IList list ? list.Cast<object?>().ToArray() : new[] { value };
    }

    public void Dispose() => _runspace.Dispose();
}
