using System.Numerics.Tensors;
using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>How DQN draws its batches from the replay buffer.</summary>
public enum ReplayKind
{
    /// <summary>Uniformly, with replacement.</summary>
    Uniform,
    /// <summary>Proportionally to |TD error|^alpha, with importance weights (Schaul et al. 2016).</summary>
    Prioritized,
}

/// <summary>
/// Settings of DQN (Mnih et al. 2015) with the options later papers added: double Q-learning (van Hasselt et al.
/// 2016), n-step returns, Polyak averaging of the target network. Defaults are Stable-Baselines3's DQN defaults where
/// it has one (Adam at 1e-4, batch 32, train frequency 4, one gradient step, epsilon from 1 to 0.05 over a tenth of
/// the budget, Huber loss, gradient norm clipped at 10), with a 100,000-transition buffer, 1,000 learning starts and a
/// target refresh every 1,000 env steps scaled for the classic-control budgets.
/// </summary>
public record DqnConfig : AlgoConfig
{
    /// <summary>DQN's defaults.</summary>
    public DqnConfig()
    {
        LearningRate = 1e-4f;
        MaxGradNorm = 10f;
        MaxEnvSteps = 500_000;
    }

    /// <inheritdoc/>
    public override string Algo => "dqn";

    /// <summary>The env lanes acting together.</summary>
    public LaneSettings Lanes { get; init; } = new() { NumEnvs = 1 };

    /// <summary>Greedy evaluation (the solve criterion).</summary>
    public GreedyEvalSettings Evaluation { get; init; } = new();

    /// <summary>With more than one thread, how the workers apply their gradients to the shared network.</summary>
    public AsyncSettings Async { get; init; } = new();

    /// <inheritdoc/>
    public override int HelperThreads => Threads > 1 ? Async.HelperThreads : 0;

    /// <summary>Transitions the replay buffer holds (the oldest go first).</summary>
    [Description("Transitions the replay buffer holds; once full, each new one replaces the oldest.")]
    public int BufferSize { get; init; } = 100_000;

    /// <summary>Env steps before the first gradient step.</summary>
    [Description("Env steps (all lanes) collected before the first gradient step.")]
    public long LearningStarts { get; init; } = 1_000;

    /// <summary>Transitions per gradient step.</summary>
    [Description("Transitions sampled from the replay buffer per gradient step.")]
    public int BatchSize { get; init; } = 32;

    /// <summary>Vector env steps between rounds of gradient steps.</summary>
    [Description("Vector env steps (one step of every lane) between rounds of gradient steps.")]
    public int TrainFrequency { get; init; } = 4;

    /// <summary>Gradient steps per round.</summary>
    [Description("Gradient steps per round (every train_frequency vector steps).")]
    public int GradientSteps { get; init; } = 1;

    /// <summary>Env steps between refreshes of the target network.</summary>
    [Description("Env steps (all lanes) between refreshes of the target network: a copy of theta, or with tau below 1 a Polyak step theta- += tau (theta - theta-).")]
    public long TargetUpdateInterval { get; init; } = 1_000;

    /// <summary>Polyak coefficient of a target refresh; 1 copies theta.</summary>
    [Description("Polyak coefficient of each target refresh; 1 = a hard copy (Mnih et al. 2015).")]
    public float Tau { get; init; } = 1f;

    /// <summary>epsilon's first value.</summary>
    [Description("Exploration: epsilon at the start.")]
    public float ExplorationInitialEps { get; init; } = 1f;

    /// <summary>epsilon's final value.</summary>
    [Description("Exploration: epsilon after exploration_fraction of the schedule's horizon, and from then on.")]
    public float ExplorationFinalEps { get; init; } = 0.05f;

    /// <summary>Fraction of the schedule's horizon over which epsilon falls linearly.</summary>
    [Description("Fraction of the horizon (max_env_steps, or anneal_steps when set, or 1000000 with stop_when_solved) over which epsilon falls linearly.")]
    public float ExplorationFraction { get; init; } = 0.1f;

