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
# One plain closing line in the form CI tools read: "Pester: N passed, N failed, N skipped".
$summary = "Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped"
if ($result.FailedCount -gt 0 -or $result.Result -ne 'Passed') {
    Write-Host $summary -ForegroundColor Red
    exit 1
}
Write-Host $summary -ForegroundColor Green
exit 0
