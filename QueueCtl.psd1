@{
    RootModule             = 'QueueCtl.PowerShell.dll'
    NestedModules          = @('QueueCtl.Cli.psm1')
    ModuleVersion          = '0.1.0'
    GUID                   = '3ff85fbc-1409-452a-ad90-e59d8b8c9357'
    Author                 = 'QueueCtl contributors'
    CompanyName            = 'QueueCtl'
    Copyright              = '(c) 2026 QueueCtl contributors. MIT License.'
    Description            = 'A durable background job queue for PowerShell: SQLite-backed, with detached crash-safe workers, retries with exponential backoff, and a dead letter queue.'
    CompatiblePSEditions   = @('Core')
    PowerShellVersion      = '7.4'
    FormatsToProcess       = @('QueueCtl.Format.ps1xml')
    TypesToProcess         = @('QueueCtl.Types.ps1xml')
    CmdletsToExport        = @(
        'New-QueueJob'
        'Get-QueueJob'
        'Remove-QueueJob'
        'Invoke-QueueDlqRetry'
        'Get-QueueStatus'
        'Get-QueueConfig'
        'Set-QueueConfig'
        'Test-Queue'
        'Backup-Queue'
        'Start-QueueWorker'
        'Get-QueueWorker'
        'Stop-QueueWorker'
        'Stop-QueueJob'
        'Receive-QueueJob'
        'Wait-QueueJob'
        'Get-Queue'
        'Suspend-Queue'
        'Resume-Queue'
    )
    FunctionsToExport      = @('queuectl')
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('queue', 'jobs', 'background', 'worker', 'sqlite', 'retry', 'dlq', 'PSEdition_Core', 'Linux', 'MacOS', 'Windows')
            ProjectUri   = 'https://github.com/queuectl/QueueCtl'
            LicenseUri   = 'https://github.com/queuectl/QueueCtl/blob/main/LICENSE'
            ReleaseNotes = 'See CHANGELOG.md.'
        }
    }
}