    /// <summary>Double Q-learning's target: the online network picks a', the target network values it.</summary>
    [Description("Double DQN (van Hasselt et al. 2016): the online network picks the next action, the target network values it.")]
    public bool DoubleQ { get; init; }

    /// <summary>Steps per return.</summary>
    [Description("Steps of reward each transition carries before it bootstraps (n-step returns); 1 = Mnih et al. 2015.")]
    public int NStep { get; init; } = 1;

    /// <summary>How the learner draws its batches.</summary>
    [Description("How batches are drawn: uniform, or prioritized (proportional to |TD error|^alpha, Schaul et al. 2016, with importance weights).")]
    public ReplayKind Replay { get; init; } = ReplayKind.Uniform;

    /// <summary>Prioritized replay's alpha.</summary>
    [Description("Prioritized replay: how much the priorities count, P(i) ~ p_i^alpha (Schaul et al. 2016's proportional variant: 0.6).")]
    public float PrioritizedAlpha { get; init; } = 0.6f;

    /// <summary>Prioritized replay's beta at the start; it rises linearly to 1 over the horizon.</summary>
    [Description("Prioritized replay: the importance weights' exponent at the start, raised linearly to 1 over the horizon (max_env_steps, or anneal_steps when set; Schaul et al. 2016: 0.4).")]
    public float PrioritizedBeta { get; init; } = 0.4f;

    /// <summary>Added to |TD error| so no priority is 0.</summary>
    [Description("Prioritized replay: added to each |TD error| so that no transition's priority is 0.")]
    public float PrioritizedEps { get; init; } = 1e-6f;

    /// <summary>Whether checkpoints hold the replay buffer (a resume then continues with it).</summary>
    [Description("Keep the replay buffer in checkpoints, so a resumed run continues with it (it can be large: buffer_size x two observations).")]
    public bool CheckpointReplay { get; init; } = true;

    /// <inheritdoc/>
    public override bool DiscreteOnly => true;

    /// <inheritdoc/>
    public override bool ValueBased => true;

    /// <inheritdoc/>
    public override int TotalEnvs => Lanes.NumEnvs;

    /// <inheritdoc/>
    private protected override long SamplesHeld => BatchSize;

    /// <inheritdoc/>
    private protected override long ParameterCopies => 6;

    /// <inheritdoc/>
    private protected override double ExtraBytes => ReplayBuffer.BytesFor(BufferSize, EnvRegistry.Spec(Env).ObservationSize);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Lanes.Validate();
        Evaluation.Validate();
        Async.Validate();
        Require(BufferSize >= 1, "buffer_size", BufferSize, ">= 1");
        Require(LearningStarts >= 0, "learning_starts", LearningStarts, ">= 0");
        Require(BatchSize >= 1, "batch_size", BatchSize, ">= 1");
        Require(TrainFrequency >= 1, "train_frequency", TrainFrequency, ">= 1");
        Require(GradientSteps >= 1, "gradient_steps", GradientSteps, ">= 1");
        Require(TargetUpdateInterval >= 1, "target_update_interval", TargetUpdateInterval, ">= 1");
        Require(Tau is > 0 and <= 1, "tau", Tau, "in (0, 1]");
        Require(ExplorationInitialEps is >= 0 and <= 1, "exploration_initial_eps", ExplorationInitialEps, "in [0, 1]");
        Require(ExplorationFinalEps is >= 0 and <= 1, "exploration_final_eps", ExplorationFinalEps, "in [0, 1]");
        Require(ExplorationFraction is > 0 and <= 1, "exploration_fraction", ExplorationFraction, "in (0, 1]");
        Require(NStep >= 1, "n_step", NStep, ">= 1");
        Require(PrioritizedAlpha >= 0 && float.IsFinite(PrioritizedAlpha), "prioritized_alpha", PrioritizedAlpha, ">= 0");
        Require(PrioritizedBeta is >= 0 and <= 1, "prioritized_beta", PrioritizedBeta, "in [0, 1]");
        Require(PrioritizedEps > 0 && float.IsFinite(PrioritizedEps), "prioritized_eps", PrioritizedEps, "> 0");
        CheckSize();
    }

    /// <summary>Prioritized replay's beta after <paramref name="envSteps"/> env steps: linear from its start to 1 over the horizon.</summary>
    public double Beta(long envSteps) => PrioritizedBeta + (1.0 - PrioritizedBeta) * Math.Min(1.0, envSteps / (double)AnnealHorizon);

    /// <summary>epsilon after <paramref name="envSteps"/> env steps: linear from the initial to the final value over the exploration span, then constant.</summary>
    public float Epsilon(long envSteps)
    {
        double span = ExplorationFraction * (double)AnnealHorizon;
        return (float)(ExplorationInitialEps + (ExplorationFinalEps - ExplorationInitialEps) * Math.Min(1.0, envSteps / span));
    }
}

