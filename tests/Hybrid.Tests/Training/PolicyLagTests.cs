using Hybrid.Training.Runs;
using static Hybrid.Tests.Training.TrainingTestSupport;
using Hybrid.Nn.Optim;
using Hybrid.Training.Parallel;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Metrics;
using Hybrid.Training.Config;

namespace Hybrid.Tests.Training;

/// <summary>The staleness of asynchronous gradients: version at apply minus the version theta' was copied at.</summary>
public class PolicyLagTests
{
    [Theory]
    [InlineData(UpdateMode.Hogwild)]
    [InlineData(UpdateMode.Lock)]
    public void AGradientsAgeIsTheUpdatesAppliedSinceItsCopy(UpdateMode mode)
    {
        var group = new WorkerGroup("test");
        var shared = new SharedParameters(new float[3], new RmsProp(3, 0.99f, 1e-5f), mode, 1, group);
        var tally = new UpdateTally();
        float[] gradient = [0.1f, 0.2f, 0.3f];
        // Three gradients all computed from version 0 and applied one after another: ages 0, 1 and 2.
        for (int i = 0; i < 3; i++) Assert.True(shared.Apply(gradient, 0.01f, basedOn: 0, ref tally));
        Assert.Equal(3, shared.Version);
        Assert.Equal(3, tally.LagCount);
        Assert.Equal(0 + 1 + 2, tally.LagSum);
        Assert.Equal(2, tally.LagMax);
        // One based on the current version is fresh.
        var fresh = new UpdateTally();
        shared.Apply(gradient, 0.01f, shared.Version, ref fresh);
        Assert.Equal(0, fresh.LagMax);
    }

    [Fact]
    public void OneA3cWorkerNeverLagsAndItsRowsSaySo()
    {
        (RunSummary summary, RecordingSink sink) = Train(new A3cConfig { Seed = 4, Threads = 1, MaxEnvSteps = 30_000, LogInterval = 10_000 });
        Assert.Equal(0.0, summary.PolicyLagMean);
        Assert.Equal(0L, summary.PolicyLagMax);
        Assert.All(sink.Rows.ToArray(), row => Assert.Equal(0.0, row.PolicyLagMax));
    }

    [Theory]
    [InlineData("a3c", UpdateMode.Hogwild)]
    [InlineData("a3c", UpdateMode.Server)]
    [InlineData("qn", UpdateMode.Hogwild)]
    [InlineData("q1", UpdateMode.Lock)]
    public void TwoWorkersApplyGradientsThatTheOtherHasOvertaken(string algo, UpdateMode mode)
    {
        AlgoConfig config = Trainer.DefaultConfig(algo) switch
        {
            A3cConfig a3c => a3c with { Async = new() { Update = mode } },
            AsyncQConfig q => q with { Async = new() { Update = mode } },
            _ => throw new InvalidOperationException(algo),
        };
        config = config with { Seed = 5, Threads = 2, MaxEnvSteps = 40_000, LogInterval = 10_000 };
        (RunSummary summary, RecordingSink sink) = Train(config);
        // With two workers, the other applies its gradients while one acts: some gradient is at least one version old.
        Assert.True(summary.PolicyLagMax >= 1, $"{algo} {mode}: max lag {summary.PolicyLagMax}");
        Assert.InRange(summary.PolicyLagMean!.Value, 0.0, summary.PolicyLagMax!.Value);
        Assert.Contains(sink.Rows.ToArray(), row => row.PolicyLagMax >= 1);
        Assert.All(sink.Rows.ToArray(), row => Assert.True(double.IsNaN(row.PolicyLag) || row.PolicyLag <= row.PolicyLagMax));
    }

