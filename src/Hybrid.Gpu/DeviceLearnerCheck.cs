using System.Globalization;
using Hybrid.Envs;
using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;
using Hybrid.Training.Losses;
using Hybrid.Training.Rollouts;

namespace Hybrid.Gpu;

/// <summary>
/// One case of <see cref="DeviceLearnerCheck"/>: env, V-trace's clips, and the env steps taken before the unrolls are
/// collected (so that Pendulum's 200-step episodes are truncated inside them).
/// </summary>
public sealed record LearnerCase(string Env, float RhoBar, float CBar, int TMax, int Before)
{
    /// <summary>
    /// The cases the tests and <c>devicecheck</c> run. CartPole: categorical head, terminal steps, IMPALA's clips, then
    /// clips that differ (rho_bar 2, c_bar 0.5) so each is applied where the other is not. Pendulum: Gaussian head,
    /// every lane truncated at step 190 + 10 of the unrolls, so the bootstrap from final observations is compared.
    /// MinAtar Breakout: the conv torso, whose forward pass, output deltas and weight gradients run on the device.
    /// </summary>
    public static IReadOnlyList<LearnerCase> Standard { get; } =
    [
        new("CartPole-v1", 1f, 1f, 20, 0),
        new("CartPole-v1", 2f, 0.5f, 20, 0),
        new("Pendulum-v1", 1f, 1f, 20, 190),
        new("MinAtar/Breakout-v1", 1f, 1f, 10, 0),
    ];

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Env} rho_bar {RhoBar} c_bar {CBar}");
}

/// <summary>What one learner case measured: the largest disagreements of the device learner's gradient and loss terms with the CPU's.</summary>
/// <param name="Case">The case.</param>
/// <param name="Samples">Samples in the batch (U * T * N).</param>
/// <param name="Terminals">Terminal steps in it.</param>
/// <param name="Truncations">Truncated steps in it.</param>
/// <param name="Clipped">Samples whose importance weight was above rho_bar or c_bar (so the clips were exercised).</param>
/// <param name="GradientError">Largest |device - cpu| over the gradient, relative to its norm.</param>
/// <param name="TermsError">Largest |device - cpu| over the loss terms, beyond relative 1e-4.</param>
public sealed record LearnerParity(LearnerCase Case, int Samples, int Terminals, int Truncations, int Clipped, double GradientError, double TermsError)
{
    /// <summary>Gradient within 1e-4 of its norm; loss terms within 1e-5 beyond relative 1e-4.</summary>
    public bool Passed => GradientError <= 1e-4 && TermsError <= 1e-5;

    /// <summary>One JSON line.</summary>
    public string ToJson() => string.Create(CultureInfo.InvariantCulture,
        $"{{\"check\":\"learner\",\"case\":\"{Case}\",\"samples\":{Samples},\"terminals\":{Terminals},\"truncations\":{Truncations},\"clipped\":{Clipped},\"gradient_error\":{GradientError:G3},\"terms_error\":{TermsError:G3},\"passed\":{(Passed ? "true" : "false")}}}");
}

/// <summary>
/// The device's lagged learner (V-trace over a batch of unrolls) against the CPU's on the same theta and the same
/// unrolls: CPU envs stepped by a behaviour policy whose parameters differ from the learner's, as an actor's lagged copy
/// would, so the importance weights are not 1.
/// </summary>
public static class DeviceLearnerCheck
{
    /// <summary>Runs <paramref name="check"/> on <paramref name="device"/>.</summary>
    public static LearnerParity Run(IComputeDevice device, LearnerCase check)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(check);
        var config = new ImpalaConfig { Env = check.Env, Lanes = new() { NumEnvs = 6 }, TMax = check.TMax, Batch = 3, Seed = 5, Hidden = [31, 15], EntropyCoef = 0.01f };
        EnvSpec env = EnvRegistry.Spec(check.Env);
        ModelSpec spec = Acting.ActorCriticSpec(config);
        var net = (ActorCriticNetwork)spec.Build();
        float[] theta = Acting.InitialTheta(net, config.Seed), behaviour = Acting.InitialTheta(net, config.Seed + 1);
        // The behaviour policy: the learner's parameters, moved (a lagged copy several updates old).
        for (int p = 0; p < theta.Length; p++) behaviour[p] = theta[p] + 0.3f * behaviour[p];
        var shape = new LearnerShape(check.TMax, config.Lanes.NumEnvs, config.Batch, config.ValueCoef, config.EntropyCoef, check.RhoBar, check.CBar);

