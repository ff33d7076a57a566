# The PostgreSQL server for Pester files: build.ps1 Test starts one (build/TestPostgres.ps1) and hands it over through
# QUEUECTL_TEST_POSTGRES (a URI without password) and PGPASSWORD. Dot-source this file in BeforeDiscovery as well as
# BeforeAll when -Skip uses Test-SkipPostgresTests: Pester evaluates -Skip during discovery.

function Get-TestPostgresAddress {
    # The test server's URI, or $null when there is none.
    if ($env:QUEUECTL_TEST_POSTGRES) { return $env:QUEUECTL_TEST_POSTGRES }
    return $null
}

function New-TestPostgresSchemaAddress {
    # The test server's URI with a fresh schema of its own (or the one named), so tests never see each other's tables.
    param([string] $Schema = "t_$([guid]::NewGuid().ToString('n'))")
    $address = Get-TestPostgresAddress
    if (-not $address) { throw 'QUEUECTL_TEST_POSTGRES is not set: there is no PostgreSQL server for tests (see Test-SkipPostgresTests).' }
    $separator = if ($address.Contains('?')) { '&' } else { '?' }
    return "$address${separator}schema=$Schema"
}

function Invoke-TestPostgresSql {
    # Runs SQL on the test server through the module's Npgsql (no psql needed), with PGPASSWORD as the password;
    # returns the first column of every row.
    param([Parameter(Mandatory)][string] $Sql, [hashtable] $Parameters = @{}, [string] $Database)
    $uri = [Uri] (Get-TestPostgresAddress)
    $builder = [Npgsql.NpgsqlConnectionStringBuilder]::new()
    $builder.Host = $uri.Host
    $builder.Port = if ($uri.Port -gt 0) { $uri.Port } else { 5432 }
    $user, $password = $uri.UserInfo -split ':', 2
    $builder.Username = [Uri]::UnescapeDataString($user)
    $builder.Password = if ($password) { [Uri]::UnescapeDataString($password) } else { $env:PGPASSWORD }
    $builder.Database = if ($Database) { $Database } else { [Uri]::UnescapeDataString($uri.AbsolutePath.TrimStart('/')) }
    $builder.Pooling = $false
    $connection = [Npgsql.NpgsqlConnection]::new($builder.ConnectionString)
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Sql
        foreach ($name in $Parameters.Keys) { $null = $command.Parameters.AddWithValue($name, $Parameters[$name]) }
        $reader = $command.ExecuteReader()
        try { while ($reader.Read()) { if ($reader.FieldCount -gt 0) { $reader.GetValue(0) } } } finally { $reader.Dispose() }
    } finally { $connection.Dispose() }
}

function Test-SkipPostgresTests {
    # $true when the PostgreSQL tests must be skipped (no server), with a warning; under CI=true a missing server throws.
    if (Get-TestPostgresAddress) { return $false }
    if ($env:CI -eq 'true') { throw 'QUEUECTL_TEST_POSTGRES is not set, and CI=true does not allow skipping the PostgreSQL tests.' }
    Write-Warning 'QUEUECTL_TEST_POSTGRES is not set: the PostgreSQL tests are SKIPPED. Run them through build.ps1 Test, or set QUEUECTL_TEST_POSTGRES and PGPASSWORD.'
    return $true
}