/// <summary>
/// DQN (Mnih et al. 2015): the lanes act epsilon-greedily with the online network, their steps go into a replay
/// buffer as (n-step) transitions, and every train_frequency vector steps past learning_starts the learner takes
/// gradient steps on uniformly sampled batches: targets y = R + discount max_a' Q(s', a'; theta-) (double Q: the
/// online network picks a'), the Huber loss of Q(s, a; theta) - y averaged over the batch, the gradient clipped by its
/// global norm, one Adam step. The target network is refreshed every target_update_interval env steps. With one thread
/// (the sequential baseline) deterministic for a seed, and a resumed run continues exactly; with K threads
/// (<see cref="ConcurrentDqn"/>) K workers act and learn on one shared network and replay. Greedy evaluation decides
/// "solved", as for the asynchronous Q methods.
/// </summary>
public static class Dqn
{
    /// <summary>Trains until the budget is spent or greedy evaluation says solved (with stop_when_solved).</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">The loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(DqnConfig config, RunContext run)
    {
        UpdateRules.Begin(config, run);
        if (config.Threads > 1) return ConcurrentDqn.Train(config, run);
        var learner = new DqnLearner(config, run);
        learner.Run();
        return run.Finish(1, config.Lanes.NumEnvs);
    }
}

/// <summary>DQN's state: the lanes, the replay, the networks and the optimizer, and the loop that steps them.</summary>
internal sealed class DqnLearner
{
    const string Kind = "dqn";

    readonly DqnConfig _config;
    readonly RunContext _run;
    readonly ModelSpec _spec;
    readonly QNetwork _online;
    readonly DqnBatch _batch;
    readonly float[] _theta, _target;
    readonly Adam _optimizer;
    readonly VectorEnv _env;
    readonly ReplayBuffer _replay;
    readonly PrioritizedReplay? _priorities;
    readonly NStepWriter _writer;
    readonly Rng _actions, _sampling;
    readonly PeriodicEvaluation _evaluation;
    readonly int[] _laneActions;
    readonly float[] _before;
    readonly int _n;
    long _vectorSteps, _updates;

