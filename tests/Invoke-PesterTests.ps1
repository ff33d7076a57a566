<#
.SYNOPSIS
    Runs the Pester tests against a staged module folder. Called by build.ps1 Test in a child pwsh.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $PackagePath,
    [Parameter(Mandatory)][string] $PesterPath,
    [string] $Tag
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
$env:QUEUECTL_TEST_MODULE = (Resolve-Path $ModulePath).Path
$env:QUEUECTL_TEST_PACKAGE = (Resolve-Path $PackagePath).Path
$config = New-PesterConfiguration
$config.Run.Path = Join-Path $PSScriptRoot 'pester'
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $false
if ($Tag) { $config.Filter.Tag = $Tag -split ',' }
$result = Invoke-Pester -Configuration $config
if ($result.FailedCount -gt 0 -or $result.Result -ne 'Passed') {
    Write-Host "Pester: $($result.FailedCount) failed, $($result.PassedCount) passed." -ForegroundColor Red
    exit 1
}
Write-Host "Pester: $($result.PassedCount) passed, $($result.SkippedCount) skipped." -ForegroundColor Green
exit 0
