using Hybrid.Gpu;
using Hybrid.Gpu.Kernels;

namespace Hybrid.Tests.Gpu;

/// <summary>The drain's counting sort puts records in the CPU stream's order: by step, then lane.</summary>
public sealed class EpisodeOrderTests
{
    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(1, 5, 3)]
    [InlineData(7, 10, 40)]
    [InlineData(65_536, 155, 20_000)]
    public void RecordsComeOutByStepThenLaneAsAComparisonSortWouldPutThem(int lanes, int steps, int count)
    {
        var random = new Random(lanes * 31 + count);
        // Distinct (step, lane) pairs, as a lane ends at most one episode per step, in arbitrary slot order.
        var pairs = new HashSet<(int, int)>();
        while (pairs.Count < Math.Min(count, lanes * steps)) pairs.Add((random.Next(steps), random.Next(lanes)));
        DeviceEpisode[] records = pairs.Select((p, i) => new DeviceEpisode { Step = p.Item1, Lane = p.Item2, Return = i, Length = i + 1 })
            .OrderBy(_ => random.Next()).ToArray();
        DeviceEpisode[] expected = records.OrderBy(e => e.Step).ThenBy(e => e.Lane).ToArray();
        var order = new EpisodeOrder(lanes, steps, records.Length);
        order.Sort(records);
        Assert.Equal(expected, records);
        // Reused, the counts start again from zero.
        records = [.. records.Reverse()];
        order.Sort(records);
        Assert.Equal(expected, records);
    }

    [Fact]
    public void ARecordOutsideTheLogIsRefusedByName()
    {
        var order = new EpisodeOrder(4, 10, 2);
        var e = Assert.Throws<InvalidOperationException>(() => order.Sort(new[] { new DeviceEpisode { Step = 10, Lane = 1 } }));
        Assert.Contains("lane 1 at step 10", e.Message);
        Assert.Throws<InvalidOperationException>(() => order.Sort(new[] { new DeviceEpisode { Step = 0, Lane = 4 } }));
    }
}
