<#
.SYNOPSIS
    Packs the staged module as the PowerShell Gallery takes it: a .nupkg made by PSResourceGet from the manifest.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $Destination
)
$ErrorActionPreference = 'Stop'
Import-Module Microsoft.PowerShell.PSResourceGet
$manifest = Test-ModuleManifest (Join-Path $ModulePath 'QueueCtl.psd1')
Compress-PSResource -Path $ModulePath -DestinationPath $Destination
$package = Get-ChildItem $Destination -Filter '*.nupkg'
if (-not $package) { throw "Compress-PSResource wrote no package to $Destination." }
Write-Host ("Package: {0} ({1:N1} MB), version {2}" -f $package.FullName, ($package.Length / 1MB), $manifest.Version)
