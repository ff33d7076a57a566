<#
.SYNOPSIS
    A throwaway PostgreSQL server for the tests: Start-TestPostgres, Stop-TestPostgres, Restart-TestPostgres,
    Resolve-TestPostgres.
.DESCRIPTION
    Dot-source this file. The server runs from a temporary folder (data, Unix socket, log, password file) on a free
    port of 127.0.0.1, with scram-sha-256 password auth and a random password per run. It runs as the current user,
    or as the Debian package's 'postgres' user when the current user is root (PostgreSQL refuses to run as root).
    Debian's postgresql package is installed with apt-get when no server programs are found and root (or sudo -n)
    is available. The password is never put on a command line: initdb reads it from a 0600 file and psql from
    PGPASSWORD in its own environment.
#>

$script:TestPostgresUser = 'queuectl'
$script:TestPostgresDatabase = 'queuectl_test'

function Start-TestPostgres {
    <#
    .SYNOPSIS
        Starts a fresh PostgreSQL server and returns it (Uri, Port, Password, PasswordFile, DataFolder, Folder,
        InfoFile, Stop()). Throws, saying why, when no server can be had. InfoFile is a JSON file of what
        Restart-TestPostgres needs (no secrets), for tests in other processes.
    .PARAMETER ExtraListenAddress
        Interface addresses with their prefix, e.g. 10.231.1.1/30: the server also listens on each address and admits
        clients (password-checked) from its network. The addresses must exist before the server starts.
    #>
    [CmdletBinding()]
    param([string[]] $ExtraListenAddress = @())

    foreach ($cidr in $ExtraListenAddress) {
        if ($cidr -notmatch '^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$') {
            throw "Extra listen address '$cidr' is not an IPv4 interface address with its prefix, like 10.231.1.1/30."
        }
    }
    $bin = Find-PostgresBin
    if (-not $bin) {
        Install-PostgresPackage
        $bin = Find-PostgresBin
        if (-not $bin) { throw 'The postgresql package was installed, but no initdb was found under /usr/lib/postgresql.' }
    }
    $runAs = Get-PostgresServerUser

    $folder = Join-Path ([IO.Path]::GetTempPath()) "queuectl-pg-$([guid]::NewGuid().ToString('n').Substring(0, 12))"
    $null = [IO.Directory]::CreateDirectory($folder, [IO.UnixFileMode] 'UserRead, UserWrite, UserExecute')
    $server = [pscustomobject] @{
        Uri          = $null
        Port         = 0
        Password     = [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(24)).ToLowerInvariant()
        PasswordFile = Join-Path $folder 'password'
        DataFolder   = Join-Path $folder 'data'
        Folder       = $folder
        BinFolder    = $bin
        RunAs        = $runAs
        LogFile      = Join-Path $folder 'server.log'
        InfoFile     = Join-Path $folder 'server.json'
        Watchdog     = $null
    }
    # The password stays out of the default view (and so out of logs that print the object).
    $view = [Management.Automation.PSPropertySet]::new('DefaultDisplayPropertySet', [string[]] @('Uri', 'Port', 'DataFolder'))
    $server | Add-Member -MemberType MemberSet -Name PSStandardMembers -Value ([Management.Automation.PSMemberInfo[]] @($view))
    $server | Add-Member -MemberType ScriptMethod -Name Stop -Value { Stop-TestPostgres -Server $this }

    try {
        $null = New-Item -ItemType Directory (Join-Path $folder 'socket')
        Write-SecretFile -Path $server.PasswordFile -Content $server.Password
        if ($runAs) { $null = Invoke-PostgresTool chown -Arguments @('-R', "$runAs`:", $folder) }

        $null = Invoke-PostgresTool (Join-Path $bin 'initdb') -RunAs $runAs -WorkingDirectory $folder -Arguments @(
            '-D', $server.DataFolder, '-U', $script:TestPostgresUser, "--pwfile=$($server.PasswordFile)",
            '--auth-host=scram-sha-256', '--auth-local=scram-sha-256', '--encoding=UTF8', '--no-locale',
            # A throwaway cluster: skipping initdb's final fsync saves seconds; the server itself keeps fsync on.
            '--no-sync', '--no-instructions')
        Write-PostgresSettings -Server $server -ExtraListenAddress $ExtraListenAddress
        $server.Watchdog = Start-PostgresWatchdog -Server $server
        Start-PostgresOnFreePort -Server $server
        $server.Uri = "postgres://$($script:TestPostgresUser)@127.0.0.1:$($server.Port)/$($script:TestPostgresDatabase)"

        # The server skips a listen address it cannot bind (one not on this machine yet) with a mere log line.
        foreach ($address in @('127.0.0.1') + @($ExtraListenAddress | ForEach-Object { ($_ -split '/')[0] })) {
            try { $answer = Invoke-Psql -Server $server -HostAddress $address -Database postgres -Sql 'SELECT 1' }
            catch {
                $hint = if ($address -ne '127.0.0.1') { ' (an extra listen address must exist before the server starts)' } else { '' }
                throw "The PostgreSQL self-check 'SELECT 1' over TCP to $address failed$hint`: $($_.Exception.Message)"
            }
            if ($answer -ne '1') { throw "The PostgreSQL self-check 'SELECT 1' over TCP to $address answered '$answer', not '1'." }
        }
        $null = Invoke-Psql -Server $server -Database postgres -Sql "CREATE DATABASE $($script:TestPostgresDatabase)"
        $server | Select-Object Port, DataFolder, Folder, BinFolder, RunAs, LogFile | ConvertTo-Json | Set-Content $server.InfoFile
    } catch {
        Stop-TestPostgres -Server $server
        throw
    }
    Write-Host "PostgreSQL for tests: $($server.Uri) (data in $($server.DataFolder))" -ForegroundColor Green
    return $server
}