    public DqnLearner(DqnConfig config, RunContext run)
    {
        (_config, _run) = (config, run);
        _spec = Acting.QSpec(config);
        _online = (QNetwork)_spec.Build();
        _theta = Acting.InitialTheta(_online, config.Seed);
        _target = (float[])_theta.Clone();
        _optimizer = new Adam(_theta.Length);
        _n = config.Lanes.NumEnvs;
        _env = config.MakeEnv(_n);
        _env.Reset(config.WorkerEnvSeed(0, run.Segment));
        int obs = _env.ObservationSize;
        _replay = new ReplayBuffer(config.BufferSize, obs);
        if (config.Replay == ReplayKind.Prioritized) _priorities = new PrioritizedReplay(_replay, config.PrioritizedAlpha, config.PrioritizedEps);
        _writer = new NStepWriter(_n, config.NStep, obs, config.Gamma);
        _actions = Acting.WorkerRng(config, 0, run.Segment);
        _sampling = new Rng((ulong)config.Seed ^ AlgoConfig.SegmentSalt(run.Segment), RandomStreams.ReplaySampling);
        int batch = config.BatchSize;
        _laneActions = new int[_n];
        _batch = new DqnBatch(_spec, batch, obs, config.DoubleQ);
        _before = new float[_n * obs];
        _online.EnsureCapacity(Math.Max(batch, _n));
        _evaluation = PeriodicEvaluation.For(config, config.Evaluation, _spec, _theta, run, null);
        if (run.Resumed is { } checkpoint) RunState.Load(checkpoint, _spec, _theta, _optimizer, Kind, Load);
    }

    public void Run()
    {
        while (!_run.ShouldStop)
        {
            Act();
            long steps = _run.Metrics.EnvSteps;
            // (The buffer is empty past learning_starts only after a resume from a checkpoint without it.)
            if (steps >= _config.LearningStarts && _replay.Count > 0 && _vectorSteps % _config.TrainFrequency == 0)
                for (int g = 0; g < _config.GradientSteps; g++) Learn();
            if ((steps - _n) / _config.TargetUpdateInterval != steps / _config.TargetUpdateInterval) RefreshTarget();
            _evaluation.MaybeRun(steps);
            _run.Metrics.Flush();
            // Between vector steps the state is whole: a checkpoint taken here continues exactly.
            if (_run.CheckpointDue) _run.Checkpoints.Save(Save());
        }
        if (_run.Checkpoints.Kept) _run.Checkpoints.Save(Save());
        // A last evaluation of the final parameters, unless the run stopped right at one.
        if (!_run.Stop.Solved) _evaluation.RunNow();
    }

    /// <summary>One step of every lane, epsilon-greedy with the online network; the steps go to the n-step writer.</summary>
    void Act()
    {
        DqnParts.Step(_online, _theta, _env, _before, _laneActions, _config.Epsilon(_run.Metrics.EnvSteps), _actions);
        _vectorSteps++;
        DqnParts.Record(_env, _writer, _before, _laneActions, _replay);
        _run.Metrics.AddSteps(_n);
        _run.Metrics.AddEpisodes(_env.Episodes.Records);
        _env.Episodes.Clear();
    }

    /// <summary>One gradient step on a batch drawn uniformly or by priority (then weighted, and the priorities updated).</summary>
    void Learn()
    {
        if (_priorities is not null) _priorities.Sample(_sampling, _config.Beta(_run.Metrics.EnvSteps), _batch.Slots, _batch.Weights);
        else _replay.SampleUniform(_sampling, _batch.Slots);
        _batch.Gather(_replay);
        _updates++;
        float mean = _batch.Compute(_theta, _target, _config.MaxGradNorm, Kind, _updates);
        _priorities?.Update(_batch.Slots, _batch.Errors);
        _optimizer.Step(_theta, _batch.Gradient, UpdateRules.LearningRate(_config, _run.Metrics.EnvSteps));
        _run.Metrics.AddUpdate(new LossTerms(0f, mean, 0f));
    }

    /// <summary>theta- = theta, or with tau below 1 a Polyak step toward it; checked finite.</summary>
    void RefreshTarget() => DqnParts.RefreshTarget(_theta, _target, _config.Tau, Kind, _updates);

    CheckpointData Save() => RunState.Save(_spec, _theta, _optimizer, Kind, writer =>
    {
        BinaryState.Write<float>(writer, _target);
        writer.Write(_vectorSteps);
        writer.Write(_updates);
        _env.SaveState(writer);
        _actions.Save(writer);
        _sampling.Save(writer);
        _writer.Save(writer);
        _evaluation.Evaluator.SaveSeeds(writer);
        writer.Write(_config.CheckpointReplay);
        if (!_config.CheckpointReplay) return;
        _replay.Save(writer);
        _priorities?.Save(writer);
    });

