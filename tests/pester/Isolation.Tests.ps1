# Script-block jobs run in script-host processes: each job starts from the same clean state, and a job that kills or
# hangs its host fails that run without harming the worker (issue 8, items 4 and 5).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $db = New-TestQueue
    Set-QueueConfig -BackoffMax 0
    $worker = Start-QueueWorker -Concurrency 1
    Wait-Until { (Get-QueueWorker $worker.Id).State -eq 'Running' } -Because 'the worker to start'
}
AfterAll {
    Stop-QueueWorker -All -Force -ErrorAction SilentlyContinue
    Remove-TestQueue $db
}

Describe 'Script-block isolation' {
    It 'starts every job from the same clean state, whatever the job before it changed' {
        New-QueueJob -Id before -ScriptBlock { [Environment]::CurrentDirectory } | Wait-QueueJob -Timeout 30 | Out-Null
        $dirty = New-QueueJob -Id dirty -ScriptBlock {
            $global:x = 'leaked'
            function global:Get-Leak { 'leaked' }
            Set-Alias Write-Output Write-Verbose -Scope Global
            $global:ErrorActionPreference = 'SilentlyContinue'
            $PSDefaultParameterValues['*:WhatIf'] = $true
            $env:QUEUECTL_LEAK = 'leaked'
            [Environment]::CurrentDirectory = [IO.Path]::GetTempPath()
        } | Wait-QueueJob -Timeout 30
        $dirty.State | Should -Be 'Completed'
        New-QueueJob -Id clean -ScriptBlock {
            "x=[$global:x] function=[$(Get-Command Get-Leak -ErrorAction Ignore)] alias=[$((Get-Alias Write-Output -ErrorAction Ignore).Definition)]"
            "eap=[$ErrorActionPreference] defaults=[$($PSDefaultParameterValues.Keys)] env=[$env:QUEUECTL_LEAK]"
            [Environment]::CurrentDirectory
        } | Wait-QueueJob -Timeout 30 | Out-Null
        $seen = Receive-QueueJob clean
        $seen[0] | Should -Be 'x=[] function=[] alias=[]'
        $seen[1] | Should -Be 'eap=[Continue] defaults=[] env=[]'
        $seen[2] | Should -Be (Receive-QueueJob before)
        (New-QueueJob -Id loud -ScriptBlock { Write-Error 'still an error' } -MaxRetries 0 | Wait-QueueJob -Timeout 30).State | Should -Be 'Dead'
        New-QueueJob -Id shell -Command 'echo "leak=[$QUEUECTL_LEAK]"' | Wait-QueueJob -Timeout 30 | Out-Null
        Receive-QueueJob shell | Should -Be 'leak=[]'
    }

    It 'does not let a type a job added reach the next job' {
        New-QueueJob -Id adds-type -ScriptBlock { Add-Type -TypeDefinition 'public static class QueueCtlIsolationProbe { public static int Value = 1; }' } |
            Wait-QueueJob -Timeout 60 | Select-Object -ExpandProperty State | Should -Be 'Completed'
        New-QueueJob -Id looks-for-type -ScriptBlock { "type=[$('QueueCtlIsolationProbe' -as [type])]" } | Wait-QueueJob -Timeout 30 | Out-Null
        Receive-QueueJob looks-for-type | Should -Be 'type=[]'
    }

    It 'fails a run that exits its host, takes the job to Dead with that reason, and keeps the worker serving' {
        $job = New-QueueJob -Id exits-host -ScriptBlock { [Environment]::Exit(3) } -MaxRetries 1 | Wait-QueueJob -Timeout 60
        $job.State | Should -Be 'Dead'
        $job.Attempts | Should -Be 2
        $job.LastError | Should -Match '^The script host \(process \d+\) exited with code 3 while running the job'
        (Get-QueueWorker $worker.Id).State | Should -Be 'Running'
        Get-Process -Id $worker.ProcessId -ErrorAction Ignore | Should -Not -BeNullOrEmpty
        (New-QueueJob -Id after-exit -ScriptBlock { 'served' } | Wait-QueueJob -Timeout 30).State | Should -Be 'Completed'
        Receive-QueueJob after-exit | Should -Be 'served'
    }

    It 'keeps what a job writes to the console out of the host protocol' {
        $job = New-QueueJob -Id console -MaxRetries 0 -ScriptBlock { [Console]::WriteLine('to the console'); [Console]::Out.Flush(); 'console-ok' } |
            Wait-QueueJob -Timeout 30
        $job.State | Should -Be 'Completed' -Because $job.LastError
        Receive-QueueJob console | Should -Be 'console-ok'
    }

    It 'notices a host that exits while a process it started still runs' {
        $pidFile = Join-Path (Get-TestFolder $db) 'started.pid'
        $job = New-QueueJob -Id exits-after-start -MaxRetries 0 -ArgumentList $pidFile -ScriptBlock {
            param($pidFile)
            Set-Content $pidFile (Start-Process /bin/sleep -ArgumentList 300 -PassThru).Id
            [Environment]::Exit(5)
        } | Wait-QueueJob -Timeout 30
        try {
            $job.State | Should -Be 'Dead'
            $job.LastError | Should -Match 'exited with code 5 while running the job'
        }
        finally {
            if (Test-Path $pidFile) { Stop-Process -Id (Get-Content $pidFile) -Force -ErrorAction Ignore }
        }
    }

    It 'stops what a script block left running when its run ends' -Skip:(-not $IsLinux) {
        $pidFile = Join-Path (Get-TestFolder $db) 'left.pids'
        $job = New-QueueJob -Id leaves-processes -MaxRetries 0 -ArgumentList $pidFile -ScriptBlock {
            param($pidFile)
            $started = (Start-Process /bin/sleep -ArgumentList 301 -PassThru).Id
            $daemon = /bin/sh -c 'setsid /bin/sleep 302 </dev/null >/dev/null 2>&1 & echo $!'
            Set-Content $pidFile $started, $daemon
            "token=[$([bool]$env:QUEUECTL_RUN_TOKEN)]"
        } | Wait-QueueJob -Timeout 30
        $left = Get-Content $pidFile
        try {
            $job.State | Should -Be 'Completed'
            Receive-QueueJob leaves-processes | Should -Be 'token=[True]'
            Wait-Until { -not (Get-Process -Id $left -ErrorAction Ignore) } -TimeoutSeconds 10 -Because 'the processes the run left to be stopped'
        }
        finally { Stop-Process -Id $left -Force -ErrorAction Ignore }
    }

    It 'kills a host stuck in a .NET call at the timeout, before the retry runs' {
        $pidFile = Join-Path (Get-TestFolder $db) 'stuck.pid'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $job = New-QueueJob -Id stuck -Timeout 2 -MaxRetries 1 -ArgumentList $pidFile -ScriptBlock {
            param($pidFile)
            if ($QueueJob.Attempt -eq 1) { Set-Content $pidFile $PID; [Threading.Thread]::Sleep(60000) }
            $first = [int](Get-Content $pidFile)
            "first host alive=[$([bool](Get-Process -Id $first -ErrorAction Ignore))] same=[$($first -eq $PID)]"
        } | Wait-QueueJob -Timeout 30
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 15
        $job.State | Should -Be 'Completed'
        $job.Attempts | Should -Be 2
        $job.Errors[0].Error | Should -Match '^Timed out after 2 s; the script did not stop within 2 s, so its script host \(process \d+\) was killed'
        Receive-QueueJob stuck | Should -Be 'first host alive=[False] same=[False]'
    }
}

