using System.Diagnostics;
using System.Management.Automation;
using System.Text.RegularExpressions;
using QueueCtl.Execution;
using QueueCtl.Jobs;
using QueueCtl.PowerShell.Infrastructure;

namespace QueueCtl.PowerShell.Tests;

/// <summary>Script-block runs through the runner, with real script-host processes (issue 8, items 4 and 5).</summary>
public sealed class ScriptHostFacts : IDisposable
{
    private readonly ScriptBlockJobRunner _runner = new();

    public ScriptHostFacts()
    {
        TestPwsh.Use();
        _runner.Warm(1);
    }

    public void Dispose() => _runner.Dispose();

    [Fact]
    public async Task AScriptThatExitsItsHost_FailsThatRun_AndTheNextRunIsServed()
    {
        var exited = await Run("[Environment]::Exit(3)");
        Assert.Equal(RunResultKind.Failed, exited.Kind);
        Assert.Matches(@"^The script host \(process \d+\) exited with code 3 while running the job\.$", exited.Error);
        var next = await Run("'served'");
        Assert.Equal(RunResultKind.Succeeded, next.Kind);
        Assert.Equal("served", Assert.Single(Output(next)));
    }

    [Fact]
    public async Task AScriptStuckInADotNetCall_HasItsHostKilledAtTheTimeout()
    {
        var clock = Stopwatch.StartNew();
        var stuck = await Run("[Threading.Thread]::Sleep(60000)", TimeSpan.FromSeconds(1));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(RunResultKind.Failed, stuck.Kind);
        var killed = Regex.Match(stuck.Error!, @"^Timed out after 1 s; the script did not stop within 2 s, so its script host \(process (\d+)\) was killed\.$");
        Assert.True(killed.Success, stuck.Error);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(int.Parse(killed.Groups[1].Value)));
    }

    [Fact]
    public async Task EveryRun_StartsFromTheSameCleanState()
    {
        const string look = """
            "x=[$global:x] function=[$(Get-Command Get-Leak -ErrorAction Ignore)] alias=[$((Get-Alias Write-Output -ErrorAction Ignore).Definition)]"
            "eap=[$ErrorActionPreference] defaults=[$($PSDefaultParameterValues.Keys)] env=[$env:QUEUECTL_LEAK] pwd=[$PWD]"
            [Environment]::CurrentDirectory
            """;
        var before = Output(await Run(look));
        var dirty = await Run("""
            $global:x = 'leaked'; function global:Get-Leak { 'leaked' }; Set-Alias Write-Output Write-Verbose -Scope Global
            $global:ErrorActionPreference = 'SilentlyContinue'; $PSDefaultParameterValues['*:WhatIf'] = $true
            $env:QUEUECTL_LEAK = 'leaked'; [Environment]::CurrentDirectory = [IO.Path]::GetTempPath(); Set-Location ([IO.Path]::GetTempPath())
            """);
        Assert.Equal(RunResultKind.Succeeded, dirty.Kind);
        var after = Output(await Run(look));
        Assert.Equal("x=[] function=[] alias=[]", after[0]);
        Assert.StartsWith("eap=[Continue] defaults=[] env=[] pwd=[", after[1]);
        Assert.Equal(before, after);
        Assert.Null(Environment.GetEnvironmentVariable("QUEUECTL_LEAK"));
        Assert.Equal(RunResultKind.Failed, (await Run("Write-Error 'still an error'")).Kind);
    }

    [Fact]
    public async Task JobsThatChangeNothing_ShareTheirRunspace_WhereverTheyRun()
    {
        const string look = "[runspace]::DefaultRunspace.InstanceId; $PID; $PWD.ProviderPath";
        var elsewhere = Path.GetTempPath().TrimEnd(Path.DirectorySeparatorChar);
        var runs = new List<List<string>>();
        for (var i = 0; i < 6; i++) runs.Add(Output(await Run(look, location: elsewhere)));
        Assert.All(runs, r => Assert.Equal(elsewhere, r[2]));
        Assert.Single(runs.Select(r => r[1]).Distinct());
        // A runspace replaced after every run (a fingerprint that sees a change no job made) would give six ids; one
        // replacement at a host's first runs (something PowerShell sets up lazily) is tolerated, as it costs nothing more.
        Assert.InRange(runs.Select(r => r[0]).Distinct().Count(), 1, 2);
    }

    [Fact]
    public async Task ATypeAJobAdded_IsNotSeenByTheNextJob()
    {
        var added = await Run("Add-Type -TypeDefinition 'public static class QueueCtlHostProbe { public static int Value = 1; }'; $PID");
        Assert.Equal(RunResultKind.Succeeded, added.Kind);
        var next = await Run("\"type=[$('QueueCtlHostProbe' -as [type])]\"; $PID");
        Assert.Equal("type=[]", Output(next)[0]);
        Assert.NotEqual(Output(added)[0], Output(next)[1]);
    }

    private Task<RunOutcome> Run(string script, TimeSpan? timeout = null, string? location = null)
    {
        var job = new QueueJob { Id = "facts", Kind = QueueJobKind.ScriptBlock, Command = script, Attempts = 1, Runs = 1, WorkingDirectory = location };
        return _runner.RunAsync(new JobExecution(job, timeout ?? TimeSpan.FromSeconds(60), 1 << 20, "w-facts"), CancellationToken.None);
    }

    private static List<string> Output(RunOutcome outcome) =>
        ScriptOutput.Parse(outcome.Output?.StandardOutput ?? "")
            .Where(r => r.Stream == ScriptOutput.OutputStream)
            .Select(r => PSSerializer.Deserialize(r.CliXml!)?.ToString() ?? "")
            .ToList();
}