    void Load(BinaryReader reader)
    {
        BinaryState.Read<float>(reader, _target, "target network");
        _vectorSteps = reader.ReadInt64();
        _updates = reader.ReadInt64();
        // Adam's bias corrections count its steps: one per gradient step.
        _optimizer.Steps = _updates;
        _env.LoadState(reader);
        _actions.Load(reader);
        _sampling.Load(reader);
        _writer.Load(reader);
        _evaluation.Evaluator.LoadSeeds(reader);
        // Without the replay in the checkpoint the buffer starts empty: batches come from what is collected from here on.
        if (!reader.ReadBoolean()) return;
        _replay.Load(reader);
        _priorities?.Load(reader);
    }
}

/// <summary>DQN's bootstrap targets and loss for a batch.</summary>
public static class DqnTargets
{
    /// <summary>
    /// The Huber loss (delta 1) of Q(s_i, a_i; theta) - y_i averaged over the batch, each term times its importance
    /// weight (1 without prioritized replay): returns the loss, writes its gradient with respect to the Q-values (the
    /// error clipped to [-1, 1], weighted, over the batch) into <paramref name="qGradient"/> and each error into
    /// <paramref name="errors"/> (the new priorities). Runs <paramref name="online"/>'s forward pass on the batch, which
    /// its backward pass then uses.
    /// </summary>
    public static float HuberGradient(QNetwork online, ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions,
        ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int batch, Span<float> qGradient, Span<float> errors)
    {
        int count = online.Actions;
        online.Forward(theta, observations, batch);
        ReadOnlySpan<float> q = online.QValues(batch);
        qGradient[..(batch * count)].Clear();
        double loss = 0;
        float inverse = 1f / batch;
        for (int i = 0; i < batch; i++)
        {
            float error = q[i * count + actions[i]] - targets[i], magnitude = Math.Abs(error);
            errors[i] = error;
            loss += weights[i] * (magnitude <= 1f ? 0.5 * error * error : magnitude - 0.5);
            qGradient[i * count + actions[i]] = weights[i] * Math.Clamp(error, -1f, 1f) * inverse;
        }
        return (float)(loss / batch);
    }

    /// <summary>
    /// y_i = R_i + discount_i Q(s'_i, a*; theta-) with a* = argmax_a Q(s'_i, a; theta-), or with double Q
    /// (<paramref name="online"/> given) a* = argmax_a Q(s'_i, a; theta): van Hasselt et al. 2016. A discount of 0 (a
    /// terminal) gives y = R.
    /// </summary>
    public static void Compute(QNetwork targetNet, ReadOnlySpan<float> target, QNetwork? online, ReadOnlySpan<float> theta, ReadOnlySpan<float> next,
        ReadOnlySpan<float> rewards, ReadOnlySpan<float> discounts, int batch, Span<float> targets)
    {
        int actions = targetNet.Actions;
        targetNet.Forward(target, next, batch);
        ReadOnlySpan<float> qTarget = targetNet.QValues(batch);
        ReadOnlySpan<float> qOnline = default;
        if (online is not null)
        {
            online.Forward(theta, next, batch);
            qOnline = online.QValues(batch);
        }
        for (int i = 0; i < batch; i++)
        {
            ReadOnlySpan<float> row = qTarget.Slice(i * actions, actions);
            int best = TensorPrimitives.IndexOfMax(online is null ? row : qOnline.Slice(i * actions, actions));
            targets[i] = rewards[i] + discounts[i] * row[best];
        }
    }
}

