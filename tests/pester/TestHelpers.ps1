# Shared by every Pester file: dot-source it in BeforeAll.
$script:ModuleManifest = Join-Path $env:QUEUECTL_TEST_MODULE 'QueueCtl.psd1'
Import-Module $script:ModuleManifest -Force

. $PSScriptRoot/TestPostgres.ps1

# The engine the queues of this run live on: SQLite (queue files) or PostgreSQL (a fresh schema per queue on the test
# server). tests/Invoke-PesterTests.ps1 runs the suite once per driver; tests that are about SQLite files carry the
# tag SqliteOnly and are left out of the PostgreSQL pass.
$script:TestDriver = if ($env:QUEUECTL_TEST_DRIVER) { $env:QUEUECTL_TEST_DRIVER } else { 'SQLite' }
if ($script:TestDriver -notin 'SQLite', 'PostgreSQL') { throw "QUEUECTL_TEST_DRIVER is '$($script:TestDriver)': use SQLite or PostgreSQL." }
if ($script:TestDriver -eq 'PostgreSQL') {
    # The module's own Npgsql (loaded on first use otherwise), for Remove-TestQueue's DROP SCHEMA.
    Add-Type -Path (Join-Path $env:QUEUECTL_TEST_MODULE 'Npgsql.dll')
}
$script:TestFolderPrefix = 'queuectl-pester-'

function Test-PostgresDriver { return $script:TestDriver -eq 'PostgreSQL' }

function New-TestQueue {
    <#
    A fresh queue, the default for every QueueCtl cmdlet in this test, and a fresh folder for the test's own files
    (Get-TestFolder). On SQLite the queue is queue.db in that folder; on PostgreSQL it is the schema t_<id> on the
    test server, where <id> also names the folder.
    #>
    $id = [guid]::NewGuid().ToString('n')
    $folder = Join-Path ([IO.Path]::GetTempPath()) "$script:TestFolderPrefix$id"
    $null = New-Item -ItemType Directory $folder
    $address = if (Test-PostgresDriver) { New-TestPostgresSchemaAddress -Schema "t_$id" } else { Join-Path $folder 'queue.db' }
    $env:QUEUECTL_DATABASE = $address
    return $address
}

function Get-TestFolder([Parameter(Mandatory)][string] $Database) {
    # The folder New-TestQueue made for the queue $Database, for the test's own files (logs, pid files, CSV ...).
    if ($Database -match '[?&]schema=t_([0-9a-f]{32})(&|$)') { return Join-Path ([IO.Path]::GetTempPath()) "$script:TestFolderPrefix$($Matches[1])" }
    return Split-Path $Database
}

function New-TestQueueAddress([Parameter(Mandatory)][string] $Database, [Parameter(Mandatory)][ValidatePattern('^[a-z0-9]{1,20}$')][string] $Name) {
    # Another queue beside the test's queue $Database (not made the default): <Name>.db in its folder on SQLite, the
    # schema t_<id>_<Name> on PostgreSQL. Remove-TestQueue $Database removes it too.
    if ($Database -match '[?&]schema=(t_[0-9a-f]{32})(&|$)') { return New-TestPostgresSchemaAddress -Schema "$($Matches[1])_$Name" }
    return Join-Path (Split-Path $Database) "$Name.db"
}

function Get-TestWorkerFolder([Parameter(Mandatory)][string] $Database) {
    # Where workers of the queue $Database keep their logs and process lists: <name>.workers beside an SQLite file;
    # for a PostgreSQL queue, servers/<hash of host:port/db/schema>.workers in this user's QueueCtl data folder.
    if ($Database -notmatch '^postgres(ql)?://') {
        return Join-Path (Split-Path $Database) "$([IO.Path]::GetFileNameWithoutExtension($Database)).workers"
    }
    $uri = [Uri] $Database
    $schema = if ($uri.Query -match '[?&]schema=([^&]+)') { $Matches[1] } else { 'queuectl' }
    $port = if ($uri.Port -gt 0) { $uri.Port } else { 5432 }
    $identity = "$($uri.Host):$port/$([Uri]::UnescapeDataString($uri.AbsolutePath.TrimStart('/')))/$schema"
    $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($identity))).Substring(0, 16).ToLowerInvariant()
    $data = if ($IsWindows) { Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'QueueCtl' }
    elseif ($IsMacOS) { Join-Path $HOME 'Library/Application Support/QueueCtl' }
    elseif ($env:XDG_DATA_HOME -and [IO.Path]::IsPathRooted($env:XDG_DATA_HOME)) { Join-Path $env:XDG_DATA_HOME 'queuectl' }
    else { Join-Path $HOME '.local/share/queuectl' }
    return Join-Path $data "servers/$hash.workers"
}

