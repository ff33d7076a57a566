namespace QueueCtl.Tests;

/// <summary>
/// The PostgreSQL server for tests: build.ps1 Test starts one and hands it over through QUEUECTL_TEST_POSTGRES
/// (a URI without password) and PGPASSWORD. xunit 2 has no dynamic skip, so a PostgreSQL test begins with
/// <c>if (!TestPostgres.ShouldRun()) return;</c>.
/// </summary>
public static class TestPostgres
{
    public const string AddressVariable = "QUEUECTL_TEST_POSTGRES";

    /// <summary>The test server's URI, or null when there is none.</summary>
    public static string? Uri =>
        Environment.GetEnvironmentVariable(AddressVariable) is { Length: > 0 } uri ? uri : null;

    public static bool Available => Uri is not null;

    /// <summary>The test server's URI with a fresh schema of its own, so tests never see each other's tables.</summary>
    public static string NewSchemaAddress()
    {
        var uri = Uri ?? throw new InvalidOperationException($"{AddressVariable} is not set: there is no PostgreSQL server for tests.");
        var separator = uri.Contains('?') ? '&' : '?';
        return $"{uri}{separator}schema=t_{Guid.NewGuid():N}";
    }

    /// <summary>
    /// True when a server is there. Without one: false and a loud line on standard error (the test passes without
    /// running), except under CI=true, where a missing server fails the test.
    /// </summary>
    public static bool ShouldRun([System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        if (Available) return true;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{AddressVariable} is not set, and CI=true does not allow skipping the PostgreSQL test {test}.");
        Console.Error.WriteLine($"WARNING: {AddressVariable} is not set: PostgreSQL test {test} SKIPPED (it passes without running).");
        return false;
    }
}
