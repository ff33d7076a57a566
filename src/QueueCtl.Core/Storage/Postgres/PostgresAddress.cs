using System.Data.Common;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;

namespace QueueCtl.Storage.Postgres;

/// <summary>
/// A PostgreSQL queue address taken apart: the Npgsql settings, the schema the queue lives in, and whether it may
/// LISTEN. Two forms are accepted:
/// <list type="bullet">
/// <item>a URI, postgres[ql]://user:password@host:port[,host2:port2]/db?sslmode=…&amp;schema=…&amp;listen=false, whose
/// query keys are libpq's (sslmode, sslrootcert, application_name, connect_timeout, …) plus QueueCtl's own;</item>
/// <item>an Npgsql connection string, Host=…;Database=…;Schema=…;Listen=false, any Npgsql key allowed.</item>
/// </list>
/// QueueCtl's own keys: schema (default "queuectl") selects the schema holding the queue, so several queues share a
/// database; every statement names it, so Npgsql's Search Path has no effect on where the queue lives. listen=false
/// is the poll-only mode for poolers in transaction mode (pgbouncer), which cannot hold a LISTEN: waits then just time
/// out. Passwords come from the address, PGPASSWORD or the pgpass file (both read by Npgsql itself), or
/// <see cref="QueueOpenOptions.Credential"/>, which overrides them. <see cref="Display"/> is rebuilt from the parsed
/// parts, so it never holds a password.
/// </summary>
internal sealed partial class PostgresAddress
{
    public const string DefaultSchema = "queuectl";

