#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and demonstrates QueueCtl.
.DESCRIPTION
    Tasks (run in the order given):
      Build    Stages a complete module folder at out/QueueCtl (assemblies, native SQLite for every claimed platform,
               manifest, formats, help, the queuectl launcher).
      Test     Build, then every xunit test and every Pester test against the staged module in a child pwsh, with a
               throwaway PostgreSQL server for the PostgreSQL tests (build/TestPostgres.ps1) unless
               QUEUECTL_TEST_POSTGRES already names one. As root on Linux, two network-namespace hosts
               (build/TestHosts.sh) come up first, the server also listens on their links, and the multi-host tests
               run workers on them (QUEUECTL_TEST_HOSTS); elsewhere those tests skip, loudly.
      Demo     Build, then enqueue a few jobs, run a worker and show the result, on a throwaway queue.
      Package  Build, then write the module package as the PowerShell Gallery takes it (out/package/*.nupkg).
      Bench    Build, then run the benchmark suite (bench/Invoke-Benchmark.ps1); never part of Test.
      Clean    Remove out/ and every bin/ and obj/ folder.
      Postgres Start a throwaway PostgreSQL server for development, print how to point tests at it, and stop it
               when Enter is pressed.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Package', 'Bench', 'Clean', 'Postgres')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester tag filter for the Test task, e.g. -Tag Crash.
    [string[]] $Tag,

    # Extra arguments for the Bench task, e.g. -BenchArgs '-Quick'.
    [string[]] $BenchArgs = @(),

    # Extra addresses (with prefix, e.g. 10.231.1.1/30) the test PostgreSQL listens on and admits clients from.
    [string[]] $PostgresListenAddress = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'build/TestPostgres.ps1')
. (Join-Path $PSScriptRoot 'build/TestHosts.ps1')

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleDir = Join-Path $Out 'QueueCtl'
$PackageDir = Join-Path $Out 'package'
# The platforms whose native SQLite the module ships and resolves at load time.
$NativeRids = 'linux-x64', 'linux-arm64', 'linux-arm', 'linux-musl-x64', 'linux-musl-arm64',
              'osx-x64', 'osx-arm64', 'win-x64', 'win-x86', 'win-arm64'

function Invoke-Native {
    # Runs a native command and stops the build when it fails. Plain $args, so '-o' and friends pass through untouched.
    $FilePath, $Arguments = $args
    $Arguments = @($Arguments | ForEach-Object { $_ })
    Write-Host "> $FilePath $($Arguments -join ' ')" -ForegroundColor DarkGray
    & $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Get-PwshCommand {
    # The command line that starts this same PowerShell: 'pwsh', or 'dotnet <pwsh.dll>' when run as a .NET tool.
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { return @($process, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($process)
}

function Invoke-ChildPwsh {
    # Runs a script in a child pwsh: a loaded binary module locks its DLL, so tests never load it into the build session.
    param([Parameter(Mandatory)][string] $Script, [string[]] $Arguments = @())
    $pwsh = @(Get-PwshCommand)
    $exe = $pwsh[0]
    $prefix = @($pwsh | Select-Object -Skip 1)
    Invoke-Native $exe @prefix -NoLogo -NoProfile -NonInteractive -File $Script @Arguments
}

function Get-NuGetPackagesFolder {
    $line = & dotnet nuget locals global-packages --list
    if ($LASTEXITCODE -ne 0) { throw 'dotnet nuget locals failed.' }
    return ($line -replace '^global-packages:\s*', '').Trim()
}

function Invoke-Build {
    $publish = Join-Path $Out 'publish'
    if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }
    Invoke-Native dotnet publish (Join-Path $Root 'src/QueueCtl.PowerShell/QueueCtl.PowerShell.csproj') -c $Configuration -o $publish --nologo

    if (Test-Path $ModuleDir) { Remove-Item $ModuleDir -Recurse -Force }
    $null = New-Item -ItemType Directory $ModuleDir
    Get-ChildItem $publish -Filter '*.dll' | Copy-Item -Destination $ModuleDir
    foreach ($rid in $NativeRids) {
        $native = Join-Path $publish "runtimes/$rid/native"
        if (-not (Test-Path $native)) { throw "The SQLite package has no native library for $rid." }
        $target = Join-Path $ModuleDir "runtimes/$rid/native"
        $null = New-Item -ItemType Directory $target -Force
        Copy-Item (Join-Path $native '*') $target
    }
    Copy-Item (Join-Path $Root 'QueueCtl.psd1') $ModuleDir
    $moduleFiles = Join-Path $Root 'src/QueueCtl.PowerShell/Module'
    if (Test-Path $moduleFiles) { Copy-Item (Join-Path $moduleFiles '*') $ModuleDir -Recurse }
    foreach ($file in 'LICENSE', 'README.md', 'CHANGELOG.md') {
        if (Test-Path (Join-Path $Root $file)) { Copy-Item (Join-Path $Root $file) $ModuleDir }
    }
    Invoke-ChildPwsh (Join-Path $Root 'build/New-ModuleHelp.ps1') @('-ModulePath', $ModuleDir,
        '-HelpSource', (Join-Path $Root 'docs/help'), '-XmlDocumentation', (Join-Path $publish 'QueueCtl.PowerShell.xml'))
    Remove-Item $publish -Recurse -Force
    Write-Host "Staged module: $ModuleDir" -ForegroundColor Green
}

function Invoke-Package {
    if (Test-Path $PackageDir) { Remove-Item $PackageDir -Recurse -Force }
    $null = New-Item -ItemType Directory $PackageDir
    Invoke-ChildPwsh (Join-Path $Root 'build/New-ModulePackage.ps1') @('-ModulePath', $ModuleDir, '-Destination', $PackageDir)
}

function Invoke-WithPostgres([scriptblock] $Work, [string[]] $ListenAddress = $PostgresListenAddress) {
    # Runs $Work with a PostgreSQL server for its child processes to find in their environment: QUEUECTL_TEST_POSTGRES,
    # PGPASSWORD, and QUEUECTL_TEST_POSTGRES_INFO (what Restart-TestPostgres needs). A server already named there is
    # used as it is; otherwise a throwaway one is started and stopped.
    $postgres = Resolve-TestPostgres -ExtraListenAddress $ListenAddress
    $saved = @{ QUEUECTL_TEST_POSTGRES = $env:QUEUECTL_TEST_POSTGRES; PGPASSWORD = $env:PGPASSWORD
                QUEUECTL_TEST_POSTGRES_INFO = $env:QUEUECTL_TEST_POSTGRES_INFO }
    if ($postgres) {
        $env:QUEUECTL_TEST_POSTGRES = $postgres.Uri
        $env:PGPASSWORD = $postgres.Password
        $env:QUEUECTL_TEST_POSTGRES_INFO = $postgres.InfoFile
    }
    try {
        & $Work
    } finally {
        if ($postgres) {
            Stop-TestPostgres $postgres
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
    }
}

function Invoke-Test {
    # The multi-host tests need hosts whose addresses the server listens on: so only with a server started here, and
    # the hosts come up before it.
    $testHosts = $null
    if ($env:QUEUECTL_TEST_POSTGRES) {
        if (-not $env:QUEUECTL_TEST_HOSTS) { Write-Warning 'QUEUECTL_TEST_POSTGRES names your own server: the multi-host tests are SKIPPED (set QUEUECTL_TEST_HOSTS when it listens on the TestHosts.sh addresses).' }
    } else {
        $testHosts = Enter-TestHosts -Count 2
    }
    $savedHosts = $env:QUEUECTL_TEST_HOSTS
    try {
        if ($testHosts) { $env:QUEUECTL_TEST_HOSTS = "$($testHosts.Count)" }
        Invoke-TestWork -ListenAddress (@($PostgresListenAddress) + @(if ($testHosts) { $testHosts.Addresses }))
    } finally {
        $env:QUEUECTL_TEST_HOSTS = $savedHosts
        Exit-TestHosts $testHosts
    }
}

function Invoke-TestWork([string[]] $ListenAddress) {
    Invoke-WithPostgres -ListenAddress $ListenAddress {
        Invoke-Native dotnet test (Join-Path $Root 'QueueCtl.sln') -c $Configuration --nologo
        Invoke-Native dotnet restore (Join-Path $Root 'tests/Tools/Tools.csproj') --nologo
        $pester = Join-Path (Get-NuGetPackagesFolder) 'pester/5.7.1/tools/Pester.psd1'
        $arguments = @('-ModulePath', $ModuleDir, '-PackagePath', $PackageDir, '-PesterPath', $pester)
        if ($Tag) { $arguments += @('-Tag', ($Tag -join ',')) }
        Invoke-ChildPwsh (Join-Path $Root 'tests/Invoke-PesterTests.ps1') $arguments
    }
}

function Invoke-Bench {
    Invoke-WithPostgres { Invoke-ChildPwsh (Join-Path $Root 'bench/Invoke-Benchmark.ps1') (@('-ModulePath', $ModuleDir) + $BenchArgs) }
}

function Invoke-Postgres {
    $postgres = Start-TestPostgres -ExtraListenAddress $PostgresListenAddress
    try {
        Write-Host 'Point the tests at this server from another shell (the password file is mode 0600 and goes away with the server):'
        Write-Host "  export QUEUECTL_TEST_POSTGRES='$($postgres.Uri)'"
        Write-Host "  export PGPASSWORD=`"`$(cat '$($postgres.PasswordFile)')`""
        $null = Read-Host 'Press Enter to stop the server'
    } finally {
        Stop-TestPostgres $postgres
    }
}

function Invoke-Demo {
    Invoke-ChildPwsh (Join-Path $Root 'demo/Demo.ps1') @('-ModulePath', $ModuleDir)
}

function Invoke-Clean {
    if (Test-Path $Out) { Remove-Item $Out -Recurse -Force }
    Get-ChildItem $Root -Directory -Recurse -Include bin, obj |
        Where-Object FullName -NotMatch '[\\/]\.git[\\/]' |
        Remove-Item -Recurse -Force
}

foreach ($step in $Task) {
    Write-Host "=== $step ===" -ForegroundColor Cyan
    switch ($step) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Build; Invoke-Package; Invoke-Test }
        'Demo' { Invoke-Build; Invoke-Demo }
        'Package' { Invoke-Build; Invoke-Package }
        'Bench' { Invoke-Build; Invoke-Bench }
        'Clean' { Invoke-Clean }
        'Postgres' { Invoke-Postgres }
    }
}