function Stop-TestPostgres {
    # Stops the server (fast shutdown: running sessions are ended) and removes its temporary folder.
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)] $Server)

    # Never throws: it runs in finally blocks, where a throw would hide why the tests failed.
    foreach ($mode in 'fast', 'immediate') {
        if (-not (Test-Path (Join-Path $Server.DataFolder 'postmaster.pid'))) { break }
        try {
            $null = Invoke-PostgresTool (Join-Path $Server.BinFolder 'pg_ctl') -RunAs $Server.RunAs -WorkingDirectory $Server.Folder -Arguments @(
                'stop', '-D', $Server.DataFolder, '-m', $mode, '-w', '-t', '60')
        } catch {
            Write-Warning "Stopping the test PostgreSQL ($mode) failed: $($_.Exception.Message)"
        }
    }
    if (Test-Path (Join-Path $Server.DataFolder 'postmaster.pid')) {
        Write-Warning "The test PostgreSQL in $($Server.DataFolder) may still be running; its folder is left in place."
        return
    }
    Remove-Item $Server.Folder -Recurse -Force -ErrorAction SilentlyContinue
    if (Test-Path $Server.Folder) { Write-Warning "Could not remove the test PostgreSQL folder $($Server.Folder)." }
    if ($Server.Watchdog) {
        $Server.Watchdog.StandardInput.Close()
        $null = $Server.Watchdog.WaitForExit(10000)
    }
}

