using System.Management.Automation;
using System.Runtime.InteropServices;
using QueueCtl.PowerShell.Infrastructure;

namespace QueueCtl.PowerShell.Tests;

public class NativeSqliteFacts
{
    [Theory]
    [InlineData("LINUX", Architecture.X64, false, "linux-x64")]
    [InlineData("LINUX", Architecture.Arm64, false, "linux-arm64")]
    [InlineData("LINUX", Architecture.Arm, false, "linux-arm")]
    [InlineData("LINUX", Architecture.X64, true, "linux-musl-x64")]
    [InlineData("LINUX", Architecture.Arm64, true, "linux-musl-arm64")]
    [InlineData("OSX", Architecture.X64, false, "osx-x64")]
    [InlineData("OSX", Architecture.Arm64, false, "osx-arm64")]
    [InlineData("WINDOWS", Architecture.X64, false, "win-x64")]
    [InlineData("WINDOWS", Architecture.X86, false, "win-x86")]
    [InlineData("WINDOWS", Architecture.Arm64, false, "win-arm64")]
    public void Rid_NamesTheNativeFolderForEachPlatform(string os, Architecture arch, bool musl, string rid) =>
        Assert.Equal(rid, NativeSqlite.Rid(OSPlatform.Create(os), arch, musl));

    [Fact]
    public void TheNativeLibraryForThisMachine_IsWhereTheModuleLooks()
    {
        var folder = Path.GetDirectoryName(typeof(NativeSqlite).Assembly.Location)!;
        var path = Path.Combine(folder, NativeSqlite.RelativePath(NativeSqlite.CurrentRid(), NativeSqlite.FileName()));
        Assert.True(File.Exists(path), path);
    }
}

public class SecondsTransformationFacts
{
    private static object Transform(object input) => new SecondsTransformationAttribute().Transform(null!, input);

    [Theory]
    [InlineData(30, 30.0)]
    [InlineData(1.5, 1.5)]
    [InlineData("90", 90.0)]
    public void NumbersMeanSeconds(object input, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Transform(input));

    [Fact]
    public void TimeSpansAndTimeTextPassThrough()
    {
        Assert.Equal(TimeSpan.FromMinutes(2), Transform(TimeSpan.FromMinutes(2)));
        Assert.Equal("00:02:00", Transform("00:02:00"));
        Assert.Equal(TimeSpan.FromSeconds(7), Transform(PSObject.AsPSObject(7)));
    }
}
