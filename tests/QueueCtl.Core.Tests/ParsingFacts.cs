using QueueCtl.Configuration;
using QueueCtl.Execution;
using QueueCtl.Jobs;

namespace QueueCtl.Tests;

public class JobSpecJsonFacts
{
    [Fact]
    public void Parse_ReadsTheSeedsNames()
    {
        var spec = JobSpecJson.Parse("""{"id":"job1","command":"echo Hello","max_retries":2,"state":"pending","attempts":0}""", "/tmp");
        Assert.Equal("job1", spec.Id);
        Assert.Equal("echo Hello", spec.Command);
        Assert.Equal(2, spec.MaxRetries);
        Assert.Equal("/tmp", spec.WorkingDirectory);
    }

    [Fact]
    public void Parse_ReadsTimeoutAndRunAt()
    {
        var spec = JobSpecJson.Parse("""{"command":"x","timeout":1.5,"run_at":"2030-01-02T03:04:05Z"}""");
        Assert.Equal(TimeSpan.FromSeconds(1.5), spec.Timeout);
        Assert.Equal(new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc), spec.RunAt);
    }

    [Theory]
    [InlineData("{\"command\": ", QueueErrorCode.InvalidJson)]
    [InlineData("[1,2]", QueueErrorCode.InvalidJson)]
    [InlineData("{\"id\":\"x\"}", QueueErrorCode.InvalidJobSpec)]
    [InlineData("{\"command\":\"x\",\"max_retries\":\"two\"}", QueueErrorCode.InvalidJson)]
    [InlineData("{\"command\":\"x\",\"max_retries\":-2}", QueueErrorCode.InvalidJobSpec)]
    [InlineData("{\"command\":\"x\",\"colour\":\"red\"}", QueueErrorCode.InvalidJson)]
    public void Parse_RefusesBadInput_WithAClearCode(string json, QueueErrorCode code) =>
        Assert.Equal(code, Assert.Throws<QueueException>(() => JobSpecJson.Parse(json)).Code);
}

public class WildcardFilterFacts
{
    [Theory]
    [InlineData("job*", "JOB-1", true)]
    [InlineData("job?", "job12", false)]
    [InlineData("j[ao]b", "jab", true)]
    [InlineData("j[ao]b", "jib", false)]
    [InlineData("100%", "100%", true)]
    [InlineData("a`*", "a*", true)]
    [InlineData("a`*", "ab", false)]
    public void IsMatch_FollowsPowerShellWildcards(string pattern, string id, bool expected) =>
        Assert.Equal(expected, new WildcardFilter(pattern).IsMatch(id));

    [Fact]
    public void Like_EscapesSqlWildcards()
    {
        Assert.Equal("100\\%", new WildcardFilter("100%").Like);
        Assert.Equal("a\\_b%", new WildcardFilter("a_b*").Like);
        Assert.Equal("a*", new WildcardFilter("a`*").Literal);
    }
}

public class OutputTailFacts
{
    [Fact]
    public void KeepsEverything_UnderTheLimit()
    {
        var tail = new OutputTail(10);
        tail.Write("hello"u8);
        Assert.Equal("hello", tail.ToString());
        Assert.Equal(0, tail.Dropped);
    }

    [Fact]
    public void KeepsTheTail_AndCountsWhatWasDropped()
    {
        var tail = new OutputTail(8);
        for (var i = 0; i < 10; i++) tail.Write("0123456789"u8);
        Assert.Equal("23456789", tail.ToString());
        Assert.Equal(92, tail.Dropped);
    }

    [Fact]
    public void NeverStartsInTheMiddleOfACharacter()
    {
        var tail = new OutputTail(5);
        tail.Write("ééé"u8); // six bytes: keeping five cuts the first é in half
        Assert.Equal("éé", tail.ToString());
        Assert.Equal(1, tail.Dropped);
    }
}

