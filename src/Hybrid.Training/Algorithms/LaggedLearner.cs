using Hybrid.Training.Runs;
namespace Hybrid.Training.Algorithms;

/// <summary>One unroll's slot: T steps of an actor's lanes, the observations after them, and the parameter version that acted.</summary>
public sealed class Unroll(int tMax, int lanes, EnvSpec env, int slot = 0, int recurrentSize = 0)
{
    /// <summary>The slot's index in its <see cref="UnrollQueues"/>.</summary>
    public int Slot { get; } = slot;


    public readonly Rollout Rollout = new(tMax, lanes, env, recurrentSize);
    public readonly float[] NextObservations = new float[lanes * env.ObservationSize];
    public long Version;

    /// <summary>
    /// The mean of the parameter versions that chose the unroll's actions, step by step: <see cref="Version"/> where
    /// one version acted throughout (IMPALA's actors), more where a batched predictor moved on mid-unroll (GA3C).
    /// </summary>
    public double MeanVersion;
}

/// <summary>
/// Unroll slots handed between actors and the learner by index, as TorchBeast does: actors take a free slot, fill it
/// and queue it full; the learner takes full ones and frees them. Enough slots for every actor to fill one while the
/// learner holds a batch, so nothing is allocated while the run goes.
/// </summary>
public sealed class UnrollQueues
{
    public UnrollQueues(int batch, int actors, int tMax, int lanes, EnvSpec env, int recurrentSize = 0)
    {
        Batch = batch;
        Slots = new Unroll[batch + 2 * actors];
        Free = new SlotQueue(Slots.Length);
        Full = new SlotQueue(Slots.Length);
        for (int i = 0; i < Slots.Length; i++)
        {
            Slots[i] = new Unroll(tMax, lanes, env, i, recurrentSize);
            Free.Add(i);
        }
    }

    /// <summary>Unrolls per learner update (B).</summary>
    public int Batch { get; }

    public Unroll[] Slots { get; }
    public SlotQueue Free { get; }
    public SlotQueue Full { get; }

    /// <summary>A free slot for an actor, or false once the run is stopping.</summary>
    public bool TakeFree(out int slot, WorkerGroup group, RunContext run)
    {
        while (!Free.TryTake(out slot, 20))
            if (group.StopRequested || run.ShouldStop) return false;
        return true;
    }
}

/// <summary>
/// The learner of lagged actors (IMPALA's, GA3C's, the cluster's), run on the calling thread: the run's parameters
/// (<see cref="LearnerParameters"/>), the unroll slots its actors fill (<see cref="Queues"/>), the newest parameters
/// it publishes to them (<see cref="Published"/>) and the device's gradient. <see cref="Learn"/> takes B full
/// unrolls, recomputes the current policy and values with theta, corrects for the lag with V-trace (or, without a
/// clip, treats the unrolls as on-policy), clips the mean gradient and takes one RMSProp step; each unroll's lag
/// (learner version minus behaviour version) goes to the run's metrics. A failure stops the group under the learner's name.
/// </summary>
public sealed class LaggedLearner : IDisposable
{
    readonly ActorCriticConfig _config;
    readonly RunContext _run;
    readonly Devices.IUnrollLearner _gradients;
    readonly string _who;

    /// <summary>
    /// The learner of a run of <paramref name="config"/>: checkpoints tagged <paramref name="kind"/>, updates of
    /// <paramref name="shape"/> (B unrolls of T steps of N lanes) computed on <paramref name="device"/>, slots for
    /// <paramref name="actors"/> actors, and failures reported as <paramref name="who"/>'s.
    /// </summary>
    /// <exception cref="ArgumentException">The config is invalid, the run was made for another, or the device cannot run the learner.</exception>
    public LaggedLearner(ActorCriticConfig config, RunContext run, string kind, string who, Devices.LearnerShape shape, int actors, Devices.IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        UpdateRules.Begin(config, run);
        (_config, _run, _who) = (config, run, who);
        Parameters = new LearnerParameters(config, run, kind);
        _gradients = device.OpenLearner(Parameters.Spec, shape);
        Queues = new UnrollQueues(shape.Unrolls, actors, shape.TMax, shape.Lanes, EnvRegistry.Spec(config.Env), Parameters.Spec.Recurrent);
        Published = new ParameterBroadcast(Parameters.Theta);
    }

    /// <summary>The network, theta and RMSProp's statistics.</summary>
    public LearnerParameters Parameters { get; }

    /// <summary>The slots actors fill and the learner frees.</summary>
    public UnrollQueues Queues { get; }

    /// <summary>The newest parameters the learner has published to its actors.</summary>
    public ParameterBroadcast Published { get; }

