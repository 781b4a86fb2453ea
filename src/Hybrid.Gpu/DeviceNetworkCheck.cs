using System.Globalization;
using Hybrid.Envs;
using Hybrid.Gpu.Kernels;
using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Metrics;
using Hybrid.Training.Rollouts;
using Hybrid.Training.Runs;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// One case of <see cref="DeviceNetworkCheck"/>: env, torso activation, GAE lambda, entropy weight, steps per rollout,
/// updates before the compared one, and (MinAtar) a time limit short enough that episodes are truncated in the rollout.
/// </summary>
public sealed record NetworkCase(string Env, Activation Activation, float Lambda, float Entropy, int TMax, int WarmUp, int? MaxSteps = null)
{
    /// <summary>The cases the tests and <c>devicecheck</c> run. CartPole: categorical head, terminal steps inside the compared
    /// rollout. Pendulum: Gaussian head, and with 30 steps per rollout after six updates every lane is truncated (200 steps)
    /// at step 19 of the compared rollout, so the bootstrap from the final observation is compared too. MinAtar Breakout:
    /// the composed rollout and the conv torso (ReLU), with episodes cut at 7 steps beside those that end.</summary>
    public static IReadOnlyList<NetworkCase> Standard { get; } =
    [
        new("CartPole-v1", Activation.Tanh, 0.95f, 0.01f, 6, 8),
        new("CartPole-v1", Activation.Relu, 1.0f, 0.0f, 6, 8),
        new("Pendulum-v1", Activation.Tanh, 0.9f, 0.01f, 30, 6),
        new("MinAtar/Breakout-v1", Activation.Relu, 0.95f, 0.01f, 5, 3, MaxSteps: 7),
    ];

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Env} {Activation.ToString().ToLowerInvariant()} lambda {Lambda} entropy {Entropy}");
}

/// <summary>What one case measured: the largest disagreements between the device and the CPU network, and whether each is within tolerance.</summary>
/// <param name="Case">The case.</param>
/// <param name="Samples">Samples compared (T * N).</param>
/// <param name="Terminals">Terminal steps in the compared rollout.</param>
/// <param name="Truncations">Truncated steps in it.</param>
/// <param name="ForwardError">Largest |device - cpu| over values and logits (means).</param>
/// <param name="GradientError">Largest |device - cpu| over the gradient, relative to its norm.</param>
/// <param name="StepError">Largest |device - cpu| over theta after the clipped RMSProp step from the device's gradient.</param>
public sealed record NetworkParity(NetworkCase Case, int Samples, int Terminals, int Truncations, double ForwardError, double GradientError, double StepError)
{
    /// <summary>Forward: within absolute 1e-5 plus relative 1e-4. Gradient: within 1e-4 of its norm. Step: within 1e-6 plus relative 1e-4.</summary>
    public bool Passed => ForwardError <= 1e-5 && GradientError <= 1e-4 && StepError <= 1e-6;

    /// <summary>One JSON line.</summary>
    public string ToJson() => string.Create(CultureInfo.InvariantCulture,
        $"{{\"check\":\"network\",\"case\":\"{Case}\",\"samples\":{Samples},\"terminals\":{Terminals},\"truncations\":{Truncations},\"forward_error\":{ForwardError:G3},\"gradient_error\":{GradientError:G3},\"step_error\":{StepError:G3},\"passed\":{(Passed ? "true" : "false")}}}");
}

/// <summary>
/// A2C's kernels against the CPU network on the same theta and the same rollout: values and logits of every sample, the
/// gradient of the loss (returns, loss, backward pass, reduction over the batch), and the clipped RMSProp step.
/// </summary>
public static class DeviceNetworkCheck
{
    /// <summary>Runs <paramref name="check"/> on <paramref name="device"/>.</summary>
    public static NetworkParity Run(IlgpuComputeDevice device, NetworkCase check)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(check);
        // Odd hidden widths: the kernels take outputs two at a time, and the last of an odd layer alone. MinAtar's is the
        // network A2C trains there: the convolution and a dense layer of 128.
        var config = new A2cConfig
        {
            Env = check.Env, Lanes = new() { NumEnvs = 24 }, TMax = check.TMax, Seed = 3, Advantage = new() { GaeLambda = check.Lambda }, EntropyCoef = check.Entropy, Hidden = EnvRegistry.IsMinAtar(check.Env) ? [128] : [31, 15],
            MaxGradNorm = 0.05f, LearningRate = 1e-3f, Compute = new() { Device = Hybrid.Training.Devices.DeviceInfo.Parse(device.Info.Kind) },
        };
        EnvSpec env = EnvRegistry.Spec(check.Env);
        ModelSpec spec = Acting.ActorCriticSpec(config) with { Activation = check.Activation };
        using var stream = new IlgpuA2cStream(device.Device, device.Kernels, config, spec);
        if (check.MaxSteps is int most) ((DeviceMinAtarEnv)stream.Env).MaxSteps = most;
        var run = new RunContext(config, null, null);
        // A few updates first, so that episodes have ended and theta has moved.
        for (int u = 0; u < check.WarmUp; u++)
        {
            stream.Collect(run);
            stream.Learn(config.LearningRate, run);
        }
        float[] theta = stream.Theta();
        float[] statistics = IlgpuA2cStream.Read(stream.LearnBuffers.Statistics);
        stream.Collect(run);
        stream.ComputeGradient();
        float[] deviceGradient = IlgpuA2cStream.Read(stream.LearnBuffers.Gradient);

