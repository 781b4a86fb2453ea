using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// What the single-threaded replay learners (DQN, DDPG) share: the lanes, the replay buffer and its priorities, the
/// n-step writer, the generators of actions and of batch draws, greedy evaluation, the counters, the loop that acts,
/// learns and refreshes the targets on schedule, and their part of a checkpoint (so that a resumed run continues
/// exactly). The algorithm brings its networks, its act, learn and refresh steps, and the part of the checkpoint
/// that is its own, written first.
/// </summary>
internal sealed class ReplayLearning
{
    readonly ReplayConfig _config;
    readonly RunContext _run;

    /// <summary>The lanes, replay and generators of <paramref name="config"/>'s run; greedy evaluation of <paramref name="policy"/> at <paramref name="theta"/>.</summary>
    public ReplayLearning(ReplayConfig config, RunContext run, ModelSpec policy, float[] theta, int boxActionSize)
    {
        (_config, _run) = (config, run);
        Lanes = config.Lanes.NumEnvs;
        Env = config.MakeEnv(Lanes);
        Env.Reset(config.WorkerEnvSeed(0, run.Segment));
        Replay = new ReplayBuffer(config.BufferSize, Env.ObservationSize, boxActionSize);
        if (config.Replay == ReplayKind.Prioritized) Priorities = new PrioritizedReplay(Replay, config.PrioritizedAlpha, config.PrioritizedEps);
        Writer = new NStepWriter(Lanes, config.NStep, Env.ObservationSize, config.Gamma, boxActionSize);
        Actions = Acting.WorkerRng(config, 0, run.Segment);
        Sampling = new Rng((ulong)config.Seed ^ AlgoConfig.SegmentSalt(run.Segment), RandomStreams.ReplaySampling);
        Evaluation = PeriodicEvaluation.For(config, config.Evaluation, policy, theta, run, null);
    }

    public int Lanes { get; }
    public VectorEnv Env { get; }
    public ReplayBuffer Replay { get; }
    public PrioritizedReplay? Priorities { get; }
    public NStepWriter Writer { get; }
    /// <summary>Exploration's draws.</summary>
    public Rng Actions { get; }
    /// <summary>The batches' draws.</summary>
    public Rng Sampling { get; }
    public PeriodicEvaluation Evaluation { get; }
    public long VectorSteps { get; private set; }
    /// <summary>Gradient steps taken (one per batch).</summary>
    public long Updates { get; set; }

    /// <summary>
    /// Until the run stops: <paramref name="act"/> (one step of every lane, then <see cref="Stepped"/>), past
    /// learning_starts every train_frequency vector steps gradient_steps of <paramref name="learn"/>, the targets refreshed
    /// every target_update_interval env steps, greedy evaluation on schedule, checkpoints between vector steps; then the
    /// last checkpoint and, unless the run stopped solved, a last evaluation. <paramref name="stopped"/> runs between the
    /// loop and those (a method with threads of its own stops them there, so neither sees them at work).
    /// </summary>
    public void Run(Action act, Action learn, Action refreshTargets, Func<CheckpointData> save, Action? stopped = null)
    {
        while (!_run.ShouldStop)
        {
            act();
            long steps = _run.Metrics.EnvSteps;
            // (The buffer is empty past learning_starts only after a resume from a checkpoint without it.)
            if (steps >= _config.LearningStarts && Replay.Count > 0 && VectorSteps % _config.TrainFrequency == 0)
                for (int g = 0; g < _config.GradientSteps; g++) learn();
            if ((steps - Lanes) / _config.TargetUpdateInterval != steps / _config.TargetUpdateInterval) refreshTargets();
            Evaluation.MaybeRun(steps);
            _run.Metrics.Flush();
            // Between vector steps the state is whole: a checkpoint taken here continues exactly.
            if (_run.CheckpointDue) _run.Checkpoints.Save(save());
        }
        stopped?.Invoke();
        if (_run.Checkpoints.Kept) _run.Checkpoints.Save(save());
        // A last evaluation of the final parameters, unless the run stopped right at one.
        if (!_run.Stop.Solved) Evaluation.RunNow();
    }

    /// <summary>Counts the vector step just taken and hands its steps and finished episodes to the run's metrics.</summary>
    public void Stepped()
    {
        VectorSteps++;
        _run.Metrics.AddSteps(Lanes);
        _run.Metrics.AddEpisodes(Env.Episodes.Records);
        Env.Episodes.Clear();
    }

    /// <summary>Draws a batch's slots, uniformly or by priority (then with importance weights into <paramref name="weights"/>), and counts the update.</summary>
    public void Draw(Span<int> slots, Span<float> weights)
    {
        if (Priorities is not null) Priorities.Sample(Sampling, _config.Beta(_run.Metrics.EnvSteps), slots, weights);
        else Replay.SampleUniform(Sampling, slots);
        Updates++;
    }

    /// <summary>Writes the counters, the lanes, the generators, the pending n-step windows, the evaluator's seeds and (with checkpoint_replay) the replay.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(VectorSteps);
        writer.Write(Updates);
        Env.SaveState(writer);
        Actions.Save(writer);
        Sampling.Save(writer);
        Writer.Save(writer);
        Evaluation.Evaluator.SaveSeeds(writer);
        writer.Write(_config.CheckpointReplay);
        if (!_config.CheckpointReplay) return;
        Replay.Save(writer);
        Priorities?.Save(writer);
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    public void Load(BinaryReader reader)
    {
        VectorSteps = reader.ReadInt64();
        Updates = reader.ReadInt64();
        Env.LoadState(reader);
        Actions.Load(reader);
        Sampling.Load(reader);
        Writer.Load(reader);
        Evaluation.Evaluator.LoadSeeds(reader);
        // Without the replay in the checkpoint the buffer starts empty: batches come from what is collected from here on.
        if (!reader.ReadBoolean()) return;
        Replay.Load(reader);
        Priorities?.Load(reader);
    }
}