public class JobIdFacts
{
    [Fact]
    public void GeneratedIds_AreUnique_AndIncreaseWithinAProcess()
    {
        var ids = Enumerable.Range(0, 100_000).Select(_ => JobIds.New()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), ids);
        Assert.All(ids, id => Assert.Matches("^[0-9a-z]{13}$", id));
    }

    [Fact]
    public void WorkerIds_StartedTogether_DoNotCollide()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => QueueCtl.Worker.WorkerOptions.NewWorkerId()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}

/// <summary>One set of job limits for every path (issue 8, items 12 and 15).</summary>
public class JobLimitFacts
{
    [Theory]
    [InlineData("{\"command\":\"echo a\\u0000rm -rf x\"}")]
    [InlineData("{\"command\":\"echo a\",\"working_directory\":\"/tmp\\u0000x\"}")]
    public void Parse_RefusesANulCharacter(string json) =>
        Assert.Equal(QueueErrorCode.InvalidJobSpec, Assert.Throws<QueueException>(() => JobSpecJson.Parse(json)).Code);

    [Theory]
    [InlineData("1e300")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("31536001")]
    public void Parse_RefusesATimeoutOutsideTheLimits(string seconds) =>
        Assert.Equal(QueueErrorCode.InvalidJobSpec,
            Assert.Throws<QueueException>(() => JobSpecJson.Parse($"{{\"command\":\"x\",\"timeout\":{seconds}}}")).Code);

    [Theory]
    [InlineData("1e3", 1000)]
    [InlineData("2.0", 2)]
    [InlineData("0", 0)]
    public void Parse_AcceptsAnySpellingOfAWholeNumberOfRetries(string raw, int expected) =>
        Assert.Equal(expected, JobSpecJson.Parse($"{{\"command\":\"x\",\"max_retries\":{raw}}}").MaxRetries);

    [Theory]
    [InlineData("5000")]
    [InlineData("1001")]
    [InlineData("1e300")]
    public void Parse_RefusesMoreRetriesThanTheCmdletAllows(string raw) =>
        Assert.Equal(QueueErrorCode.InvalidJobSpec,
            Assert.Throws<QueueException>(() => JobSpecJson.Parse($"{{\"command\":\"x\",\"max_retries\":{raw}}}")).Code);

    [Fact]
    public void Validate_RefusesATimeoutThatWouldOverflow() =>
        Assert.Equal(QueueErrorCode.InvalidJobSpec,
            Assert.Throws<QueueException>(() => new JobSpec { Command = "x", Timeout = TimeSpan.MaxValue }.Validate()).Code);

    [Fact]
    public void TheConfigCatalogue_UsesTheSameLimits()
    {
        var retries = ConfigSettings.Find(ConfigSettings.MaxRetries);
        var timeout = ConfigSettings.Find(ConfigSettings.JobTimeout);
        Assert.Equal(JobLimits.MaxRetriesMax, retries.Maximum);
        Assert.Equal(JobLimits.TimeoutMinSeconds, timeout.Minimum);
        Assert.Equal(JobLimits.TimeoutMaxSeconds, timeout.Maximum);
    }
}

public class WildcardValidationFacts
{
    [Theory]
    [InlineData("[]")]
    [InlineData("[z-a]*")]
    [InlineData("job-[]x")]
    public void AnUnmatchablePattern_IsRefusedWithItsOwnCode(string pattern)
    {
        // By name: the code does not exist before the fix, and the test must still compile there.
        var ex = Assert.ThrowsAny<Exception>(() => new WildcardFilter(pattern));
        Assert.Equal("InvalidWildcardPattern", Assert.IsType<QueueException>(ex).Code.ToString());
    }

    [Theory]
    [InlineData("[a-c]x", "bx", true)]
    [InlineData("[a-c]x", "dx", false)]
    [InlineData("[^a]", "^", true)]
    [InlineData("[^a]", "b", false)]
    [InlineData("[a-]", "-", true)]
    public void CharacterClasses_MatchLiterallyApartFromRanges(string pattern, string id, bool expected) =>
        Assert.Equal(expected, new WildcardFilter(pattern).IsMatch(id));
}