function Restart-TestPostgres {
    <#
    .SYNOPSIS
        Restarts the server (fast shutdown: running sessions are ended) on the same port and waits until it accepts
        connections again. Server is a Start-TestPostgres result or its InfoFile read back (ConvertFrom-Json).
    .PARAMETER DownSeconds
        Keeps the server stopped this long before starting it again: an outage of a known length.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)] $Server, [double] $DownSeconds = 0)

    $pgCtl = Join-Path $Server.BinFolder 'pg_ctl'
    # -l: without a log file the server would write to pg_ctl's output, which is read to its end.
    $start = @('-D', $Server.DataFolder, '-l', $Server.LogFile, '-o', "-p $($Server.Port)", '-w', '-t', '60')
    if ($DownSeconds -le 0) {
        $null = Invoke-PostgresTool $pgCtl -RunAs $Server.RunAs -WorkingDirectory $Server.Folder -Arguments (@('restart', '-m', 'fast') + $start)
        return
    }
    $null = Invoke-PostgresTool $pgCtl -RunAs $Server.RunAs -WorkingDirectory $Server.Folder -Arguments @(
        'stop', '-D', $Server.DataFolder, '-m', 'fast', '-w', '-t', '60')
    Start-Sleep -Milliseconds ([int] ($DownSeconds * 1000))
    $null = Invoke-PostgresTool $pgCtl -RunAs $Server.RunAs -WorkingDirectory $Server.Folder -Arguments (@('start') + $start)
}

function Resolve-TestPostgres {
    <#
    .SYNOPSIS
        The server a test run uses. Returns $null when QUEUECTL_TEST_POSTGRES is already set (the developer's own
        server: nothing is started) or when no server can be had: then a loud warning says PostgreSQL tests are
        skipped, except under CI=true, where it throws. Otherwise starts a server and returns it; stop it afterwards.
    #>
    [CmdletBinding()]
    param([string[]] $ExtraListenAddress = @())

    if ($env:QUEUECTL_TEST_POSTGRES) {
        # A password someone put in the URI is not echoed.
        $shown = $env:QUEUECTL_TEST_POSTGRES -replace '://([^:@/]*):[^@/]*@', '://$1:***@'
        Write-Host "PostgreSQL tests use QUEUECTL_TEST_POSTGRES=$shown (nothing started)." -ForegroundColor Green
        return $null
    }
    try {
        return Start-TestPostgres -ExtraListenAddress $ExtraListenAddress
    } catch {
        $why = $_.Exception.Message
        if ($env:CI -eq 'true') { throw "No PostgreSQL server for the tests, and CI=true makes that a failure: $why" }
        $line = '!' * 100
        Write-Host $line -ForegroundColor Red
        Write-Host "WARNING: no PostgreSQL server for the tests: $why" -ForegroundColor Yellow
        Write-Host 'WARNING: every PostgreSQL test will be SKIPPED. Set QUEUECTL_TEST_POSTGRES (and PGPASSWORD) to use your own server.' -ForegroundColor Yellow
        Write-Host $line -ForegroundColor Red
        return $null
    }
}

function Find-PostgresBin {
    # The newest /usr/lib/postgresql/<version>/bin (Debian), else the folder of an initdb on PATH; $null when none.
    $versions = @(Get-ChildItem '/usr/lib/postgresql' -Directory -ErrorAction SilentlyContinue |
        Where-Object { $_.Name -match '^\d+(\.\d+)?$' -and (Test-Path (Join-Path $_.FullName 'bin/initdb')) } |
        Sort-Object { [decimal] $_.Name } -Descending)
    if ($versions) { return Join-Path $versions[0].FullName 'bin' }
    $initdb = Get-Command initdb -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($initdb) { return Split-Path $initdb.Source }
    return $null
}

function Install-PostgresPackage {
    # apt-get install postgresql, as root or through a password-less sudo. Throws saying why it could not.
    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        throw 'PostgreSQL is not installed and this machine has no apt-get to install it with.'
    }
    $prefix = @()
    if (-not (Test-IsRoot)) {
        $canSudo = $false
        if (Get-Command sudo -ErrorAction SilentlyContinue) { & sudo -n true 2>$null; $canSudo = $LASTEXITCODE -eq 0 }
        if (-not $canSudo) { throw 'PostgreSQL is not installed, and installing it needs root or a password-less sudo (sudo -n).' }
        $prefix = @('sudo', '-n')
    }
    Write-Host 'PostgreSQL is not installed: installing Debian''s postgresql package.' -ForegroundColor Cyan
    $apt = @($prefix) + @('env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get')
    foreach ($arguments in @('update'), @('install', '-y', '--no-install-recommends', 'postgresql')) {
        $exe, $rest = @($apt + $arguments)
        & $exe @rest | Out-Host
        if ($LASTEXITCODE -ne 0) { throw "Installing PostgreSQL failed: '$exe $($rest -join ' ')' exited with $LASTEXITCODE." }
    }
    # The package's postinst may have started its own cluster (where no systemd stops it); only our server is wanted.
    if (Get-Command pg_lsclusters -ErrorAction SilentlyContinue) {
        foreach ($cluster in @(& pg_lsclusters --no-header 2>$null)) {
            $version, $name, $null, $status = -split $cluster
            if ($status -like 'online*') {
                $exe, $rest = @($prefix) + @('pg_ctlcluster', $version, $name, 'stop')
                & $exe @rest | Out-Host
                if ($LASTEXITCODE -ne 0) { Write-Warning "Could not stop the package's cluster $version/$name." }
            }
        }
    }
}

