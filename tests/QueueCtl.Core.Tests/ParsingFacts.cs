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
