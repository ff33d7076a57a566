using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Tests;

/// <summary>Job tags: stored without repeats, found by any of them case-insensitively, on every driver.</summary>
public abstract class TagFacts : DriverFacts
{
    protected TagFacts(DriverKind kind) : base(kind)
    {
    }

    private IJobStore Jobs => Queue.Jobs;

    [SkippableFact]
    public void Tags_AreStoredInTheirOrderWithoutRepeats_AndFoundByAnyOfThem()
    {
        var tagged = Jobs.Enqueue(new JobSpec { Id = "a", Command = "true", Tags = new[] { "Customer-42", "nightly", "customer-42" } });
        Assert.Equal(new[] { "Customer-42", "nightly" }, tagged.Tags);
        Jobs.Enqueue(new JobSpec { Id = "b", Command = "true", Tags = new[] { "weekly" } });
        Jobs.Enqueue(new JobSpec { Id = "c", Command = "true" });
        Jobs.Enqueue(new JobSpec { Id = "d", Kind = QueueJobKind.ScriptBlock, Command = "1", Tags = new[] { "NIGHTLY" }, Queue = "q", Priority = 1 });
        Assert.Equal(new[] { "Customer-42", "nightly" }, Jobs.Get("a").Tags);
        Assert.Empty(Jobs.Get("c").Tags);
        Assert.Equal(new[] { "a", "d" }, Jobs.List(tags: new[] { "Nightly" }).Select(j => j.Id));
        Assert.Equal(new[] { "a", "b" }, Jobs.List(tags: new[] { "customer-42", "weekly" }).Select(j => j.Id));
        Assert.Equal(new[] { "d" }, Jobs.List(tags: new[] { "nightly" }, queues: new[] { "q" }).Select(j => j.Id));
        Assert.Empty(Jobs.List(tags: new[] { "none" }));
        Assert.Equal(new[] { "Customer-42", "NIGHTLY", "weekly" }, Jobs.RecentTags(100)); // the newest spelling
        var claimed = Queue.Db.Leases("w", new[] { "q" }).Claim(1).Single();
        Assert.Equal(new[] { "NIGHTLY" }, claimed.Job.Tags);
    }

    [SkippableFact]
    public void BadTags_AreRefusedOnTheirOwn()
    {
        var results = Jobs.Enqueue(new[]
        {
            new JobSpec { Id = "ok", Command = "true", Tags = new[] { "fine" } },
            new JobSpec { Id = "blank", Command = "true", Tags = new[] { "" } },
            new JobSpec { Id = "padded", Command = "true", Tags = new[] { " x" } },
            new JobSpec { Id = "many", Command = "true", Tags = Enumerable.Range(0, JobLimits.TagsMax + 1).Select(i => $"t{i}").ToArray() },
            new JobSpec { Id = "long", Command = "true", Tags = new[] { new string('t', JobLimits.TagMaxLength + 1) } },
        });
        Assert.NotNull(results[0].Job);
        Assert.All(results.Skip(1), r => Assert.Equal(QueueErrorCode.InvalidJobSpec, r.Error!.Code));
        Assert.Equal("ok", Assert.Single(Jobs.List()).Id);
    }

    [SkippableFact]
    public void Json_TakesTagsAsAnArrayOfStrings()
    {
        Assert.Equal(new[] { "a", "b" }, JobSpecJson.Parse("""{"command":"true","tags":["a","b"]}""").Tags);
        Assert.Equal(QueueErrorCode.InvalidJson, Assert.Throws<QueueException>(() => JobSpecJson.Parse("""{"command":"true","tags":"a"}""")).Code);
        Assert.Equal(QueueErrorCode.InvalidJson, Assert.Throws<QueueException>(() => JobSpecJson.Parse("""{"command":"true","tags":[1]}""")).Code);
    }
}

public sealed class SqliteTagFacts() : TagFacts(DriverKind.Sqlite);

public sealed class PostgresTagFacts() : TagFacts(DriverKind.Postgres);
