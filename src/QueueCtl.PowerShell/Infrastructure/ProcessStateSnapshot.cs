using System.Collections;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// A script host's process-wide state as it started, restored after every run: its environment variables (a job's
/// $env: changes would otherwise reach the next job) and its current directory.
/// </summary>
internal sealed class ProcessStateSnapshot
{
    private readonly Dictionary<string, string> _environment = Read();

    public string Directory { get; } = Environment.CurrentDirectory;

    /// <summary>Puts back what a run changed. True when something had changed.</summary>
    public bool Restore()
    {
        var changed = false;
        var now = Read();
        foreach (var (name, value) in now)
            if (!_environment.TryGetValue(name, out var original) || original != value)
            {
                Environment.SetEnvironmentVariable(name, original);
                changed = true;
            }
        foreach (var (name, value) in _environment)
            if (!now.ContainsKey(name))
            {
                Environment.SetEnvironmentVariable(name, value);
                changed = true;
            }
        if (Environment.CurrentDirectory != Directory)
        {
            EnterDirectory(Directory);
            changed = true;
        }
        return changed;
    }

    /// <summary>Makes <paramref name="path"/> the current directory, if it is there to enter.</summary>
    public static void EnterDirectory(string path)
    {
        try
        {
            Environment.CurrentDirectory = path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone or not allowed: the run reports it when it tries to use it.
        }
    }

    private static Dictionary<string, string> Read()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
            variables[(string)entry.Key] = (string?)entry.Value ?? "";
        return variables;
    }
}
