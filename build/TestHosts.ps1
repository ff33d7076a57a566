<#
.SYNOPSIS
    The network-namespace hosts of build/TestHosts.sh for a test run: Enter-TestHosts, Exit-TestHosts.
.DESCRIPTION
    Dot-source this file. The hosts are machine-wide (namespaces qc-h1, qc-h2, ...), so one test run at a time holds
    them, through an exclusive lock on a file; a run that cannot have them says why, loudly, and its multi-host tests
    skip (tests/pester/MultiHost.Tests.ps1 fails instead under CI=true).
#>

$script:TestHostsScript = Join-Path $PSScriptRoot 'TestHosts.sh'
$script:TestHostsLockPath = Join-Path ([IO.Path]::GetTempPath()) 'queuectl-testhosts.lock'

function Enter-TestHosts {
    <#
    .SYNOPSIS
        Creates hosts 1..Count and returns them (Count, Addresses: the root-side addresses a server for them must
        listen on, Lock), or $null with a warning when this machine or user cannot have them. Create them before
        the server starts; Exit-TestHosts removes them.
    #>
    [CmdletBinding()]
    param([int] $Count = 2)

    $why = Get-TestHostsProblem
    $lock = $null
    if (-not $why) {
        try {
            # FileShare.None is an exclusive flock on Unix: held until this process closes it or ends.
            $lock = [IO.File]::Open($script:TestHostsLockPath, 'OpenOrCreate', 'ReadWrite', 'None')
        } catch [IO.IOException] {
            $why = "another test run holds the test hosts (lock $($script:TestHostsLockPath))"
        }
    }
    if (-not $why) {
        try {
            # Holding the lock, any hosts still there were left by a run that was killed.
            Invoke-TestHostsScript down
            Invoke-TestHostsScript up $Count
            $addresses = @(Invoke-TestHostsScript addresses)
            Write-Host "Test hosts 1..$Count up; the test PostgreSQL also listens on $($addresses -join ', ')." -ForegroundColor Green
            return [pscustomobject] @{ Count = $Count; Addresses = $addresses; Lock = $lock }
        } catch {
            $why = $_.Exception.Message
            try { Invoke-TestHostsScript down } catch { Write-Warning "Removing the half-made test hosts failed: $($_.Exception.Message)" }
            $lock.Dispose()
        }
    }
    $line = '!' * 100
    Write-Host $line -ForegroundColor Red
    Write-Host "WARNING: no network-namespace test hosts: $why." -ForegroundColor Yellow
    Write-Host 'WARNING: the multi-host tests (tests/pester/MultiHost.Tests.ps1) will be SKIPPED (under CI=true they fail).' -ForegroundColor Yellow
    Write-Host $line -ForegroundColor Red
    return $null
}

function Exit-TestHosts {
    # Stops what runs inside the hosts, deletes them and releases the lock. Never throws (it runs in finally blocks).
    param($TestHosts)
    if (-not $TestHosts) { return }
    try { Invoke-TestHostsScript down } catch { Write-Warning "Removing the test hosts failed: $($_.Exception.Message)" }
    $TestHosts.Lock.Dispose()
}

function Get-TestHostsProblem {
    # Why this process cannot make hosts, or $null when it can.
    if (-not $IsLinux) { return 'network namespaces need Linux' }
    if ((& id -u) -ne '0') { return 'network namespaces need root' }
    foreach ($tool in 'ip', 'unshare', 'bash') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction SilentlyContinue)) { return "there is no '$tool' command" }
    }
    $null = & ip netns list 2>&1
    if ($LASTEXITCODE -ne 0) { return "'ip netns list' failed (exit code $LASTEXITCODE)" }
    return $null
}

function Invoke-TestHostsScript {
    # Runs build/TestHosts.sh with these arguments; returns its output lines, throws with them when it fails.
    $output = @(& bash $script:TestHostsScript @args 2>&1 | ForEach-Object { "$_" })
    if ($LASTEXITCODE -ne 0) { throw "'TestHosts.sh $($args -join ' ')' failed with exit code $LASTEXITCODE`: $($output -join ' ')" }
    return $output
}
