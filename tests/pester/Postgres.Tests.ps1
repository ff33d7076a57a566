BeforeDiscovery {
    . $PSScriptRoot/TestPostgres.ps1
    # Runs once, in the first (SQLite) pass of the suite: these tests make their own PostgreSQL queues.
    $script:SkipPostgres = (Test-SkipPostgresTests) -or $env:QUEUECTL_TEST_DRIVER -eq 'PostgreSQL'
}

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    . $PSScriptRoot/TestPostgres.ps1
    $script:Password = $env:PGPASSWORD

    function Get-CommandLines {
        # Every process's command line on this machine, as `ps` shows them to every user.
        Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$' | ForEach-Object {
            try { [IO.File]::ReadAllText("$($_.FullName)/cmdline").Replace([char]0, ' ') } catch { }
        }
    }
}

# What only a server queue has: credentials, addresses, moving jobs between engines.
# NoQueue: makes its own PostgreSQL queues, whatever the pass's driver; the PostgreSQL pass leaves it out.
Describe 'A PostgreSQL queue' -Tag NoQueue -Skip:$SkipPostgres {
    BeforeEach {
        $folder = Join-Path ([IO.Path]::GetTempPath()) "queuectl-pg-pester-$([guid]::NewGuid().ToString('n'))"
        $null = New-Item -ItemType Directory $folder
        $address = New-TestPostgresSchemaAddress
        $user = ([uri]($address -replace '^postgres', 'http')).UserInfo
    }
    AfterEach {
        $env:PGPASSWORD = $script:Password
        Get-QueueWorker -Database $address -ErrorAction SilentlyContinue | Where-Object IsAlive |
            Stop-QueueWorker -Database $address -Force -ErrorAction SilentlyContinue
        Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'takes jobs piped from an SQLite queue, with their commands, retries and due times' {
        $old = Join-Path $folder 'old.db'
        New-QueueJob 'echo one' -Id one -MaxRetries 5 -Database $old | Out-Null
        New-QueueJob 'echo two' -Id two -RunAt (Get-Date).AddHours(1) -Database $old | Out-Null
        New-QueueJob -ScriptBlock { 'three' } -Id three -Database $old | Out-Null

        $moved = Get-QueueJob -Database $old -State Pending | New-QueueJob -Database $address
        $moved.Id | Sort-Object | Should -Be @('one', 'three', 'two')
        $moved | ForEach-Object { $_.Database | Should -Be ($address -replace 'postgres://[^@]*@', "postgres://$user@") }
        (Get-QueueJob one -Database $address).MaxRetries | Should -Be 5
        (Get-QueueJob two -Database $address).RunAt | Should -BeGreaterThan (Get-Date).AddMinutes(50)
        (Get-QueueJob three -Database $address).Kind | Should -Be 'ScriptBlock'

        # Not due for an hour: it would keep -UntilEmpty waiting.
        Stop-QueueJob two -Database $address
        Start-QueueWorker -Foreground -UntilEmpty -Database $address
        Receive-QueueJob one -Database $address | Should -Be 'one'
        Receive-QueueJob three -Database $address | Should -Be 'three'
    }

    It 'starts a detached worker with -Credential, and the password reaches no command line, log or job' {
        $env:PGPASSWORD = $null
        $credential = [pscredential]::new($user, (ConvertTo-SecureString $script:Password -AsPlainText -Force))
        $leak = Join-Path $folder 'env.txt'
        New-QueueJob "env > '$leak'" -Id env -Database $address -Credential $credential | Out-Null
        $worker = Start-QueueWorker -Database $address -Credential $credential
        $job = Wait-QueueJob env -Database $address -Credential $credential -Timeout 60
        $job.State | Should -Be 'Completed'

        Get-CommandLines | Where-Object { $_ -like "*$($script:Password)*" } | Should -BeNullOrEmpty
        Get-Content $leak -Raw | Should -Not -Match ([regex]::Escape($script:Password))
        Get-Content $leak -Raw | Should -Not -Match 'QUEUECTL_CREDENTIAL'
        $log = (Get-QueueWorker $worker.Id -Database $address -Credential $credential).LogPath
        Get-Content $log -Raw | Should -Not -Match ([regex]::Escape($script:Password))
    }

    It 'keeps a password given in the address out of errors, views and the worker''s command line' {
        $secret = $address -replace '^postgres://([^@]*)@', "postgres://`$1:$($script:Password)@"
        $env:PGPASSWORD = $null
        New-QueueJob 'true' -Id p -Database $secret | Out-Null
        $status = Get-QueueStatus -Database $secret
        $status.Database | Should -Not -Match ([regex]::Escape($script:Password))
        ($status | Format-List | Out-String) | Should -Not -Match ([regex]::Escape($script:Password))
        (Get-QueueJob p -Database $secret).Database | Should -Not -Match ([regex]::Escape($script:Password))

        $worker = Start-QueueWorker -Database $secret
        (Wait-QueueJob p -Database $secret -Timeout 60).State | Should -Be 'Completed'
        Get-CommandLines | Where-Object { $_ -like "*$($script:Password)*" } | Should -BeNullOrEmpty

        $wrong = $address -replace '^postgres://([^@]*)@', 'postgres://$1:not-the-password@'
        $err = { Get-QueueStatus -Database $wrong -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Match '^DatabaseUnavailable,'
        $err.ToString() | Should -Not -Match 'not-the-password'
        "$($err.TargetObject)" | Should -Not -Match 'not-the-password'
    }

    It 'refuses Test-Queue and Backup-Queue clearly, naming the tools to use instead' {
        { Test-Queue -Database $address -ErrorAction Stop } | Should -Throw -ErrorId 'UnsupportedDatabaseAddress,QueueCtl.PowerShell.Commands.TestQueueCommand'
        { Backup-Queue (Join-Path $folder 'b.db') -Database $address -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnsupportedDatabaseAddress,QueueCtl.PowerShell.Commands.BackupQueueCommand'
        Test-Path (Join-Path $folder 'b.db') | Should -BeFalse
    }

    It 'reports an unreachable server as DatabaseUnavailable, quickly and without a stack trace' {
        $nowhere = 'postgres://nobody@127.0.0.1:1/none?connect_timeout=2'
        $err = { Get-QueueJob -Database $nowhere -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Match '^DatabaseUnavailable,'
        $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err.Exception.Message | Should -Not -Match '   at '
    }
}