    // libpq's URI query keys and the Npgsql settings they stand for.
    private static readonly Dictionary<string, string> UriKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host", ["hostaddr"] = "Host", ["port"] = "Port", ["dbname"] = "Database", ["user"] = "Username",
        ["password"] = "Password", ["passfile"] = "Passfile", ["sslmode"] = "SSL Mode", ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key", ["sslpassword"] = "SSL Password", ["sslrootcert"] = "Root Certificate",
        ["application_name"] = "Application Name", ["connect_timeout"] = "Timeout", ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes", ["keepalives"] = "Tcp Keepalive",
        ["keepalives_idle"] = "Tcp Keepalive Time", ["keepalives_interval"] = "Tcp Keepalive Interval",
        ["channel_binding"] = "Channel Binding", ["gssencmode"] = "GSS Encryption Mode",
        ["krbsrvname"] = "Kerberos Service Name", ["client_encoding"] = "Client Encoding",
    };

    private PostgresAddress(NpgsqlConnectionStringBuilder builder, string schema, bool listen)
    {
        Builder = builder;
        Schema = schema;
        Listen = listen;
    }

    /// <summary>The Npgsql settings, password included: never shown.</summary>
    public NpgsqlConnectionStringBuilder Builder { get; }

    /// <summary>The schema name as given (validated as an identifier; quote it with <see cref="QuotedSchema"/>).</summary>
    public string Schema { get; }

    public string QuotedSchema => "\"" + Schema + "\"";

    /// <summary>False in poll-only mode (listen=false).</summary>
    public bool Listen { get; }

    public string Host => string.IsNullOrEmpty(Builder.Host) ? "localhost" : Builder.Host;

    public string Database => Builder.Database ?? Builder.Username ?? "";

    /// <summary>postgres://user@host:port/db?schema=x: shown to users and written to logs; holds no password.</summary>
    public string Display
    {
        get
        {
            var user = string.IsNullOrEmpty(Builder.Username) ? "" : Uri.EscapeDataString(Builder.Username) + "@";
            var host = Host.Contains(',') ? Host
                : Host.StartsWith('/') ? $"{Uri.EscapeDataString(Host)}:{Builder.Port}"
                : Host.Contains(':') ? $"[{Host}]:{Builder.Port}"
                : $"{Host}:{Builder.Port}";
            var listen = Listen ? "" : "&listen=false";
            return $"postgres://{user}{host}/{Uri.EscapeDataString(Database)}?schema={Schema}{listen}";
        }
    }

    /// <summary>host:port/db/schema: names this queue whoever connects to it (no user, no password).</summary>
    public string Identity => $"{Host}:{Builder.Port}/{Database}/{Schema}";

    public static PostgresAddress Parse(string address, NetworkCredential? credential)
    {
        var (builder, ours) = UriForm().IsMatch(address) ? FromUri(address) : FromConnectionString(address);
        var schema = ours.TryGetValue("schema", out var s) ? s : DefaultSchema;
        if (!SchemaName().IsMatch(schema) || schema.StartsWith("pg_", StringComparison.OrdinalIgnoreCase))
            throw Refused(address, $"the schema name '{schema}' is not valid: use 1 to 60 letters, digits or '_', not starting with a digit or 'pg_'");
        var listen = true;
        if (ours.TryGetValue("listen", out var l))
        {
            listen = l.ToLowerInvariant() switch
            {
                "true" or "1" or "yes" or "on" => true,
                "false" or "0" or "no" or "off" => false,
                _ => throw Refused(address, $"listen must be true or false, not '{l}'"),
            };
        }
        if (credential is not null)
        {
            if (!string.IsNullOrEmpty(credential.UserName)) builder.Username = credential.UserName;
            builder.Password = credential.Password;
        }
        return new PostgresAddress(builder, schema, listen);
    }

    private static (NpgsqlConnectionStringBuilder, Dictionary<string, string>) FromUri(string address)
    {
        var rest = address.Trim();
        rest = rest[(rest.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var hash = rest.IndexOf('#');
        if (hash >= 0) rest = rest[..hash];
        var query = "";
        var q = rest.IndexOf('?');
        if (q >= 0) (rest, query) = (rest[..q], rest[(q + 1)..]);
        var builder = new NpgsqlConnectionStringBuilder();
        // The user part ends at the last '@', so a password holding '@' or '/' is taken whole (as QueueAddress.Mask does).
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            var user = Unescape(colon < 0 ? userInfo : userInfo[..colon]);
            if (user.Length > 0) builder.Username = user;
            if (colon >= 0) builder.Password = Unescape(userInfo[(colon + 1)..]);
        }
        var slash = rest.IndexOf('/');
        var hosts = slash < 0 ? rest : rest[..slash];
        var database = slash < 0 ? "" : Unescape(rest[(slash + 1)..]);
        if (database.Length > 0) builder.Database = database;
        if (hosts.Length > 0) SetHosts(builder, hosts, address);

        var ours = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Unescape(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Unescape(pair[(eq + 1)..]);
            if (key.Equals("schema", StringComparison.OrdinalIgnoreCase) || key.Equals("listen", StringComparison.OrdinalIgnoreCase))
            {
                ours[key] = value;
                continue;
            }
            if (!UriKeys.TryGetValue(key, out var keyword))
                throw Refused(address, $"'{key}' is not a PostgreSQL address setting QueueCtl knows (known: {string.Join(", ", UriKeys.Keys.Order())}, schema, listen)");
            Set(builder, keyword, Convert(key, value), address, key);
        }
        return (builder, ours);
    }

    private static void SetHosts(NpgsqlConnectionStringBuilder builder, string hosts, string address)
    {
        var parsed = new List<(string Host, int? Port)>();
        foreach (var part in hosts.Split(','))
        {
            string host;
            string? port = null;
            if (part.StartsWith('['))
            {
                var close = part.IndexOf(']');
                if (close < 0) throw Refused(address, "an IPv6 host is missing its closing ']'");
                host = part[1..close];
                if (close + 1 < part.Length)
                {
                    if (part[close + 1] != ':') throw Refused(address, $"'{part}' is not a host[:port]");
                    port = part[(close + 2)..];
                }
            }
            else
            {
                var colon = part.LastIndexOf(':');
                host = colon < 0 ? part : part[..colon];
                if (colon >= 0) port = part[(colon + 1)..];
            }
            int? number = null;
            if (!string.IsNullOrEmpty(port))
            {
                if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                    throw Refused(address, $"'{port}' is not a port number");
                number = p;
            }
            parsed.Add((Unescape(host), number));
        }
        if (parsed.Count == 1)
        {
            if (parsed[0].Host.Length > 0) builder.Host = parsed[0].Host;
            if (parsed[0].Port is { } p) builder.Port = p;
        }
        else
        {
            builder.Host = string.Join(",", parsed.Select(h => h.Port is { } p ? $"{h.Host}:{p}" : h.Host));
        }
    }

    private static string Convert(string key, string value) => key.ToLowerInvariant() switch
    {
        "sslmode" or "channel_binding" or "gssencmode" => value.Replace("-", "", StringComparison.Ordinal),
        "keepalives" => value == "0" ? "false" : "true",
        _ => value,
    };

    private static (NpgsqlConnectionStringBuilder, Dictionary<string, string>) FromConnectionString(string address)
    {
        var generic = new DbConnectionStringBuilder();
        try
        {
            generic.ConnectionString = address;
        }
        catch (ArgumentException)
        {
            throw Refused(address, "it is not a valid connection string (Key=Value;Key=Value)");
        }
        var builder = new NpgsqlConnectionStringBuilder();
        var ours = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string key in generic.Keys)
        {
            var value = System.Convert.ToString(generic[key], System.Globalization.CultureInfo.InvariantCulture) ?? "";
            if (key.Equals("schema", StringComparison.OrdinalIgnoreCase) || key.Equals("listen", StringComparison.OrdinalIgnoreCase))
                ours[key] = value;
            else
                Set(builder, key, value, address, key);
        }
        return (builder, ours);
    }

    private static void Set(NpgsqlConnectionStringBuilder builder, string keyword, string value, string address, string shownKey)
    {
        try
        {
            builder[keyword] = value;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // The value is left out: it may be a password.
            throw Refused(address, $"the setting '{shownKey}' is unknown or its value is not valid");
        }
    }

    private static string Unescape(string text)
    {
        try
        {
            return Uri.UnescapeDataString(text);
        }
        catch (UriFormatException)
        {
            return text;
        }
    }

    private static QueueException Refused(string address, string why) =>
        new(QueueErrorCode.UnsupportedDatabaseAddress, $"'{Masked(address)}' is not a PostgreSQL address QueueCtl can use: {why}.");

    /// <summary>
    /// The address as <see cref="QueueAddress.Mask"/> shows it, and with the value of every key that merely contains a
    /// secret's name masked too (sslpassword=, Ssl Password=, which its word-boundary match lets through).
    /// </summary>
    private static string Masked(string address) => SecretKey().Replace(QueueAddress.Mask(address), m => m.Groups[1].Value + "=***");

    [GeneratedRegex(@"(?i)([A-Za-z_ ]*(?:pass|pwd|secret|token|key)[A-Za-z_ ]*)\s*=\s*[^&;]*")]
    private static partial Regex SecretKey();

    [GeneratedRegex(@"^\s*postgres(ql)?://", RegexOptions.IgnoreCase)]
    private static partial Regex UriForm();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,59}$")]
    private static partial Regex SchemaName();
}
