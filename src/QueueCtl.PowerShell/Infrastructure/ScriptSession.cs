using System.Collections;
using System.Management.Automation;
using System.Reflection;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// The script host's side of a run: runs each job in its <see cref="ScriptRunspace"/>, then puts the host back in the
/// state it started in. Environment variables and the current directory are restored; a global scope the job changed
/// (<see cref="SessionFingerprint"/>) means a new runspace; an assembly the job loaded (Add-Type, a PowerShell class)
/// cannot be unloaded, so the host retires and the worker starts a new one. Every job starts from the same state.
/// </summary>
internal sealed class ScriptSession : IDisposable
{
    private static readonly string[] TrustedFolders =
    {
        Path.GetDirectoryName(typeof(object).Assembly.Location)! + Path.DirectorySeparatorChar,
        Path.GetDirectoryName(typeof(PSObject).Assembly.Location)! + Path.DirectorySeparatorChar,
        Path.GetDirectoryName(typeof(ScriptSession).Assembly.Location)! + Path.DirectorySeparatorChar,
    };

    private readonly ProcessStateSnapshot _state = new();
    private ScriptRunspace _runspace = null!;
    private long? _clean;
    private volatile string? _foreignAssembly;

    public ScriptSession()
    {
        AppDomain.CurrentDomain.AssemblyLoad += (_, e) => _foreignAssembly ??= Foreign(e.LoadedAssembly);
        NewRunspace();
        _foreignAssembly = null; // only what jobs load counts
    }

    public ScriptRunReply Run(ScriptRunRequest job, CancellationToken cancel)
    {
        var records = new ScriptOutput(job.OutputLimit);
        ScriptRequest request;
        try
        {
            request = new ScriptRequest(_runspace.Compile(job.Script), Arguments(job.Arguments), job.Location ?? _state.Directory,
                JobInfo(job), records);
        }
        catch (Exception ex) when (ex is ParseException or RuntimeException)
        {
            return new ScriptRunReply(ScriptEnd.Unrunnable, ex.Message, "", 0, 0, null, false);
        }
        var end = _runspace.RunAsync(request, Timeout.InfiniteTimeSpan, cancel).GetAwaiter().GetResult();
        var retiring = Tidy(request);
        return new ScriptRunReply(end, request.TerminatingError, records.ToJson(), records.Dropped, records.ErrorCount,
            records.FirstError, retiring);
    }

    /// <summary>Restores the clean state after a run; true when only a new host process can (the host then retires).</summary>
    private bool Tidy(ScriptRequest request)
    {
        _state.Restore();
        if (_foreignAssembly is { } assembly)
        {
            Console.Error.WriteLine($"The job loaded the assembly '{assembly}', which cannot be unloaded: this script host retires.");
            return true;
        }
        if (_runspace.Broken) return true;
        if (request.Fingerprint is { } fingerprint && fingerprint == _clean) return false;
        _runspace.Dispose();
        NewRunspace();
        return false;
    }

    /// <summary>A fresh runspace, run once empty so its code paths are compiled; its global scope then is the clean one.</summary>
    private void NewRunspace()
    {
        _runspace = new ScriptRunspace();
        var warm = new ScriptRequest(_runspace.Compile(""), Array.Empty<object?>(), _state.Directory, new PSObject(), new ScriptOutput(0));
        _runspace.RunAsync(warm, TimeSpan.FromMinutes(1), CancellationToken.None).GetAwaiter().GetResult();
        _clean = warm.Fingerprint;
        _state.Restore();
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
