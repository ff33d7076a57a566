BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

Describe 'Get-QueueConfig and Set-QueueConfig' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'lists every setting with its default' {
        $all = Get-QueueConfig
        $all.Name | Should -Contain 'max-retries'
        $all.Name | Should -Contain 'backoff-base'
        ($all | Where-Object Name -EQ 'job-timeout').Value | Should -Be ([TimeSpan]::FromSeconds(300))
        ($all | Where-Object IsDefault -EQ $false) | Should -BeNullOrEmpty
    }

    It 'sets values by named parameter' {
        Set-QueueConfig -MaxRetries 5 -BackoffBase 3 -JobTimeout 90
        (Get-QueueConfig max-retries).Value | Should -Be 5
        (Get-QueueConfig backoff-base).Value | Should -Be 3
        (Get-QueueConfig job-timeout).Value | Should -Be ([TimeSpan]::FromSeconds(90))
    }

    It 'sets values by -Name and -Value, as the original CLI named them' {
        Set-QueueConfig -Name max-retries -Value 4
        Set-QueueConfig backoff-max 00:10:00
        (Get-QueueConfig max-retries).Value | Should -Be 4
        (Get-QueueConfig backoff-max).Value | Should -Be ([TimeSpan]::FromMinutes(10))
    }

    It 'returns a setting to its default' {
        Set-QueueConfig -MaxRetries 9
        Set-QueueConfig -Name max-retries -Default
        (Get-QueueConfig max-retries).IsDefault | Should -BeTrue
    }

    It 'matches names with wildcards' { (Get-QueueConfig 'backoff-*').Name | Should -Be @('backoff-base', 'backoff-max') }

    It 'refuses <Value> for <Name> with InvalidConfigValue, changing nothing' -TestCases @(
        @{ Name = 'max-retries'; Value = '-1' }
        @{ Name = 'max-retries'; Value = 'lots' }
        @{ Name = 'backoff-base'; Value = '0' }
        @{ Name = 'job-timeout'; Value = '-5' }
    ) {
        { Set-QueueConfig -Name $Name -Value $Value -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfigValue,QueueCtl.PowerShell.Commands.SetQueueConfigCommand'
        (Get-QueueConfig $Name).IsDefault | Should -BeTrue
    }

    It 'refuses an unknown name with UnknownConfigName' {
        { Set-QueueConfig -Name retries -Value 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnknownConfigName,QueueCtl.PowerShell.Commands.SetQueueConfigCommand'
        { Get-QueueConfig retries -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnknownConfigName,QueueCtl.PowerShell.Commands.GetQueueConfigCommand'
    }

    It 'writes none of several changes when one is invalid' {
        { Set-QueueConfig -MaxRetries 2 -BackoffBase 0.1 -ErrorAction Stop } | Should -Throw
        (Get-QueueConfig max-retries).IsDefault | Should -BeTrue
    }

    It 'changes nothing with -WhatIf' {
        Set-QueueConfig -MaxRetries 8 -WhatIf
        (Get-QueueConfig max-retries).IsDefault | Should -BeTrue
    }

    It 'asks for at least one setting' {
        { Set-QueueConfig -ErrorAction Stop } | Should -Throw -ErrorId 'NoSettingGiven,QueueCtl.PowerShell.Commands.SetQueueConfigCommand'
    }
}
