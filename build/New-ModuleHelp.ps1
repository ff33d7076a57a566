<#
.SYNOPSIS
    Writes the module's MAML help (en-US/QueueCtl.PowerShell.dll-Help.xml) from our own sources.
.DESCRIPTION
    platyPS is not available here, so the build makes the help itself:
      - synopsis, description, examples, notes and related links from docs/help/<Cmdlet>.md;
      - syntax, parameter sets, positions, pipeline input and types from the compiled cmdlets (Get-Command);
      - each parameter's description from its /// <summary> in the C# source (the XML documentation file).
    It fails when a cmdlet has no help page, a page lacks a section or two examples, or a parameter has no summary, so
    help cannot silently fall behind the code. Run by build.ps1 in a child pwsh that has imported the staged module.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $HelpSource,
    [Parameter(Mandatory)][string] $XmlDocumentation
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module (Join-Path $ModulePath 'QueueCtl.psd1') -PassThru -Force
$docs = [xml](Get-Content $XmlDocumentation -Raw)
$summaries = @{}
foreach ($member in $docs.doc.members.member) {
    $summary = $member.SelectSingleNode('summary')
    if ($summary) {
        $text = ($summary.InnerXml -replace '<see cref="[A-Z]:([^"]+)"\s*/>', { $_.Groups[1].Value.Split('.')[-1] }) -replace '<[^>]+>', ''
        $summaries[$member.name] = ([Net.WebUtility]::HtmlDecode($text) -replace '\s+', ' ').Trim()
    }
}

$commonParameters = [Management.Automation.Cmdlet]::CommonParameters + [Management.Automation.Cmdlet]::OptionalCommonParameters
$shouldProcessText = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

function Read-HelpPage([string] $Path) {
    # A page: '# Name', then '## SECTION' blocks; examples are '### Title' + a fenced code block + remarks.
    $page = @{ Synopsis = ''; Description = @(); Examples = @(); Notes = @(); Links = @() }
    $section = $null; $example = $null; $inCode = $false; $paragraph = [Collections.Generic.List[string]]::new()
    $flush = {
        if ($paragraph.Count -eq 0) { return }
        $text = ($paragraph -join ' ').Trim()
        $paragraph.Clear()
        switch ($section) {
            'SYNOPSIS' { $page.Synopsis = $text }
            'DESCRIPTION' { $page.Description += $text }
            'NOTES' { $page.Notes += $text }
            'EXAMPLES' { if ($example) { $example.Remarks += $text } }
        }
    }
    foreach ($line in Get-Content $Path) {
        if ($inCode) {
            if ($line -match '^```') { $inCode = $false } else { $example.Code += $line }
            continue
        }
        if ($line -match '^```') { & $flush; $inCode = $true; continue }
        if ($line -match '^## (.+)$') { & $flush; $section = $Matches[1].Trim(); $example = $null; continue }
        if ($line -match '^### (.+)$' -and $section -eq 'EXAMPLES') {
            & $flush
            $example = @{ Title = $Matches[1].Trim(); Code = @(); Remarks = @() }
            $page.Examples += $example
            continue
        }
        if ($line -match '^# ') { continue }
        if ($section -eq 'RELATED LINKS' -and $line -match '^- (.+)$') { $page.Links += $Matches[1].Trim(); continue }
        if ($line.Trim() -eq '') { & $flush } else { $paragraph.Add($line.Trim()) }
    }
    & $flush
    return $page
}

