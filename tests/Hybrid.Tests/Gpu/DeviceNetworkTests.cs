using Hybrid.Envs;
using Hybrid.Gpu;
using Hybrid.Gpu.Kernels;
using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Metrics;
using Hybrid.Training.Rollouts;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Tests.Gpu;

/// <summary>
/// The actor-critic kernels against the CPU network on the same theta and the same rollout: logits and values of every
/// sample, the gradient of the loss (returns, loss, backward, reduction over the batch), and the clipped RMSProp step.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class DeviceNetworkTests(IlgpuFixture fixture)
{
    /// <summary>
    /// CartPole: categorical head, terminal steps inside the compared rollout. Pendulum: Gaussian head, and with 30 steps
    /// per rollout after six updates every lane is truncated (200 steps) at step 19 of the compared rollout, so the
    /// bootstrap from the final observation is compared too.
    /// </summary>
    [Theory]
    [InlineData("CartPole-v1", "tanh", 0.95f, 0.01f, 6, 8)]
    [InlineData("CartPole-v1", "relu", 1.0f, 0.0f, 6, 8)]
    [InlineData("Pendulum-v1", "tanh", 0.9f, 0.01f, 30, 6)]
    public void DeviceGradientAndStepMatchTheCpuNetwork(string envId, string activation, float lambda, float entropy, int tMax, int warmUp)
    {
        var config = new A2cConfig
        {
            Env = envId, NumEnvs = 24, TMax = tMax, Seed = 3, GaeLambda = lambda, EntropyCoef = entropy, Hidden = [32, 16],
            MaxGradNorm = 0.05f, LearningRate = 1e-3f,
        };
        EnvSpec env = EnvRegistry.Spec(envId);
        ModelSpec spec = Acting.ActorCriticSpec(config);
        if (activation == "relu") spec = spec with { Activation = Activation.Relu };
        var device = new IlgpuComputeDevice(fixture.Device);
        using var stream = new IlgpuA2cStream(fixture.Device, device.Kernels, config, spec);
        var monitor = new RunMonitor(config, null, null);
        // A few updates first, so that episodes have ended (terminal steps inside the rollout) and theta has moved.
        for (int u = 0; u < warmUp; u++)
        {
            stream.Collect(monitor);
            stream.Learn(config.LearningRate, monitor);
        }
        float[] theta = stream.Theta();
        float[] statistics = IlgpuA2cStream.Read(stream.LearnBuffers.Statistics);
        stream.Collect(monitor);
        stream.ComputeGradient();
        float[] deviceGradient = IlgpuA2cStream.Read(stream.LearnBuffers.Gradient);

        // The rollout as the device stored it, rebuilt as the CPU's.
        RolloutViews r = stream.RolloutBuffers;
        int n = config.NumEnvs, samples = n * tMax, obs = env.ObservationSize, actions = Acting.ActionCount(env);
        float[] features = IlgpuA2cStream.Read(r.Features), logits = IlgpuA2cStream.Read(r.Logits), values = IlgpuA2cStream.Read(r.Values);
        float[] taken = IlgpuA2cStream.Read(r.Actions), rewards = IlgpuA2cStream.Read(r.Rewards), discounts = IlgpuA2cStream.Read(r.Discounts);
        float[] scratch = IlgpuA2cStream.Read(r.ScratchFeatures);
        int[] cut = new int[samples];
        r.Cut.CopyToCPU(cut);
        var rollout = new Rollout(tMax, n, env);
        var stepObs = new float[n * obs];
        var finalObs = new float[n * obs];
        var terminated = new bool[n];
        var truncated = new bool[n];
        int terminals = 0, truncations = 0;
        for (int t = 0; t < tMax; t++)
        {
            for (int lane = 0; lane < n; lane++)
                for (int k = 0; k < obs; k++) stepObs[lane * obs + k] = features[k * samples + t * n + lane];
            rollout.BeginStep(stepObs);
            for (int lane = 0; lane < n; lane++)
            {
                int b = t * n + lane;
                if (env.IsDiscrete) rollout.DiscreteActionsAt(t)[lane] = (int)taken[b];
                else rollout.BoxActionsAt(t)[lane] = taken[b];
                terminated[lane] = discounts[b] == 0f;
                truncated[lane] = cut[b] != 0;
                terminals += terminated[lane] ? 1 : 0;
                truncations += truncated[lane] ? 1 : 0;
                if (truncated[lane]) FinalObservation(envId, stepObs.AsSpan(lane * obs, obs), taken[b], finalObs.AsSpan(lane * obs, obs));
            }
            rollout.EndStep(t, rewards.AsSpan(t * n, n), terminated, truncated, finalObs, config.Gamma);
        }
        if (env.IsDiscrete) Assert.True(terminals > 0, "the compared rollout should hold terminal steps");
        else Assert.Equal(n, truncations);
        var lastObs = new float[n * obs];
        for (int lane = 0; lane < n; lane++)
            for (int k = 0; k < obs; k++) lastObs[lane * obs + k] = scratch[k * n + lane];

        // Forward: logits and values of every sample.
        var net = (ActorCriticNetwork)spec.Build();
        net.Forward(theta, rollout.Observations.AsSpan(0, samples * obs), samples);
        ReadOnlySpan<float> cpuLogits = net.Policy(samples), cpuValues = net.Values(samples);
        for (int b = 0; b < samples; b++)
        {
            Close(cpuValues[b], values[b], 1e-5f, $"V of sample {b}");
            for (int a = 0; a < actions; a++) Close(cpuLogits[b * actions + a], logits[a * samples + b], 1e-5f, $"logit {a} of sample {b}");
        }

        // The gradient.
        var cpuGradient = new float[theta.Length];
        var update = new ActorCriticUpdate(net, tMax, n);
        update.AddGradient(theta, rollout, lastObs, lambda, config.ValueCoef, config.EntropyCoef, null, cpuGradient);
        float scale = MathF.Sqrt(cpuGradient.Sum(g => g * g));
        Assert.True(scale > 0);
        for (int p = 0; p < theta.Length; p++) Close(cpuGradient[p], deviceGradient[p], 1e-4f * scale, $"gradient[{p}]");

        // The step, from the device's gradient (RMSProp divides by the gradient's running scale, so the sums' rounding
        // above would show through in parameters whose gradient is near 0): clip (the norm is above 0.05 here) and
        // RMSProp from the same statistics.
        Assert.True(scale > config.MaxGradNorm, $"the gradient's norm {scale} should be clipped");
        stream.Learn(config.LearningRate, monitor);
        float[] deviceTheta = stream.Theta();
        GradientTools.ClipGlobalNorm(deviceGradient, config.MaxGradNorm);
        var optimizer = new RmsProp(theta.Length, config.RmsAlpha, config.RmsEpsilon);
        statistics.CopyTo(optimizer.Statistics, 0);
        optimizer.Step(theta, deviceGradient, config.LearningRate);
        for (int p = 0; p < theta.Length; p++) Close(theta[p], deviceTheta[p], 1e-6f, $"theta[{p}] after the step");
    }

    /// <summary>The observation a truncated Pendulum lane ended on, from the observation and action of its last step (theta from cos and sin: the observation does not see whole turns).</summary>
    static void FinalObservation(string envId, ReadOnlySpan<float> observation, float action, Span<float> destination)
    {
        Assert.Equal("Pendulum-v1", envId);
        VectorEnv cpu = EnvRegistry.Make(envId, 1);
        cpu.Reset(0);
        cpu.SetState(0, [Math.Atan2(observation[1], observation[0]), observation[2]], 0);
        cpu.Step([action]);
        cpu.Observations.CopyTo(destination);
    }

    static void Close(float expected, float actual, float tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance + 1e-4f * Math.Abs(expected), $"{what}: cpu {expected}, device {actual}");
}