Describe 'Script hosts per slot' {
    BeforeAll {
        $slotsDb = New-TestQueueAddress $db slots
        $slotsWorker = Start-QueueWorker -Database $slotsDb -Concurrency 3
    }
    AfterAll { Stop-QueueWorker -Database $slotsDb -All -Force -ErrorAction SilentlyContinue }

    It 'runs long script blocks side by side, each in a host of its own' {
        # Each job waits until all three have started: run one after another, they would never finish.
        $rendezvous = Join-Path (Get-TestFolder $db) 'rendezvous'
        $null = New-Item -ItemType Directory $rendezvous
        $jobs = 1..3 | ForEach-Object {
            New-QueueJob -Database $slotsDb -Id "side-$_" -Timeout 90 -MaxRetries 0 -ArgumentList $rendezvous -ScriptBlock {
                param($folder)
                Set-Content (Join-Path $folder $QueueJob.Id) $PID
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (@(Get-ChildItem $folder).Count -lt 3) {
                    if ([DateTime]::UtcNow -gt $deadline) { throw 'the other runs never started beside this one' }
                    Start-Sleep -Milliseconds 50
                }
                $PID
            }
        }
        $done = $jobs | Wait-QueueJob -Database $slotsDb -Timeout 90
        $done.State | Should -Be 'Completed', 'Completed', 'Completed'
        $hosts = 1..3 | ForEach-Object { Receive-QueueJob -Database $slotsDb "side-$_" }
        @($hosts | Sort-Object -Unique).Count | Should -Be 3
    }
}
