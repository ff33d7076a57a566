using System.Management.Automation;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Runs when the module is imported: makes SQLite's native library loadable, and the bash launcher runnable.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport()
    {
        var moduleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;
        NativeSqlite.Register(moduleDirectory);
        MakeLauncherExecutable(Path.Combine(moduleDirectory, "bin", "queuectl"));
    }

    /// <summary>A module installed from a .nupkg (a zip) loses the launcher's executable bit; give it back when we may.</summary>
    private static void MakeLauncherExecutable(string launcher)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(launcher)) return;
        try
        {
            var mode = File.GetUnixFileMode(launcher);
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            var wanted = mode | (execute & (UnixFileMode)((int)(mode & (UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead)) >> 2));
            if (wanted != mode) File.SetUnixFileMode(launcher, wanted);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A read-only install (AllUsers): run it as 'sh .../bin/queuectl' instead.
        }
    }
}