function Get-PostgresServerUser {
    # $null: run as the current user. As root, the 'postgres' user the Debian package creates.
    if (-not (Test-IsRoot)) { return $null }
    $null = & getent passwd postgres
    if ($LASTEXITCODE -ne 0) { throw 'Running as root, but there is no ''postgres'' user to run the PostgreSQL server as (PostgreSQL refuses root).' }
    return 'postgres'
}

function Test-IsRoot { return (& id -u) -eq '0' }

function Write-SecretFile {
    # Created 0600 in one step, so the secret is never readable by others, not even briefly.
    param([string] $Path, [string] $Content)
    $options = [IO.FileStreamOptions] @{ Mode = 'CreateNew'; Access = 'Write'; UnixCreateMode = [IO.UnixFileMode] 'UserRead, UserWrite' }
    $writer = [IO.StreamWriter]::new($Path, [Text.UTF8Encoding]::new($false), $options)
    try { $writer.Write($Content) } finally { $writer.Dispose() }
}

function Write-PostgresSettings {
    param($Server, [string[]] $ExtraListenAddress)
    $addresses = @('127.0.0.1') + @($ExtraListenAddress | ForEach-Object { ($_ -split '/')[0] })
    $socket = Join-Path $Server.Folder 'socket'
    $settings = @(
        '', '# QueueCtl test server (build/TestPostgres.ps1)'
        "listen_addresses = '$($addresses -join ',')'"
        "unix_socket_directories = '$socket'"
        'max_connections = 200'
        'password_encryption = scram-sha-256'
        # Stated, not assumed: the tests exercise crash safety with PostgreSQL's default durability.
        'fsync = on'
        'synchronous_commit = on'
    )
    Add-Content -Path (Join-Path $Server.DataFolder 'postgresql.conf') -Value $settings
    foreach ($cidr in $ExtraListenAddress) {
        $address, $prefix = $cidr -split '/'
        Add-Content -Path (Join-Path $Server.DataFolder 'pg_hba.conf') -Value "host all all $(Get-NetworkAddress $address $prefix)/$prefix scram-sha-256"
    }
}

function Get-NetworkAddress([string] $Address, [int] $Prefix) {
    $bytes = [Net.IPAddress]::Parse($Address).GetAddressBytes()
    [Array]::Reverse($bytes)
    $mask = if ($Prefix -eq 0) { [uint32] 0 } else { [uint32]::MaxValue -shl (32 - $Prefix) }
    $network = [BitConverter]::GetBytes([BitConverter]::ToUInt32($bytes, 0) -band $mask)
    [Array]::Reverse($network)
    return [Net.IPAddress]::new($network).ToString()
}