    [Fact]
    public void A2cHasNoLag()
    {
        (RunSummary summary, RecordingSink sink) = Train(new A2cConfig { Seed = 1, MaxEnvSteps = 10_000 });
        Assert.Null(summary.PolicyLagMean);
        Assert.Null(summary.PolicyLagMax);
        Assert.Contains("\"policy_lag_mean\": null", summary.ToJson());
        Assert.True(double.IsNaN(sink.Rows[^1].PolicyLagMax));
    }
}

/// <summary>The budgets and criteria a comparison sets for every arm alike.</summary>
public class RunBudgetTests
{
    [Fact]
    public void TheAnnealingHorizonDoesNotFollowTheBudgetOfARunThatStopsWhenSolved()
    {
        Assert.Equal(5_000_000, new A3cConfig { MaxEnvSteps = 5_000_000 }.AnnealHorizon);
        Assert.Equal(AlgoConfig.DefaultAnnealSteps, new A3cConfig { MaxEnvSteps = 5_000_000, StopWhenSolved = true }.AnnealHorizon);
        Assert.Equal(AlgoConfig.DefaultAnnealSteps, new A3cConfig { MaxEnvSteps = 300_000, StopWhenSolved = true }.AnnealHorizon);
        Assert.Equal(123, new A3cConfig { MaxEnvSteps = 5_000_000, StopWhenSolved = true, AnnealSteps = 123 }.AnnealHorizon);
    }

    [Fact]
    public void AWallClockBudgetStopsTheRun()
    {
        (RunSummary summary, _) = Train(new A2cConfig { Seed = 1, MaxEnvSteps = 1_000_000_000, MaxWallSeconds = 0.5 });
        Assert.InRange(summary.WallSeconds, 0.5, 5);
        Assert.True(summary.EnvSteps < 1_000_000_000);
    }

    [Fact]
    public void TheSolveThresholdCanBeSetAndIsReported()
    {
        (RunSummary summary, _) = Train(new A2cConfig { Seed = 1, SolveThreshold = 30, StopWhenSolved = true });
        Assert.True(summary.Solved);
        Assert.Equal(30, summary.SolveThreshold);
        Assert.True(summary.SolvedAtEnvSteps < 100_000, $"solved at {summary.SolvedAtEnvSteps}");
        var e = Assert.Throws<ArgumentException>(() => new A2cConfig { SolveThreshold = double.PositiveInfinity }.Validate());
        Assert.Contains("solve_threshold was", e.Message);
    }
}

/// <summary>Greedy evaluation of the Q methods: a step cap cuts episodes that would run on, counted as truncated.</summary>
public class GreedyEvaluatorTests
{
    [Fact]
    public void AnEpisodeStillGoingAtTheCapIsCountedTruncatedWithItsReturnSoFar()
    {
        var config = new AsyncQConfig(AsyncQMethod.OneStepQ) { Env = "CartPole-v1", Evaluation = new() { EvalEpisodes = 4, EvalMaxSteps = 5 } };
        var spec = Acting.QSpec(config);
        var net = spec.Build();
        float[] theta = Acting.InitialTheta(net, 1);
        var evaluator = new GreedyEvaluator(config.MakeEnv(4), spec, 4, 1, config.Evaluation.EvalMaxSteps);
        Hybrid.Envs.EpisodeRecord[] episodes = evaluator.Run(theta).ToArray();
        // CartPole cannot fall in 5 steps from its start state, and pays 1 per step: every lane is cut at 5 with 5.
        Assert.Equal([0, 1, 2, 3], episodes.Select(e => e.Lane));
        Assert.All(episodes, e => Assert.Equal((5f, 5, false), (e.Return, e.Length, e.Terminated)));
        // Without a cap the same evaluation runs its episodes to their end.
        var uncapped = new GreedyEvaluator(config.MakeEnv(4), spec, 4, 1);
        Assert.All(uncapped.Run(theta).ToArray(), e => Assert.True(e.Length > 5, $"{e}"));
        Assert.Throws<ArgumentException>(() => (config with { Evaluation = new() { EvalMaxSteps = 0 } }).Validate());
    }
}
