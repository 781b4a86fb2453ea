using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Where an unroll actor's actions come from: its own copy of the parameters (IMPALA's actors, the cluster's), or a
/// batched predictor that answers many actors with one forward pass (GA3C's).
/// </summary>
public interface IBehaviourPolicy
{
    /// <summary>Before each unroll: pick up newer parameters where the policy holds a copy.</summary>
    void Refresh();

    /// <summary>
    /// One step of every lane of <paramref name="env"/>, recorded into <paramref name="rollout"/> with the behaviour
    /// log-probabilities; <paramref name="version"/> is the parameter version that chose the actions. False when the
    /// run is stopping and no step was taken.
    /// </summary>
    bool Act(VectorEnv env, Rollout rollout, ReadOnlySpan<Rng> rngs, out long version);
}

/// <summary>Where an unroll actor's unrolls go: the learner's slots in this process, or a learner across the network.</summary>
public interface IUnrollSink
{
    /// <summary>Whether the actor should stop.</summary>
    bool Stopping { get; }

    /// <summary>An unroll to fill, or false once the run is stopping.</summary>
    bool Take(out Unroll unroll);

    /// <summary>Gives back an unroll that was not filled.</summary>
    void Return(Unroll unroll);

    /// <summary>Training episodes that ended during the unroll.</summary>
    void AddEpisodes(ReadOnlySpan<EpisodeRecord> episodes);

    /// <summary>Hands over a filled unroll of <paramref name="envSteps"/> env steps; false when the learner says the run is over.</summary>
    bool Submit(Unroll unroll, long envSteps);
}

/// <summary>
/// The actor of every lagged method (IMPALA, GA3C and the cluster's actor processes): steps its own env lanes T steps
/// at a time with the behaviour policy, recording its log-probabilities, and hands each unroll on with the observations
/// after it and the parameter versions that acted: the oldest (the unroll's largest lag) and their mean over the steps
/// (one version throughout where the actor holds a copy; more where a predictor moved on mid-unroll). A recurrent
/// policy's LSTM state belongs to the actor's lanes: it enters each unroll's slot (which keeps it as the state the
/// learner recomputes the unroll from) and comes back from it for the next.
/// </summary>
public static class UnrollActor
{
    /// <summary>
    /// Acts as actor <paramref name="id"/> of part <paramref name="segment"/> of a run of <paramref name="config"/>, on
    /// <paramref name="lanes"/> env lanes, until <paramref name="sink"/> says stop; returns the env steps handed on.
    /// </summary>
    public static long Run(int id, ActorCriticConfig config, int lanes, int segment, IBehaviourPolicy policy, IUnrollSink sink)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(sink);
        VectorEnv env = config.MakeEnv(lanes);
        env.Reset(config.WorkerEnvSeed(id, segment));
        Rng[] rngs = [Acting.WorkerRng(config, id, segment)];
        long handed = 0, unrollSteps = (long)config.TMax * lanes;
        int state = lanes * Acting.ActorCriticSpec(config).Recurrent;
        float[] hidden = new float[state], cell = new float[state];
        while (!sink.Stopping)
        {
            policy.Refresh();
            if (!sink.Take(out Unroll unroll)) break;
            unroll.Rollout.Clear();
            hidden.CopyTo(unroll.Rollout.Hidden, 0);
            cell.CopyTo(unroll.Rollout.Cell, 0);
            long oldest = long.MaxValue;
            double versionSum = 0;
            for (int t = 0; t < config.TMax; t++)
            {
                if (!policy.Act(env, unroll.Rollout, rngs, out long version))
                {
                    sink.Return(unroll);
                    return handed;
                }
                oldest = Math.Min(oldest, version);
                versionSum += version;
                sink.AddEpisodes(env.Episodes.Records);
                env.Episodes.Clear();
            }
            env.Observations.CopyTo(unroll.NextObservations);
            unroll.Rollout.Hidden.CopyTo(hidden, 0);
            unroll.Rollout.Cell.CopyTo(cell, 0);
            unroll.Version = oldest;
            unroll.MeanVersion = versionSum / config.TMax;
            handed += unrollSteps;
            if (!sink.Submit(unroll, unrollSteps)) break;
        }
        return handed;
    }
}

/// <summary>A behaviour policy that acts with its own copy of the parameters, refreshed from a broadcast (IMPALA) or set by its owner (a cluster actor, from the learner's replies).</summary>
public sealed class LocalCopyPolicy : IBehaviourPolicy
{
    readonly ActorCriticNetwork _net;
    readonly ParameterBroadcast? _source;
    readonly float _gamma;
    float[] _theta;
    long _version;

    /// <summary>A copy of <paramref name="spec"/>'s parameters, <paramref name="theta"/> at <paramref name="version"/>, refreshed from <paramref name="source"/> (null: only by <see cref="Set"/>).</summary>
    public LocalCopyPolicy(ModelSpec spec, float gamma, int lanes, ParameterBroadcast? source, float[]? theta = null, long version = -1)
    {
        ArgumentNullException.ThrowIfNull(spec);
        _net = (ActorCriticNetwork)spec.Build();
        _net.EnsureCapacity(lanes);
        (_source, _gamma, _theta, _version) = (source, gamma, theta ?? new float[_net.ParameterCount], version);
    }

    /// <summary>The version of the parameters held.</summary>
    public long Version => _version;

    /// <summary>How many parameters the network has.</summary>
    public int ParameterCount => _net.ParameterCount;

    /// <summary>Replaces the parameters held (a cluster actor's, from the learner's reply).</summary>
    public void Set(float[] theta, long version) => (_theta, _version) = (theta, version);

    /// <inheritdoc/>
    public void Refresh()
    {
        if (_source is not null) _version = _source.CopyIfNewer(_theta, _version);
    }

    /// <inheritdoc/>
    public bool Act(VectorEnv env, Rollout rollout, ReadOnlySpan<Rng> rngs, out long version)
    {
        Acting.Step(_net, _theta, env, rollout, _gamma, rngs, recordLogProbabilities: true);
        version = _version;
        return true;
    }
}

/// <summary>The learner's slots in this process: free ones to fill, full ones queued for the learner, steps and episodes counted in the run's metrics.</summary>
public sealed class QueueSink(UnrollQueues queues, WorkerGroup group, RunContext run) : IUnrollSink
{
    /// <inheritdoc/>
    public bool Stopping => group.StopRequested || run.ShouldStop;

    /// <inheritdoc/>
    public bool Take(out Unroll unroll)
    {
        bool taken = queues.TakeFree(out int slot, group, run);
        unroll = queues.Slots[taken ? slot : 0];
        return taken;
    }

    /// <inheritdoc/>
    public void Return(Unroll unroll) => queues.Free.Add(unroll.Slot);

    /// <inheritdoc/>
    public void AddEpisodes(ReadOnlySpan<EpisodeRecord> episodes) => run.Metrics.AddEpisodes(episodes);

    /// <inheritdoc/>
    public bool Submit(Unroll unroll, long envSteps)
    {
        run.Metrics.AddSteps(envSteps);
        queues.Full.Add(unroll.Slot);
        return true;
    }
}
