using System.Text;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Text a job controls (its command, its stderr in LastError and the error history), made safe to print: an ANSI or
/// OSC sequence in a job's output could otherwise recolour, retitle or rewrite the user's terminal when a view shows it.
/// The format file runs every such column through <see cref="Safe"/>; the objects and Receive-QueueJob keep the text
/// as it was.
/// </summary>
public static class DisplayText
{
    /// <summary>
    /// C0 controls become their visible Unicode pictures (ESC shows as ␛), DEL as ␡, C1 controls and bidirectional
    /// overrides as U+FFFD. Line feeds and tabs stay (lists show several lines); a lone CR, which would let a line
    /// overwrite itself, does not.
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(value))]
    public static string? Safe(object? value)
    {
        if (value is null) return null;
        var text = value.ToString() ?? "";
        if (!text.Any(NeedsReplacing)) return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') continue;
            sb.Append(NeedsReplacing(c) ? Picture(c) : c);
        }
        return sb.ToString();
    }

    private static bool NeedsReplacing(char c) =>
        (c < 0x20 && c is not '\n' and not '\t') || c == 0x7F || c is >= '\u0080' and <= '\u009F'
        || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069';

    private static char Picture(char c) => c switch
    {
        < ' ' => (char)(0x2400 + c),
        '\u007F' => '\u2421',
        _ => '\uFFFD',
    };
}
