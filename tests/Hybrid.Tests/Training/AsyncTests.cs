using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;
using static Hybrid.Tests.Training.TrainingTestSupport;

namespace Hybrid.Tests.Training;

public class AsyncTests
{
    [Fact]
    public void A3cSolvesCartPoleWithTheDefaultsForSeedOne()
    {
        (RunSummary summary, _) = Train(new A3cConfig { Seed = 1, StopWhenSolved = true });
        Assert.True(summary.Solved, $"final mean return {summary.FinalMeanReturn} after {summary.EnvSteps} steps");
        Assert.Equal(2, summary.Threads);
        Assert.Equal(2, summary.NumEnvs);
    }

    [Theory]
    [InlineData(UpdateMode.Hogwild)]
    [InlineData(UpdateMode.Lock)]
    [InlineData(UpdateMode.Server)]
    public void A3cSolvesCartPoleUnderEveryUpdateMode(UpdateMode mode)
    {
        // The default budget (the learning rate anneals over it); seeds 1-5 solved at 150-350k steps under every mode.
        (RunSummary summary, RecordingSink sink) = Train(new A3cConfig { Seed = 2, Async = new() { Update = mode }, StopWhenSolved = true, LogInterval = 20_000 });
        Assert.True(summary.Solved, $"{mode}: final mean return {summary.FinalMeanReturn} after {summary.EnvSteps} steps");
        Assert.True(summary.Updates >= summary.EnvSteps / 20 / 2, $"{mode}: {summary.Updates} updates for {summary.EnvSteps} steps");
        Assert.True(sink.Count >= 2);
    }

    [Theory]
    [InlineData(AsyncQMethod.OneStepSarsa, 1)]
    [InlineData(AsyncQMethod.NStepQ, 1)]
    [InlineData(AsyncQMethod.OneStepQ, 1)]
    public void AsyncValueMethodsSolveCartPoleByGreedyEvaluation(AsyncQMethod method, int seed)
    {
        var config = new AsyncQConfig(method) { Seed = seed, StopWhenSolved = true };
        (RunSummary summary, RecordingSink sink) = Train(config);
        Assert.True(summary.Solved, $"{config.Algo}: final greedy mean {summary.FinalMeanReturn} after {summary.EnvSteps} steps");
        Assert.Equal("greedy-eval-100", summary.SolveCriterion);
        Assert.True(summary.FinalMeanReturn >= 475);
        Assert.False(double.IsNaN(sink.Rows[^1].EvalReturn100));
        // The greedy evaluations' time is counted apart and left out of the time to the threshold.
        Assert.True(summary.EvalSeconds > 0, $"eval seconds {summary.EvalSeconds}");
        Assert.True(summary.SolvedAtSeconds <= summary.WallSeconds - summary.EvalSeconds!.Value + 1e-3,
            $"solved at {summary.SolvedAtSeconds} s, wall {summary.WallSeconds} s, evaluation {summary.EvalSeconds} s");
    }

    [Fact]
    public void FinalEpsilonsFollowThePapersDistribution()
    {
        // One thread per run: over many seeds its value has the paper's probabilities.
        var counts = new Dictionary<float, int> { [0.1f] = 0, [0.01f] = 0, [0.5f] = 0 };
        const int Seeds = 3000;
        for (int seed = 0; seed < Seeds; seed++) counts[new AsyncQConfig(AsyncQMethod.OneStepQ) { Seed = seed, Threads = 1 }.FinalEpsilon(0)]++;
        // Binomial standard deviations are under 0.01 at 3000 draws; 0.03 is three of them.
        Assert.InRange(counts[0.1f] / (double)Seeds, 0.37, 0.43);
        Assert.InRange(counts[0.01f] / (double)Seeds, 0.27, 0.33);
        Assert.InRange(counts[0.5f] / (double)Seeds, 0.27, 0.33);
        var config = new AsyncQConfig(AsyncQMethod.OneStepQ) { Seed = 11 };
        Assert.Equal(1f, config.Epsilon(0.1f, 0));
        Assert.Equal(0.55f, config.Epsilon(0.1f, config.MaxEnvSteps / 20), 5);
        Assert.Equal(0.1f, config.Epsilon(0.1f, config.MaxEnvSteps), 5);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(10)]
    [InlineData(16)]
    public void FinalEpsilonsAreDealtOutOverTheThreadsAsTheProbabilitiesSay(int threads)
    {
        var seen = new HashSet<string>();
        for (int seed = 1; seed <= 200; seed++)
        {
            float[] values = new AsyncQConfig(AsyncQMethod.OneStepQ) { Seed = seed, Threads = threads }.FinalEpsilons();
            Assert.Equal(threads, values.Length);
            foreach ((float value, double p) in new[] { (0.1f, 0.4), (0.01f, 0.3), (0.5f, 0.3) })
            {
                int count = values.Count(v => v == value);
                Assert.InRange(count, (int)Math.Floor(p * threads - 1e-9), (int)Math.Ceiling(p * threads + 1e-9));
            }
            if (threads == 2) Assert.NotEqual(values[0], values[1]);
            seen.Add(string.Join(",", values));
            Assert.Equal(values[threads - 1], new AsyncQConfig(AsyncQMethod.OneStepQ) { Seed = seed, Threads = threads }.FinalEpsilon(threads - 1));
        }
        // Which thread holds which value changes with the seed.
        Assert.True(seen.Count > 1, $"every seed dealt the same epsilons to {threads} threads");
    }