function Get-PipelineInput($Attribute) {
    $kinds = @()
    if ($Attribute.ValueFromPipeline) { $kinds += 'ByValue' }
    if ($Attribute.ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Get-ParameterDescription($Command, [string] $Name) {
    if ($shouldProcessText.ContainsKey($Name)) { return $shouldProcessText[$Name] }
    $property = $Command.ImplementingType.GetProperty($Name)
    $key = "P:$($property.DeclaringType.FullName).$Name"
    if (-not $summaries.ContainsKey($key)) { throw "$($Command.Name) -$Name has no /// <summary> in the source ($key)." }
    return $summaries[$key]
}

function Get-TypeName([type] $Type) {
    $inner = [Nullable]::GetUnderlyingType($Type)
    if ($inner) { return $inner.Name }
    if ($Type -eq [Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    return $Type.Name
}

$settings = [Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [Text.UTF8Encoding]::new($false)
$outFolder = Join-Path $ModulePath 'en-US'
$null = New-Item -ItemType Directory $outFolder -Force
$writer = [Xml.XmlWriter]::Create((Join-Path $outFolder 'QueueCtl.PowerShell.dll-Help.xml'), $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Paragraphs([string[]] $Paragraphs) {
    foreach ($p in $Paragraphs) { $writer.WriteElementString('para', $maml, $p) }
}

$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', 'http://msh')
$writer.WriteAttributeString('schema', 'maml')
foreach ($cmd in Get-Command -Module QueueCtl -CommandType Cmdlet | Sort-Object Name) {
    $pagePath = Join-Path $HelpSource "$($cmd.Name).md"
    if (-not (Test-Path $pagePath)) { throw "$($cmd.Name) has no help page at $pagePath." }
    $page = Read-HelpPage $pagePath
    if (-not $page.Synopsis -or -not $page.Description) { throw "$pagePath needs a SYNOPSIS and a DESCRIPTION." }
    if ($page.Examples.Count -lt 2) { throw "$pagePath needs at least two examples." }
    if ($page.Links.Count -lt 1) { throw "$pagePath needs RELATED LINKS." }
    $parameters = $cmd.Parameters.Values | Where-Object { $_.Name -notin $commonParameters -or $_.Name -in 'WhatIf', 'Confirm' } |
        Where-Object { -not ($_.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] -and $_.DontShow }) }

    $writer.WriteStartElement('command', 'command', $command)
    $writer.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $writer.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $writer.WriteStartElement('details', $command)
    $writer.WriteElementString('name', $command, $cmd.Name)
    $writer.WriteElementString('verb', $command, $cmd.Verb)
    $writer.WriteElementString('noun', $command, $cmd.Noun)
    $writer.WriteStartElement('description', $maml); Write-Paragraphs $page.Synopsis; $writer.WriteEndElement()
    $writer.WriteEndElement()
    $writer.WriteStartElement('description', $maml); Write-Paragraphs $page.Description; $writer.WriteEndElement()

    $writer.WriteStartElement('syntax', $command)
    foreach ($set in $cmd.ParameterSets) {
        $writer.WriteStartElement('syntaxItem', $command)
        $writer.WriteElementString('name', $maml, $cmd.Name)
        foreach ($p in $set.Parameters | Where-Object { $_.Name -in $parameters.Name }) {
            $writer.WriteStartElement('parameter', $command)
            $writer.WriteAttributeString('required', $p.IsMandatory.ToString().ToLowerInvariant())
            $writer.WriteAttributeString('position', $(if ($p.Position -ge 0) { $p.Position } else { 'named' }))
            $writer.WriteAttributeString('pipelineInput', (Get-PipelineInput $p))
            $writer.WriteElementString('name', $maml, $p.Name)
            if ($p.ParameterType -ne [Management.Automation.SwitchParameter]) {
                $writer.WriteStartElement('parameterValue', $command)
                $writer.WriteAttributeString('required', 'true')
                $writer.WriteString((Get-TypeName $p.ParameterType))
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('parameters', $command)
    foreach ($p in $parameters | Sort-Object Name) {
        $attribute = $p.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] } | Select-Object -First 1
        $globbing = [bool]($p.Attributes | Where-Object { $_ -is [Management.Automation.SupportsWildcardsAttribute] })
        $writer.WriteStartElement('parameter', $command)
        $writer.WriteAttributeString('required', ([bool]($p.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] -and $_.Mandatory })).ToString().ToLowerInvariant())
        $writer.WriteAttributeString('position', $(if ($attribute.Position -ge 0) { $attribute.Position } else { 'named' }))
        $writer.WriteAttributeString('pipelineInput', (Get-PipelineInput $attribute))
        $writer.WriteAttributeString('globbing', $globbing.ToString().ToLowerInvariant())
        $writer.WriteAttributeString('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
        $writer.WriteElementString('name', $maml, $p.Name)
        $writer.WriteStartElement('description', $maml); Write-Paragraphs (Get-ParameterDescription $cmd $p.Name); $writer.WriteEndElement()
        $writer.WriteStartElement('parameterValue', $command)
        $writer.WriteAttributeString('required', ($p.ParameterType -ne [Management.Automation.SwitchParameter]).ToString().ToLowerInvariant())
        $writer.WriteString((Get-TypeName $p.ParameterType))
        $writer.WriteEndElement()
        $writer.WriteStartElement('type', $dev); $writer.WriteElementString('name', $maml, $p.ParameterType.FullName); $writer.WriteEndElement()
        $writer.WriteElementString('defaultValue', $dev, 'None')
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('inputTypes', $command)
    $inputs = $parameters | Where-Object { $_.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] -and ($_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName) } }
    foreach ($p in $inputs) {
        $writer.WriteStartElement('inputType', $command)
        $writer.WriteStartElement('type', $dev); $writer.WriteElementString('name', $maml, $p.ParameterType.FullName); $writer.WriteEndElement()
        $writer.WriteStartElement('description', $maml); Write-Paragraphs "Binds to -$($p.Name)."; $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('returnValues', $command)
    foreach ($type in $cmd.OutputType) {
        $writer.WriteStartElement('returnValue', $command)
        $writer.WriteStartElement('type', $dev); $writer.WriteElementString('name', $maml, $type.Name); $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    if ($page.Notes) {
        $writer.WriteStartElement('alertSet', $maml)
        $writer.WriteStartElement('alert', $maml); Write-Paragraphs $page.Notes; $writer.WriteEndElement()
        $writer.WriteEndElement()
    }

    $writer.WriteStartElement('examples', $command)
    foreach ($example in $page.Examples) {
        $writer.WriteStartElement('example', $command)
        $writer.WriteElementString('title', $maml, "-------------------------- $($example.Title) --------------------------")
        $writer.WriteElementString('code', $dev, ($example.Code -join [Environment]::NewLine))
        $writer.WriteStartElement('remarks', $dev); Write-Paragraphs $example.Remarks; $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('relatedLinks', $command)
    foreach ($link in $page.Links) {
        $writer.WriteStartElement('navigationLink', $maml)
        $writer.WriteElementString('linkText', $maml, $link)
        $writer.WriteElementString('uri', $maml, '')
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()
    $writer.WriteEndElement()
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Dispose()
Copy-Item (Join-Path $HelpSource 'about_QueueCtl.help.txt') $outFolder
Write-Host "Help written to $outFolder"