/// <summary>What DQN's loops share: the parameters a run starts from, acting on the lanes, recording their steps.</summary>
internal static class DqnParts
{
    /// <summary>
    /// theta (from the run's seed), the target network (theta's copy) and Adam; a resumed run's from its checkpoint,
    /// whose algorithm section of <paramref name="kind"/> holds the target network (Adam counts one step per update).
    /// </summary>
    public static (float[] Theta, float[] Target, Adam Optimizer) Parameters(ModelSpec spec, DqnConfig config, RunContext run, string kind, SharedReplay replay)
    {
        float[] theta = Acting.InitialTheta(spec.Build(), config.Seed);
        var target = (float[])theta.Clone();
        var optimizer = new Adam(theta.Length);
        if (run.Resumed is { } checkpoint)
        {
            RunState.Load(checkpoint, spec, theta, optimizer, kind, r =>
            {
                BinaryState.Read<float>(r, target, "target network");
                if (r.ReadBoolean()) replay.Load(r);
            });
            optimizer.Steps = checkpoint.Updates;
        }
        return (theta, target, optimizer);
    }

    /// <summary>
    /// A checkpoint of theta, Adam and the target network, and (with checkpoint_replay) the shared replay taken under its
    /// lock (what <see cref="Parameters"/> reads); the workers go on while the parameters are copied.
    /// </summary>
    public static CheckpointData Save(ModelSpec spec, float[] theta, float[] target, Adam optimizer, string kind, SharedReplay replay, bool withReplay) =>
        RunState.Save(spec, theta, optimizer, kind, w =>
        {
            BinaryState.Write<float>(w, target);
            w.Write(withReplay);
            if (withReplay) replay.Save(w);
        });

    /// <summary>One step of every lane of <paramref name="env"/>: epsilon-greedy on <paramref name="net"/>'s Q-values at <paramref name="theta"/>; the observations acted on are kept in <paramref name="before"/>.</summary>
    public static void Step(QNetwork net, ReadOnlySpan<float> theta, VectorEnv env, float[] before, int[] laneActions, float epsilon, Rng rng)
    {
        int n = env.NumEnvs, actions = net.Actions;
        env.Observations.CopyTo(before);
        net.Forward(theta, before, n);
        ReadOnlySpan<float> q = net.QValues(n);
        for (int lane = 0; lane < n; lane++)
            laneActions[lane] = rng.NextFloat() < epsilon ? rng.NextInt(actions) : TensorPrimitives.IndexOfMax(q.Slice(lane * actions, actions));
        env.Step(laneActions);
    }

    /// <summary>theta- = theta, or with <paramref name="tau"/> below 1 a Polyak step toward it; checked finite.</summary>
    public static void RefreshTarget(ReadOnlySpan<float> theta, float[] target, float tau, string who, long update)
    {
        if (tau >= 1f) theta.CopyTo(target);
        else
            for (int p = 0; p < target.Length; p++) target[p] += tau * (theta[p] - target[p]);
        UpdateRules.CheckParameters(target, who, update);
    }

    /// <summary>Each lane's step just taken into <paramref name="writer"/>, which writes complete transitions into <paramref name="buffer"/>.</summary>
    public static void Record(VectorEnv env, NStepWriter writer, float[] before, int[] laneActions, ReplayBuffer buffer)
    {
        int obs = env.ObservationSize;
        for (int lane = 0; lane < env.NumEnvs; lane++)
        {
            bool terminated = env.Terminated[lane], ended = terminated || env.Truncated[lane];
            ReadOnlySpan<float> next = ended ? env.FinalObservations.Slice(lane * obs, obs) : env.Observations.Slice(lane * obs, obs);
            writer.Add(lane, before.AsSpan(lane * obs, obs), laneActions[lane], env.Rewards[lane], terminated, ended && !terminated, next, buffer);
        }
    }
}

/// <summary>
/// One gradient step's batch and its work, as every DQN learner takes it: the drawn slots and their transitions, the
/// importance weights (1 unless prioritized), the targets from the target network (double Q: the online network
/// choosing), the weighted Huber loss, each error (the new priorities), and the gradient, checked and clipped.
/// Allocated once per learner.
/// </summary>
internal sealed class DqnBatch
{
    readonly QNetwork _online, _targetNet;
    readonly QNetwork? _nextNet;
    readonly float[] _qGradient, _targets;
    readonly int _size;

