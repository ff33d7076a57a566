using System.Diagnostics;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Reads a script host's stderr as it comes, on a thread of its own (see <see cref="ScriptHostProcess"/>): each line goes to the worker's stderr (the worker's log, when detached),
/// tagged with the host's process id, and the first lines written since the current run started are kept for the
/// run's error when the host dies.
/// </summary>
internal sealed class ScriptHostErrors
{
    private const int KeptChars = 300;
    private readonly List<string> _sinceRun = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ScriptHostErrors(Process process)
    {
        var id = process.Id;
        var stderr = process.StandardError;
        new Thread(() =>
        {
            try
            {
                while (stderr.ReadLine() is { } line)
                {
                    if (line.Length == 0) continue;
                    lock (_sinceRun)
                        if (_sinceRun.Sum(l => l.Length) < KeptChars) _sinceRun.Add(line.Trim());
                    Console.Error.WriteLine($"script host {id}: {line}");
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
            }
            _ended.TrySetResult();
        }) { IsBackground = true, Name = $"QueueCtl script host {id} stderr" }.Start();
    }

    public void StartRun()
    {
        lock (_sinceRun) _sinceRun.Clear();
    }

    /// <summary>What the host wrote since the run started, once its stderr is closed (or after a moment).</summary>
    public async Task<string> SinceRunAsync()
    {
        await Task.WhenAny(_ended.Task, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        lock (_sinceRun)
        {
            var text = string.Join(" ", _sinceRun);
            return text.Length > KeptChars ? text[..KeptChars] + "…" : text;
        }
    }
}
