using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// Points SQLite's native library at the copy for this platform inside the module folder
/// (runtimes/&lt;rid&gt;/native/). PowerShell's own probing does not look there, because the module is not an app
/// with a deps.json of its own.
/// </summary>
internal static class NativeSqlite
{
    private const string LibraryName = "e_sqlite3";
    private static int _registered;

    public static void Register(string moduleDirectory)
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        var context = AssemblyLoadContext.GetLoadContext(typeof(NativeSqlite).Assembly) ?? AssemblyLoadContext.Default;
        context.ResolvingUnmanagedDll += (Assembly _, string name) =>
        {
            if (name != LibraryName) return IntPtr.Zero;
            var path = Path.Combine(moduleDirectory, RelativePath(CurrentRid(), FileName()));
            return File.Exists(path) ? NativeLibrary.Load(path) : IntPtr.Zero;
        };
    }

    /// <summary>The runtime identifier whose native folder fits this process.</summary>
    public static string CurrentRid() =>
        Rid(OperatingSystem.IsWindows() ? OSPlatform.Windows : OperatingSystem.IsMacOS() ? OSPlatform.OSX : OSPlatform.Linux,
            RuntimeInformation.ProcessArchitecture, OperatingSystem.IsLinux() && IsMusl());

    public static string Rid(OSPlatform os, Architecture arch, bool musl)
    {
        var cpu = arch switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            Architecture.Arm => "arm",
            _ => arch.ToString().ToLowerInvariant(),
        };
        if (os == OSPlatform.Windows) return $"win-{cpu}";
        if (os == OSPlatform.OSX) return $"osx-{cpu}";
        return musl ? $"linux-musl-{cpu}" : $"linux-{cpu}";
    }

    public static string FileName() =>
        OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";

    public static string RelativePath(string rid, string fileName) => Path.Combine("runtimes", rid, "native", fileName);

    /// <summary>musl-based distributions (Alpine) ship their loader as /lib/ld-musl-*.</summary>
    private static bool IsMusl()
    {
        try
        {
            return Directory.Exists("/lib") && Directory.EnumerateFiles("/lib", "ld-musl-*").Any();
        }
        catch (IOException)
        {
            return false;
        }
    }
}
