BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

# NoQueue: uses no test queue (nothing differs per driver), so only the SQLite pass runs it.
Describe 'Conventions across the cmdlets' -Tag NoQueue {
    BeforeAll { $cmdlets = Get-Command -Module QueueCtl -CommandType Cmdlet }

    It 'uses approved verbs and singular nouns' {
        $approved = (Get-Verb).Verb
        foreach ($c in $cmdlets) {
            $c.Verb | Should -BeIn $approved -Because $c.Name
            $c.Noun | Should -BeIn @('Queue', 'QueueJob', 'QueueWorker', 'QueueStatus', 'QueueConfig', 'QueueDlqRetry') -Because "$($c.Name) should have a singular noun"
        }
    }

    It 'supports -WhatIf and -Confirm on every cmdlet that changes data' {
        $changing = 'New-QueueJob', 'Remove-QueueJob', 'Invoke-QueueDlqRetry', 'Set-QueueConfig', 'Start-QueueWorker', 'Stop-QueueWorker', 'Stop-QueueJob', 'Backup-Queue', 'Test-Queue', 'Suspend-Queue', 'Resume-Queue'
        foreach ($name in $changing) {
            (Get-Command $name).Parameters.Keys | Should -Contain 'WhatIf' -Because $name
            (Get-Command $name).Parameters.Keys | Should -Contain 'Confirm' -Because $name
        }
    }

    It 'gives every cmdlet the -Database parameter, bound from piped objects by property name' {
        foreach ($c in $cmdlets) {
            $c.Parameters['Database'].Attributes.ValueFromPipelineByPropertyName | Should -Contain $true -Because $c.Name
        }
    }
}