function Invoke-QueueSql([Parameter(Mandatory)][string] $Database, [Parameter(Mandatory)][string] $Sql) {
    # Another tool writing the queue's tables directly, no QueueCtl code: a plain SQLite connection to the file, or a
    # PostgreSQL connection with the queue's schema as its search path.
    if ($Database -match '[?&]schema=([A-Za-z_][A-Za-z0-9_]*)') {
        $null = Invoke-TestPostgresSql "SET search_path TO `"$($Matches[1])`"; $Sql"
        return
    }
    Add-Type -Path (Join-Path $env:QUEUECTL_TEST_MODULE 'Microsoft.Data.Sqlite.dll')
    $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$Database;Pooling=False")
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Sql
        $null = $command.ExecuteNonQuery()
    }
    finally { $connection.Dispose() }
}

function Remove-TestQueue([string] $Path) {
    if (-not $Path) { return }
    if ($Path -match '[?&]schema=(t_[0-9a-f]{32})(&|$)') {
        # The queue's schema and those of New-TestQueueAddress. A worker still connected could block the drop: wait
        # for it a little, then leave the schema behind (the server is thrown away after the run) with a warning.
        $prefix = $Matches[1]
        try {
            $schemas = @(Invoke-TestPostgresSql "SELECT nspname FROM pg_namespace WHERE nspname = @p OR nspname LIKE @p || '\_%'" @{ p = $prefix })
            foreach ($schema in $schemas) {
                # Worker files of a queue on a server live in this user's data folder, not in the test folder.
                Remove-Item (Get-TestWorkerFolder (New-TestPostgresSchemaAddress -Schema $schema)) -Recurse -Force -ErrorAction SilentlyContinue
                $null = Invoke-TestPostgresSql "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS `"$schema`" CASCADE"
            }
        } catch {
            Write-Warning "Could not drop the test schema(s) $prefix*: $($_.Exception.Message)"
        }
    }
    Remove-Item (Get-TestFolder $Path) -Recurse -Force -ErrorAction SilentlyContinue
}

function Get-PwshCommand {
    # The command that starts this same PowerShell in a new process.
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { return @($process, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($process)
}

function Invoke-ChildPwsh {
    # Runs a script in a new pwsh that imported the module under test; returns its output lines.
    param([Parameter(Mandatory)][string] $Script)
    $pwsh = @(Get-PwshCommand)
    $full = "`$ErrorActionPreference = 'Stop'; Import-Module '$script:ModuleManifest'; $Script"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($full))
    $exe = $pwsh[0]; $rest = @($pwsh | Select-Object -Skip 1)
    & $exe @rest -NoLogo -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded
}

function Start-ChildPwsh {
    # Starts a script in a new pwsh (module imported) and returns the Process without waiting.
    param([Parameter(Mandatory)][string] $Script, [string] $LogPath)
    $pwsh = @(Get-PwshCommand)
    $full = "`$ErrorActionPreference = 'Stop'; Import-Module '$script:ModuleManifest'; $Script"
    $info = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
    foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand',
            [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($full)))) { $info.ArgumentList.Add($a) }
    $info.UseShellExecute = $false
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $process = [Diagnostics.Process]::Start($info)
    return $process
}

function Wait-Until {
    # Polls a condition (only where no event exists to wait on), failing after a deadline.
    param([Parameter(Mandatory)][scriptblock] $Condition, [int] $TimeoutSeconds = 30, [string] $Because = 'the condition')
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSeconds s waiting for $Because." }
        Start-Sleep -Milliseconds 50
    }
}
