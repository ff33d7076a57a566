BeforeAll { . $PSScriptRoot/TestHelpers.ps1 }

Describe 'Named queues and priorities' {
    BeforeEach { $db = New-TestQueue }
    AfterEach {
        Get-QueueWorker -State Starting, Running, Stopping -ErrorAction SilentlyContinue | Stop-QueueWorker -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'stores the queue (in lower case) and the priority of a job, from parameters and from JSON' {
        $job = New-QueueJob 'true' -Queue Reports -Priority 7
        $job.Queue | Should -Be 'reports'
        $job.Priority | Should -Be 7
        (Get-QueueJob $job.Id).Queue | Should -Be 'reports'
        $plain = New-QueueJob 'true'
        ($plain.Queue, $plain.Priority) | Should -Be @('default', 0)
        $fromJson = New-QueueJob -Json '{"id":"j1","command":"true","queue":"nightly","priority":-20}'
        ($fromJson.Queue, $fromJson.Priority) | Should -Be @('nightly', -20)
        (Get-QueueJob j1 | Format-List | Out-String) | Should -Match 'Queue\s+: nightly'
    }

    It 'refuses a bad queue name with InvalidQueueName and a priority out of range, and stores nothing for them' {
        New-QueueJob 'true' -Queue 'two words' -ErrorVariable bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidQueueName*'
        $bad[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $bad[0].Exception.Message | Should -Match "'two words' is not a queue name"
        { New-QueueJob 'true' -Priority 101 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        New-QueueJob -Json '{"command":"true","priority":1.5}' -ErrorVariable json -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $json[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobSpec*'
        $json[0].Exception.Message | Should -Match 'Priority must be a whole number from -100 to 100'
        @(Get-QueueJob).Count | Should -Be 0
    }

    It 'filters jobs by queue, and carries queue and priority when jobs move to another queue database' {
        New-QueueJob 'true' -Id a -Queue reports -Priority 3 | Out-Null
        New-QueueJob 'true' -Id b | Out-Null
        New-QueueJob 'true' -Id c -Queue REPORTS | Out-Null
        (Get-QueueJob -Queue reports).Id | Should -Be @('a', 'c')
        (Get-QueueJob -Queue default, reports).Id | Should -Be @('a', 'b', 'c')
        Get-QueueJob -Queue 'bad name' -ErrorVariable bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidQueueName*'
        $other = New-TestQueueAddress $db 'moved'
        Get-QueueJob -Queue reports | New-QueueJob -Database $other | Out-Null
        $moved = Get-QueueJob -Database $other
        $moved | ForEach-Object { "$($_.Id):$($_.Queue):$($_.Priority)" } | Should -Be @('a:reports:3', 'c:reports:0')
    }

    It 'runs the highest priority first, then the oldest' {
        New-QueueJob 'true' -Id low -Priority -1 | Out-Null
        New-QueueJob 'true' -Id plain | Out-Null
        New-QueueJob 'true' -Id high -Priority 10 | Out-Null
        New-QueueJob 'true' -Id mid -Priority 5 | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty -Concurrency 1 -InformationAction SilentlyContinue
        (Get-QueueJob | Sort-Object StartedAt).Id | Should -Be @('high', 'mid', 'plain', 'low')
    }

    It 'a worker started with -Queue runs only those queues, and -UntilEmpty ends when they are drained' {
        New-QueueJob 'true' -Id d1 | Out-Null
        New-QueueJob 'true' -Id r1 -Queue reports | Out-Null
        New-QueueJob 'true' -Id u1 -Queue urgent | Out-Null
        Start-QueueWorker -Foreground -UntilEmpty -Queue Reports, urgent -InformationAction SilentlyContinue
        (Get-QueueJob r1, u1).State | Should -Be @('Completed', 'Completed')
        (Get-QueueJob d1).State | Should -Be 'Pending'
    }

    It 'a detached worker serves only its queues and says so in its log' {
        $worker = Start-QueueWorker -Queue reports
        $r = New-QueueJob 'true' -Queue reports
        $d = New-QueueJob 'true'
        ($r | Wait-QueueJob -Timeout 60).State | Should -Be 'Completed'
        Wait-Until { (Get-Content $worker.LogPath -Raw) -match 'queues reports of ' } -Because 'the worker to log its queues'
        (Get-QueueJob $d.Id).State | Should -Be 'Pending'
        { Start-QueueWorker -Queue 'no good' } | Should -Throw -ErrorId 'InvalidQueueName*'
        @(Get-QueueWorker).Count | Should -Be 1
    }

    It 'completes queue names that hold waiting jobs, and the default queue' {
        New-QueueJob 'true' -Queue reports | Out-Null
        New-QueueJob 'true' -Queue rebuild | Out-Null
        $line = 'New-QueueJob true -Queue re'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('rebuild', 'reports')
        $line = 'Start-QueueWorker -Queue '
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('default', 'rebuild', 'reports')
    }

    It 'queuectl takes queue and priority in JSON and lists by queue' {
        queuectl enqueue '{"id":"q1","command":"true","queue":"reports","priority":5}' | Out-Null
        queuectl enqueue '{"id":"q2","command":"true"}' | Out-Null
        $LASTEXITCODE | Should -Be 0
        $lines = queuectl list --queue reports
        $lines | Should -HaveCount 1
        $lines | Should -Match '^q1\tpending'
        (Get-QueueJob q1).Priority | Should -Be 5
    }
}

Describe 'Pausing and resuming queues' {
    BeforeEach { $db = New-TestQueue }
    AfterEach {
        Get-QueueWorker -State Starting, Running, Stopping -ErrorAction SilentlyContinue | Stop-QueueWorker -Force -ErrorAction SilentlyContinue
        Remove-TestQueue $db
    }

    It 'a paused queue keeps its jobs pending while other queues run, and runs them once resumed' {
        Suspend-Queue Reports
        $held = New-QueueJob 'true' -Queue reports -Priority 50
        Start-QueueWorker -Count 1 -Concurrency 2 | Out-Null
        $others = 1..3 | ForEach-Object { New-QueueJob 'true' }
        ($others | Wait-QueueJob -Timeout 60).State | Should -Be (@('Completed') * 3)
        (Get-QueueJob $held.Id).State | Should -Be 'Pending'
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Resume-Queue reports
        ($held | Wait-QueueJob -Timeout 60).State | Should -Be 'Completed'
        Write-Host "Resumed job completed $([int]$watch.ElapsedMilliseconds) ms after Resume-Queue."
    }

    It 'shows queues with their state and counts, pauses from the pipeline once per queue, and honours -WhatIf' {
        1..3 | ForEach-Object { New-QueueJob 'true' -Queue reports } | Out-Null
        New-QueueJob 'true' -Queue ops | Out-Null
        Get-QueueJob -Queue reports | Suspend-Queue -WhatIf
        (Get-Queue reports).IsPaused | Should -BeFalse
        $paused = @(Get-QueueJob -Queue reports | Suspend-Queue -PassThru)
        $paused.Count | Should -Be 1
        $paused[0].PSObject.TypeNames[0] | Should -Be 'QueueCtl.NamedQueue'
        $queues = Get-Queue
        $queues.Name | Should -Be @('default', 'ops', 'reports')
        ($queues | Where-Object Name -eq reports).IsPaused | Should -BeTrue
        ($queues | Where-Object Name -eq reports).Pending | Should -Be 3
        (Get-Queue 're*').Name | Should -Be 'reports'
        (Get-Queue nothing-yet).Pending | Should -Be 0
        $text = Get-Queue | Out-String -Width 120
        $text | Should -Match 'reports\s+Paused\s+3\s+0\s+0'
        $text | Should -Match 'ops\s+Active\s+1\s+0\s+0'
        Get-Queue | Where-Object IsPaused | Resume-Queue
        (Get-Queue reports).IsPaused | Should -BeFalse
        Suspend-Queue 'bad name' -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidQueueName*'
    }

    It 'queuectl lists, pauses and resumes queues' {
        New-QueueJob 'true' -Queue reports | Out-Null
        queuectl queue pause reports ops | Should -Be @('Queue reports is paused', 'Queue ops is paused')
        $LASTEXITCODE | Should -Be 0
        queuectl queue list | Should -Be @("default`tactive`t0`t0`t0", "ops`tpaused`t0`t0`t0", "reports`tpaused`t1`t0`t0")
        queuectl queue resume reports | Should -Be 'Queue reports is active'
        queuectl queue pause 2>$null
        $LASTEXITCODE | Should -Be 2
    }
}

Describe 'Tags' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'tags jobs from parameters, JSON and piped objects, finds them by any tag, and shows them in the list view' {
        New-QueueJob 'true' -Id a -Tag customer-42, nightly | Out-Null
        New-QueueJob -Json '{"id":"b","command":"true","tags":["weekly"]}' | Out-Null
        [pscustomobject]@{ Id = 'c'; Command = 'true'; Tags = 'Nightly' } | New-QueueJob | Out-Null
        New-QueueJob 'true' -Id d | Out-Null
        (Get-QueueJob -Tag NIGHTLY).Id | Should -Be @('a', 'c')
        (Get-QueueJob -Tag weekly, customer-42).Id | Should -Be @('a', 'b')
        (Get-QueueJob a).Tags | Should -Be @('customer-42', 'nightly')
        (Get-QueueJob a | Format-List | Out-String) | Should -Match 'Tags\s+: customer-42, nightly'
        $line = 'Get-QueueJob -Tag cus'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'customer-42'
        New-QueueJob 'true' -Tag ' padded' -ErrorVariable bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobSpec*'
        $other = New-TestQueueAddress $db 'tagged'
        Get-QueueJob -Tag nightly | New-QueueJob -Database $other | Out-Null
        (Get-QueueJob -Database $other -Tag nightly).Id | Should -Be @('a', 'c')
    }
}
