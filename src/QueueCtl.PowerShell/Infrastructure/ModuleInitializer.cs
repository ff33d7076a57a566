using System.Management.Automation;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>Runs when the module is imported: makes SQLite's native library loadable.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport() =>
        NativeSqlite.Register(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!);
}
