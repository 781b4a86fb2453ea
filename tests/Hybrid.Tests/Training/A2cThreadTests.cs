using Hybrid.Training.Algorithms;
using Hybrid.Training.Metrics;
using static Hybrid.Tests.Training.TrainingTestSupport;

namespace Hybrid.Tests.Training;

/// <summary>A2C on several threads: one lane group per thread, gradients summed in lane order before one step.</summary>
public class A2cThreadTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(256)] // large enough for the shared update
    public void TwoThreadsAreDeterministicForASeed(int width)
    {
        var config = new A2cConfig { Seed = 3, Threads = 2, Hidden = [width, width], MaxEnvSteps = 40_000, LogInterval = 5_000 };
        (RunSummary first, RecordingSink a) = Train(config);
        (RunSummary second, RecordingSink b) = Train(config);
        Assert.Equal(2, first.Threads);
        AssertSameRuns(first, a, second, b);
    }

    [Theory]
    [InlineData(2, 8, 64)]
    [InlineData(3, 8, 64)] // groups of 3, 3 and 2 lanes: unequal shares
    [InlineData(2, 8, 256)] // 67,843 parameters: the threads share the update too, slice by slice
    [InlineData(3, 8, 256)]
    public void ThreadsGiveTheOneThreadResultUpToTheOrderOfFloatSums(int threads, int lanes, int width)
    {
        // Same lanes, same per-lane generators, same env seeds: only the order in which the gradient's float sums are
        // taken differs, so the losses agree to float precision while the trajectories are still the same.
        var config = new A2cConfig { Seed = 5, Lanes = new() { NumEnvs = lanes }, Hidden = [width, width], MaxEnvSteps = 8_000, LogInterval = 800 };
        (RunSummary one, RecordingSink a) = Train(config);
        (RunSummary many, RecordingSink b) = Train(config with { Threads = threads });
        Assert.Equal(threads, many.Threads);
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            MetricsRow x = a.Rows[i], y = b.Rows[i];
            Assert.Equal(x.Episodes, y.Episodes);
            Assert.Equal(x.MeanReturn100, y.MeanReturn100);
            Assert.Equal(x.PolicyLoss, y.PolicyLoss, 1e-4);
            Assert.Equal(x.ValueLoss, y.ValueLoss, Math.Abs(x.ValueLoss) * 1e-4);
            Assert.Equal(x.Entropy, y.Entropy, 1e-4);
        }
        Assert.Equal(one.Episodes, many.Episodes);
    }

    [Fact]
    public void MoreThreadsThanLanesUseOneThreadPerLane()
    {
        (RunSummary summary, _) = Train(new A2cConfig { Seed = 1, Lanes = new() { NumEnvs = 2 }, Threads = 4, MaxEnvSteps = 2_000 });
        Assert.Equal(2, summary.Threads);
    }

    [Fact]
    public void SteadyStateTrainingOnTwoThreadsAllocatesNothingOnTheLearnerThread()
    {
        // The learner thread's bytes between consecutive metrics rows, 10,000 steps each, after the first.
        var config = new A2cConfig { Seed = 2, Threads = 2, MaxEnvSteps = 60_000, LogInterval = 10_000 };
        (_, RecordingSink sink) = Train(config);
        sink.AssertAllocatesNothingAfterTheFirstRow();
    }
}
