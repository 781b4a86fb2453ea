using Hybrid.Envs;
using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Rollouts;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Training;

/// <summary>Actor-critics with an LSTM: learning a partially observed task, and their hot loops.</summary>
public class RecurrentTests
{
    /// <summary>A3C's preset for CartPoleNoVel-v1 on one worker (deterministic for a seed), with a smaller network so the test stays short.</summary>
    static A3cConfig NoVelocities(RecurrentKind memory) =>
        (A3cConfig)Presets.Resolve("a3c", [new SettingsLayer("the test's", [new Setting("env", "CartPoleNoVel-v1", "test")])], usePreset: true).Config with
    {
        Seed = 1,
        Threads = 1,
        Hidden = [32],
        MaxEnvSteps = 800_000,
        LogInterval = 20_000,
        Memory = new() { Recurrent = memory, LstmUnits = 32 },
    };

    [Fact]
    public void A3cWithAnLstmLearnsCartPoleWithoutVelocitiesWhereFeedForwardDoesNot()
    {
        // The same settings, budget and seed, with and without memory; the best mean of 100 training episodes over the
        // run's rows (every 20,000 steps). A policy that sees x and theta alone cannot tell which way the pole moves:
        // feed-forward A3C's best stayed between 46 and 55 on seeds 1-6; with the LSTM it reached 96-354 on the same seeds.
        double Best(RecurrentKind memory)
        {
            (_, RecordingSink sink) = TrainingTestSupport.Train(NoVelocities(memory));
            return sink.Rows.ToArray().Select(r => r.MeanReturn100).Where(double.IsFinite).Max();
        }
        double lstm = Best(RecurrentKind.Lstm), feedForward = Best(RecurrentKind.None);
        Assert.True(feedForward < 70, $"feed-forward: best {feedForward:F1}");
        Assert.True(lstm >= 80 && lstm > 1.5 * feedForward, $"lstm best {lstm:F1}, feed-forward best {feedForward:F1}");
    }

    [Fact]
    public void ALearnerRecomputesTheActorsUnrollFromTheStateTheRolloutKept()
    {
        // IMPALA's learner recomputes an actor's unroll from what the rollout holds: the state that entered it and where
        // lanes' episodes began. At the actor's own parameters it must find the actor's log-probabilities and values, a
        // rollout that starts mid-episode and crosses an episode's end included.
        var spec = ModelSpec.Parse("actor-critic obs=2 hidden=16 act=tanh actions=discrete:2 lstm=8");
        var actor = (ActorCriticNetwork)spec.Build();
        var learner = (ActorCriticNetwork)spec.Build();
        float[] theta = Acting.InitialTheta(actor, seed: 3);
        const int lanes = 3, steps = 16;
        VectorEnv env = EnvRegistry.Make("CartPoleNoVel-v1", lanes);
        env.Reset(9);
        var rollout = new Rollout(steps, lanes, env.Spec, spec.Recurrent);
        Rng[] rngs = [new Rng(4), new Rng(5), new Rng(6)];
        bool checkedOne = false;
        for (int round = 0; round < 10 && !checkedOne; round++)
        {
            rollout.Clear();
            for (int t = 0; t < steps; t++) Acting.Step(actor, theta, env, rollout, 0.99f, rngs, recordLogProbabilities: true);
            // Only a rollout that both starts from a carried (non-zero) state and resets a lane inside is the case to check.
            if (rollout.InitialHidden.All(v => v == 0) || !rollout.Resets.Contains(true)) continue;
            checkedOne = true;
            int count = rollout.Count;
            learner.ForwardSequence(theta, rollout.Observations, rollout.InitialHidden, rollout.InitialCell, rollout.Resets, lanes, steps);
            for (int i = 0; i < count; i++)
            {
                float logPi = Hybrid.Nn.Heads.Categorical.LogProbability(learner.Policy(count).Slice(i * 2, 2), rollout.DiscreteActions[i]);
                Assert.Equal(rollout.LogProbabilities[i], logPi, 5);
                Assert.Equal(rollout.Values[i], learner.Values(count)[i], 5);
            }
            // Without the kept state the recomputation is not the actor's.
            learner.ForwardSequence(theta, rollout.Observations, new float[lanes * 8], new float[lanes * 8], rollout.Resets, lanes, steps);
            Assert.NotEqual(rollout.Values[0], learner.Values(count)[0]);
        }
        Assert.True(checkedOne, "no rollout both started mid-episode and crossed an episode's end");
    }

    [Fact]
    public void ImpalaWithAnLstmRunsItsActorsAndLearnerButNotAcrossProcesses()
    {
        var config = new ImpalaConfig { Env = "CartPoleNoVel-v1", Seed = 2, MaxEnvSteps = 20_000, Memory = new() { Recurrent = RecurrentKind.Lstm, LstmUnits = 8 } };
        (RunSummary summary, _) = TrainingTestSupport.Train(config);
        Assert.True(summary.EnvSteps >= 20_000 && summary.Updates > 0, $"{summary.EnvSteps} steps, {summary.Updates} updates");
        Assert.True(double.IsFinite(summary.FinalMeanReturn));
        var e = Assert.Throws<ArgumentException>(() => Hybrid.Cluster.ClusterRuns.Learn(config, new RunContext(config, null, null),
            Hybrid.Cluster.ClusterAddress.Parse("localhost"), 0, null, _ => { }));
        Assert.Contains("recurrent impala runs in one process", e.Message);
    }
}

/// <summary>The recurrent path's hot loops (process-wide allocation counts: nothing else runs meanwhile).</summary>
[Collection(nameof(AllocationCollection))]
public class RecurrentAllocationTests
{
    [Theory]
    [InlineData("a3c")]
    [InlineData("a2c")]
    public void TrainingWithAnLstmAllocatesNoMoreForMoreSteps(string algo)
    {
        // Acting from the carried state, the unroll, its backward pass and the bootstrap steps: nothing per step.
        var memory = new RecurrentSettings { Recurrent = RecurrentKind.Lstm, LstmUnits = 8 };
        AlgoConfig config = algo == "a3c"
            ? new A3cConfig { Env = "CartPoleNoVel-v1", Seed = 5, Hidden = [16], Memory = memory }
            : new A2cConfig { Env = "CartPoleNoVel-v1", Seed = 5, Hidden = [16], Memory = memory, Compute = new() { Device = Hybrid.Training.Devices.DeviceKind.Cpu } };
        (long growth, string message) = AsyncAllocationTests.Growth(config);
        Assert.True(growth < 256 * 1024, message);
    }
}