Describe 'Objects, views and pipelines' {
    BeforeAll {
        $db = New-TestQueue
        Set-QueueConfig -BackoffMax 0
        New-QueueJob 'echo done' -Id done-job | Out-Null
        New-QueueJob 'echo "a rather long command that is shortened in the table view"; exit 5' -Id failing -MaxRetries 0 | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty
        New-QueueJob 'true' -Id waiting -Delay 600 | Out-Null
        New-QueueJob 'true' -Id waiting-too -Delay 600 | Out-Null
    }
    AfterAll { Remove-TestQueue $db }

    It 'shows jobs as a compact table with local times and shortened commands' {
        $text = Get-QueueJob | Format-Table | Out-String -Width 200
        $text | Should -Match 'Id\s+State\s+Attempts\s+Command\s+Updated\s+LastError'
        $text | Should -Match 'failing\s+Dead\s+1/1\s+echo "a rather long comman…'
        $updated = (Get-QueueJob done-job).UpdatedAt.ToLocalTime().ToString('MM-dd HH:mm:ss')
        $text | Should -Match ([regex]::Escape($updated))
        ($text -split "`n" | Where-Object { $_ -match '^done-job' }).Length | Should -BeLessOrEqual 80
    }

    It 'fits an 80-column console by leaving out LastError, rather than squeezing it' {
        $lines = (Get-QueueJob | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines[0] | Should -Match '^Id\s+State\s+Attempts\s+Command\s+Updated\s*$'
        $lines[1] | Should -Match '^--'
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }

    It 'shows everything about a job in the list view, including the error history' {
        $text = Get-QueueJob failing | Format-List | Out-String -Width 200
        foreach ($label in 'Id', 'Command', 'State', 'Attempts', 'Timeout', 'WorkingDirectory', 'StartedAt', 'FinishedAt', 'Duration', 'ExitCode', 'LastError', 'Errors', 'WorkerId', 'Database') {
            $text | Should -Match "(?m)^$label\s+:" -Because "the list view shows $label"
        }
        $text | Should -Match '#1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: Exited with code 5'
        (Get-QueueJob failing).Errors | Format-Table | Out-String | Should -Match 'Attempt\s+Run\s+At\s+ExitCode\s+Error'
    }

    It 'shows the status as a readable summary' {
        $text = Get-QueueStatus | Out-String
        $text | Should -Match 'Dead\s+: 1 \(in the DLQ: Get-QueueJob -State Dead\)'
        $text | Should -Match 'OldestPending\s+: waiting \d+\.\d s'
        $text | Should -Match 'Workers\s+: 0 alive'
    }

    It 'shows config with changed values marked' {
        $text = Get-QueueConfig | Out-String -Width 200
        $text | Should -Match 'backoff-max\s+\*0s\s+3600s'
        $text | Should -Match 'max-retries\s+3\s+3'
    }

    It 'gives jobs a Duration and shortcut methods' {
        $job = Get-QueueJob done-job
        $job.Duration | Should -BeOfType [TimeSpan]
        $job.Duration | Should -Be ($job.FinishedAt - $job.StartedAt)
        $job.Receive() | Should -Be 'done'
        $job.Wait().State | Should -Be 'Completed'
        $job.Refresh().Id | Should -Be 'done-job'
    }

    It 'pipes Get-QueueJob into Stop-QueueJob by property name' {
        Get-QueueJob waiting* | Stop-QueueJob
        (Get-QueueJob waiting, waiting-too).State | Should -Be @('Cancelled', 'Cancelled')
    }
}

Describe 'Tab completion' {
    BeforeAll {
        $db = New-TestQueue
        'build-one', 'build-two', 'test-one' | ForEach-Object { New-QueueJob 'true' -Id $_ } | Out-Null
        function Complete([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText }
    }
    AfterAll { Remove-TestQueue $db }

    It 'completes job ids from the queue' {
        Complete 'Get-QueueJob -Id build-' | Should -Be @('build-one', 'build-two')
        Complete 'Receive-QueueJob tes' | Should -Be 'test-one'
    }

    It 'completes job ids from the queue named by -Database' {
        $other = New-TestQueueAddress $db other
        New-QueueJob 'true' -Id elsewhere -Database $other | Out-Null
        Complete "Stop-QueueJob -Database '$other' -Id else" | Should -Be 'elsewhere'
    }

    It 'completes states from the enum' {
        Complete 'Get-QueueJob -State Pro' | Should -Be 'Processing'
    }

    It 'completes config names' {
        Complete 'Get-QueueConfig back' | Should -Be @('backoff-base', 'backoff-max')
        Complete 'Set-QueueConfig -Name job' | Should -Be 'job-timeout'
    }

    It 'completes worker ids' {
        $worker = Start-QueueWorker
        try {
            Complete "Stop-QueueWorker -Id $($worker.Id.Substring(0, 5))" | Should -Contain $worker.Id
        }
        finally { Stop-QueueWorker -All -Force }
    }
}

# NoQueue: uses no test queue (nothing differs per driver), so only the SQLite pass runs it.
Describe 'Help' -Tag NoQueue {
    BeforeAll { $cmdlets = Get-Command -Module QueueCtl -CommandType Cmdlet }

    It 'documents <_> with a synopsis, a description, two examples and related links' -ForEach @(
        (Import-PowerShellDataFile (Join-Path $env:QUEUECTL_TEST_MODULE 'QueueCtl.psd1')).CmdletsToExport
    ) {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '^\s*\w+-\w+ \[' -Because 'an auto-generated synopsis is just the syntax'
        ($help.Description.Text -join ' ') | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        @($help.relatedLinks.navigationLink).Count | Should -BeGreaterOrEqual 1
    }

    It 'describes every parameter of every cmdlet' {
        $common = [Management.Automation.Cmdlet]::CommonParameters + [Management.Automation.Cmdlet]::OptionalCommonParameters
        foreach ($c in $cmdlets) {
            $help = Get-Help $c.Name -Full
            $visible = $c.Parameters.Values | Where-Object { $_.Name -notin $common -and -not ($_.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] -and $_.DontShow }) }
            foreach ($p in $visible) {
                $entry = $help.parameters.parameter | Where-Object name -EQ $p.Name
                ($entry.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "$($c.Name) -$($p.Name) needs help"
            }
        }
    }

    It 'has an about_QueueCtl topic covering states, retries, the DLQ, workers, location and security' {
        $text = Get-Help about_QueueCtl | Out-String
        foreach ($heading in 'STATES', 'RETRIES AND BACKOFF', 'THE DEAD LETTER QUEUE', 'WORKERS', 'WHERE THE QUEUE LIVES', 'SECURITY') {
            $text | Should -Match $heading
        }
    }
}
