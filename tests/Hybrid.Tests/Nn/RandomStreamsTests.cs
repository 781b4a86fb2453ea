using Hybrid.Nn;

namespace Hybrid.Tests.Nn;

/// <summary>The registry of random streams: every use its own number, per-worker ranges apart, the numbers as they were.</summary>
public class RandomStreamsTests
{
    [Fact]
    public void NoTwoUsesShareAStreamAndThePerWorkerRangesDoNotOverlap()
    {
        ulong[] streams = [.. RandomStreams.All.Select(s => s.Stream)];
        Assert.Equal(streams.Length, streams.Distinct().Count());
        // Worker and episode streams are bases for up to 1,000 workers or episodes: no other stream falls in their range.
        foreach (ulong range in new[] { RandomStreams.WorkerActions, RandomStreams.WorkerEnv, RandomStreams.PolicyEpisodes })
            Assert.All(RandomStreams.All.Where(s => s.Stream != range), s => Assert.False(s.Stream > range && s.Stream < range + 1000, $"{s.Name} is inside {range}'s range"));
    }

    [Fact]
    public void TheNumbersAreTheOnesRunsWereMadeWith()
    {
        // A run's results depend on these values; they were the code's literals before they had names.
        Assert.Equal((0UL, 1UL, 1000UL, 2000UL, 3000UL, 5000UL, 7000UL), (RandomStreams.NetworkInit, RandomStreams.LaneActions,
            RandomStreams.WorkerActions, RandomStreams.WorkerEnv, RandomStreams.FinalEpsilons, RandomStreams.GreedyEvaluation, RandomStreams.PolicyEpisodes));
        Assert.Equal((0xC4ECUL, 0xE7A1UL, 0x5EEDUL), (RandomStreams.SegmentSalt, RandomStreams.EvalSeed, RandomStreams.RenderActions));
        Assert.Equal([77UL, 78, 79, 80, 81], new[] { RandomStreams.BootstrapAggregate, RandomStreams.BootstrapImprovement, RandomStreams.BootstrapSamples,
            RandomStreams.BootstrapSooner, RandomStreams.BootstrapCensoredMedian });
    }
}
