using Hybrid.Training.Runs;
using Hybrid.Training.Devices;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// A2C settings. The default values are Stable-Baselines3's A2C values (themselves OpenAI Baselines'): 8 lanes, t_max 5,
/// RMSProp (lr 7e-4, alpha 0.99, eps 1e-5), value weight 0.5, gradient-norm clip 0.5, gamma 0.99, and the
/// rl-baselines3-zoo CartPole-v1 entry (entropy weight 0, budget 5e5). The same values do not make the same algorithm
/// as SB3's, which differs in three ways (docs/comparisons.md, "Where Hybrid differs"): SB3's value loss is the mean squared error,
/// Hybrid's half of it (so a value weight of 0.5 here weighs the value gradient half as much); SB3's MLP policy has
/// separate policy and value networks, Hybrid one shared torso; PyTorch's RMSprop adds eps outside the square root,
/// Hybrid's inside, as Mnih et al. 2016 write it.
/// </summary>
public sealed record A2cConfig : ActorCriticConfig
{
    /// <inheritdoc/>
    public override string Algo => "a2c";

    /// <summary>Env lanes stepped together (N).</summary>
    [Description("Env lanes stepped together (N).")]
    public int NumEnvs { get; init; } = 8;

    /// <summary>GAE lambda; 1 gives n-step returns.</summary>
    [Description("GAE lambda; 1 gives the paper's n-step returns.")]
    public float GaeLambda { get; init; } = 1f;

    /// <summary>Where the lanes, network and optimizer run: auto, cpu, cuda or ilgpu-cpu.</summary>
    [Description("Where the lanes, network and optimizer run: auto (cuda when an NVIDIA GPU is found, else cpu, saying so), cpu (Hybrid's SIMD kernels), cuda, or ilgpu-cpu (the device kernels on ILGPU's CPU accelerator, for testing them).")]
    public string Device { get; init; } = "auto";

    /// <summary>Samples per update.</summary>
    public int BatchSize => NumEnvs * TMax;

    /// <inheritdoc/>
    public override int TotalEnvs => NumEnvs;

    /// <inheritdoc/>
    private protected override long SamplesHeld => (long)NumEnvs * TMax;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(NumEnvs >= 1, "num_envs", NumEnvs, ">= 1");
        Require(GaeLambda is >= 0 and <= 1, "gae_lambda", GaeLambda, "in [0, 1]");
        RequireDevice(Device);
        CheckSize();
    }
}

/// <summary>
/// Synchronous advantage actor-critic: the synchronous, batched variant of Mnih et al. 2016's A3C (as OpenAI
/// Baselines named it). N lanes act together with one batched forward pass per step; after t_max steps one update
/// uses all N * t_max samples. Where it runs is the device's business (<see cref="IComputeDevice"/>): on the CPU
/// (<see cref="CpuA2cStream"/>) the lanes are cut into one group per thread, deterministic for a seed; on a GPU the
/// env lanes, rollout, network and optimizer stay on the device and only metrics come back.
/// </summary>
public static class A2c
{
    /// <summary>Trains on the CPU until the budget is spent (or the run is solved, with <see cref="AlgoConfig.StopWhenSolved"/>).</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(A2cConfig config, RunContext run) => Train(config, run, CpuDevice.Instance);

    /// <summary>Trains on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The config is invalid, or the device cannot run it; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(A2cConfig config, RunContext run, IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        UpdateRules.Begin(config, run);
        using ISyncStream stream = device.OpenA2c(config);
        if (run.Resumed is { } checkpoint) stream.Load(checkpoint);
        while (!run.ShouldStop)
        {
            // Act: t_max steps of every lane with one batched forward pass per step. Learn: one update from the
            // N * t_max samples (gradient of the mean loss, global-norm clip, RMSProp).
            stream.Collect(run);
            stream.Learn(UpdateRules.LearningRate(config, run.Metrics.EnvSteps), run);
            run.Metrics.Flush();
            // Between updates the stream's state is whole: a checkpoint taken here continues exactly.
            if (run.CheckpointDue) run.Checkpoints.Save(stream.Save(run));
        }
        stream.Finish(run);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(stream.Save(run));
        return run.Finish(stream.Threads, config.NumEnvs, device.Info);
    }
}
