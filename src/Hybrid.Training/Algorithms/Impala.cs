using Hybrid.Training.Runs;
namespace Hybrid.Training.Algorithms;

/// <summary>
/// IMPALA-style settings. V-trace clips rho_bar = c_bar = 1 as in Espeholt et al. 2018; the unroll length, batch,
/// refresh interval and learning rate are this project's for CartPole on a few cores.
/// </summary>
public sealed record ImpalaConfig : ActorCriticConfig, IRecurrentConfig
{
    /// <summary>IMPALA's defaults: two actor threads.</summary>
    public ImpalaConfig()
    {
        Threads = 2;
        MaxEnvSteps = 1_000_000;
        LearningRate = 2e-3f;
        TMax = 20;
        Lanes = new() { NumEnvs = 4 };
    }

    /// <inheritdoc/>
    public override string Algo => "impala";

    /// <summary>Env lanes each actor thread steps together.</summary>
    public LaneSettings Lanes { get; init; } = new();

    /// <summary>Unrolls per learner update (B).</summary>
    [Description("Unrolls the learner batches into one update (B).")]
    public int Batch { get; init; } = 2;

    /// <summary>Learner updates between refreshes of an actor's parameter copy (m).</summary>
    [Description("Learner updates between refreshes of the actors' parameter copies (m); larger means more policy lag.")]
    public int RefreshInterval { get; init; } = 1;

    /// <summary>rho_bar.</summary>
    [Description("V-trace rho_bar: clip of the importance weight (IMPALA: 1).")]
    public float RhoBar { get; init; } = 1f;

    /// <summary>c_bar.</summary>
    [Description("V-trace c_bar: clip of the trace weights (IMPALA: 1).")]
    public float CBar { get; init; } = 1f;

    /// <summary>Where the learner's gradient is computed (the actors and the optimizer step stay on the CPU).</summary>
    public DeviceSettings Compute { get; init; } = new();

    /// <summary>An LSTM after the torso, or none: the actors carry its state, and each unroll keeps the state it began with for the learner.</summary>
    public RecurrentSettings Memory { get; init; } = new();

    /// <summary>The learner's update: B unrolls of T steps of N lanes, V-trace's clips and the loss's coefficients.</summary>
    public Devices.LearnerShape LearnerShape => new(TMax, Lanes.NumEnvs, Batch, ValueCoef, EntropyCoef, RhoBar, CBar);

    /// <inheritdoc/>
    public override int TotalEnvs => Threads * Lanes.NumEnvs;

    /// <summary>The learner, on the calling thread, next to the <see cref="AlgoConfig.Threads"/> actors.</summary>
    public override int HelperThreads => 1;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Lanes.Validate();
        Require(Batch >= 1, "batch", Batch, ">= 1");
        Require(RefreshInterval >= 1, "refresh_interval", RefreshInterval, ">= 1");
        Require(RhoBar > 0, "rho_bar", RhoBar, "> 0");
        Require(CBar > 0, "c_bar", CBar, "> 0");
        Compute.Validate();
        Memory.Validate();
        RefuseNormalization();
        // An update takes B unrolls of T steps of an actor's N lanes: a batch that holds more env steps than the budget never fills.
        long perUpdate = (long)Batch * TMax * Lanes.NumEnvs;
        Require(perUpdate <= MaxEnvSteps, "batch", Batch,
            $"at most {Math.Max(1, MaxEnvSteps / ((long)TMax * Lanes.NumEnvs))}: {Batch} unrolls of {TMax} steps of {Lanes.NumEnvs} lanes are {perUpdate:N0} env steps per update, more than max_env_steps {MaxEnvSteps:N0}, so the run would make no update");
        CheckSize();
    }

    /// <inheritdoc/>
    private protected override long LanesHeld => (long)Threads * Lanes.NumEnvs;

    /// <inheritdoc/>
    private protected override long SamplesHeld => ((long)Threads * Lanes.NumEnvs * 2 + (long)Batch * Lanes.NumEnvs) * TMax;
}

/// <summary>
/// IMPALA-style lagged learning (Espeholt et al. 2018). K actor threads act with parameter copies that the learner
/// refreshes every m updates, and hand unrolls of T steps (with the behaviour policy's log-probabilities and
/// parameter version) over in preallocated slots by index: a free queue and a full queue, as TorchBeast does. The
/// learner, on the calling thread, batches B unrolls, recomputes the current policy and values, and corrects for the
/// lag with V-trace. The lag of each unroll (learner version minus behaviour version) is logged as runtime/policy_lag.
/// </summary>
public static class Impala
{
    /// <summary>Trains until the budget is spent or the run is solved (with stop_when_solved).</summary>
    /// <exception cref="WorkerFailedException">An actor threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(ImpalaConfig config, RunContext run) => Train(config, run, Devices.CpuDevice.Instance);

    /// <summary>Trains with the learner's gradients computed on <paramref name="device"/> (the actors stay on the CPU).</summary>
    /// <exception cref="WorkerFailedException">An actor threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(ImpalaConfig config, RunContext run, Devices.IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        using var learner = new LaggedLearner(config, run, "impala", "impala learner", config.LearnerShape, config.Threads, device);
        var group = new WorkerGroup("impala");
        for (int id = 0; id < config.Threads; id++)
            group.Start("actor", id, actor => UnrollActor.Run(actor, config, config.Lanes.NumEnvs, run.Segment,
                new LocalCopyPolicy(learner.Parameters.Spec, config.Gamma, config.Lanes.NumEnvs, learner.Published), new QueueSink(learner.Queues, group, run)));

        // The learner; every m updates the actors may pick up the new parameters.
        learner.Learn(group, version =>
        {
            if (version % config.RefreshInterval == 0) learner.Published.Publish(learner.Parameters.Theta, version);
        });
        group.Stop();
        group.Join();
        return learner.Finish(config.Threads, config.TotalEnvs, device.Info);
    }
}
