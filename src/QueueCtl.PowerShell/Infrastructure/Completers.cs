using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using QueueCtl.Configuration;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Shared plumbing: find the queue the command line names, and turn names into completion results.</summary>
internal static class Completion
{
    public static string DatabaseFor(IDictionary fakeBoundParameters) =>
        fakeBoundParameters["Database"] is { } db && db.ToString() is { Length: > 0 } path
            ? QueueAddress.IsServer(path) ? path : Path.GetFullPath(path)
            : DatabaseLocator.DefaultPath();

    /// <summary>The queue to complete from, or null when there is none to look at (a queue file that does not exist).</summary>
    public static IQueueDriver? Open(IDictionary fakeBoundParameters)
    {
        var address = DatabaseFor(fakeBoundParameters);
        return QueueAddress.IsServer(address) || File.Exists(address) ? QueueDrivers.Open(address) : null;
    }

    public static IEnumerable<CompletionResult> Results(IEnumerable<(string Name, string Tip)> items, string wordToComplete)
    {
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        return items
            .Where(i => i.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Take(200)
            .Select(i => new CompletionResult(Quote(i.Name), i.Name, CompletionResultType.ParameterValue, i.Tip));
    }

    private static string Quote(string name) =>
        name.Any(c => char.IsWhiteSpace(c) || "'\"`$(){}[];,|&<>@#".Contains(c)) ? "'" + name.Replace("'", "''") + "'" : name;

    /// <summary>
    /// Completion must never throw at the prompt: a missing or locked queue simply offers nothing. The producer must
    /// return a materialized list: its queue is closed when it returns.
    /// </summary>
    public static IEnumerable<CompletionResult> Safely(Func<IReadOnlyList<CompletionResult>> produce)
    {
        try
        {
            return produce();
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}

/// <summary>Completes job ids from the queue, newest first.</summary>
public sealed class JobIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) => Completion.Safely(() =>
    {
        using var db = Completion.Open(fakeBoundParameters);
        if (db is null) return Array.Empty<CompletionResult>();
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        var jobs = db.Jobs.List(new[] { new WildcardFilter(EscapeWildcards(prefix) + "*") }, first: 200).ToList();
        return Completion.Results(jobs.Select(j => (j.Id, $"{j.State}: {DisplayText.Safe(j.Command)}")), wordToComplete ?? "").ToList();
    });

    private static string EscapeWildcards(string text) =>
        string.Concat(text.Select(c => c is '*' or '?' or '[' or ']' or '`' ? "`" + c : c.ToString()));
}

/// <summary>Completes queue names: the queues with jobs waiting, and the default queue.</summary>
public sealed class QueueNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) => Completion.Safely(() =>
    {
        using var db = Completion.Open(fakeBoundParameters);
        var names = db?.Jobs.WaitingQueues() ?? Array.Empty<string>();
        return Completion.Results(names.Append(QueueNames.Default).Distinct().Order(StringComparer.Ordinal).Select(n => (n, n)),
            wordToComplete ?? "").ToList();
    });
}

/// <summary>Completes tags from the newest thousand jobs.</summary>
public sealed class TagCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) => Completion.Safely(() =>
    {
        using var db = Completion.Open(fakeBoundParameters);
        if (db is null) return Array.Empty<CompletionResult>();
        var tags = db.Jobs.RecentTags(1000);
        return Completion.Results(tags.Select(t => (t, t)), wordToComplete ?? "").ToList();
    });
}

/// <summary>Completes worker ids from the queue.</summary>
public sealed class WorkerIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) => Completion.Safely(() =>
    {
        using var db = Completion.Open(fakeBoundParameters);
        if (db is null) return Array.Empty<CompletionResult>();
        return Completion.Results(db.Workers.List().Select(w => (w.Id, $"{w.State} on {w.HostName}, pid {w.ProcessId}")), wordToComplete ?? "").ToList();
    });
}

/// <summary>Completes configuration names.</summary>
public sealed class ConfigNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(ConfigSettings.All.Select(s => (s.Name, s.Description)), wordToComplete ?? "");
}