        var rollouts = new Rollout[config.Batch];
        var next = new float[config.Batch][];
        int terminals = 0, truncations = 0, clipped = 0;
        for (int u = 0; u < config.Batch; u++)
        {
            VectorEnv lanes = EnvRegistry.Make(check.Env, config.Lanes.NumEnvs);
            lanes.Reset(config.WorkerEnvSeed(u));
            Rng[] rngs = [Acting.WorkerRng(config, u, 0)];
            var warmUp = new Rollout(1, config.Lanes.NumEnvs, env);
            for (int s = 0; s < check.Before; s++)
            {
                warmUp.Clear();
                Acting.Step(net, behaviour, lanes, warmUp, config.Gamma, rngs, recordLogProbabilities: true);
            }
            lanes.Episodes.Clear();
            var rollout = new Rollout(check.TMax, config.Lanes.NumEnvs, env);
            for (int t = 0; t < check.TMax; t++) Acting.Step(net, behaviour, lanes, rollout, config.Gamma, rngs, recordLogProbabilities: true);
            rollouts[u] = rollout;
            next[u] = lanes.Observations.ToArray();
            for (int i = 0; i < rollout.Count; i++) terminals += rollout.Discounts[i] == 0f ? 1 : 0;
            truncations += rollout.TruncatedCount;
            clipped += Clipped(net, theta, rollout, check);
        }

        var cpuGradient = new float[theta.Length];
        var deviceGradient = new float[theta.Length];
        LossTerms cpuTerms, deviceTerms;
        using (IUnrollLearner cpu = CpuDevice.Instance.OpenLearner(spec, shape)) cpuTerms = cpu.Gradient(theta, rollouts, next, cpuGradient);
        using (IUnrollLearner onDevice = device.OpenLearner(spec, shape)) deviceTerms = onDevice.Gradient(theta, rollouts, next, deviceGradient);

        double norm = Math.Sqrt(cpuGradient.Sum(g => (double)g * g)), gradient = 0;
        for (int p = 0; p < theta.Length; p++) gradient = Math.Max(gradient, Math.Abs(cpuGradient[p] - deviceGradient[p]) / norm);
        double terms = Math.Max(Excess(cpuTerms.Policy, deviceTerms.Policy), Math.Max(Excess(cpuTerms.Value, deviceTerms.Value), Excess(cpuTerms.Entropy, deviceTerms.Entropy)));
        return new LearnerParity(check, shape.Samples, terminals, truncations, clipped, gradient, terms);
    }

    /// <summary>Samples whose pi/mu under <paramref name="theta"/> is above a clip.</summary>
    static int Clipped(ActorCriticNetwork net, float[] theta, Rollout rollout, LearnerCase check)
    {
        int count = rollout.Count, actions = net.Actions, clipped = 0;
        net.Forward(theta, rollout.Observations.AsSpan(0, count * rollout.ObservationSize), count);
        ReadOnlySpan<float> policy = net.Policy(count), logStd = net.LogStd.Of(theta);
        for (int i = 0; i < count; i++)
        {
            float logPi = rollout.Discrete
                ? Nn.Heads.Categorical.LogProbability(policy.Slice(i * actions, actions), rollout.DiscreteActions[i])
                : Nn.Heads.DiagonalGaussian.LogProbability(policy.Slice(i * actions, actions), logStd, rollout.BoxActions.AsSpan(i * actions, actions));
            float ratio = MathF.Exp(logPi - rollout.LogProbabilities[i]);
            if (ratio > Math.Min(check.RhoBar, check.CBar)) clipped++;
        }
        return clipped;
    }

    static double Excess(float expected, float actual) => Math.Max(0, Math.Abs(expected - actual) - 1e-4 * Math.Abs(expected));
}
