using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// The central replay of a distributed replay method (Ape-X, D4PG with actor threads): one buffer (FIFO) and, where
/// prioritized, its priorities, behind one lock; the rate limiter that holds the actors while they are more than
/// actor_send_batch transitions each ahead of samples_per_insert; the learner's published parameters and the age of
/// the copies actors take; and the telemetry of it all (replay size, insert and sample rates, the replay ratio,
/// priority statistics, parameter age). Actors in this process wait on the lock, actors across the network on a task.
/// </summary>
public sealed class CentralReplay : SnapshotTelemetry<(long Inserted, long Sampled, long AgeSum, long AgeCount)>
{
    readonly ReplayConfig _config;
    readonly DistributedSettings _distributed;
    readonly RunContext _run;
    readonly object _gate;
    TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    bool _progressAwaited;
    long _inserted, _sampled, _ageSum, _ageCount;

    internal CentralReplay(ReplayConfig config, DistributedSettings distributed, RunContext run, SharedReplay replay, float[] theta)
    {
        (_config, _distributed, _run, Shared) = (config, distributed, run, replay);
        _gate = replay.Gate;
        Published = new ParameterBroadcast(theta);
    }

    /// <summary>The buffer and its priorities, behind their lock.</summary>
    internal SharedReplay Shared { get; }

    ReplayBuffer Buffer => Shared.Buffer;

    /// <summary>The learner's parameters as the actors copy them.</summary>
    public ParameterBroadcast Published { get; }

    /// <summary>Adds <paramref name="batch"/>, first waiting while the actors are ahead of the learner (until <paramref name="stopping"/>).</summary>
    internal void Insert(TransitionBatch batch, Func<bool> stopping)
    {
        lock (_gate)
        {
            // The rate limiter: past learning_starts, wait while the actors are ahead of the learner's replay.
            while (TooFarAhead() && !stopping()) Monitor.Wait(_gate, 20);
            Add(batch);
        }
    }

    /// <summary>
    /// Adds <paramref name="batch"/> unless the actors are ahead of the learner (and not <paramref name="force"/>); then
    /// (nothing added) returns a task that completes when the learner has drawn its next batch, to try again after.
    /// </summary>
    /// <exception cref="ArgumentException">The batch's observations or actions are not the replay's size.</exception>
    public Task? TryInsert(TransitionBatch batch, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int width = Math.Max(1, Buffer.BoxActionSize);
        if (batch.ObservationSize != Buffer.ObservationSize || batch.ActionWidth != width)
            throw new ArgumentException($"the batch's observations and actions have {batch.ObservationSize} and {batch.ActionWidth} floats; the replay holds {Buffer.ObservationSize} and {width}.", nameof(batch));
        lock (_gate)
        {
            if (!force && TooFarAhead())
            {
                _progressAwaited = true;
                return _progress.Task;
            }
            Add(batch);
            return null;
        }
    }

    /// <summary>Writes the batch into the replay (under the lock), at its actor's priorities where it gave them (a NaN error: the largest priority so far), and wakes the learner.</summary>
    void Add(TransitionBatch batch)
    {
        int obs = batch.ObservationSize, width = batch.ActionWidth;
        for (int i = 0; i < batch.Count; i++)
        {
            int slot = Buffer.AddRow(batch.Observations.AsSpan(i * obs, obs), batch.Actions.AsSpan(i * width, width), batch.Rewards[i], batch.Discounts[i],
                batch.Next.AsSpan(i * obs, obs));
            if (!float.IsNaN(batch.Errors[i])) Shared.Priorities?.Update([slot], batch.Errors.AsSpan(i, 1));
        }
        _inserted += batch.Count;
        Monitor.PulseAll(_gate);
    }

    /// <summary>Whether the actors have added more than the learner's replay allows (call under the lock).</summary>
    bool TooFarAhead() =>
        _inserted > _config.LearningStarts && (_inserted - _config.LearningStarts) * (double)_distributed.SamplesPerInsert
            > _sampled + (double)_distributed.SamplesPerInsert * _distributed.ActorSendBatch * _config.Threads;

    /// <summary>Copies the published parameters into <paramref name="theta"/> if newer than <paramref name="held"/> (below 0: none yet); returns their version, and counts the copy's age for the telemetry.</summary>
    public long Fetch(Span<float> theta, long held)
    {
        long now = Published.CopyIfNewer(theta, held);
        if (held >= 0)
        {
            Interlocked.Add(ref _ageSum, now - held);
            Interlocked.Increment(ref _ageCount);
        }
        return now;
    }

