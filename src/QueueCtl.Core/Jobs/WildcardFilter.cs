using System.Text;
using System.Text.RegularExpressions;

namespace QueueCtl.Jobs;

/// <summary>
/// PowerShell-style wildcards (*, ?, [abc], backtick escapes) over job ids, case-insensitive. Turned into an SQL LIKE
/// prefilter that an index can serve, plus an exact matcher for what LIKE cannot say (character classes).
/// </summary>
public sealed class WildcardFilter
{
    private readonly Regex _regex;

    public WildcardFilter(string pattern)
    {
        Pattern = pattern;
        var like = new StringBuilder();
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                AppendLiteral(pattern[++i], like, regex);
                continue;
            }
            switch (c)
            {
                case '*': like.Append('%'); regex.Append(".*"); HasWildcards = true; break;
                case '?': like.Append('_'); regex.Append('.'); HasWildcards = true; break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0) { AppendLiteral(c, like, regex); break; }
                    like.Append('_');
                    regex.Append('[').Append(CharacterClass(pattern, pattern[(i + 1)..close])).Append(']');
                    HasWildcards = true;
                    i = close;
                    break;
                default: AppendLiteral(c, like, regex); break;
            }
        }
        Like = like.ToString();
        try
        {
            _regex = new Regex(regex.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
        }
        catch (ArgumentException ex)
        {
            throw Invalid(pattern, ex.Message);
        }
        Literal = HasWildcards ? null : Unescape(pattern);
    }

    public string Pattern { get; }
    public bool HasWildcards { get; }
    /// <summary>The pattern as an SQL LIKE expression with '\' as its escape character.</summary>
    public string Like { get; }
    /// <summary>The id this pattern names exactly, when it has no wildcards.</summary>
    public string? Literal { get; }

    public bool IsMatch(string id) => _regex.IsMatch(id);

    /// <summary>The inside of [...] as a regex class: ranges (a-z) kept, everything else literal.</summary>
    private static string CharacterClass(string pattern, string inside)
    {
        if (inside.Length == 0) throw Invalid(pattern, "the brackets [] hold no characters");
        var sb = new StringBuilder();
        for (var i = 0; i < inside.Length; i++)
        {
            var c = inside[i];
            if (c == '-' && i > 0 && i < inside.Length - 1)
            {
                if (inside[i + 1] < inside[i - 1]) throw Invalid(pattern, $"the range {inside[i - 1]}-{inside[i + 1]} is in reverse order");
                sb.Append('-');
            }
            else if (c is '\\' or '^' or '[' or ']' or '-') sb.Append('\\').Append(c);
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static QueueException Invalid(string pattern, string why) =>
        new(QueueErrorCode.InvalidWildcardPattern, $"The wildcard pattern '{pattern}' is not valid: {why}.");

    private static void AppendLiteral(char c, StringBuilder like, StringBuilder regex)
    {
        if (c is '%' or '_' or '\\') like.Append('\\');
        like.Append(c);
        regex.Append(Regex.Escape(c.ToString()));
    }

    private static string Unescape(string pattern)
    {
        var sb = new StringBuilder(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '`' && i + 1 < pattern.Length) i++;
            sb.Append(pattern[i]);
        }
        return sb.ToString();
    }
}
