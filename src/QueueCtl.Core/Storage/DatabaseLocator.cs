using System.Text.RegularExpressions;

namespace QueueCtl.Storage;

/// <summary>Where the queue lives by default, and how its folder and file are created.</summary>
public static partial class DatabaseLocator
{
    public const string EnvironmentVariable = "QUEUECTL_DATABASE";
    public const string FileName = "queue.db";

    /// <summary>$QUEUECTL_DATABASE when set, otherwise the per-user data folder of the platform.</summary>
    public static string DefaultPath(Func<string, string?>? getEnv = null)
    {
        getEnv ??= Environment.GetEnvironmentVariable;
        var fromEnv = getEnv(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return Path.GetFullPath(RefuseAddress(fromEnv));
        return Path.Combine(DefaultFolder(getEnv), FileName);
    }

    /// <summary>
    /// Returns <paramref name="path"/>, or refuses an address such as postgres://user:pw@host/db (a scheme of two or
    /// more letters, so C://x stays a Windows path): taken as a path it would silently become a folder tree under the
    /// current directory, password and all. The message masks any password.
    /// </summary>
    public static string RefuseAddress(string path)
    {
        var match = Address().Match(path);
        if (!match.Success) return path;
        throw new QueueException(QueueErrorCode.UnsupportedDatabaseAddress,
            $"'{Mask(path)}' is an address ({match.Groups[1].Value}://), not a file path: QueueCtl keeps a queue in an SQLite file. Give the path of the queue file.");
    }

    /// <summary>
    /// The address with the password of user:password@ and password-like query values replaced by ***. The user
    /// part ends at the last '@' before the query, so a password holding '@' or '/' is masked whole.
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

    [GeneratedRegex(@"^\s*([A-Za-z][A-Za-z0-9+.\-]+)://")]
    private static partial Regex Address();

    [GeneratedRegex(@"(?i)\b(password|passwd|pwd|pass|secret|token|key)=[^&;\s]*")]
    private static partial Regex Secret();

    internal static string DefaultFolder(Func<string, string?> getEnv)
    {
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "QueueCtl");
        var home = getEnv("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsMacOS())
            return Path.Combine(home, "Library", "Application Support", "QueueCtl");
        var xdg = getEnv("XDG_DATA_HOME");
        var dataHome = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg) ? xdg : Path.Combine(home, ".local", "share");
        return Path.Combine(dataHome, "queuectl");
    }

    /// <summary>
    /// Creates the folder (0700 on Unix) and an empty database file (0600 on Unix) when they are missing. Whoever can
    /// write the queue can run commands as the worker's user, so nobody else gets to read or write it.
    /// </summary>
    public static void EnsureCreated(string path)
    {
        PrivateFiles.CreateFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
        PrivateFiles.CreateIfMissing(path);
    }
}