    /// <summary>
    /// Learns until the run is over or <paramref name="group"/> stops; <paramref name="updated"/> hears each new version
    /// (to publish theta, as often as the method does). Checkpoints are taken between updates when due.
    /// </summary>
    public void Learn(WorkerGroup group, Action<long> updated)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(updated);
        float[] theta = Parameters.Theta;
        var gradient = new float[theta.Length];
        int batchSize = Queues.Batch;
        var batch = new int[batchSize];
        var rollouts = new Rollout[batchSize];
        var next = new float[batchSize][];
        long version = 0;
        try
        {
            while (!_run.ShouldStop && !group.StopRequested)
            {
                // Take B full unrolls.
                int taken = 0;
                while (taken < batch.Length && !group.StopRequested && !_run.ShouldStop)
                    if (Queues.Full.TryTake(out int slot, 20)) batch[taken++] = slot;
                    else _run.Metrics.Flush();
                if (taken < batch.Length) break;

                // The loss over the batch with the current theta (where the device computes it); each unroll's policy lag.
                for (int i = 0; i < batch.Length; i++)
                {
                    Unroll s = Queues.Slots[batch[i]];
                    _run.Metrics.AddPolicyLag(version - s.MeanVersion, version - s.Version);
                    (rollouts[i], next[i]) = (s.Rollout, s.NextObservations);
                }
                LossTerms terms = _gradients.Gradient(theta, rollouts, next, gradient);
                foreach (int slot in batch) Queues.Free.Add(slot);
                UpdateRules.CheckFinite(terms, _who, version + 1);
                UpdateRules.Clip(gradient, _config.MaxGradNorm, _who, version + 1);
                Parameters.Optimizer.Step(theta, gradient, UpdateRules.LearningRate(_config, _run.Metrics.EnvSteps));
                version++;
                UpdateRules.CheckParameters(theta, _who, version);
                _run.Metrics.AddUpdate(terms);
                updated(version);
                _run.Metrics.Flush();
                if (_run.CheckpointDue) _run.Checkpoints.Save(Parameters.Save());
            }
        }
        catch (Exception e)
        {
            group.Fail(_who, e);
        }
    }

    /// <summary>Keeps the end-of-run checkpoint and writes the summary: <paramref name="threads"/> actors stepping <paramref name="numEnvs"/> lanes on <paramref name="device"/>.</summary>
    public RunSummary Finish(int threads, int numEnvs, Devices.DeviceInfo device)
    {
        if (_run.Checkpoints.Kept) _run.Checkpoints.Save(Parameters.Save());
        return _run.Finish(threads, numEnvs, device);
    }

    /// <summary>Frees the device's gradient.</summary>
    public void Dispose() => _gradients.Dispose();
}

/// <summary>
/// A lagged learner's parameters before it starts: the network, theta (the run's initial parameters, or a resumed
/// run's checkpoint's), RMSProp's statistics, and how to take a checkpoint of them (tagged <c>kind</c>).
/// </summary>
public sealed class LearnerParameters
{
    public LearnerParameters(ActorCriticConfig config, RunContext run, string kind)
    {
        Spec = Acting.ActorCriticSpec(config);
        Net = (ActorCriticNetwork)Spec.Build();
        Theta = Acting.InitialTheta(Net, config.Seed);
        Optimizer = UpdateRules.RmsProp(config, Theta.Length);
        Kind = kind;
        // A resumed run continues from the checkpoint's theta and statistics; its actors start new episodes.
        if (run.Resumed is { } checkpoint) RunState.Load(checkpoint, Spec, Theta, Optimizer, kind, _ => { });
    }

    public ModelSpec Spec { get; }
    public ActorCriticNetwork Net { get; }
    public float[] Theta { get; }
    public RmsProp Optimizer { get; }
    public string Kind { get; }

    /// <summary>A checkpoint of theta and the statistics as they are.</summary>
    public CheckpointData Save() => RunState.Save(Spec, Theta, Optimizer, Kind, _ => { });
}

/// <summary>The learner's latest parameters and their version, published by the learner and copied out by actors under one lock.</summary>
public sealed class ParameterBroadcast(float[] initial)
{
    readonly float[] _theta = (float[])initial.Clone();
    readonly object _gate = new();
    long _version;

    /// <summary>The version last published.</summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>Floats in the parameters.</summary>
    public int ParameterCount => _theta.Length;

    public void Publish(ReadOnlySpan<float> theta, long version)
    {
        lock (_gate)
        {
            theta.CopyTo(_theta);
            Volatile.Write(ref _version, version);
        }
    }

    /// <summary>Copies the published parameters into <paramref name="destination"/> if they are newer than <paramref name="held"/>; returns the version now held.</summary>
    public long CopyIfNewer(Span<float> destination, long held)
    {
        if (Volatile.Read(ref _version) == held) return held;
        lock (_gate)
        {
            _theta.CopyTo(destination);
            return _version;
        }
    }
}
