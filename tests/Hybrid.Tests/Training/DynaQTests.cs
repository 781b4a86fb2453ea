using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;

namespace Hybrid.Tests.Training;

/// <summary>Parallel Deep Dyna-Q: its world model, and the planning threads learning beside the real one.</summary>
public class DynaQTests
{
    /// <summary>
    /// A known deterministic transition on 3 features and 2 actions: action 1 moves feature 0 by +0.1 and feature 1 by -0.05,
    /// action 0 the other way; feature 2 gains half of feature 0; the reward is 1 for action 1, -1 for action 0; the step
    /// terminates where feature 0 ends above 0.5.
    /// </summary>
    static void Transition(ReadOnlySpan<float> s, int a, Span<float> next, out float reward, out bool terminated)
    {
        float sign = a == 1 ? 1f : -1f;
        next[0] = s[0] + 0.1f * sign;
        next[1] = s[1] - 0.05f * sign;
        next[2] = s[2] + 0.5f * s[0];
        reward = sign;
        terminated = next[0] > 0.5f;
    }

    [Fact]
    public void TheWorldModelLearnsAKnownDeterministicTransition()
    {
        const int batch = 64, features = 3;
        var spec = new ModelSpec { Kind = ModelKind.WorldModel, ObservationShape = [features], Hidden = [32, 32], Activation = Activation.Relu, Actions = 2 };
        var model = new WorldModel(spec, batch);
        float[] theta = model.InitialParameters(seed: 5);
        var gradient = new float[theta.Length];
        var adam = new Adam(theta.Length);
        var rng = new Rng(6);
        float[] s = new float[batch * features], next = new float[batch * features], rewards = new float[batch], terminated = new float[batch];
        int[] actions = new int[batch];
        void Draw()
        {
            for (int b = 0; b < batch; b++)
            {
                for (int k = 0; k < features; k++) s[b * features + k] = rng.NextFloat(-1f, 1f);
                actions[b] = rng.NextInt(2);
                Transition(s.AsSpan(b * features, features), actions[b], next.AsSpan(b * features, features), out rewards[b], out bool end);
                terminated[b] = end ? 1f : 0f;
            }
        }

        (double Change, double Reward, double Termination) Errors()
        {
            // Fresh transitions: the mean absolute error of the next state and the reward, and the share of terminations called wrong.
            var predicted = new float[batch * features];
            var predictedRewards = new float[batch];
            var ends = new float[batch];
            (double change, double reward, double wrong) = (0, 0, 0);
            for (int round = 0; round < 20; round++)
            {
                Draw();
                model.Predict(theta, s, actions, batch, predicted, predictedRewards, ends);
                for (int i = 0; i < batch * features; i++) change += Math.Abs(predicted[i] - next[i]);
                for (int b = 0; b < batch; b++)
                {
                    reward += Math.Abs(predictedRewards[b] - rewards[b]);
                    wrong += (ends[b] > 0.5f) != (terminated[b] == 1f) ? 1 : 0;
                }
            }
            return (change / (20 * batch * features), reward / (20 * batch), wrong / (20 * batch));
        }

        (double change0, double reward0, _) = Errors();
        float firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < 3000; step++)
        {
            Draw();
            Array.Clear(gradient);
            float loss = model.AddGradient(theta, s, actions, rewards, terminated, next, batch, gradient);
            if (step == 0) firstLoss = loss;
            lastLoss = loss;
            adam.Step(theta, gradient, 3e-3f);
        }
        (double change, double reward, double termination) = Errors();
        // Untrained, the model's next state is off by about as much as the change itself (0.1-0.25 per feature) and its
        // reward by about 1; trained, by a small fraction of that, and it calls terminations right nearly always (a
        // model that never predicted one would be wrong on about a quarter of these transitions).
        Assert.True(change < 0.02 && change < change0 / 5, $"next-state error {change:F4} (untrained {change0:F4})");
        Assert.True(reward < 0.05 && reward < reward0 / 10, $"reward error {reward:F4} (untrained {reward0:F4})");
        Assert.True(termination < 0.03, $"terminations called wrong: {termination:P1}");
        Assert.True(lastLoss < firstLoss / 10, $"loss {firstLoss:F3} -> {lastLoss:F3}");
    }

    /// <summary>Dyna-Q on CartPole-v1 with its preset's (DQN's) settings, greedy evaluation every 2,500 steps.</summary>
    static DynaQConfig CartPole(int planners) =>
        (DynaQConfig)Presets.Resolve("dyna-q", [new SettingsLayer("the test's", [new Setting("env", "CartPole-v1", "test")])], usePreset: true).Config with
        {
            Seed = 1,
            PlanningThreads = planners,
            MaxEnvSteps = 150_000,
            StopWhenSolved = true,
            Evaluation = new() { EvalInterval = 2_500 },
        };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DynaQWithPlanningThreadsSolvesCartPole(int planners)
    {
        // On 2 cores seed 1 solved at 30,000 steps with one planning thread and 7,500 with two (seed 2: 35,000 and 15,000);
        // the threads interleave differently from run to run, so the budget leaves room. An untrained greedy policy holds
        // the pole some 10-30 steps.
        (RunSummary summary, RecordingSink sink) = TrainingTestSupport.Train(CartPole(planners));
        Assert.True(summary.Solved, $"not solved in {summary.EnvSteps} steps; final greedy mean {summary.FinalMeanReturn:F1}");
        Assert.Equal(1 + planners, summary.Threads);
        // The planning threads learned the model and fed Q simulated updates: simulated_ratio 1 per real update per
        // thread makes the share K / (1 + K) once the models are warm, less before.
        RuntimeTelemetry runtime = Assert.IsType<RuntimeTelemetry>(summary.Runtime);
        Assert.InRange(runtime.SimulatedShare, 0.05, planners / (1.0 + planners) + 0.01);
        Assert.True(runtime.SimulatedPerSecond > 0, $"simulated transitions per second {runtime.SimulatedPerSecond}");
        Assert.True(double.IsFinite(runtime.ModelLoss) && runtime.ModelLoss >= 0, $"model loss {runtime.ModelLoss}");
        Assert.Contains(sink.Rows.ToArray(), r => r.Runtime is { } t && double.IsFinite(t.ModelLoss));
    }

    [Fact]
    public void APlanningThreadThatFailsStopsTheRunNamingItself()
    {
        // A model learning rate that sends the world model's parameters to infinity: the planning thread's check of its
        // loss throws, and the run stops with that thread's name.
        DynaQConfig config = CartPole(1) with { ModelLearningRate = 1e30f, MaxGradNorm = 0, ModelWarmup = 10, StopWhenSolved = false };
        var e = Assert.Throws<WorkerFailedException>(() => TrainingTestSupport.Train(config));
        Assert.Equal("dyna-q planner 0", e.Worker);
        Assert.IsType<TrainingDivergedException>(e.InnerException);
    }

    [Fact]
    public void SettingsThatDynaQCannotHonourAreRefused()
    {
        DynaQConfig config = CartPole(1);
        Assert.Contains("threads was 2", Assert.Throws<ArgumentException>(() => (config with { Threads = 2 }).Validate()).Message);
        Assert.Contains("n_step was 3", Assert.Throws<ArgumentException>(() => (config with { NStep = 3 }).Validate()).Message);
        Assert.Contains("planning_threads was -1", Assert.Throws<ArgumentException>(() => (config with { PlanningThreads = -1 }).Validate()).Message);
        Assert.Contains("simulated_ratio", Assert.Throws<ArgumentException>(() => (config with { SimulatedRatio = 0 }).Validate()).Message);
    }
}