        // The rollout as the device stored it (feature-major), rebuilt as the CPU's.
        RolloutViews r = stream.RolloutBuffers;
        int n = config.Lanes.NumEnvs, tMax = config.TMax, samples = n * tMax, obs = env.ObservationSize, actions = Acting.ActionCount(env);
        float[] features = IlgpuA2cStream.Read(r.Features), logits = IlgpuA2cStream.Read(r.Logits), values = IlgpuA2cStream.Read(r.Values);
        float[] taken = IlgpuA2cStream.Read(r.Actions), rewards = IlgpuA2cStream.Read(r.Rewards), discounts = IlgpuA2cStream.Read(r.Discounts);
        // Observations: feature-major in F's first rows on classic control; row-major in the composed rollout's inputs on MinAtar.
        MinAtarRollout? minAtar = stream.MinAtar;
        float[] inputs = minAtar is null ? features : IlgpuA2cStream.Read(minAtar.Inputs);
        float[] scratch = minAtar is null ? IlgpuA2cStream.Read(r.ScratchFeatures) : IlgpuA2cStream.Read(minAtar.ScratchInputs);
        float Observation(int b, int k) => minAtar is null ? inputs[k * samples + b] : inputs[b * obs + k];
        float Scratch(int row, int k) => minAtar is null ? scratch[k * n + row] : scratch[row * obs + k];
        int[] cut = new int[samples], finalColumn = new int[samples];
        r.Cut.CopyToCPU(cut);
        if (minAtar is not null) stream.Targets.FinalColumn.CopyToCPU(finalColumn);
        var rollout = new Rollout(tMax, n, env);
        var stepObs = new float[n * obs];
        var finalObs = new float[n * obs];
        var terminated = new bool[n];
        var truncated = new bool[n];
        int terminals = 0, truncations = 0;
        for (int t = 0; t < tMax; t++)
        {
            for (int lane = 0; lane < n; lane++)
                for (int k = 0; k < obs; k++) stepObs[lane * obs + k] = Observation(t * n + lane, k);
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
                if (!truncated[lane]) continue;
                if (minAtar is null) FinalObservation(check.Env, stepObs.AsSpan(lane * obs, obs), taken[b], finalObs.AsSpan(lane * obs, obs));
                else for (int k = 0; k < obs; k++) finalObs[lane * obs + k] = Scratch(finalColumn[b], k);
            }
            rollout.EndStep(t, rewards.AsSpan(t * n, n), terminated, truncated, finalObs, config.Gamma);
        }
        var lastObs = new float[n * obs];
        for (int lane = 0; lane < n; lane++)
            for (int k = 0; k < obs; k++) lastObs[lane * obs + k] = Scratch(lane, k);

        // Forward: values and logits of every sample.
        var net = (ActorCriticNetwork)spec.Build();
        net.Forward(theta, rollout.Observations.AsSpan(0, samples * obs), samples);
        ReadOnlySpan<float> cpuLogits = net.Policy(samples), cpuValues = net.Values(samples);
        double forward = 0;
        for (int b = 0; b < samples; b++)
        {
            forward = Math.Max(forward, Excess(cpuValues[b], values[b]));
            for (int a = 0; a < actions; a++) forward = Math.Max(forward, Excess(cpuLogits[b * actions + a], logits[a * samples + b]));
        }

        // The gradient, relative to its norm.
        var cpuGradient = new float[theta.Length];
        new ActorCriticUpdate(net, tMax, n).AddGradient(theta, rollout, lastObs, check.Lambda, config.ValueCoef, config.EntropyCoef, null, cpuGradient);
        double norm = Math.Sqrt(cpuGradient.Sum(g => (double)g * g)), gradient = 0;
        for (int p = 0; p < theta.Length; p++) gradient = Math.Max(gradient, Math.Abs(cpuGradient[p] - deviceGradient[p]) / norm);

        // The step from the device's gradient (RMSProp divides by the gradient's running scale, so the sums' rounding above
        // would show through in parameters whose gradient is near 0): clip and RMSProp from the same statistics.
        stream.Learn(config.LearningRate, run);
        float[] deviceTheta = stream.Theta();
        GradientTools.ClipGlobalNorm(deviceGradient, config.MaxGradNorm);
        var optimizer = new RmsProp(theta.Length, config.RmsAlpha, config.RmsEpsilon);
        statistics.CopyTo(optimizer.Statistics, 0);
        optimizer.Step(theta, deviceGradient, config.LearningRate);
        double step = 0;
        for (int p = 0; p < theta.Length; p++) step = Math.Max(step, Excess(theta[p], deviceTheta[p], relative: 1e-4));
        return new NetworkParity(check, samples, terminals, truncations, forward, gradient, step);
    }

    /// <summary>|expected - actual| beyond the relative part of the tolerance (so a value's own scale is allowed for).</summary>
    static double Excess(float expected, float actual, double relative = 1e-4) =>
        Math.Max(0, Math.Abs(expected - actual) - relative * Math.Abs(expected));

    /// <summary>
    /// The observation a truncated Pendulum lane ended on, from the observation and action of its last step (theta from its
    /// cosine and sine: the observation does not see whole turns, and neither does the next one).
    /// </summary>
    static void FinalObservation(string envId, ReadOnlySpan<float> observation, float action, Span<float> destination)
    {
        if (envId != "Pendulum-v1") throw new NotSupportedException($"{envId}: the check rebuilds final observations for Pendulum-v1 only.");
        VectorEnv cpu = EnvRegistry.Make(envId, 1);
        cpu.Reset(0);
        cpu.SetState(0, [Math.Atan2(observation[1], observation[0]), observation[2]], 0);
        cpu.Step([action]);
        cpu.Observations.CopyTo(destination);
    }
}
