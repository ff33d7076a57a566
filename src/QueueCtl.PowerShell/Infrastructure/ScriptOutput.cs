using System.Management.Automation;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>One record a script-block job wrote: an output object (as CliXml) or a message on another stream.</summary>
internal sealed record ScriptRecord(
    [property: JsonPropertyName("s")] string Stream,
    [property: JsonPropertyName("x")] string? CliXml = null,
    [property: JsonPropertyName("m")] string? Message = null,
    [property: JsonPropertyName("id")] string? ErrorId = null,
    [property: JsonPropertyName("c")] string? Category = null);

/// <summary>
/// Collects a script-block job's records in order, keeping the most recent ones within a byte limit (like the tail
/// kept of a command's output), and stores them as a JSON array that Receive-QueueJob replays onto its streams.
/// </summary>
internal sealed class ScriptOutput
{
    public const string OutputStream = "Output", ErrorStream = "Error", WarningStream = "Warning",
        InformationStream = "Information", VerboseStream = "Verbose";

    private readonly int _limit;
    private readonly LinkedList<(ScriptRecord Record, int Size)> _records = new();
    private long _size;

    public ScriptOutput(int limit) => _limit = limit;

    public long Dropped { get; private set; }
    public int ErrorCount { get; private set; }
    public string? FirstError { get; private set; }

    public void AddOutput(PSObject value) => Add(new ScriptRecord(OutputStream, CliXml: PSSerializer.Serialize(value, 2)));

    public void AddError(ErrorRecord error)
    {
        lock (_records)
        {
            ErrorCount++;
            FirstError ??= Describe(error);
        }
        Add(new ScriptRecord(ErrorStream, Message: Describe(error), ErrorId: error.FullyQualifiedErrorId, Category: error.CategoryInfo.Category.ToString()));
    }

    public void AddMessage(string stream, string message) => Add(new ScriptRecord(stream, Message: message));

    private void Add(ScriptRecord record)
    {
        var size = Encoding.UTF8.GetByteCount(record.CliXml ?? "") + Encoding.UTF8.GetByteCount(record.Message ?? "");
        lock (_records)
        {
            _records.AddLast((record, size));
            _size += size;
            while (_size > _limit && _records.First is { } first)
            {
                _records.RemoveFirst();
                _size -= first.Value.Size;
                Dropped += first.Value.Size;
            }
        }
    }

    public string ToJson()
    {
        lock (_records) return _records.Count == 0 ? "" : JsonSerializer.Serialize(_records.Select(r => r.Record).ToList());
    }

    public static IReadOnlyList<ScriptRecord> Parse(string json) =>
        string.IsNullOrEmpty(json) ? Array.Empty<ScriptRecord>() : JsonSerializer.Deserialize<List<ScriptRecord>>(json) ?? new List<ScriptRecord>();

    /// <summary>The error's message, with the script line it came from when known.</summary>
    public static string Describe(ErrorRecord error)
    {
        var message = error.ErrorDetails?.Message ?? error.Exception?.Message ?? error.ToString();
        var line = error.InvocationInfo?.ScriptLineNumber ?? 0;
        return line > 0 ? $"{message} (line {line})" : message;
    }
}