function Start-PostgresWatchdog {
    <#
    .SYNOPSIS
        Starts a process that stops the server and removes its folder once this process is gone, however it ended
        (killed, or its session cut off, where no finally runs). The watchdog waits for end-of-file on a pipe only this
        process holds; in a session of its own, so a Ctrl+C on the terminal leaves it to the finally that stops the
        server first.
    #>
    param($Server)
    $stop = @(Get-RunAsPrefix $Server.RunAs) + @((Join-Path $Server.BinFolder 'pg_ctl'), 'stop', '-D', $Server.DataFolder, '-m', 'fast', '-w', '-t', '60')
    $script = 'exec >/dev/null 2>&1; cat; folder=$1; shift; "$@"; rm -rf "$folder"'
    $command = @('sh', '-c', $script, 'sh', $Server.Folder) + $stop
    if (Get-Command setsid -CommandType Application -ErrorAction SilentlyContinue) { $command = @('setsid') + $command }
    $info = [Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($argument in @($command | Select-Object -Skip 1)) { $info.ArgumentList.Add($argument) }
    $info.UseShellExecute = $false
    $info.RedirectStandardInput = $true
    $info.WorkingDirectory = '/'
    return [Diagnostics.Process]::Start($info)
}

function Get-RunAsPrefix([string] $User) {
    if ($User) { return @('runuser', '-u', $User, '--') }
    return @()
}

function Start-PostgresOnFreePort {
    # A free port can be taken by someone else before the server binds it, so a failed start tries another port.
    param($Server)
    $pgCtl = Join-Path $Server.BinFolder 'pg_ctl'
    for ($attempt = 1; ; $attempt++) {
        $Server.Port = Get-FreeTcpPort
        try {
            $null = Invoke-PostgresTool $pgCtl -RunAs $Server.RunAs -WorkingDirectory $Server.Folder -Arguments @(
                'start', '-D', $Server.DataFolder, '-l', $Server.LogFile, '-o', "-p $($Server.Port)", '-w', '-t', '60')
            return
        } catch {
            $log = if (Test-Path $Server.LogFile) { (Get-Content $Server.LogFile -Tail 20) -join "`n" } else { '' }
            if ($attempt -ge 3 -or $log -notmatch 'could not (bind|create listen socket)') {
                throw "PostgreSQL did not start: $($_.Exception.Message)`n$log"
            }
        }
    }
}

function Get-FreeTcpPort {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { return $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Invoke-Psql {
    # psql over TCP with the password in its own environment (never on its command line); returns its output.
    param($Server, [string] $Database, [string] $Sql, [string] $HostAddress = '127.0.0.1')
    Invoke-PostgresTool (Join-Path $Server.BinFolder 'psql') -Environment @{ PGPASSWORD = $Server.Password; PGCONNECT_TIMEOUT = '10' } -Arguments @(
        '-h', $HostAddress, '-p', $Server.Port, '-U', $script:TestPostgresUser, '-d', $Database,
        '-X', '-w', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', $Sql)
}

function Invoke-PostgresTool {
    <#
    .SYNOPSIS
        Runs a program (as another user when RunAs is given) and returns its trimmed output; throws with that output
        when it fails.
    #>
    param(
        [Parameter(Mandatory, Position = 0)][string] $FilePath,
        [string[]] $Arguments = @(),
        [string] $RunAs,
        [string] $WorkingDirectory,
        [hashtable] $Environment = @{}
    )
    $command = @(Get-RunAsPrefix $RunAs) + @($FilePath) + $Arguments
    $info = [Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($argument in @($command | Select-Object -Skip 1)) { $info.ArgumentList.Add($argument) }
    foreach ($name in $Environment.Keys) { $info.Environment[$name] = $Environment[$name] }
    if ($WorkingDirectory) { $info.WorkingDirectory = $WorkingDirectory }
    $info.UseShellExecute = $false
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $process = [Diagnostics.Process]::Start($info)
    $stderr = $process.StandardError.ReadToEndAsync()
    $stdout = $process.StandardOutput.ReadToEnd()
    $process.WaitForExit()
    $output = ($stdout + $stderr.Result).Trim()
    if ($process.ExitCode -ne 0) {
        $what = (@(Split-Path $FilePath -Leaf) + @($Arguments | Select-Object -First 1 | Where-Object { $_ -notlike '-*' })) -join ' '
        throw "'$what' failed with exit code $($process.ExitCode): $output"
    }
    return $stdout.Trim()
}
