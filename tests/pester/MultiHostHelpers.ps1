# Workers on network-namespace hosts (build/TestHosts.sh) for MultiHost.Tests.ps1. build.ps1 Test creates the hosts
# before the test server (which then also listens on their links) and sets QUEUECTL_TEST_HOSTS to their number.
# Dot-source in BeforeDiscovery (for Test-SkipMultiHostTests) and in BeforeAll, after TestHelpers.ps1.

$script:TestHostsScript = Join-Path $PSScriptRoot '../../build/TestHosts.sh'

function Test-SkipMultiHostTests {
    # $true (with a warning) when the multi-host tests cannot run here; under CI=true that throws instead.
    # The file runs once: in the first (or only) pass of the suite; it makes its own PostgreSQL schema whatever the
    # pass's driver.
    if ($env:QUEUECTL_TEST_DRIVER -and $env:QUEUECTL_TEST_DRIVER -ne 'SQLite') {
        Write-Host "Multi-host tests ran in the SQLite pass; not again in the $env:QUEUECTL_TEST_DRIVER pass."
        return $true
    }
    $why = if (-not $env:QUEUECTL_TEST_POSTGRES) { 'QUEUECTL_TEST_POSTGRES is not set' }
           elseif (-not $env:QUEUECTL_TEST_POSTGRES_INFO) { 'QUEUECTL_TEST_POSTGRES_INFO (the server to restart) is not set' }
           elseif ([int] "0$env:QUEUECTL_TEST_HOSTS" -lt 2) { 'QUEUECTL_TEST_HOSTS is not 2 or more (build.ps1 Test sets it when it can make network-namespace hosts: root on Linux)' }
    if (-not $why) { return $false }
    if ($env:CI -eq 'true') { throw "$why, and CI=true does not allow skipping the multi-host tests." }
    Write-Warning "$why`: the multi-host tests are SKIPPED. Run them through build.ps1 Test as root on Linux."
    return $true
}

function Get-HostQueueAddress([string] $Address, [int] $HostNumber) {
    # The same queue as seen from host n: the server's address on that host's link instead of 127.0.0.1.
    if ($Address -notmatch '@127\.0\.0\.1:') { throw "The test server address is not on 127.0.0.1: cannot map it to host $HostNumber." }
    return $Address -replace '@127\.0\.0\.1:', "@10.231.$HostNumber.1:"
}

function Invoke-TestHosts {
    # build/TestHosts.sh with these arguments; throws when it fails.
    $output = & bash $script:TestHostsScript @args 2>&1
    if ($LASTEXITCODE -ne 0) { throw "'TestHosts.sh $($args -join ' ')' failed with exit code $LASTEXITCODE`: $output" }
    $output
}

function Start-HostWorker {
    <#
    .SYNOPSIS
        Starts Start-QueueWorker -Foreground inside host n under HostName and returns its process (the pwsh itself:
        every step of TestHosts.sh run execs). The worker logs to LogPath, its console output goes to LogPath.console.
        PGPASSWORD reaches it through the inherited environment.
    #>
    param([int] $HostNumber, [string] $HostName, [string] $Address, [int] $Concurrency = 1, [string] $LogPath)
    $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$script:ModuleManifest'; " +
        "Start-QueueWorker -Foreground -Concurrency $Concurrency -Database '$Address' -LogPath '$LogPath'"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
    $command = @('bash', '-c', 'log=$1; shift; exec "$@" >>"$log" 2>&1', 'bash', "$LogPath.console",
        'bash', $script:TestHostsScript, 'run', $HostNumber, $HostName, '--') +
        @(Get-PwshCommand) + @('-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
    $info = [Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($argument in @($command | Select-Object -Skip 1)) { $info.ArgumentList.Add("$argument") }
    $info.UseShellExecute = $false
    return [Diagnostics.Process]::Start($info)
}

function Stop-HostWorker([Diagnostics.Process] $Process) {
    # Kills a worker started by Start-HostWorker and the jobs it runs.
    if (-not $Process -or $Process.HasExited) { return }
    $Process.Kill($true)
    $null = $Process.WaitForExit(10000)
}

function Wait-HostWorker([string] $HostName, [Diagnostics.Process] $Process, [string] $LogPath) {
    # Waits until the worker started on HostName is registered and running; returns it.
    Wait-Until -TimeoutSeconds 60 -Because "the worker on $HostName to register" {
        if ($Process.HasExited) { throw "The worker on $HostName exited ($($Process.ExitCode)): $(Get-LogTail $LogPath, "$LogPath.console")" }
        @(Get-QueueWorker -State Running | Where-Object HostName -EQ $HostName).Count -eq 1
    }
    Get-QueueWorker -State Running | Where-Object HostName -EQ $HostName
}

function Remove-TestSchema([string] $Address) {
    # Drops the schema a test's queue lives in (the ?schema= of its address). Never throws: it runs in AfterEach.
    if ($Address -notmatch '[?&]schema=(\w+)') { return }
    $schema = $Matches[1]
    try {
        $info = Get-Content $env:QUEUECTL_TEST_POSTGRES_INFO -Raw | ConvertFrom-Json
        $server = [pscustomobject] @{ BinFolder = $info.BinFolder; Port = $info.Port; Password = $env:PGPASSWORD }
        $null = Invoke-Psql -Server $server -Database 'queuectl_test' -Sql "DROP SCHEMA IF EXISTS $schema CASCADE"
    } catch {
        Write-Warning "Could not drop the test schema $schema`: $($_.Exception.Message)"
    }
}

function Get-LogTail([string[]] $Path, [int] $Lines = 15) {
    # The last lines of worker logs, for failure messages.
    ($Path | ForEach-Object { "--- $_"; if (Test-Path $_) { Get-Content $_ -Tail $Lines } }) -join "`n"
}