    /// <summary>
    /// The learner's draw: false (after a short wait for the actors' batches) until the replay holds learning_starts
    /// transitions; then draws <paramref name="slots"/> (by priority with importance weights, or uniformly), lets
    /// <paramref name="gather"/> copy them under the lock, counts them and wakes the actors waiting on it.
    /// </summary>
    internal bool TryDraw(Rng sampling, long global, Span<int> slots, Span<float> weights, Action<ReplayBuffer> gather)
    {
        lock (_gate)
        {
            if (Buffer.Count < Math.Max(slots.Length, _config.LearningStarts))
            {
                Monitor.Wait(_gate, 20);
                return false;
            }
            if (Shared.Priorities is { } priorities) priorities.Sample(sampling, _config.Beta(global), slots, weights);
            else Buffer.SampleUniform(sampling, slots);
            gather(Buffer);
            _sampled += slots.Length;
            Monitor.PulseAll(_gate);
            if (_progressAwaited)
            {
                // Actors across the network wait on a task rather than the lock: the next one is made only when one was handed out.
                TaskCompletionSource progressed = _progress;
                _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _progressAwaited = false;
                progressed.TrySetResult();
            }
            return true;
        }
    }

    /// <summary>The learner's new priorities for the slots it drew (nothing under uniform replay).</summary>
    internal void UpdatePriorities(ReadOnlySpan<int> slots, ReadOnlySpan<float> errors)
    {
        if (Shared.Priorities is null) return;
        lock (_gate) Shared.Priorities.Update(slots, errors);
    }

    /// <inheritdoc/>
    protected override (long Inserted, long Sampled, long AgeSum, long AgeCount) Now()
    {
        lock (_gate) return (_inserted, _sampled, Interlocked.Read(ref _ageSum), Interlocked.Read(ref _ageCount));
    }

    /// <inheritdoc/>
    protected override RuntimeTelemetry Between((long Inserted, long Sampled, long AgeSum, long AgeCount) a, (long Inserted, long Sampled, long AgeSum, long AgeCount) b,
        double seconds)
    {
        long inserted = b.Inserted - a.Inserted, sampled = b.Sampled - a.Sampled, ages = b.AgeCount - a.AgeCount;
        int size;
        double total = double.NaN, largest = double.NaN;
        lock (_gate)
        {
            size = Buffer.Count;
            if (Shared.Priorities is { } p) (total, largest) = (p.Tree.Total, p.MaxPriority);
        }
        return RuntimeTelemetry.None with
        {
            ReplaySize = size,
            PriorityMean = size > 0 ? total / size : double.NaN,
            PriorityMax = largest,
            InsertsPerSecond = seconds > 0 ? inserted / seconds : double.NaN,
            SamplesPerSecond = seconds > 0 ? sampled / seconds : double.NaN,
            ReplayRatio = inserted > 0 ? sampled / (double)inserted : double.NaN,
            ParameterAge = ages > 0 ? (b.AgeSum - a.AgeSum) / (double)ages : double.NaN,
        };
    }
}

/// <summary>
/// A learner fed by actors through a <see cref="CentralReplay"/> (Ape-X's, D4PG's with actor threads), as a cluster
/// learner serves it to actor processes: its settings, the policy the actors run, the published parameters, the
/// replay's door, the run's telemetry, and the loop that trains until the run ends.
/// </summary>
public interface ICentralLearner : ITelemetrySource
{
    /// <summary>The run's settings.</summary>
    ReplayConfig Config { get; }

    /// <summary>How the actors feed the replay.</summary>
    DistributedSettings Distributed { get; }

    /// <summary>The network the actors act with.</summary>
    ModelSpec Spec { get; }

    /// <summary>Its parameters as the actors copy them.</summary>
    ParameterBroadcast Published { get; }

    /// <summary>The parameters' length.</summary>
    int ParameterCount { get; }

    /// <inheritdoc cref="CentralReplay.TryInsert"/>
    Task? TryInsert(TransitionBatch batch, bool force = false);

    /// <inheritdoc cref="CentralReplay.Fetch"/>
    long Fetch(Span<float> theta, long held);

    /// <summary>Starts the learner thread and <paramref name="startActors"/>'s, and trains until the run ends (checkpoints, a last evaluation).</summary>
    void Train(Action<WorkerGroup> startActors);
}

/// <summary>An actor thread's way to a central replay in this process: steps and episodes to the run (and evaluation on schedule), batches to the replay (waiting while the actors are ahead), the published parameters.</summary>
internal sealed class CentralSink : ITransitionSink
{
    readonly CentralReplay _central;
    readonly PeriodicEvaluation _evaluation;
    readonly RunContext _run;
    readonly WorkerGroup _group;
    readonly Func<bool> _stopping;

    public CentralSink(CentralReplay central, PeriodicEvaluation evaluation, RunContext run, WorkerGroup group)
    {
        (_central, _evaluation, _run, _group) = (central, evaluation, run, group);
        _stopping = () => Stopping;
    }

    public bool Stopping => _group.StopRequested || _run.ShouldStop;

    public void Acted(int envSteps, ReadOnlySpan<EpisodeRecord> episodes)
    {
        long global = _run.Metrics.AddSteps(envSteps);
        _run.Metrics.AddEpisodes(episodes);
        _evaluation.MaybeRun(global);
    }

    public bool Send(TransitionBatch batch)
    {
        _central.Insert(batch, _stopping);
        return !Stopping;
    }

    public long Fetch(float[] theta, long held) => _central.Fetch(theta, held);
}
