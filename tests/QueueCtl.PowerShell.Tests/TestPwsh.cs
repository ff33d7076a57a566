using QueueCtl.PowerShell.Infrastructure;

namespace QueueCtl.PowerShell.Tests;

/// <summary>
/// The test host is dotnet, not pwsh, so script hosts are started with the repository's pwsh tool
/// (.config/dotnet-tools.json), found in the NuGet package folder.
/// </summary>
internal static class TestPwsh
{
    public static void Use()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var platform = OperatingSystem.IsWindows() ? "win" : "unix";
        var pwsh = Directory.EnumerateFiles(Path.Combine(packages, "powershell"), "pwsh.dll", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(Path.GetDirectoryName(p)) == platform)
            .OrderByDescending(p => p, StringComparer.Ordinal)
            .FirstOrDefault() ?? throw new InvalidOperationException($"No pwsh tool in {packages}; run 'dotnet tool restore'.");
        ScriptHostLauncher.PwshCommand = () => (Environment.ProcessPath!, new[] { pwsh });
    }
}
