BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    $nupkg = Get-ChildItem $env:QUEUECTL_TEST_PACKAGE -Filter 'QueueCtl.*.nupkg' | Select-Object -First 1
    $version = (Import-PowerShellDataFile $script:ModuleManifest).ModuleVersion

    function Read-Entry($Archive, [string] $Name) {
        $entry = $Archive.GetEntry($Name)
        if (-not $entry) { return $null }
        $stream = $entry.Open(); $memory = [IO.MemoryStream]::new()
        try { $stream.CopyTo($memory); , $memory.ToArray() } finally { $stream.Dispose() }
    }

    function Invoke-IsolatedPwsh([string] $HomePath, [string] $Script) {
        # A fresh pwsh whose user folders (modules, repositories) live in $HomePath: a clean machine for installs.
        # .NET reports a user folder that does not exist as '', and PSResourceGet would then write to the current directory.
        foreach ($folder in '.local/share', '.config', '.cache') { $null = New-Item -ItemType Directory (Join-Path $HomePath $folder) -Force }
        $pwsh = @(Get-PwshCommand)
        $info = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        $info.WorkingDirectory = $HomePath
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand',
                [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes("`$ErrorActionPreference = 'Stop'; $Script")))) { $info.ArgumentList.Add($a) }
        $info.Environment['HOME'] = $HomePath
        $info.Environment['XDG_DATA_HOME'] = Join-Path $HomePath '.local/share'
        $info.Environment['XDG_CONFIG_HOME'] = Join-Path $HomePath '.config'
        $info.Environment['XDG_CACHE_HOME'] = Join-Path $HomePath '.cache'
        $info.Environment['PSModulePath'] = ''
        $info.Environment.Remove('QUEUECTL_DATABASE') | Out-Null
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true; $info.UseShellExecute = $false
        $process = [Diagnostics.Process]::Start($info)
        $stdout = $process.StandardOutput.ReadToEndAsync(); $stderr = $process.StandardError.ReadToEndAsync()
        $process.WaitForExit()
        [pscustomobject]@{ ExitCode = $process.ExitCode; Output = $stdout.Result; Errors = $stderr.Result }
    }
}

