using System.Net;

namespace QueueCtl.Storage;

/// <summary>How to open a queue, beyond its address.</summary>
public sealed record QueueOpenOptions
{
    /// <summary>The clock of this process (see <see cref="IQueueDriver.Clock"/>); the system clock when null.</summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>
    /// A user name and password for a server engine, used instead of the ones in the address, PGPASSWORD or ~/.pgpass.
    /// Never written anywhere: not to a command line, a log, an error or <see cref="IQueueDriver.Address"/>.
    /// </summary>
    public NetworkCredential? Credential { get; init; }

    public static QueueOpenOptions Default { get; } = new();
}
