using System.Globalization;
using System.Text.Json;

namespace QueueCtl.Jobs;

/// <summary>
/// Reads the original queuectl's job JSON: {"id":"job1","command":"echo Hello","max_retries":2}. Also accepted:
/// timeout (seconds), run_at (ISO 8601), working_directory, queue, priority and tags. The seed's state, attempts, created_at and updated_at are
/// accepted and ignored: a new job always starts Pending.
/// </summary>
public static class JobSpecJson
{
    private static readonly HashSet<string> Ignored = new(StringComparer.OrdinalIgnoreCase)
        { "state", "attempts", "created_at", "updated_at", "createdAt", "updatedAt" };

    public static JobSpec Parse(string json, string? workingDirectory = null)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json ?? "");
        }
        catch (JsonException ex)
        {
            throw new QueueException(QueueErrorCode.InvalidJson, $"The job JSON is not valid: {ex.Message}", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new QueueException(QueueErrorCode.InvalidJson, "The job JSON must be an object such as {\"command\":\"echo hi\"}.");
            var spec = new JobSpec { WorkingDirectory = workingDirectory };
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                spec = Normalize(p.Name) switch
                {
                    "id" => spec with { Id = String(p) },
                    "command" => spec with { Command = String(p) },
                    "maxretries" => spec with { MaxRetries = MaxRetries(p) },
                    "timeout" => spec with { Timeout = JobLimits.Timeout(Number(p)) },
                    "runat" => spec with { RunAt = Date(p) },
                    "workingdirectory" => spec with { WorkingDirectory = String(p) },
                    "queue" => spec with { Queue = String(p) },
                    "priority" => spec with { Priority = Priority(p) },
                    "tags" => spec with { Tags = Tags(p) },
                    _ when Ignored.Contains(p.Name) => spec,
                    _ => throw new QueueException(QueueErrorCode.InvalidJson, $"The job JSON has an unknown property '{p.Name}'."),
                };
            }
            if (string.IsNullOrWhiteSpace(spec.Command))
                throw new QueueException(QueueErrorCode.InvalidJobSpec, "The job JSON has no \"command\".");
            spec.Validate();
            return spec;
        }
    }

    private static string Normalize(string name) => name.Replace("_", "").Replace("-", "").ToLowerInvariant();

    private static string String(JsonProperty p) => p.Value.ValueKind switch
    {
        JsonValueKind.String => p.Value.GetString()!,
        JsonValueKind.Number => p.Value.GetRawText(),
        _ => throw Wrong(p, "a string"),
    };

    /// <summary>Any JSON spelling of a whole number (2, 2.0, 1e3), checked against the one set of limits.</summary>
    private static int MaxRetries(JsonProperty p)
    {
        var value = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : throw Wrong(p, "a whole number");
        if (value != Math.Floor(value)) throw Wrong(p, "a whole number");
        JobLimits.CheckMaxRetries(value);
        return (int)value;
    }

    private static string[] Tags(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? p.Value.EnumerateArray().Select(e => e.GetString()!).ToArray()
            : throw Wrong(p, "an array of strings");

    private static int Priority(JsonProperty p)
    {
        var value = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : throw Wrong(p, "a whole number");
        JobLimits.CheckPriority(value);
        return (int)value;
    }

    private static double Number(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : throw Wrong(p, "a number of seconds");

    private static DateTime Date(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.String &&
        DateTime.TryParse(p.Value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeLocal, out var d)
            ? d : throw Wrong(p, "an ISO 8601 date");

    private static QueueException Wrong(JsonProperty p, string expected) =>
        new(QueueErrorCode.InvalidJson, $"The job JSON property '{p.Name}' must be {expected}, not {p.Value.GetRawText()}.");
}
