using System.Text.Json;

namespace QueueCtl.Jobs;

/// <summary>How tags are kept: without repeats (case-insensitive), in the order given; stored as a JSON array.</summary>
public static class JobTags
{
    public static string[] Distinct(IReadOnlyList<string>? tags) =>
        tags is null ? Array.Empty<string>() : tags.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>The stored form, or null for none.</summary>
    public static string? ToJson(IReadOnlyList<string>? tags) =>
        Distinct(tags) is { Length: > 0 } distinct ? JsonSerializer.Serialize(distinct) : null;

    public static IReadOnlyList<string> FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? Array.Empty<string>() : JsonSerializer.Deserialize<string[]>(json) ?? Array.Empty<string>();

    /// <summary>Tags to filter by, lower-cased (matching is case-insensitive); null for no filter.</summary>
    public static string[]? Filter(IReadOnlyList<string>? tags) =>
        tags is { Count: > 0 } ? tags.Select(t => t.ToLowerInvariant()).Distinct().ToArray() : null;
}
