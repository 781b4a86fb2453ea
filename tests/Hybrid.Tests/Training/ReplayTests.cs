using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Training;

/// <summary>The replay buffer, n-step transitions, DQN's targets, and DQN end to end.</summary>
public class ReplayTests
{
    static float[] Obs(float v) => [v, v + 0.5f];

    [Fact]
    public void TheBufferKeepsTheNewestTransitionsAndGathersThem()
    {
        var buffer = new ReplayBuffer(capacity: 3, observationSize: 2);
        for (int i = 0; i < 5; i++) buffer.Add(Obs(i), action: i, reward: 10 * i, discount: 0.5f, next: Obs(i + 1));
        // Five added, three kept: the first two were replaced, FIFO (slot 0 holds the fourth, slot 1 the fifth).
        Assert.Equal(3, buffer.Count);
        Assert.Equal(5, buffer.Added);
        Assert.Equal((3, 30f, 0.5f), buffer.At(0));
        Assert.Equal((4, 40f, 0.5f), buffer.At(1));
        Assert.Equal((2, 20f, 0.5f), buffer.At(2));
        var observations = new float[4];
        var next = new float[4];
        var actions = new int[2];
        var rewards = new float[2];
        var discounts = new float[2];
        buffer.Gather([2, 0], observations, actions, rewards, discounts, next);
        Assert.Equal([2f, 2.5f, 3f, 3.5f], observations);
        Assert.Equal([3f, 3.5f, 4f, 4.5f], next);
        Assert.Equal([2, 3], actions);
        Assert.Equal([20f, 30f], rewards);
        Assert.Throws<ArgumentException>(() => buffer.Add([1f], 0, 0, 0, [1f, 2f]));
        Assert.Throws<InvalidOperationException>(() => new ReplayBuffer(4, 2).SampleUniform(new Rng(1), new int[3]));
    }

