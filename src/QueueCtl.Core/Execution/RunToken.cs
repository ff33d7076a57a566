using System.Security.Cryptography;

namespace QueueCtl.Execution;

/// <summary>
/// A random value put in each run's environment. Every process the run starts inherits it, even one that left the
/// process tree (a daemon, a setsid grandchild), so <see cref="RunLeftovers"/> can find what a run left behind.
/// </summary>
public static class RunToken
{
    public const string Variable = "QUEUECTL_RUN_TOKEN";

    public static string New() => Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
}
