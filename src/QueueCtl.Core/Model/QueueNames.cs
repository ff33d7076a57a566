using System.Text.RegularExpressions;

namespace QueueCtl;

/// <summary>
/// What a queue name may be. Names are case-insensitive and stored in lower case, so both drivers compare them the
/// same way with a plain index: letters, digits, '-', '_', '.' and ':', starting with a letter or digit, up to 64.
/// </summary>
public static partial class QueueNames
{
    public const string Default = "default";
    public const int MaxLength = 64;

    /// <summary>The stored form of <paramref name="name"/>; throws InvalidQueueName for a name that cannot be one.</summary>
    public static string Normalize(string? name)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0 || trimmed.Length > MaxLength || !Valid().IsMatch(trimmed))
            throw new QueueException(QueueErrorCode.InvalidQueueName,
                $"'{Printable(name ?? "")}' is not a queue name: use 1 to {MaxLength} letters, digits, '-', '_', '.' or ':', starting with a letter or digit.");
        return trimmed.ToLowerInvariant();
    }

    /// <summary>The stored forms of several names, without repeats; null or empty means every queue.</summary>
    public static IReadOnlyList<string>? NormalizeAll(IEnumerable<string>? names)
    {
        var list = names?.Select(Normalize).Distinct(StringComparer.Ordinal).ToList();
        return list is { Count: > 0 } ? list : null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Valid();

    private static string Printable(string text) => new(text.Select(c => char.IsControl(c) ? '\uFFFD' : c).ToArray());
}