# NoQueue: uses no test queue (nothing differs per driver), so only the SQLite pass runs it.
Describe 'The Gallery package' -Tag Package, NoQueue {
    It 'is a .nupkg named for the manifest version' {
        $nupkg | Should -Not -BeNullOrEmpty
        $nupkg.Name | Should -Be "QueueCtl.$version.nupkg"
    }

    It 'stays small and holds no PowerShell assemblies and no duplicates' {
        $nupkg.Length | Should -BeLessThan 12MB
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($nupkg.FullName)
        try {
            $names = $zip.Entries.FullName
            $names | Where-Object { $_ -match '(^|/)(System\.Management\.Automation|Microsoft\.PowerShell\.[^/]+)\.dll$' } | Should -BeNullOrEmpty
            $dlls = $names | Where-Object { $_ -like '*.dll' -and $_ -notlike 'runtimes/*' } | ForEach-Object { Split-Path $_ -Leaf }
            ($dlls | Group-Object | Where-Object Count -GT 1) | Should -BeNullOrEmpty
            foreach ($required in 'QueueCtl.psd1', 'QueueCtl.PowerShell.dll', 'QueueCtl.Format.ps1xml', 'QueueCtl.Types.ps1xml',
                'en-US/QueueCtl.PowerShell.dll-Help.xml', 'en-US/about_QueueCtl.help.txt', 'bin/queuectl', 'bin/queuectl.cmd') {
                $names | Should -Contain $required
            }
        }
        finally { $zip.Dispose() }
    }

    It 'carries a native SQLite built for <Rid>' -TestCases @(
        @{ Rid = 'linux-x64'; File = 'libe_sqlite3.so'; Format = 'ELF'; Machine = 0x3E }
        @{ Rid = 'linux-arm64'; File = 'libe_sqlite3.so'; Format = 'ELF'; Machine = 0xB7 }
        @{ Rid = 'linux-arm'; File = 'libe_sqlite3.so'; Format = 'ELF'; Machine = 0x28 }
        @{ Rid = 'linux-musl-x64'; File = 'libe_sqlite3.so'; Format = 'ELF'; Machine = 0x3E }
        @{ Rid = 'linux-musl-arm64'; File = 'libe_sqlite3.so'; Format = 'ELF'; Machine = 0xB7 }
        @{ Rid = 'osx-x64'; File = 'libe_sqlite3.dylib'; Format = 'MachO'; Machine = 0x01000007 }
        @{ Rid = 'osx-arm64'; File = 'libe_sqlite3.dylib'; Format = 'MachO'; Machine = 0x0100000C }
        @{ Rid = 'win-x64'; File = 'e_sqlite3.dll'; Format = 'PE'; Machine = 0x8664 }
        @{ Rid = 'win-x86'; File = 'e_sqlite3.dll'; Format = 'PE'; Machine = 0x014C }
        @{ Rid = 'win-arm64'; File = 'e_sqlite3.dll'; Format = 'PE'; Machine = 0xAA64 }
    ) {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($nupkg.FullName)
        try { $bytes = Read-Entry $zip "runtimes/$Rid/native/$File" } finally { $zip.Dispose() }
        $bytes.Length | Should -BeGreaterThan 100000
        switch ($Format) {
            'ELF' {
                [Text.Encoding]::ASCII.GetString($bytes, 1, 3) | Should -Be 'ELF'
                [BitConverter]::ToUInt16($bytes, 18) | Should -Be $Machine
            }
            'MachO' {
                [BitConverter]::ToUInt32($bytes, 0) | Should -Be 0xFEEDFACFu
                [BitConverter]::ToInt32($bytes, 4) | Should -Be $Machine
            }
            'PE' {
                [Text.Encoding]::ASCII.GetString($bytes, 0, 2) | Should -Be 'MZ'
                $pe = [BitConverter]::ToInt32($bytes, 0x3C)
                [Text.Encoding]::ASCII.GetString($bytes, $pe, 4) | Should -Be "PE`0`0"
                [BitConverter]::ToUInt16($bytes, $pe + 4) | Should -Be $Machine
            }
        }
    }

    Context 'installed as from the Gallery' {
        BeforeAll {
            $sandbox = Join-Path ([IO.Path]::GetTempPath()) "queuectl-install-$([guid]::NewGuid().ToString('n'))"
            $repo = Join-Path $sandbox 'repo'
            $null = New-Item -ItemType Directory $repo, (Join-Path $sandbox 'home') -Force
            Copy-Item $nupkg.FullName $repo
            $endToEnd = @'
$db = Join-Path ([IO.Path]::GetTempPath()) "queuectl-installed-$PID/queue.db"
$job = New-QueueJob 'echo installed' -Id e2e -Database $db
Start-QueueWorker -Foreground -UntilEmpty -Database $db
"STATE=" + (Get-QueueJob e2e -Database $db).State
"OUTPUT=" + (Receive-QueueJob e2e -Database $db)
"MODULE=" + (Get-Module QueueCtl).ModuleBase
"EXAMPLES=" + @((Get-Help New-QueueJob).Examples.Example).Count
Remove-Item (Split-Path $db) -Recurse -Force
'@
        }
        AfterAll { Remove-Item $sandbox -Recurse -Force -ErrorAction SilentlyContinue }

        It 'installs with Install-PSResource into a clean module path and runs a job in a fresh session' {
            $home1 = Join-Path $sandbox 'home1'
            $install = Invoke-IsolatedPwsh $home1 @"
Register-PSResourceRepository -Name QueueCtlTest -Uri '$repo' -Trusted
Install-PSResource QueueCtl -Repository QueueCtlTest -Scope CurrentUser -TrustRepository
(Get-InstalledPSResource QueueCtl).InstalledLocation
"@
            $install.ExitCode | Should -Be 0 -Because $install.Errors
            # PSResourceGet names the folder from a local repository in lower case (PowerShell/PSResourceGet#1446),
            # which a case-sensitive file system will not resolve by module name: import by the installed manifest.
            $manifest = Get-ChildItem (Join-Path $home1 '.local/share/powershell/Modules') -Recurse -Filter QueueCtl.psd1 | Select-Object -First 1
            $manifest | Should -Not -BeNullOrEmpty
            $run = Invoke-IsolatedPwsh $home1 "Import-Module '$($manifest.FullName)'; $endToEnd"
            $run.ExitCode | Should -Be 0 -Because $run.Errors
            $run.Output | Should -Match 'STATE=Completed'
            $run.Output | Should -Match 'OUTPUT=installed'
            $run.Output | Should -Match "MODULE=$([regex]::Escape($home1))"
            $run.Output | Should -Match 'EXAMPLES=[2-9]'
        }

        It 'installs with Install-Module into a clean module path and imports by name in a fresh session' {
            $home2 = Join-Path $sandbox 'home2'
            $install = Invoke-IsolatedPwsh $home2 @"
Register-PSRepository -Name QueueCtlTest -SourceLocation '$repo' -InstallationPolicy Trusted
Install-Module QueueCtl -Repository QueueCtlTest -Scope CurrentUser -RequiredVersion $version -WarningAction SilentlyContinue
"@
            $install.ExitCode | Should -Be 0 -Because $install.Errors
            $run = Invoke-IsolatedPwsh $home2 "Import-Module QueueCtl; $endToEnd; if (-not `$IsWindows) { 'LAUNCHER=' + ((Get-Item (Join-Path (Get-Module QueueCtl).ModuleBase 'bin/queuectl')).UnixMode) }"
            $run.ExitCode | Should -Be 0 -Because $run.Errors
            $run.Output | Should -Match 'STATE=Completed'
            $run.Output | Should -Match 'OUTPUT=installed'
            $run.Output | Should -Match "MODULE=$([regex]::Escape($home2))"
            if (-not $IsWindows) { $run.Output | Should -Match 'LAUNCHER=-rwx' }
        }
    }
}
