# Shared by every Pester file: dot-source it in BeforeAll.
$script:ModuleManifest = Join-Path $env:QUEUECTL_TEST_MODULE 'QueueCtl.psd1'
Import-Module $script:ModuleManifest -Force

function New-TestQueue {
    # A fresh queue file in its own folder; the default for every QueueCtl cmdlet in this test.
    $folder = Join-Path ([IO.Path]::GetTempPath()) "queuectl-pester-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory $folder
    $path = Join-Path $folder 'queue.db'
    $env:QUEUECTL_DATABASE = $path
    return $path
}

function Remove-TestQueue([string] $Path) {
    if ($Path) { Remove-Item (Split-Path $Path) -Recurse -Force -ErrorAction SilentlyContinue }
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
