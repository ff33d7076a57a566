<#
.SYNOPSIS
    Runs the Pester tests against a staged module folder, once on SQLite queues and once on PostgreSQL queues. Called
    by build.ps1 Test in a child pwsh.
.DESCRIPTION
    The PostgreSQL pass uses the server named by QUEUECTL_TEST_POSTGRES (and PGPASSWORD), which build.ps1 Test starts;
    without one it is skipped with a warning (a failure under CI=true). It leaves out the tests tagged SqliteOnly
    (about SQLite files) and NoQueue (they use no queue of the pass's driver: none at all, or queues of their own, so
    the SQLite pass has said all they can say); the SQLite pass leaves out those tagged PostgresOnly.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $PackagePath,
    [Parameter(Mandatory)][string] $PesterPath,
    [string] $Tag,
    # Which passes to run; both by default.
    [ValidateSet('SQLite', 'PostgreSQL')][string[]] $Driver = @('SQLite', 'PostgreSQL')
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
. (Join-Path $PSScriptRoot 'pester/TestPostgres.ps1')
$env:QUEUECTL_TEST_MODULE = (Resolve-Path $ModulePath).Path
$env:QUEUECTL_TEST_PACKAGE = (Resolve-Path $PackagePath).Path

function Invoke-PesterPass([string] $Name, [string[]] $ExcludeTag) {
    Write-Host "=== Pester ($Name) ===" -ForegroundColor Cyan
    $env:QUEUECTL_TEST_DRIVER = $Name
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $PSScriptRoot 'pester'
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    $config.TestResult.Enabled = $false
    if ($Tag) { $config.Filter.Tag = $Tag -split ',' }
    if ($ExcludeTag) { $config.Filter.ExcludeTag = $ExcludeTag }
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $result = Invoke-Pester -Configuration $config
    Write-Host "Pester ($Name) took $([int]$watch.Elapsed.TotalSeconds) s." -ForegroundColor Cyan
    return [pscustomobject] @{
        # One plain line per pass in the form CI tools read: "Pester (<driver>): N passed, N failed, N skipped".
        Summary = "Pester ($Name): $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped"
        Failed  = $result.FailedCount -gt 0 -or $result.Result -ne 'Passed'
    }
}

$passes = @()
if ('SQLite' -in $Driver) { $passes += Invoke-PesterPass 'SQLite' @('PostgresOnly') }
if ('PostgreSQL' -in $Driver) {
    if (Test-SkipPostgresTests) { Write-Host 'Pester (PostgreSQL): SKIPPED, no PostgreSQL server (QUEUECTL_TEST_POSTGRES is not set).' -ForegroundColor Yellow }
    else { $passes += Invoke-PesterPass 'PostgreSQL' @('SqliteOnly', 'NoQueue') }
}
foreach ($pass in $passes) { Write-Host $pass.Summary -ForegroundColor ($pass.Failed ? 'Red' : 'Green') }
if ($passes | Where-Object Failed) { exit 1 }
exit 0