    [Fact]
    public void UniformSamplingDrawsEverySlotAsOftenWithinChance()
    {
        // 10 slots, 100,000 draws: each count is binomial(100,000, 0.1), sd about 95; 6 sd is about 570.
        var buffer = new ReplayBuffer(10, 1);
        for (int i = 0; i < 10; i++) buffer.Add([i], 0, 0, 1, [i]);
        var counts = new int[10];
        var slots = new int[1000];
        var rng = new Rng(3, RandomStreams.ReplaySampling);
        for (int round = 0; round < 100; round++)
        {
            buffer.SampleUniform(rng, slots);
            foreach (int s in slots) counts[s]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 10_000 - 570, 10_000 + 570));
    }

    [Fact]
    public void TheBufferRoundTripsThroughACheckpoint()
    {
        var buffer = new ReplayBuffer(4, 2);
        for (int i = 0; i < 6; i++) buffer.Add(Obs(i), i, i, 0.9f, Obs(-i));
        using var stream = new MemoryStream();
        buffer.Save(new BinaryWriter(stream));
        stream.Position = 0;
        var copy = new ReplayBuffer(4, 2);
        copy.Load(new BinaryReader(stream));
        Assert.Equal(buffer.Added, copy.Added);
        Assert.Equal(buffer.Next, copy.Next);
        for (int slot = 0; slot < 4; slot++)
        {
            Assert.Equal(buffer.At(slot), copy.At(slot));
            Assert.Equal(buffer.ObservationsAt(slot).Next.ToArray(), copy.ObservationsAt(slot).Next.ToArray());
        }
        stream.Position = 0;
        Assert.Throws<InvalidDataException>(() => new ReplayBuffer(5, 2).Load(new BinaryReader(stream)));
    }

    [Fact]
    public void BoxActionsGoThroughTheNStepWriterAndTheBufferAndACheckpointWhole()
    {
        // Two-float actions: a 2-step writer's transition carries the first step's action, and gathers, saves and loads whole.
        var buffer = new ReplayBuffer(4, 2, boxActionSize: 2);
        var writer = new NStepWriter(lanes: 1, n: 2, observationSize: 2, gamma: 0.5f, boxActionSize: 2);
        writer.Add(0, Obs(0), [0.25f, -0.75f], 1f, terminated: false, truncated: false, Obs(1), buffer);
        writer.Add(0, Obs(1), [0.5f, 1f], 2f, terminated: true, truncated: false, Obs(2), buffer);
        Assert.Equal(2, buffer.Count);
        Assert.Equal([0.25f, -0.75f], buffer.ActionAt(0).ToArray());
        Assert.Equal([0.5f, 1f], buffer.ActionAt(1).ToArray());
        float[] observations = new float[4], next = new float[4], actions = new float[4], rewards = new float[2], discounts = new float[2];
        buffer.Gather([1, 0], observations, actions, rewards, discounts, next);
        Assert.Equal([0.5f, 1f, 0.25f, -0.75f], actions);
        // R = 1 + 0.5 * 2 for the first step (the episode ended at the second: discount 0); 2 for the second.
        Assert.Equal([2f, 2f], rewards);
        Assert.Equal([0f, 0f], discounts);
        using var stream = new MemoryStream();
        buffer.Save(new BinaryWriter(stream));
        stream.Position = 0;
        var copy = new ReplayBuffer(4, 2, boxActionSize: 2);
        copy.Load(new BinaryReader(stream));
        Assert.Equal(buffer.ActionAt(1).ToArray(), copy.ActionAt(1).ToArray());
        stream.Position = 0;
        Assert.Throws<InvalidDataException>(() => new ReplayBuffer(4, 2).Load(new BinaryReader(stream)));
        Assert.Throws<ArgumentException>(() => buffer.Add(Obs(0), 1, 0, 1, Obs(1)));
        Assert.Throws<ArgumentException>(() => buffer.Add(Obs(0), [1f], 0, 1, Obs(1)));
        Assert.Throws<ArgumentException>(() => new ReplayBuffer(4, 2).Add(Obs(0), [1f], 0, 1, Obs(1)));
    }

    [Fact]
    public void NStepTransitionsCarryTheDiscountedRewardsAndEndWithTheEpisode()
    {
        // n = 3, gamma 0.5, one lane. Steps 0-4 with rewards 1, 2, 4, 8, 16; step 4 terminates.
        var buffer = new ReplayBuffer(16, 2);
        var writer = new NStepWriter(lanes: 1, n: 3, observationSize: 2, gamma: 0.5f);
        float[] rewards = [1, 2, 4, 8, 16];
        for (int t = 0; t < 5; t++) writer.Add(0, Obs(t), action: t, rewards[t], terminated: t == 4, truncated: false, next: Obs(t + 1), buffer);
        // Full windows: from s0, 1 + 0.5*2 + 0.25*4 = 3, bootstrapping from s3 with 0.125; from s1, 2 + 2 + 2 = 6 from s4;
        // then the terminal flushes the rest with discount 0: from s2, 4 + 4 + 4 = 12; from s3, 8 + 8 = 16; from s4, 16.
        Assert.Equal(5, buffer.Count);
        Assert.Equal((0, 3f, 0.125f), buffer.At(0));
        Assert.Equal(Obs(3), buffer.ObservationsAt(0).Next.ToArray());
        Assert.Equal((1, 6f, 0.125f), buffer.At(1));
        Assert.Equal((2, 12f, 0f), buffer.At(2));
        Assert.Equal((3, 16f, 0f), buffer.At(3));
        Assert.Equal((4, 16f, 0f), buffer.At(4));
        Assert.Equal(0, writer.Pending(0));

        // A truncation after two steps: both go out bootstrapping from the final observation, with gamma^k.
        writer.Add(0, Obs(10), 5, 1, false, false, Obs(11), buffer);
        writer.Add(0, Obs(11), 6, 2, false, truncated: true, Obs(99), buffer);
        Assert.Equal((5, 2f, 0.25f), buffer.At(5));
        Assert.Equal((6, 2f, 0.5f), buffer.At(6));
        Assert.Equal(Obs(99), buffer.ObservationsAt(5).Next.ToArray());
        Assert.Equal(Obs(99), buffer.ObservationsAt(6).Next.ToArray());
    }

    [Fact]
    public void OneStepTransitionsAreTheStepsThemselves()
    {
        var buffer = new ReplayBuffer(8, 2);
        var writer = new NStepWriter(2, 1, 2, 0.99f);
        writer.Add(0, Obs(0), 1, 5, false, false, Obs(1), buffer);
        writer.Add(1, Obs(7), 2, -1, true, false, Obs(8), buffer);
        Assert.Equal((1, 5f, 0.99f), buffer.At(0));
        Assert.Equal((2, -1f, 0f), buffer.At(1));
    }

    [Fact]
    public void DqnTargetsBootstrapFromTheTargetNetworkAndDoubleQLetsTheOnlineNetworkChoose()
    {
        // A linear Q-network (no hidden layer) on 2 inputs with 3 actions: Q = W^T s + b, weights [2, 3] row-major then biases.
        var spec = new ModelSpec { Kind = ModelKind.QNetwork, ObservationShape = [2], Hidden = [], Actions = 3, ActionKind = ActionKind.Discrete };
        var targetNet = (QNetwork)spec.Build();
        var onlineNet = (QNetwork)spec.Build();
        // Target: Q(s') = (s0, 2 s0, 3 s1); online: Q(s') = (0, 0, -s1) + (1, 0, 0), so it prefers action 0 for s1 > -1.
        float[] target = [1, 2, 0, 0, 0, 3, 0, 0, 0];
        float[] online = [0, 0, 0, 0, 0, -1, 1, 0, 0];
        float[] next = [1, 1, 2, 0];           // s'_0 = (1, 1): target Q (1, 2, 3); s'_1 = (2, 0): target Q (2, 4, 0)
        float[] rewards = [0.5f, -1f], discounts = [0.9f, 0f];
        var targets = new float[2];
        DqnTargets.Compute(targetNet, target, null, online, next, rewards, discounts, 2, targets);
        // max over the target network: 0.5 + 0.9 * 3; the second is terminal: -1.
        Assert.Equal(0.5f + 0.9f * 3f, targets[0], 6);
        Assert.Equal(-1f, targets[1]);
        DqnTargets.Compute(targetNet, target, onlineNet, online, next, rewards, discounts, 2, targets);
        // The online network picks action 0 for s'_0 (Q = 1, 0, -1): the target network's Q(s'_0, 0) = 1.
        Assert.Equal(0.5f + 0.9f * 1f, targets[0], 6);
        Assert.Equal(-1f, targets[1]);
    }

    [Fact]
    public void EpsilonFallsLinearlyToItsFinalValue()
    {
        var config = new DqnConfig { MaxEnvSteps = 100_000, ExplorationFraction = 0.2f, ExplorationFinalEps = 0.1f };
        Assert.Equal(1f, config.Epsilon(0));
        Assert.Equal(0.55f, config.Epsilon(10_000), 5);
        Assert.Equal(0.1f, config.Epsilon(20_000), 5);
        Assert.Equal(0.1f, config.Epsilon(90_000), 5);
    }

    [Fact]
    public void ABufferTooLargeForTheMachineIsRefusedWithItsSize()
    {
        var e = Assert.Throws<ArgumentException>(() => new DqnConfig { Env = "MinAtar/Seaquest-v1", BufferSize = 2_000_000_000 }.Validate());
        Assert.Contains("replay buffer of", e.Message);
        Assert.Contains("buffer_size", e.Message);
    }

    /// <summary>
    /// rl-baselines3-zoo's DQN settings for CartPole-v1 (learning rate 2.3e-3, batch 64, target refreshed every 10 env
    /// steps, 128 gradient steps every 256 env steps, epsilon to 0.04 over 16% of 50,000 steps) with Hybrid's 64-64 network.
    /// </summary>
    internal static DqnConfig CartPole(int seed) => new()
    {
        Env = "CartPole-v1", Seed = seed, LearningRate = 2.3e-3f, BatchSize = 64, TargetUpdateInterval = 10, TrainFrequency = 256, GradientSteps = 128,
        ExplorationFraction = 0.16f, ExplorationFinalEps = 0.04f, AnnealSteps = 50_000, MaxEnvSteps = 60_000, StopWhenSolved = true,
        Evaluation = new() { EvalInterval = 2_500 },
    };

    [Fact]
    public void DqnSolvesCartPole()
    {
        // Greedy evaluation every 2,500 steps; seed 1 reaches 475 at 40,000 steps here (seeds 2 and 3: 17,500 and 32,500).
        // A greedy policy of an untrained network ends its CartPole episodes in tens of steps.
        (RunSummary summary, _) = TrainingTestSupport.Train(CartPole(1));
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
        Assert.True(summary.Updates > 10_000, $"{summary.Updates} gradient steps");
    }
}

