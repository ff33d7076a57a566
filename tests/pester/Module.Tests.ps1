BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

# NoQueue: uses no test queue (nothing differs per driver), so only the SQLite pass runs it.
Describe 'The staged module' -Tag NoQueue {
    It 'has a valid manifest' {
        $manifest = Test-ModuleManifest $script:ModuleManifest
        $manifest.Name | Should -Be 'QueueCtl'
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.Guid | Should -Not -Be ([guid]::Empty)
        $manifest.PrivateData.PSData.Tags | Should -Contain 'PSEdition_Core'
    }

    It 'exports exactly the cmdlets its manifest lists' {
        $listed = (Import-PowerShellDataFile $script:ModuleManifest).CmdletsToExport | Sort-Object
        $exported = (Get-Module QueueCtl).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be $listed
    }

    It 'stamps the manifest version into its assemblies' {
        $version = (Import-PowerShellDataFile $script:ModuleManifest).ModuleVersion
        $dll = Join-Path $env:QUEUECTL_TEST_MODULE 'QueueCtl.PowerShell.dll'
        [Reflection.AssemblyName]::GetAssemblyName($dll).Version.ToString(3) | Should -Be $version
    }

    It 'loads its native SQLite library in a fresh session from the module folder alone' {
        $folder = Join-Path ([IO.Path]::GetTempPath()) "queuectl-native-$([guid]::NewGuid().ToString('n'))"
        try {
            $out = Invoke-ChildPwsh "Set-Location '$([IO.Path]::GetTempPath())'; (New-QueueJob 'echo hi' -Database '$folder/q.db').State"
            $LASTEXITCODE | Should -Be 0
            $out | Should -Be 'Pending'
        }
        finally { Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'ships only its own assemblies, never PowerShell''s' {
        $dlls = Get-ChildItem $env:QUEUECTL_TEST_MODULE -Filter *.dll | ForEach-Object Name
        $dlls | Should -Not -Contain 'System.Management.Automation.dll'
        $dlls | Where-Object { $_ -like 'Microsoft.PowerShell*' } | Should -BeNullOrEmpty
    }
}
