# Issue 8, items 11-17: what QueueCtl accepts as input, and what it shows.
BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    $script:Cmd = 'QueueCtl.PowerShell.Commands'
}

# About SQLite files: a foreign SQLite file's header bytes.
Describe 'A database QueueCtl did not create (item 11)' -Tag SqliteOnly {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'is refused with its header bytes 18-19 unchanged: nothing is switched to WAL first' {
        $other = Join-Path (Get-TestFolder $db) 'other.db'
        Invoke-QueueSql $other 'CREATE TABLE precious (x); INSERT INTO precious VALUES (1)'
        $before = [IO.File]::ReadAllBytes($other)
        '{0:x2}{1:x2}' -f $before[18], $before[19] | Should -Be '0101'

        { Get-QueueStatus -Database $other -ErrorAction Stop } |
            Should -Throw -ErrorId "DatabaseUnavailable,$Cmd.GetQueueStatusCommand"

        $after = [IO.File]::ReadAllBytes($other)
        '{0:x2}{1:x2}' -f $after[18], $after[19] | Should -Be '0101'
        [Convert]::ToBase64String($after) | Should -Be ([Convert]::ToBase64String($before))
    }
}

Describe 'Commands with NUL (item 12)' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'refuses a -Command with NUL as InvalidJobSpec and writes nothing' {
        { New-QueueJob -Command "echo safe`0rm -rf ~" -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
        Get-QueueJob | Should -BeNullOrEmpty
        (Get-QueueStatus).Total | Should -Be 0
    }

    It 'refuses JSON whose command holds \u0000 as InvalidJobSpec and writes nothing' {
        { New-QueueJob -Json '{"id":"j","command":"echo safe\u0000rm -rf ~"}' -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
        Get-QueueJob | Should -BeNullOrEmpty
    }

    It 'refuses a script block with NUL' {
        { New-QueueJob -ScriptBlock ([scriptblock]::Create("'a`0b'")) -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
        Get-QueueJob | Should -BeNullOrEmpty
    }
}

Describe 'Worker ids (item 13)' {
    BeforeEach { $db = New-TestQueue }
    AfterEach { Remove-TestQueue $db }

    It 'refuses -WorkerId <Id> with InvalidWorkerId, and writes no file outside the queue folder' -TestCases @(
        @{ Id = '../../escaped-{0}' }
        @{ Id = '../escaped-{0}' }
        @{ Id = '/tmp/escaped-{0}' }
    ) {
        $unique = [guid]::NewGuid().ToString('n')
        $workerId = $Id -f $unique
        $null = New-QueueJob 'echo hi'
        { Start-QueueWorker -Foreground -UntilEmpty -WorkerId $workerId -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidWorkerId,$Cmd.StartQueueWorkerCommand"
        $workers = Get-TestWorkerFolder $db
        foreach ($file in "$unique.jobs", "$unique.log") {
            Test-Path ([IO.Path]::GetFullPath((Join-Path $workers ($workerId -replace 'escaped-.*', "escaped-$file")))) | Should -BeFalse
            Get-ChildItem ([IO.Path]::GetTempPath()) -Filter "escaped-$file" -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        (Get-QueueJob).State | Should -Be 'Pending'
        Get-QueueWorker | Should -BeNullOrEmpty
    }
}

Describe 'Stored settings another tool wrote (item 14)' {
    BeforeEach { $db = New-TestQueue; $null = Get-QueueStatus }
    AfterEach { Remove-TestQueue $db }

    It 'reports a bad max-retries row as InvalidConfigValue naming the setting, and Set-QueueConfig repairs it' {
        Invoke-QueueSql $db "INSERT INTO config (name, value) VALUES ('max-retries', 'abc')"

        # Reading goes on: other cmdlets work (with a warning), Get-QueueConfig shows the bad value.
        (Get-QueueStatus -WarningAction SilentlyContinue).Total | Should -Be 0
        $null = Get-QueueStatus -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Match 'max-retries'
        $entry = Get-QueueConfig max-retries
        $entry.Value | Should -Be 'abc'
        $entry.Problem | Should -Match 'whole number'
        (Get-QueueConfig backoff-base).Problem | Should -BeNullOrEmpty
        (Get-QueueConfig | Format-Table | Out-String -Width 200) | Should -Match 'NOT VALID'

        # A job that would take the default is refused, naming the setting and the fix; one with -MaxRetries is not.
        $err = { New-QueueJob 'echo hi' -ErrorAction Stop } | Should -Throw -ErrorId "InvalidConfigValue,$Cmd.NewQueueJobCommand" -PassThru
        $err.Exception.Message | Should -Match "'max-retries'"
        $err.Exception.Message | Should -Match 'Set-QueueConfig -Name max-retries -Value'
        (New-QueueJob 'echo fine' -MaxRetries 1 -WarningAction SilentlyContinue).MaxRetries | Should -Be 1

        Set-QueueConfig -Name max-retries -Value 2
        (Get-QueueConfig max-retries).Problem | Should -BeNullOrEmpty
        (New-QueueJob 'echo hi').MaxRetries | Should -Be 2
    }

    It 'does not apply a stored synchronous=OFF' {
        Invoke-QueueSql $db "INSERT INTO config (name, value) VALUES ('synchronous', 'OFF')"
        $entry = Get-QueueConfig synchronous
        $entry.Problem | Should -Match 'FULL, NORMAL'
        Set-QueueConfig -Synchronous NORMAL
        (Get-QueueConfig synchronous).Value | Should -Be 'NORMAL'
        (Get-QueueConfig synchronous).Problem | Should -BeNullOrEmpty
    }
}

Describe 'Errors with ErrorIds instead of .NET exceptions (item 15)' {
    BeforeEach { $db = New-TestQueue; $null = New-QueueJob 'echo a' -Id 'a' }
    AfterEach { Remove-TestQueue $db }

    It 'refuses JSON timeout 1e300 as InvalidJobSpec' {
        { New-QueueJob -Json '{"command":"echo","timeout":1e300}' -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
    }

    It 'refuses -Delay [timespan]::MaxValue and -Timeout [timespan]::MaxValue as InvalidJobSpec' {
        { New-QueueJob 'echo' -Delay ([timespan]::MaxValue) -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
        { New-QueueJob 'echo' -Timeout ([timespan]::MaxValue) -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
        (Get-QueueJob).Id | Should -Be 'a'
    }

    It 'applies one set of retry limits to JSON and parameters: 1e3 is 1000, 5000 and 1001 are refused' {
        (New-QueueJob -Json '{"command":"echo","max_retries":1e3}').MaxRetries | Should -Be 1000
        { New-QueueJob -Json '{"command":"echo","max_retries":5000}' -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidJobSpec,$Cmd.NewQueueJobCommand"
        { New-QueueJob 'echo' -MaxRetries 1001 -ErrorAction Stop } |
            Should -Throw -ErrorId "ParameterArgumentValidationError,$Cmd.NewQueueJobCommand"
    }

    It 'refuses the pattern <Pattern> in <Command> as InvalidWildcardPattern' -TestCases @(
        @{ Command = 'Get-QueueJob'; Pattern = '[]' }
        @{ Command = 'Get-QueueJob'; Pattern = '[z-a]*' }
        @{ Command = 'Receive-QueueJob'; Pattern = '[]' }
        @{ Command = 'Wait-QueueJob'; Pattern = '[z-a]*' }
        @{ Command = 'Remove-QueueJob'; Pattern = '[z-a]*' }
        @{ Command = 'Stop-QueueJob'; Pattern = '[]' }
        @{ Command = 'Invoke-QueueDlqRetry'; Pattern = '[]' }
        @{ Command = 'Get-QueueWorker'; Pattern = '[z-a]*' }
        @{ Command = 'Get-QueueConfig'; Pattern = '[]' }
    ) {
        $class = ($Command -replace '-', '') + 'Command'
        $parameter = if ($Command -eq 'Get-QueueConfig') { @{ Name = $Pattern } } else { @{ Id = $Pattern } }
        if ($Command -in 'Remove-QueueJob', 'Stop-QueueJob', 'Invoke-QueueDlqRetry') { $parameter.Confirm = $false }
        { & $Command @parameter -ErrorAction Stop } | Should -Throw -ErrorId "InvalidWildcardPattern,$Cmd.$class"
        (Get-QueueJob).Id | Should -Be 'a'
    }

    It 'lists nothing when the only pattern is refused' {
        $found = Get-QueueJob '[]' -ErrorAction SilentlyContinue -ErrorVariable refused
        $found | Should -BeNullOrEmpty
        $refused.Count | Should -Be 1
    }
}

# About SQLite files: the failure is made by overwriting pages of the queue file.
Describe 'A database failure in the middle of a cmdlet (item 15)' -Tag SqliteOnly {
    BeforeEach {
        $db = New-TestQueue
        # One job whose command, and one whose output, fill most of the file; then those pages are garbage, so reading
        # either row fails with SQLITE_CORRUPT while opening the queue still works.
        $null = New-QueueJob 'echo big' -Id big
        $null = New-QueueJob "echo $('c' * 2MB)" -Id huge
        Invoke-QueueSql $db "INSERT INTO job_output (job_seq, run, format, stdout, stderr) SELECT seq, 1, 'Text', printf('%.*c', 2000000, 'o'), '' FROM jobs WHERE id = 'big'; UPDATE jobs SET runs = 1 WHERE id = 'big'"
        # Pages 10%-90% of the file: only the two rows' overflow pages live there (the tables' roots come first).
        $bytes = [IO.File]::ReadAllBytes($db)
        $pages = [int]($bytes.Length / 4096)
        for ($i = [int]($pages * 0.1) * 4096; $i -lt [int]($pages * 0.9) * 4096; $i++) { $bytes[$i] = [byte](($i * 31) % 256) }
        [IO.File]::WriteAllBytes($db, $bytes)
    }
    AfterEach { Remove-TestQueue $db }

    It '<Command> reports DatabaseUnavailable with its ErrorId, not a raw exception' -TestCases @(
        @{ Command = 'Receive-QueueJob'; Ids = @('big') }
        @{ Command = 'Wait-QueueJob'; Ids = @('big', 'huge') }
        @{ Command = 'Remove-QueueJob'; Ids = @('huge') } # fails while resolving the id, before any change
    ) {
        $class = ($Command -replace '-', '') + 'Command'
        $parameters = @{ Id = $Ids; ErrorAction = 'Stop' }
        if ($Command -eq 'Remove-QueueJob') { $parameters.Confirm = $false }
        if ($Command -eq 'Wait-QueueJob') { $parameters.Timeout = 5 }
        $err = { & $Command @parameters } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be "DatabaseUnavailable,$Cmd.$class"
    }
}

Describe 'A -Database that is an address (item 15)' {
    BeforeEach {
        $db = New-TestQueue
        $cwd = Join-Path (Get-TestFolder $db) 'cwd'
        $null = New-Item -ItemType Directory $cwd
        Push-Location $cwd
    }
    AfterEach { Pop-Location; Remove-TestQueue $db }

    # Addresses of engines QueueCtl does not have (postgres:// is one it has).
    It 'refuses <Address> in <Command>, without the password in the error and without creating anything' -TestCases @(
        @{ Command = 'Get-QueueStatus'; Address = 'mysql://user:s3cret@host/db' }
        @{ Command = 'New-QueueJob'; Address = 'mssql://user:s3cret@host:1433/db?encrypt=true' }
        @{ Command = 'Get-QueueJob'; Address = 'redis://host/db?password=s3cret' }
    ) {
        $parameters = @{ Database = $Address; ErrorAction = 'Stop' }
        if ($Command -eq 'New-QueueJob') { $parameters.Command = 'echo hi' }
        $class = ($Command -replace '-', '') + 'Command'
        $err = { & $Command @parameters } | Should -Throw -ErrorId "UnsupportedDatabaseAddress,$Cmd.$class" -PassThru
        $err.Exception.Message | Should -Not -Match 's3cret'
        $err.Exception.Message | Should -Match '\*\*\*'
        "$($err.TargetObject)" | Should -Not -Match 's3cret'
        ($err | Out-String) | Should -Not -Match 's3cret'
        Get-ChildItem $cwd -Force | Should -BeNullOrEmpty
    }

    It 'refuses an address in $env:QUEUECTL_DATABASE too' {
        $env:QUEUECTL_DATABASE = 'mysql://user:s3cret@host/db'
        $err = { Get-QueueStatus -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'UnsupportedDatabaseAddress,*'
        $err.Exception.Message | Should -Not -Match 's3cret'
        Get-ChildItem $cwd -Force | Should -BeNullOrEmpty
    }
}

Describe 'File permissions (item 16)' -Skip:$IsWindows {
    BeforeEach { $db = New-TestQueue; $null = Get-QueueStatus }
    AfterEach { Remove-TestQueue $db }

    It 'makes a group/world-readable queue file private (0600) when it is opened' -Tag SqliteOnly {
        [IO.File]::SetUnixFileMode($db, [IO.UnixFileMode]'UserRead, UserWrite, GroupRead, OtherRead')
        $null = Get-QueueStatus
        [IO.File]::GetUnixFileMode($db) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
        New-QueueJob 'echo kept' -Database $db | Out-Null
        [IO.File]::GetUnixFileMode($db) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
    }

    It 'makes a world-writable .workers folder private (0700) before a worker uses it' {
        $workers = Get-TestWorkerFolder $db
        $null = New-Item -ItemType Directory $workers
        [IO.File]::SetUnixFileMode($workers, [IO.UnixFileMode]511) # 0777
        Start-QueueWorker -Foreground -UntilEmpty
        [IO.File]::GetUnixFileMode($workers) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
    }
}

Describe 'Control characters from jobs in views (item 17)' {
    BeforeAll {
        $db = New-TestQueue
        $null = New-QueueJob -Id 'ansi' -MaxRetries 0 -Command "printf 'plain\033[31mRED\033]0;pwned\007\033[2J\r\n' >&2; exit 3"
        Start-QueueWorker -Foreground -UntilEmpty
        $job = Get-QueueJob ansi
    }
    AfterAll { Remove-TestQueue $db }

    It 'keeps the raw text on the object and in Receive-QueueJob' {
        $job.State | Should -Be 'Dead'
        $job.LastError | Should -Match ([regex]::Escape("$([char]27)[31mRED"))
        $stderr = Receive-QueueJob ansi -ErrorAction Continue 2>&1 | ForEach-Object { "$_" }
        "$stderr" | Should -Match ([regex]::Escape("$([char]27)]0;pwned$([char]7)"))
    }

    It 'shows no control character in the <View> view' -TestCases @(
        @{ View = 'table' }
        @{ View = 'list' }
        @{ View = 'error table' }
    ) {
        $text = switch ($View) {
            'table' { $job | Format-Table | Out-String -Width 250 }
            'list' { $job | Format-List | Out-String -Width 250 }
            'error table' { $job.Errors | Format-Table | Out-String -Width 250 }
        }
        $text | Should -Match 'RED'
        $text | Should -Not -Match '[\x00-\x08\x0B-\x1F\x7F]'
        $text | Should -Match ([regex]::Escape([string][char]0x241B)) # ESC shows as its picture
    }
}