    public DqnBatch(ModelSpec spec, int size, int observationSize, bool doubleQ)
    {
        _size = size;
        _online = (QNetwork)spec.Build();
        _targetNet = (QNetwork)spec.Build();
        _nextNet = doubleQ ? (QNetwork)spec.Build() : null;
        foreach (QNetwork? net in new[] { _online, _targetNet, _nextNet }) net?.EnsureCapacity(size);
        (Slots, Actions) = (new int[size], new int[size]);
        (Observations, Next) = (new float[size * observationSize], new float[size * observationSize]);
        (Rewards, Discounts, Weights, Errors, _targets) = (new float[size], new float[size], new float[size], new float[size], new float[size]);
        Array.Fill(Weights, 1f);
        _qGradient = new float[size * _online.Actions];
        Gradient = new float[_online.ParameterCount];
    }

    public int[] Slots { get; }
    public int[] Actions { get; }
    public float[] Observations { get; }
    public float[] Next { get; }
    public float[] Rewards { get; }
    public float[] Discounts { get; }
    public float[] Weights { get; }
    public float[] Errors { get; }

    /// <summary>The last batch's gradient with respect to theta (clipped).</summary>
    public float[] Gradient { get; }

    /// <summary>Copies the transitions at <see cref="Slots"/> from <paramref name="replay"/>.</summary>
    public void Gather(ReplayBuffer replay) => replay.Gather(Slots, Observations, Actions, Rewards, Discounts, Next);

    /// <summary>The loss of the gathered batch at <paramref name="theta"/> with targets from <paramref name="target"/>; its gradient into <see cref="Gradient"/>, checked and clipped.</summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient is NaN or infinite.</exception>
    public float Compute(ReadOnlySpan<float> theta, ReadOnlySpan<float> target, float maxGradNorm, string who, long update)
    {
        DqnTargets.Compute(_targetNet, target, _nextNet, theta, Next, Rewards, Discounts, _size, _targets);
        float loss = DqnTargets.HuberGradient(_online, theta, Observations, Actions, _targets, Weights, _size, _qGradient, Errors);
        Array.Clear(Gradient);
        _online.Backward(theta, Observations, _qGradient, Gradient, _size);
        UpdateRules.CheckFinite(loss, who, update);
        UpdateRules.Clip(Gradient, maxGradNorm, who, update);
        return loss;
    }
}

/// <summary>A replay buffer (and its priorities, where prioritized) that several threads share behind one lock, <see cref="Gate"/>.</summary>
internal sealed class SharedReplay
{
    public SharedReplay(DqnConfig config)
    {
        Buffer = new ReplayBuffer(config.BufferSize, EnvRegistry.Spec(config.Env).ObservationSize);
        if (config.Replay == ReplayKind.Prioritized) Priorities = new PrioritizedReplay(Buffer, config.PrioritizedAlpha, config.PrioritizedEps);
    }

    /// <summary>The transitions.</summary>
    public ReplayBuffer Buffer { get; }

    /// <summary>Their priorities, or null for uniform replay.</summary>
    public PrioritizedReplay? Priorities { get; }

    /// <summary>What every thread takes before it touches the buffer or its priorities.</summary>
    public object Gate { get; } = new();

    /// <summary>Writes the transitions and priorities, under the lock.</summary>
    public void Save(BinaryWriter writer)
    {
        lock (Gate)
        {
            Buffer.Save(writer);
            Priorities?.Save(writer);
        }
    }

    /// <summary>Restores what <see cref="Save"/> wrote (before any thread runs).</summary>
    public void Load(BinaryReader reader)
    {
        Buffer.Load(reader);
        Priorities?.Load(reader);
    }
}