    [Fact]
    public void AWorkerIdOutsideTheThreadsIsRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncQConfig(AsyncQMethod.OneStepQ) { Threads = 2 }.FinalEpsilon(2));
        Assert.Contains("worker was 2", e.Message);
    }

    [Fact]
    public void ImpalaSolvesCartPoleAndLogsPolicyLag()
    {
        (RunSummary summary, RecordingSink sink) = Train(new ImpalaConfig { Seed = 1, StopWhenSolved = true, LogInterval = 20_000 });
        Assert.True(summary.Solved, $"final mean return {summary.FinalMeanReturn} after {summary.EnvSteps} steps");
        double lag = sink.Rows[sink.Count / 2].PolicyLag;
        Assert.True(lag >= 0 && double.IsFinite(lag), $"policy lag {lag}");
    }

    [Fact]
    public void ImpalaPolicyLagGrowsWithTheRefreshInterval()
    {
        static double MeanLag(int refresh)
        {
            (_, RecordingSink sink) = Train(new ImpalaConfig { Seed = 3, RefreshInterval = refresh, MaxEnvSteps = 60_000, LogInterval = 10_000 });
            double sum = 0;
            int rows = 0;
            foreach (MetricsRow row in sink.Rows)
                if (!double.IsNaN(row.PolicyLag)) // a row whose interval saw no learner update has no lag
                {
                    sum += row.PolicyLag;
                    rows++;
                }
            return sum / rows;
        }
        // With refresh every m updates an unroll's lag is at least its age within the refresh cycle: about (m - 1) / 2 more on average.
        double every = MeanLag(1), rarely = MeanLag(20);
        Assert.True(rarely > every + 5, $"lag {every:F2} with m = 1, {rarely:F2} with m = 20");
    }
}

public class FaultTests
{
    [Fact]
    public void AWorkerExceptionStopsTheOthersAndReachesTheCallerWithItsIdAndStack()
    {
        var group = new WorkerGroup("test");
        int stoppedCleanly = 0;
        group.Start("worker", 0, _ =>
        {
            while (!group.StopRequested) Thread.Sleep(1);
            Interlocked.Increment(ref stoppedCleanly);
        });
        group.Start("worker", 1, _ => ThrowDeep());
        var e = Assert.Throws<WorkerFailedException>(group.Join);
        Assert.Equal("test worker 1", e.Worker);
        Assert.Contains("test worker 1 failed: InvalidOperationException: boom", e.Message);
        Assert.Contains(nameof(ThrowDeep), e.InnerException!.StackTrace);
        Assert.Equal(1, stoppedCleanly);
    }

    static void ThrowDeep() => throw new InvalidOperationException("boom");

    [Theory]
    [InlineData(UpdateMode.Hogwild)]
    [InlineData(UpdateMode.Lock)]
    [InlineData(UpdateMode.Server)]
    public void DivergenceInAWorkerStopsTheRunNamingTheWorkerAndTheUpdate(UpdateMode mode)
    {
        // A learning rate of 1e30 overflows theta within a few updates.
        var config = new A3cConfig { Seed = 1, LearningRate = 1e30f, MaxGradNorm = 0, Async = new() { Update = mode } };
        var e = Assert.Throws<WorkerFailedException>(() => Train(config));
        // Whichever thread sees it first: a worker (its loss or gradient) or the server's applier (theta).
        Assert.Matches("^a3c (worker [01]|applier 0)$", e.Worker);
        var diverged = Assert.IsType<TrainingDivergedException>(e.InnerException);
        Assert.Matches("update [0-9]+", diverged.Message);
        Assert.Contains("NaN or infinite", diverged.Message);
    }

    [Fact]
    public void DivergenceInA2cNamesTheUpdate()
    {
        var e = Assert.Throws<TrainingDivergedException>(() => Train(new A2cConfig { LearningRate = 1e30f, MaxGradNorm = 0 }));
        Assert.Matches("a2c, update [0-9]+", e.Message);
    }
}

/// <summary>Process-wide allocation counts: nothing else may run at the same time.</summary>
[CollectionDefinition(nameof(AllocationCollection), DisableParallelization = true)]
public class AllocationCollection;