/// <summary>The sum tree and prioritized replay.</summary>
public class PrioritizedReplayTests
{
    [Fact]
    public void TheTreeSumsAndFindsEachSlotForItsShareOfTheTotal()
    {
        var tree = new SumTree(5);   // 8 leaves, 3 never used
        double[] priorities = [1, 0, 3, 0.5, 2];
        for (int i = 0; i < 5; i++) tree.Set(i, priorities[i]);
        Assert.Equal(6.5, tree.Total, 12);
        Assert.Equal(0.5, tree.Min);
        // Cumulative spans: slot 0 [0, 1), slot 2 [1, 4), slot 3 [4, 4.5), slot 4 [4.5, 6.5); slot 1 (priority 0) never.
        Assert.Equal(0, tree.Find(0));
        Assert.Equal(0, tree.Find(0.999));
        Assert.Equal(2, tree.Find(1));
        Assert.Equal(2, tree.Find(3.999));
        Assert.Equal(3, tree.Find(4.2));
        Assert.Equal(4, tree.Find(6.4));
        // At or past the total (rounding at the edge), the last slot with a priority, never an empty one.
        Assert.Equal(4, tree.Find(6.5));
        Assert.Equal(4, tree.Find(7));
        // An update moves the sums, the minimum, and the spans.
        tree.Set(3, 0);
        Assert.Equal(6.0, tree.Total, 12);
        Assert.Equal(1, tree.Min);
        Assert.Equal(4, tree.Find(4.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Set(5, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Set(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Set(0, double.NaN));
        Assert.Throws<InvalidOperationException>(() => new SumTree(3).Find(0));
    }

    [Fact]
    public void DrawsFollowThePrioritiesWithinAStatisticalBound()
    {
        // Priorities 1..8 (alpha 1): P(i) = (i + 1) / 36. 72,000 draws in batches of 8 (stratified); each count is
        // within 6 standard deviations of its binomial expectation (stratification only narrows the spread).
        var buffer = new ReplayBuffer(8, 1);
        var replay = new PrioritizedReplay(buffer, alpha: 1);
        for (int i = 0; i < 8; i++) buffer.Add([i], i, 0, 1, [i]);
        int[] slots = new int[8];
        float[] weights = new float[8];
        float[] errors = new float[8];
        for (int i = 0; i < 8; i++) (slots[i], errors[i]) = (i, i + 1);
        replay.Update(slots, errors);
        var counts = new int[8];
        var rng = new Rng(5, RandomStreams.ReplaySampling);
        const int rounds = 9_000, draws = rounds * 8;
        for (int r = 0; r < rounds; r++)
        {
            replay.Sample(rng, beta: 0.5, slots, weights);
            foreach (int s in slots) counts[s]++;
        }
        for (int i = 0; i < 8; i++)
        {
            double p = (i + 1) / 36.0, expected = draws * p, sd = Math.Sqrt(draws * p * (1 - p));
            Assert.InRange(counts[i], expected - 6 * sd, expected + 6 * sd);
        }
    }

    [Fact]
    public void ImportanceWeightsAreNormalizedByTheLargestAndNewTransitionsGetTheMaximumPriority()
    {
        // alpha 0.5: priorities (|delta| + eps)^0.5 of errors 3 and 15 are about sqrt 3 and sqrt 15; N = 2.
        var buffer = new ReplayBuffer(4, 1);
        var replay = new PrioritizedReplay(buffer, alpha: 0.5, epsilon: 1e-6);
        buffer.Add([0], 0, 0, 1, [0]);
        buffer.Add([1], 0, 0, 1, [1]);
        Assert.Equal(1.0, replay.Tree[0]);                      // the first transitions get the initial maximum, 1
        replay.Update([0, 1], [3f, -15f]);
        Assert.Equal(15 + 1e-6, replay.MaxPriority, 9);
        double p0 = Math.Sqrt(3 + 1e-6), p1 = Math.Sqrt(15 + 1e-6), total = p0 + p1;
        int[] slots = new int[2];
        float[] weights = new float[2];
        replay.Sample(new Rng(1), beta: 1, slots, weights);
        // w_i = (N P(i))^-beta / max_j w_j: the smaller priority's weight is 1, the larger's p0 / p1.
        for (int i = 0; i < 2; i++)
            Assert.Equal(slots[i] == 0 ? 1.0 : p0 / p1, weights[i], 5);
        Assert.Equal(p0 + p1, total, 12);
        // A new transition gets the largest priority seen, (15 + eps)^0.5.
        buffer.Add([2], 0, 0, 1, [2]);
        Assert.Equal(Math.Sqrt(15 + 1e-6), replay.Tree[2], 9);
    }

    [Fact]
    public void DqnWithPrioritizedReplaySolvesCartPole()
    {
        // The CartPole settings of the uniform test with prioritized replay (alpha 0.6, beta from 0.4 to 1 over 50,000
        // steps); seed 1 here, greedy evaluation every 2,500 steps.
        (RunSummary summary, _) = TrainingTestSupport.Train(ReplayTests.CartPole(1) with { Replay = ReplayKind.Prioritized });
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
    }
}

/// <summary>Concurrent DQN: workers sharing one network and one replay, under a lock or lock-free.</summary>
public class ConcurrentDqnTests
{
    [Theory]
    [InlineData(UpdateMode.Lock)]
    [InlineData(UpdateMode.Hogwild)]
    public void TwoWorkersSharingTheNetworkAndReplaySolveCartPole(UpdateMode mode)
    {
        // Two workers (a lane each) with the uniform test's settings; on 2 cores most runs under either mode solved at
        // 20,000-50,000 steps here (a run that solves at 20,000 has taken some 3,000 updates). The threads' interleaving
        // varies from run to run, and now and then a run's greedy policy falls back after a peak (DQN on CartPole
        // does; one run ended at 316.6 after 150,000 steps under the full suite's load): it must solve, or its best
        // greedy evaluation must reach 300, where an untrained greedy policy holds the pole some 10-30 steps.
        DqnConfig config = ReplayTests.CartPole(1) with { Threads = 2, Async = new() { Update = mode }, MaxEnvSteps = 150_000 };
        (RunSummary summary, RecordingSink sink) = TrainingTestSupport.Train(config);
        Assert.Equal(2, summary.Threads);
        double best = sink.Rows.ToArray().Select(r => r.EvalReturn100).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
        Assert.True(summary.Solved || best >= 300,
            $"{mode}: not solved in {summary.EnvSteps} steps; best greedy mean {best:F1}, final {summary.FinalMeanReturn:F1}");
        Assert.True(summary.Updates > 1_000, $"{summary.Updates} updates");
        // Telemetry: updates per second per thread, and under the lock the mean wait for it (0 or more microseconds).
        RuntimeTelemetry runtime = Assert.IsType<RuntimeTelemetry>(summary.Runtime);
        Assert.InRange(runtime.UpdatesPerSecondPerThread, 1, 1e7);
        Assert.Equal(runtime.UpdatesPerSecond / 2, runtime.UpdatesPerSecondPerThread, 6);
        if (mode == UpdateMode.Lock) Assert.InRange(runtime.LockWaitMicroseconds, 0, 1e6);
        else Assert.True(double.IsNaN(runtime.LockWaitMicroseconds));
        Assert.Contains(sink.Rows.ToArray(), r => r.Runtime is { } t && !double.IsNaN(t.UpdatesPerSecondPerThread));
    }
}

/// <summary>Ape-X: the actors' epsilon ladder, and the actors, the central replay and the learner together.</summary>
public class ApexTests
{
    [Fact]
    public void EachActorExploresWithItsRungOfTheLadder()
    {
        // Horgan et al. 2018: epsilon_i = 0.4^(1 + 7 i / (N - 1)); the first actor 0.4, the last 0.4^8 (about 0.00066).
        var config = new ApexConfig { Threads = 8 };
        Assert.Equal(0.4f, config.ActorEpsilon(0), 6);
        Assert.Equal((float)Math.Pow(0.4, 2), config.ActorEpsilon(1), 6);
        Assert.Equal((float)Math.Pow(0.4, 8), config.ActorEpsilon(7), 6);
        Assert.Equal(0.4f, new ApexConfig { Threads = 1 }.ActorEpsilon(0), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => config.ActorEpsilon(8));
        var e = Assert.Throws<ArgumentException>(() => new ApexConfig { Replay = ReplayKind.Uniform }.Validate());
        Assert.Contains("replay was uniform", e.Message);
    }

    [Fact]
    public void ApexSolvesCartPole()
    {
        // Two actors, the learner a third thread; seed 1 solved at 40,000-60,000 steps in four runs here (the threads
        // interleave differently each run). The rate limiter holds the learner's replay near 8 per transition inserted.
        var config = new ApexConfig { Env = "CartPole-v1", Seed = 1, MaxEnvSteps = 300_000, StopWhenSolved = true };
        (RunSummary summary, _) = TrainingTestSupport.Train(config);
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
        RuntimeTelemetry runtime = Assert.IsType<RuntimeTelemetry>(summary.Runtime);
        Assert.InRange(runtime.ReplayRatio, 4, 10);
        Assert.True(runtime.ReplaySize > 1_000, $"replay held {runtime.ReplaySize}");
        Assert.True(runtime.ParameterAge > 0, $"parameter age {runtime.ParameterAge}");
        Assert.True(runtime.PriorityMean > 0 && runtime.PriorityMax >= 1, $"priorities: mean {runtime.PriorityMean}, max {runtime.PriorityMax}");
    }
}

/// <summary>DDPG: its pieces against hand computation and finite differences, and DDPG end to end on Pendulum.</summary>
public class DdpgTests
{
    /// <summary>The settings of the learning tests: 64-64 ReLU networks, batches of 64, learning from 1,000 steps, greedy evaluation every 2,500.</summary>
    internal static DdpgConfig Pendulum(int seed) => new()
    {
        Env = "Pendulum-v1", Seed = seed, BatchSize = 64, LearningStarts = 1_000, MaxEnvSteps = 80_000, StopWhenSolved = true, LogInterval = 2_500,
        Evaluation = new() { EvalInterval = 2_500, EvalEpisodes = 10 },
    };

    static void Close(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void PolyakMovesTheTargetByTauAndTauOneCopies()
    {
        float[] theta = [1f, -2f, 4f], target = [0f, 0f, 2f];
        Polyak.Update(theta, target, 0.25f, "test", 1);
        Assert.Equal([0.25f, -0.5f, 2.5f], target);
        Polyak.Update(theta, target, 1f, "test", 2);
        Assert.Equal(theta, target);
        float[] broken = [float.NaN, 0f, 0f];
        Assert.Throws<Hybrid.Training.Parallel.TrainingDivergedException>(() => Polyak.Update(broken, target, 0.5f, "test", 3));
    }

    [Fact]
    public void ActionsAreSquashedIntoTheUnitBoxThenMappedOntoTheEnvs()
    {
        var box = new Hybrid.Envs.BoxSpace([-2f, 0f], [2f, 10f]);
        float[] scaled = new float[4], env = new float[4];
        DeterministicActions.Squash([0f, 100f, -100f, MathF.Atanh(0.5f)], 2, scaled, box, env);
        Close([0f, 1f, -1f, 0.5f], scaled, 1e-6);
        // low + (a + 1) (high - low) / 2 per dimension: (0, 10) and (-2, 7.5).
        Close([0f, 10f, -2f, 7.5f], env, 1e-5);
    }

    /// <summary>Networks without hidden layers, parameters set by hand: mu(s) = tanh(w . s + b), Q(s, a) = v . (s, a) + c.</summary>
    static (QNetwork Actor, float[] ActorTheta, QNetwork Critic, float[] CriticTheta) Linear()
    {
        var actor = (QNetwork)ModelSpec.Parse("deterministic obs=2 hidden=none act=relu actions=box:1").Build();
        var critic = (QNetwork)ModelSpec.Parse("critic obs=2 hidden=none act=relu actions=box:1 atoms=1").Build();
        // A linear layer's parameters: the weights (out x in, row-major), then the bias.
        return (actor, [0.5f, -1f, 0.25f], critic, [1f, 2f, -3f, 0.5f]);
    }

    [Fact]
    public void TheCriticsTargetIsTheRewardPlusTheDiscountedTargetCriticAtTheTargetActorsAction()
    {
        (QNetwork actor, float[] actorTheta, QNetwork critic, float[] criticTheta) = Linear();
        var criticTarget = (QNetwork)critic.Spec.Build();
        foreach (QNetwork net in new[] { actor, critic, criticTarget }) net.EnsureCapacity(2);
        float[] obs = [1f, 0f, 0f, 1f], acts = [0.5f, -0.5f], rewards = [1f, 2f], discounts = [0.9f, 0f], next = [2f, 1f, 1f, 1f];
        float[] inputs = new float[6], actions = new float[2], targets = new float[2], qGradient = new float[2], errors = new float[2], gradient = new float[4];
        float loss = DdpgSteps.CriticGradient(actor, actorTheta, criticTarget, criticTheta, critic, criticTheta, obs, acts, rewards, discounts, next, [1f, 1f], 2,
            inputs, actions, targets, qGradient, errors, gradient);
        // s'_0 = (2, 1): mu' = tanh(0.5*2 - 1*1 + 0.25) = tanh(0.25); Q'(s'_0, a) = 1*2 + 2*1 - 3a + 0.5.
        double a0 = Math.Tanh(0.25), y0 = 1 + 0.9 * (4.5 - 3 * a0);
        // The second transition ended (discount 0): y = R.
        Assert.Equal(y0, targets[0], 5);
        Assert.Equal(2f, targets[1]);
        // Q(s, a) = v . (s, a) + c: (1 + 0 - 1.5 + 0.5) and (0 + 2 + 1.5 + 0.5).
        Assert.Equal(0 - y0, errors[0], 5);
        Assert.Equal(4f - 2f, errors[1], 5);
        Assert.Equal((Math.Pow(0 - y0, 2) + 4) / 4, loss, 4);
        // dL/dv = mean_i error_i (s_i, a_i); dL/dc = mean error.
        double e0 = -y0, e1 = 2;
        Close([e0 * 1 / 2, e1 * 1 / 2, (e0 * 0.5 + e1 * -0.5) / 2, (e0 + e1) / 2], gradient, 1e-5);
    }

    [Fact]
    public void TheActorsGradientChainsTheCriticsActionGradientThroughTanh()
    {
        // -mean Q(s, mu(s)) against central differences in the actor's parameters, through 8-wide hidden layers on both sides.
        const int batch = 4;
        var actor = (QNetwork)ModelSpec.Parse("deterministic obs=3 hidden=8 act=relu actions=box:2").Build();
        var critic = (QNetwork)ModelSpec.Parse("critic obs=3 hidden=8 act=relu actions=box:2 atoms=1").Build();
        var rng = new Rng(17);
        float[] theta = new float[actor.ParameterCount], criticTheta = new float[critic.ParameterCount];
        actor.Initialize(theta, rng);
        critic.Initialize(criticTheta, rng.Split(1));
        // Bigger actor outputs than the init's small head gives, so that tanh's slope matters: the head (8 x 2 weights and
        // 2 biases, last in theta) times 400.
        for (int i = theta.Length - 18; i < theta.Length; i++) theta[i] *= 400f;
        float[] obs = GradientCheck.Random(rng, batch * 3);
        actor.Forward(theta, obs, batch);
        Assert.Contains(actor.QValues(batch).ToArray(), u => Math.Abs(u) > 1f);
        foreach (QNetwork net in new[] { actor, critic }) net.EnsureCapacity(batch);
        float[] inputs = new float[batch * 5], actions = new float[batch * 2], qGradient = new float[batch], inputGradient = new float[batch * 5],
            actionGradient = new float[batch * 2], gradient = new float[theta.Length], scratch = new float[criticTheta.Length];
        DdpgSteps.ActorGradient(actor, theta, critic, criticTheta, obs, batch, inputs, actions, qGradient, inputGradient, actionGradient, gradient, scratch);
        double Loss() => DdpgSteps.ActorGradient(actor, theta, critic, criticTheta, obs, batch, inputs, actions, qGradient, inputGradient, actionGradient,
            new float[theta.Length], scratch);
        GradientCheck.Assert(theta, gradient, Loss, "actor theta", kinks: true);
    }

    [Fact]
    public void DdpgSolvesPendulum()
    {
        // Seed 1 solved at 27,500 steps here (greedy mean of 10 episodes above -200), in 3.3 s; the budget is about three times that.
        (RunSummary summary, _) = TrainingTestSupport.Train(Pendulum(1));
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
    }

    [Fact]
    public void ADiscreteEnvAndMoreThreadsThanItsLoopAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new DdpgConfig { Env = "CartPole-v1" }.Validate());
        Assert.Contains("whose actions are discrete; ddpg acts in a box", e.Message);
        e = Assert.Throws<ArgumentException>(() => new DdpgConfig { Env = "Pendulum-v1", Threads = 2 }.Validate());
        Assert.Contains("threads was 2; expected 1 (ddpg acts and learns in one loop", e.Message);
        // D4PG takes actor threads; none is refused.
        new D4pgConfig { Env = "Pendulum-v1", Threads = 3 }.Validate();
        e = Assert.Throws<ArgumentException>(() => new D4pgConfig { Env = "Pendulum-v1", Threads = 0 }.Validate());
        Assert.Contains("threads was 0", e.Message);
    }
}

/// <summary>D4PG: the categorical support's projection and mean against hand computation, its critic gradient against finite differences, and D4PG on Pendulum.</summary>
public class D4pgTests
{
    // Five atoms on [-2, 2]: values -2, -1, 0, 1, 2 (dz = 1).
    static readonly CategoricalSupport Five = new(5, -2f, 2f);

    [Fact]
    public void TheSupportIsEvenlySpacedAndItsBadShapesAreRefused()
    {
        Assert.Equal([-2f, -1f, 0f, 1f, 2f], Five.Values.ToArray());
        Assert.Equal(1f, Five.Delta);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalSupport(1, -1f, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalSupport(5, 1f, 1f));
        var e = Assert.Throws<ArgumentException>(() => new D4pgConfig { Env = "Pendulum-v1", VMin = 5f, VMax = 0f }.Validate());
        Assert.Contains("v_max", e.Message);
    }

    [Fact]
    public void AShiftedDistributionSharesEachAtomBetweenItsNeighboursByNearness()
    {
        // Row 0: Z on atoms -1 and 1 (0.5 each), R = 0.25, discount 1: values -0.75 and 1.25. -0.75 is a quarter of the
        // way from -1 to 0: 0.375 to -1 and 0.125 to 0; 1.25: 0.375 to 1 and 0.125 to 2.
        // Row 1: everything on atom 2, R = 1, discount 0.5: 2 -> 2 exactly; and atom -2 (none here).
        // Row 2: a terminal (discount 0) with R = -0.5: every atom lands on -0.5, half to -1 and half to 0.
        // Row 3: R = 5 beyond the support: everything clamps to 2; R = -9 in row 4 to -2.
        float[] next =
        [
            0f, 0.5f, 0f, 0.5f, 0f,
            0f, 0f, 0f, 0f, 1f,
            0.2f, 0.2f, 0.2f, 0.2f, 0.2f,
            0.1f, 0.2f, 0.3f, 0.4f, 0f,
            0f, 0f, 1f, 0f, 0f,
        ];
        float[] projected = new float[25];
        Five.Project(next, [0.25f, 1f, -0.5f, 5f, -9f], [1f, 0.5f, 0f, 1f, 1f], 5, projected);
        Assert.Equal([0f, 0.375f, 0.125f, 0.375f, 0.125f], projected[..5]);
        Assert.Equal([0f, 0f, 0f, 0f, 1f], projected[5..10]);
        Assert.Equal([0f, 0.5f, 0.5f, 0f, 0f], projected[10..15]);
        Assert.Equal([0f, 0f, 0f, 0f, 1f], projected[15..20]);
        Assert.Equal([1f, 0f, 0f, 0f, 0f], projected[20..25]);
    }

    [Fact]
    public void TheMeansGradientInTheLogitsMatchesFiniteDifferences()
    {
        float[] logits = [0.3f, -1f, 2f, 0.5f, 0f, 1f, 1f, -0.5f, 0.2f, 3f];
        var gradient = new float[10];
        double sum = Five.MeanGradient(logits, 2, 1f, gradient);
        // Row means from the softmax by hand.
        double Mean(int row)
        {
            double[] e = [.. logits.Skip(row * 5).Take(5).Select(x => Math.Exp(x))];
            return e.Select((x, j) => x * (j - 2)).Sum() / e.Sum();
        }
        Assert.Equal(Mean(0) + Mean(1), sum, 5);
        GradientCheck.Assert(logits, gradient, () => Mean(0) + Mean(1), "mean logits");
    }

    [Fact]
    public void TheCriticsCrossEntropyGradientMatchesFiniteDifferences()
    {
        const int batch = 3;
        var actor = (QNetwork)ModelSpec.Parse("deterministic obs=2 hidden=8 act=relu actions=box:1").Build();
        var critic = (QNetwork)ModelSpec.Parse("critic obs=2 hidden=8 act=relu actions=box:1 atoms=5").Build();
        var criticTarget = (QNetwork)critic.Spec.Build();
        var rng = new Rng(23);
        float[] actorTheta = new float[actor.ParameterCount], theta = new float[critic.ParameterCount], targetTheta = new float[critic.ParameterCount];
        actor.Initialize(actorTheta, rng);
        critic.Initialize(theta, rng.Split(1));
        critic.Initialize(targetTheta, rng.Split(2));
        foreach (QNetwork net in new[] { actor, critic, criticTarget }) net.EnsureCapacity(batch);
        float[] obs = GradientCheck.Random(rng, batch * 2), acts = GradientCheck.Random(rng, batch), next = GradientCheck.Random(rng, batch * 2);
        float[] rewards = [0.5f, -1f, 0.25f], discounts = [0.9f, 0f, 0.9f], weights = [1f, 0.5f, 2f];
        float[] inputs = new float[batch * 3], actions = new float[batch], projected = new float[batch * 5], logitGradient = new float[batch * 5],
            errors = new float[batch], gradient = new float[theta.Length];
        float Loss(float[] into) => D4pgSteps.CriticGradient(Five, actor, actorTheta, criticTarget, targetTheta, critic, theta, obs, acts, rewards, discounts, next,
            weights, batch, inputs, actions, projected, logitGradient, errors, into);
        float loss = Loss(gradient);
        // Each row's error is its cross-entropy, and the loss their weighted mean.
        Assert.Equal((errors[0] * 1 + errors[1] * 0.5 + errors[2] * 2) / 3, loss, 5);
        Assert.All(errors, e => Assert.True(e > 0));
        GradientCheck.Assert(theta, gradient, () => Loss(new float[theta.Length]), "d4pg critic theta", kinks: true);
    }

    [Fact]
    public void D4pgSolvesPendulum()
    {
        // DDPG's test settings with a 51-atom critic on [-1650, 0] and 5-step returns; seed 1 solved at
        // 25,000 steps here, in 6.8 s; the budget is about three times that.
        D4pgConfig config = new()
        {
            Env = "Pendulum-v1", Seed = 1, BatchSize = 64, LearningStarts = 1_000, MaxEnvSteps = 80_000, StopWhenSolved = true, LogInterval = 2_500,
            Evaluation = new() { EvalInterval = 2_500, EvalEpisodes = 10 }, VMin = -1650f, VMax = 0f,
        };
        (RunSummary summary, _) = TrainingTestSupport.Train(config);
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
    }
}

/// <summary>D4PG with actor threads feeding its learner through the central replay.</summary>
public class D4pgActorTests
{
    [Fact]
    public void TwoActorThreadsAndALearnerSolvePendulumWithTheReplaysTelemetry()
    {
        // Two actors (seeds of their own) and the learner thread, the preset's gamma and support, batches of 64; three runs
        // of seed 1 solved at 65,000, 65,000 and 70,000 steps here in about 1.6 s (the threads interleave, so the step
        // varies); the budget is 200,000.
        var config = new D4pgConfig
        {
            Env = "Pendulum-v1", Seed = 1, Threads = 2, Gamma = 0.98f, VMin = -850f, VMax = 0f, BatchSize = 64, LearningStarts = 2_000,
            MaxEnvSteps = 200_000, StopWhenSolved = true, LogInterval = 5_000, Evaluation = new() { EvalInterval = 5_000, EvalEpisodes = 10 },
        };
        (RunSummary summary, RecordingSink sink) = TrainingTestSupport.Train(config);
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
        Assert.Equal(2, summary.Threads);
        // The central replay's telemetry: its size, the learner's replay ratio held by the limiter, the actors' parameter age.
        RuntimeTelemetry runtime = Assert.IsType<RuntimeTelemetry>(summary.Runtime);
        Assert.True(runtime.ReplaySize > 2_000, $"replay size {runtime.ReplaySize}");
        Assert.InRange(runtime.ReplayRatio, 0.5, 2 * config.Distributed.SamplesPerInsert);
        Assert.True(runtime.ParameterAge >= 0, $"parameter age {runtime.ParameterAge}");
        Assert.Contains(sink.Rows.ToArray(), r => r.Runtime is { ReplaySize: > 0 });
    }
}

/// <summary>DDPG's and D4PG's loops allocate nothing per step, learning included.</summary>
public class ContinuousReplayAllocationTests
{
    [Theory]
    [InlineData("ddpg")]
    [InlineData("d4pg")]
    public void TwiceTheLearningStepsAllocateNoMore(string algo)
    {
        // Both runs learn from step 500 (batches of 16, 16-wide networks); set-up costs the same in both, so what
        // 3,000 more steps of acting and learning allocate is the difference, on this one thread: 16 KiB would be about
        // 5 bytes a step. The fewer of two tries, as the runtime's own one-off work lands in one at most.
        AlgoConfig Config(long steps) => (algo == "ddpg" ? new DdpgConfig() : new D4pgConfig { Atoms = 11, VMin = -1650f, VMax = 0f }) with
        {
            Env = "Pendulum-v1", Seed = 2, Hidden = [16, 16], BatchSize = 16, BufferSize = 10_000, LearningStarts = 500, MaxEnvSteps = steps, LogInterval = 1_000,
            Evaluation = new() { EvalInterval = 1_000_000, EvalEpisodes = 1 }, CheckpointSeconds = 0,
        };
        long Bytes(long steps) => AllocationProbe.FewestBytes(() => TrainingTestSupport.Train(Config(steps)), windows: 2);
        Bytes(1_000); // JIT
        long short_ = Bytes(2_000), long_ = Bytes(5_000);
        Assert.True(long_ - short_ < 16 * 1024, $"{algo}: {short_:N0} bytes for 2,000 steps, {long_:N0} for 5,000");
    }
}
