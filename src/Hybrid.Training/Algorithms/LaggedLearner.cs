using Hybrid.Training.Runs;
namespace Hybrid.Training.Algorithms;

/// <summary>One unroll's slot: T steps of an actor's lanes, the observations after them, and the parameter version that acted.</summary>
public sealed class Unroll(int tMax, int lanes, EnvSpec env)
{
    public readonly Rollout Rollout = new(tMax, lanes, env);
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
    public UnrollQueues(int batch, int actors, int tMax, int lanes, EnvSpec env)
    {
        Slots = new Unroll[batch + 2 * actors];
        Free = new SlotQueue(Slots.Length);
        Full = new SlotQueue(Slots.Length);
        for (int i = 0; i < Slots.Length; i++)
        {
            Slots[i] = new Unroll(tMax, lanes, env);
            Free.Add(i);
        }
    }

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
/// The learner of lagged actors (IMPALA's, GA3C's), on the calling thread: takes B full unrolls, recomputes the current
/// policy and values with theta, corrects for the lag with V-trace (or, without a clip, treats the unrolls as on-policy),
/// clips the mean gradient and takes one RMSProp step; each unroll's lag (learner version minus behaviour version) goes
/// to the run. A failure stops the group under the learner's name.
/// </summary>
public static class LaggedLearner
{
    /// <summary>Learns until the run is over; <paramref name="updated"/> hears each new version (to publish theta), <paramref name="save"/> takes checkpoints.</summary>
    public static void Run(ActorCriticConfig config, int batchSize, Devices.IUnrollLearner learner, float[] theta, RmsProp optimizer,
        UnrollQueues queues, RunContext run, WorkerGroup group, string who, Action<long> updated, Func<CheckpointData> save)
    {
        var gradient = new float[theta.Length];
        var batch = new int[batchSize];
        var rollouts = new Rollout[batchSize];
        var next = new float[batchSize][];
        long version = 0;
        try
        {
            while (!run.ShouldStop && !group.StopRequested)
            {
                // Take B full unrolls.
                int taken = 0;
                while (taken < batch.Length && !group.StopRequested && !run.ShouldStop)
                    if (queues.Full.TryTake(out int slot, 20)) batch[taken++] = slot;
                    else run.Metrics.Flush();
                if (taken < batch.Length) break;

                // The loss over the batch with the current theta (where the device computes it); each unroll's policy lag.
                for (int i = 0; i < batch.Length; i++)
                {
                    Unroll s = queues.Slots[batch[i]];
                    run.Metrics.AddPolicyLag(version - s.MeanVersion, version - s.Version);
                    (rollouts[i], next[i]) = (s.Rollout, s.NextObservations);
                }
                LossTerms terms = learner.Gradient(theta, rollouts, next, gradient);
                foreach (int slot in batch) queues.Free.Add(slot);
                UpdateRules.CheckFinite(terms, who, version + 1);
                UpdateRules.Clip(gradient, config.MaxGradNorm, who, version + 1);
                optimizer.Step(theta, gradient, UpdateRules.LearningRate(config, run.Metrics.EnvSteps));
                version++;
                UpdateRules.CheckParameters(theta, who, version);
                run.Metrics.AddUpdate(terms);
                updated(version);
                run.Metrics.Flush();
                if (run.CheckpointDue) run.Checkpoints.Save(save());
            }
        }
        catch (Exception e)
        {
            group.Fail(who, e);
        }
    }
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
