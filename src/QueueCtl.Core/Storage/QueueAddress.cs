using System.Text.RegularExpressions;

namespace QueueCtl.Storage;

/// <summary>Tells a server address from a file path, and masks the secrets of either before it is shown.</summary>
public static partial class QueueAddress
{
    /// <summary>True for a PostgreSQL URI (postgres://, postgresql://) or an Npgsql connection string (Host=…).</summary>
    public static bool IsServer(string address) =>
        PostgresUri().IsMatch(address) || ConnectionString().IsMatch(address);

    /// <summary>
    /// The address with the password of user:password@ and password-like values (in a query or a connection string)
    /// replaced by ***. The user part ends at the last '@' before the query, so a password holding '@' or '/' is masked
    /// whole.
    /// </summary>
    public static string Mask(string address)
    {
        var masked = address;
        var start = address.IndexOf("://", StringComparison.Ordinal);
        if (start >= 0)
        {
            start += 3;
            var end = address.IndexOfAny(['?', '#'], start);
            var at = address.LastIndexOf('@', end < 0 ? address.Length - 1 : end - 1);
            if (at >= start)
            {
                var userInfo = address[start..at];
                var colon = userInfo.IndexOf(':');
                masked = address[..start] + (colon < 0 ? userInfo : userInfo[..colon] + ":***") + address[at..];
            }
        }
        return Secret().Replace(masked, m => m.Groups[1].Value + "=***");
    }

    [GeneratedRegex(@"^\s*postgres(ql)?://", RegexOptions.IgnoreCase)]
    private static partial Regex PostgresUri();

    // "Host=db;Database=q" or "Server=…": a key=value list whose keys include a host. A file path never has both.
    [GeneratedRegex(@"^\s*([^=;]+=[^;]*;\s*)*(host|server)\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionString();

    // A value runs to the next separator of a query (&) or a connection string (;), or is quoted.
    [GeneratedRegex(@"(?i)\b((?:ssl)?(?:password|passwd|pwd|pass|secret|token|key))\s*=\s*(""[^""]*""|'[^']*'|[^&;]*)")]
    private static partial Regex Secret();
}
