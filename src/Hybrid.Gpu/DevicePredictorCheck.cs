using Hybrid.Envs;
using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;

namespace Hybrid.Gpu;

/// <summary>What the predictor check measured for one env's network: the largest disagreement of the device's outputs with the CPU network's.</summary>
/// <param name="Env">The env whose network (GA3C's for it) was run.</param>
/// <param name="Rows">Observations predicted.</param>
/// <param name="Error">Largest |device - cpu| over every logit and value, beyond the tolerance 1e-5 + 1e-4 |cpu| (0 within it).</param>
public sealed record PredictorParity(string Env, int Rows, double Error)
{
    /// <summary>Whether every output is within tolerance.</summary>
    public bool Passed => Error == 0;

    /// <summary>One JSON line.</summary>
    public string ToJson() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{{\"check\":\"predictor\",\"env\":\"{Env}\",\"rows\":{Rows},\"error\":{Error:G3},\"passed\":{(Passed ? "true" : "false")}}}");
}

/// <summary>
/// GA3C's predictor on a device against the CPU network on the same theta and observations: every logit and value of a
/// batch, for a dense torso or MinAtar's conv torso (whose observations are 0/1 cells, as the games give).
/// </summary>
public static class DevicePredictorCheck
{
    /// <summary>The envs the tests and <c>devicecheck</c> run: dense torsos, and MinAtar's conv torso with two channel counts.</summary>
    public static IReadOnlyList<string> Standard { get; } = ["CartPole-v1", "Acrobot-v1", "MinAtar/Breakout-v1", "MinAtar/Seaquest-v1"];

    /// <summary>Predicts <paramref name="rows"/> random observations of <paramref name="env"/> on <paramref name="device"/> and on the CPU.</summary>
    /// <exception cref="ArgumentException">The device cannot run the network.</exception>
    public static PredictorParity Run(IComputeDevice device, string env, int rows = 7)
    {
        ArgumentNullException.ThrowIfNull(device);
        ModelSpec spec = Acting.ActorCriticSpec(new Ga3cConfig { Env = env });
        float[] theta = Acting.InitialTheta(spec.Build(), 3);
        var rng = new Rng(9, 1);
        int obs = EnvRegistry.Spec(env).ObservationSize, width = spec.Actions + 1;
        bool cells = EnvRegistry.IsMinAtar(env);
        float[] observations = [.. Enumerable.Range(0, rows * obs).Select(_ => cells ? (rng.NextFloat(0f, 1f) < 0.1f ? 1f : 0f) : rng.NextFloat(-2f, 2f))];
        float[] onDevice = new float[rows * width], onCpu = new float[rows * width];
        using (IBatchPolicy policy = device.OpenPolicy(spec, 8))
        {
            policy.SetParameters(theta);
            policy.Predict(observations, rows, onDevice);
        }
        using (IBatchPolicy cpu = CpuDevice.Instance.OpenPolicy(spec, 8))
        {
            cpu.SetParameters(theta);
            cpu.Predict(observations, rows, onCpu);
        }
        double error = 0;
        for (int i = 0; i < onCpu.Length; i++)
            error = Math.Max(error, Math.Abs(onDevice[i] - onCpu[i]) - (1e-5 + 1e-4 * Math.Abs(onCpu[i])));
        return new PredictorParity(env, rows, Math.Max(0, error));
    }
}
