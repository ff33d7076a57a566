using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QueueCtl.PowerShell.Tests;

/// <summary>A runspace with the QueueCtl cmdlets imported from this build, and a fresh queue file as its default.</summary>
public sealed class HostedQueue : IDisposable
{
    private readonly Runspace _runspace;
    private readonly Runspace _observer;

    public HostedQueue()
    {
        Folder = Directory.CreateTempSubdirectory("queuectl-hosted-").FullName;
        Database = Path.Combine(Folder, "queue.db");
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(typeof(Commands.NewQueueJobCommand).Assembly.Location);
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
        _observer = RunspaceFactory.CreateRunspace(state);
        _observer.Open();
        foreach (var runspace in new[] { _runspace, _observer })
            Run(runspace, "$PSDefaultParameterValues['*-Queue*:Database'] = $args[0]", Database);
    }

    public string Folder { get; }
    public string Database { get; }

    public System.Management.Automation.PowerShell Create(string script, params object[] arguments)
    {
        var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        foreach (var a in arguments) ps.AddArgument(a);
        return ps;
    }

    public List<PSObject> Invoke(string script, params object[] arguments) => Run(_runspace, script, arguments);

    /// <summary>Runs a script in a second runspace, to look at the queue while the first is busy.</summary>
    public string Observe(string script) => Run(_observer, script).Single().ToString();

    private static List<PSObject> Run(Runspace runspace, string script, params object[] arguments)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var a in arguments) ps.AddArgument(a);
        var result = ps.Invoke().ToList();
        if (ps.HadErrors && ps.Streams.Error.Count > 0) throw new InvalidOperationException(ps.Streams.Error[0].ToString());
        return result;
    }

    public void Dispose()
    {
        _runspace.Dispose();
        _observer.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
