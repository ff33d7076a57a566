using System.Collections;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace QueueCtl.PowerShell.Infrastructure;

/// <summary>
/// A cheap fingerprint of a runspace's global scope: its variables (preferences and $PSDefaultParameterValues
/// included), functions, aliases, and the modules loaded from outside $PSHOME. What PowerShell's own modules (under
/// $PSHOME) bring is left out: a job's first Set-Location or ConvertTo-Json loads one, and it is not the job's doing. Two equal fingerprints mean no job
/// added, removed or re-assigned any of them (by identity: a variable given a new value, a function redefined). The
/// variables every run changes ($?, $Error, the host loop's own) are left out; $Error is emptied instead. PowerShell
/// has no public view of one scope's tables, so they are read through its internal SessionStateInternal, once per run,
/// on the runspace's own thread.
/// </summary>
internal sealed class SessionFingerprint
{
    private const BindingFlags Internal = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

    private static readonly HashSet<string> Volatile = new(StringComparer.OrdinalIgnoreCase)
    {
        "?", "^", "$", "_", "PSItem", "args", "input", "this", "foreach", "switch", "Error", "StackTrace", "LASTEXITCODE",
        "Matches", "PWD", "MyInvocation", "PSCmdlet", "PSBoundParameters", "PSCommandPath", "PSScriptRoot", "QueueJob",
    };

    private static readonly string PSHome = Path.GetDirectoryName(typeof(PSObject).Assembly.Location)! + Path.DirectorySeparatorChar;

    /// <summary>
    /// PowerShell's own modules by name: a PSModulePath inherited from another PowerShell (an SDK host, another
    /// install) can make a job's first Set-Location load them from outside $PSHOME.
    /// </summary>
    private static readonly HashSet<string> OwnModules = ListOwnModules();

    private readonly object _global;
    private readonly object _internal;
    private readonly PropertyInfo _variables, _functions, _aliases, _modules;

    public SessionFingerprint(SessionState state)
    {
        _internal = Property(state.GetType(), "Internal").GetValue(state)!;
        _global = Property(_internal.GetType(), "GlobalScope").GetValue(_internal)!;
        _variables = Property(_global.GetType(), "Variables");
        _functions = Property(_global.GetType(), "FunctionTable");
        _aliases = Property(_global.GetType(), "AliasTable");
        _modules = Property(_internal.GetType(), "ModuleTable");
    }

    /// <summary>Empties $Error, then fingerprints the global scope. Only while no pipeline runs in the runspace, or on its thread.</summary>
    public long Take()
    {
        var hash = new HashCode();
        foreach (var (name, variable) in (IDictionary<string, PSVariable>)_variables.GetValue(_global)!)
        {
            if (name.Equals("Error", StringComparison.OrdinalIgnoreCase) && variable.Value is IList { Count: > 0 } errors) errors.Clear();
            if (Volatile.Contains(name) || name.StartsWith("__queuectl", StringComparison.OrdinalIgnoreCase)) continue;
            hash.Add(name, StringComparer.OrdinalIgnoreCase);
            hash.Add(RuntimeHelpers.GetHashCode(variable));
            var value = variable.Value;
            hash.Add(value is null ? 0 : RuntimeHelpers.GetHashCode(value));
            if (value is ICollection collection) hash.Add(collection.Count); // $PSDefaultParameterValues['*:WhatIf'] = $true
        }
        foreach (var (name, function) in (IDictionary<string, FunctionInfo>)_functions.GetValue(_global)!)
        {
            if (FromPSHome(function)) continue;
            hash.Add(name, StringComparer.OrdinalIgnoreCase);
            hash.Add(RuntimeHelpers.GetHashCode(function));
            hash.Add(RuntimeHelpers.GetHashCode(function.ScriptBlock));
        }
        foreach (var alias in (IEnumerable<AliasInfo>)_aliases.GetValue(_global)!)
        {
            if (FromPSHome(alias)) continue;
            hash.Add(RuntimeHelpers.GetHashCode(alias));
            hash.Add(alias.Definition);
        }
        foreach (var path in ((IDictionary)_modules.GetValue(_internal)!).Keys)
            if (path is string p && !IsOwnModule(p)) hash.Add(p);
        return hash.ToHashCode();
    }

    /// <summary>Exported by a module of PowerShell's own, which a job's command may load on first use.</summary>
    private static bool FromPSHome(CommandInfo command) =>
        command.Module is { } module && (IsOwnModule(module.Path) || OwnModules.Contains(module.Name));

    private static bool IsOwnModule(string? path) =>
        path is not null && (path.StartsWith(PSHome, StringComparison.OrdinalIgnoreCase) || OwnModules.Contains(Path.GetFileNameWithoutExtension(path)));

    private static HashSet<string> ListOwnModules()
    {
        var folder = Path.Combine(PSHome, "Modules");
        try
        {
            return Directory.Exists(folder)
                ? new HashSet<string>(Directory.EnumerateDirectories(folder).Select(Path.GetFileName)!, StringComparer.OrdinalIgnoreCase)
                : new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        }
    }

    private static PropertyInfo Property(Type type, string name) =>
        type.GetProperty(name, Internal) ?? throw new MissingMemberException(type.FullName, name);
}