[Collection(nameof(AllocationCollection))]
public class AsyncAllocationTests
{
    /// <summary>Bytes allocated by all threads during a run of <paramref name="steps"/> env steps.</summary>
    static long Allocated(AlgoConfig config, long steps)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Train(config with { MaxEnvSteps = steps, LogInterval = 1_000_000 });
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    /// <summary>
    /// What 120k more steps allocate: a 140k-step run's bytes less a 20k-step run's, the fewer of two tries. What a step
    /// allocates shows in both; the rest of the process's work (the test runner, a method tiering up late; once 302 KB
    /// in a full suite) in one at most. Both lines of the message are the try that counted.
    /// </summary>
    internal static (long Growth, string Message) Growth(AlgoConfig config)
    {
        Allocated(config, 10_000); // JIT and static set-up
        (long Growth, string Message) fewest = (long.MaxValue, "");
        for (int i = 0; i < 2; i++)
        {
            long short_ = Allocated(config, 20_000), long_ = Allocated(config, 140_000);
            if (long_ - short_ < fewest.Growth) fewest = (long_ - short_, $"{config.Algo}: {short_:N0} bytes for 20k steps, {long_:N0} for 140k");
        }
        return fewest;
    }

    [Theory]
    [InlineData("a3c", UpdateMode.Hogwild)]
    [InlineData("a3c", UpdateMode.Server)]
    [InlineData("q1", UpdateMode.Lock)]
    [InlineData("qn", UpdateMode.Hogwild)]
    [InlineData("impala", UpdateMode.Hogwild)]
    [InlineData("ga3c", UpdateMode.Hogwild)]
    [InlineData("hybrid", UpdateMode.Lock)]
    public void ThreeTimesTheStepsAllocateNoMore(string algo, UpdateMode mode)
    {
        // Set-up (networks, envs, buffers, threads) costs the same in both runs; what a step allocates would grow with
        // the 120k extra steps. The count is process-wide, so the test runner's own work shows up as noise (measured
        // up to about 100 KB); 256 KiB still catches any allocation of 3 bytes or more per step.
        AlgoConfig config = Trainer.DefaultConfig(algo) with { Seed = 5 };
        if (config is A3cConfig a3c) config = a3c with { Async = new() { Update = mode } };
        if (config is AsyncQConfig q) config = q with { Async = new() { Update = mode } };
        if (config is Ga3cConfig g) config = g with { Threads = 2 };
        if (config is HybridConfig h) config = h with { Async = new() { Update = mode } };
        (long growth, string message) = Growth(config);
        Assert.True(growth < 256 * 1024, message);
    }

    [Theory]
    [InlineData("a3c")]
    [InlineData("a2c")]
    public void NormalizedTrainingOnEveryThreadAllocatesNoMore(string algo)
    {
        // Normalization on, and for A2C two lane groups with a network large enough for the shared update: the pool
        // threads' allocations count here too, since the count is process-wide.
        AlgoConfig config = algo == "a2c"
            ? new A2cConfig { Env = "Acrobot-v1", Seed = 5, Threads = 2, Hidden = [256, 256], NormalizeObservations = true, NormalizeRewards = true }
            : new A3cConfig { Env = "Acrobot-v1", Seed = 5, NormalizeObservations = true, NormalizeRewards = true };
        (long growth, string message) = Growth(config);
        Assert.True(growth < 256 * 1024, message);
    }
}

public class SlotQueueTests
{
    [Fact]
    public void HandsSlotsOverInOrderAndTimesOutWhenEmpty()
    {
        var queue = new SlotQueue(3);
        Assert.False(queue.TryTake(out _, 1));
        queue.Add(2);
        queue.Add(0);
        queue.Add(1);
        Assert.Throws<InvalidOperationException>(() => queue.Add(5));
        for (int expected = 0; expected < 3; expected++)
        {
            Assert.True(queue.TryTake(out int slot, 1));
            Assert.Equal(new[] { 2, 0, 1 }[expected], slot);
        }
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void AWaitingTakerWakesWhenASlotArrives()
    {
        var queue = new SlotQueue(1);
        int taken = -1;
        var taker = new Thread(() => queue.TryTake(out taken, 10_000));
        taker.Start();
        // Until the taker is blocked in its wait (an event the scheduler reports, not a guess at how long it takes).
        Assert.True(SpinWait.SpinUntil(() => (taker.ThreadState & ThreadState.WaitSleepJoin) != 0, 5_000), "the taker never waited");
        queue.Add(7);
        Assert.True(taker.Join(5_000));
        Assert.Equal(7, taken);
    }

    [Fact]
    public async Task AnAsynchronousTakerIsHandedTheNextSlotWithoutPolling()
    {
        var queue = new SlotQueue(2);
        queue.Add(4);
        Assert.Equal(4, await queue.TakeAsync(CancellationToken.None));
        Task<int> waiting = queue.TakeAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        queue.Add(9);
        Assert.Equal(9, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task ACancelledWaitLosesNoSlot()
    {
        // A learner that stops turns away the unrolls waiting for a slot; a slot freed after that stays in the queue.
        var queue = new SlotQueue(2);
        using var stop = new CancellationTokenSource();
        Task<int> waiting = queue.TakeAsync(stop.Token);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        queue.Add(3);
        Assert.Equal(1, queue.Count);
        Assert.True(queue.TryTake(out int slot, 0));
        Assert.Equal(3, slot);
    }
}
