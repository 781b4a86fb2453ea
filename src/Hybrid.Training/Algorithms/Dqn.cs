using System.Numerics.Tensors;
using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Settings of DQN (Mnih et al. 2015) with the options later papers added: double Q-learning (van Hasselt et al.
/// 2016), n-step returns, Polyak averaging of the target network. Defaults are Stable-Baselines3's DQN defaults where
/// it has one (Adam at 1e-4, batch 32, train frequency 4, one gradient step, epsilon from 1 to 0.05 over a tenth of
/// the budget, Huber loss, gradient norm clipped at 10), with a 100,000-transition buffer, 1,000 learning starts and a
/// target refresh every 1,000 env steps scaled for the classic-control budgets.
/// </summary>
public record DqnConfig : ReplayConfig
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

    /// <summary>With more than one thread, how the workers apply their gradients to the shared network.</summary>
    public AsyncSettings Async { get; init; } = new();

    /// <inheritdoc/>
    public override int HelperThreads => Threads > 1 ? Async.HelperThreads : 0;

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

    /// <inheritdoc/>
    public override bool DiscreteOnly => true;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Async.Validate();
        Require(ExplorationInitialEps is >= 0 and <= 1, "exploration_initial_eps", ExplorationInitialEps, "in [0, 1]");
        Require(ExplorationFinalEps is >= 0 and <= 1, "exploration_final_eps", ExplorationFinalEps, "in [0, 1]");
        Require(ExplorationFraction is > 0 and <= 1, "exploration_fraction", ExplorationFraction, "in (0, 1]");
    }

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

/// <summary>DQN's state: its network, target and optimizer over the shared replay learner's lanes and replay.</summary>
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
    readonly ReplayLearning _learning;
    readonly int[] _laneActions;
    readonly float[] _before;

    public DqnLearner(DqnConfig config, RunContext run)
    {
        (_config, _run) = (config, run);
        _spec = Acting.QSpec(config);
        _online = (QNetwork)_spec.Build();
        _theta = Acting.InitialTheta(_online, config.Seed);
        _target = (float[])_theta.Clone();
        _optimizer = new Adam(_theta.Length);
        _learning = new ReplayLearning(config, run, _spec, _theta, boxActionSize: 0);
        int n = _learning.Lanes, obs = _learning.Env.ObservationSize;
        _laneActions = new int[n];
        _batch = new DqnBatch(_spec, config.BatchSize, obs, config.DoubleQ);
        _before = new float[n * obs];
        _online.EnsureCapacity(Math.Max(config.BatchSize, n));
        if (run.Resumed is { } checkpoint) RunState.Load(checkpoint, _spec, _theta, _optimizer, Kind, Load);
    }

    public void Run() => _learning.Run(Act, Learn, RefreshTarget, Save);

    /// <summary>One step of every lane, epsilon-greedy with the online network; the steps go to the n-step writer.</summary>
    void Act()
    {
        DqnParts.Step(_online, _theta, _learning.Env, _before, _laneActions, _config.Epsilon(_run.Metrics.EnvSteps), _learning.Actions);
        DqnParts.Record(_learning.Env, _learning.Writer, _before, _laneActions, _learning.Replay);
        _learning.Stepped();
    }

    /// <summary>One gradient step on a batch drawn uniformly or by priority (then weighted, and the priorities updated).</summary>
    void Learn()
    {
        _learning.Draw(_batch.Slots, _batch.Weights);
        _batch.Gather(_learning.Replay);
        float mean = _batch.Compute(_theta, _target, _config.MaxGradNorm, Kind, _learning.Updates);
        _learning.Priorities?.Update(_batch.Slots, _batch.Errors);
        _optimizer.Step(_theta, _batch.Gradient, UpdateRules.LearningRate(_config, _run.Metrics.EnvSteps));
        _run.Metrics.AddUpdate(new LossTerms(0f, mean, 0f));
    }

    /// <summary>theta- = theta, or with tau below 1 a Polyak step toward it; checked finite.</summary>
    void RefreshTarget() => Polyak.Update(_theta, _target, _config.Tau, Kind, _learning.Updates);

    CheckpointData Save() => RunState.Save(_spec, _theta, _optimizer, Kind, writer =>
    {
        BinaryState.Write<float>(writer, _target);
        _learning.Save(writer);
    });

    void Load(BinaryReader reader)
    {
        BinaryState.Read<float>(reader, _target, "target network");
        _learning.Load(reader);
        // Adam's bias corrections count its steps: one per gradient step.
        _optimizer.Steps = _learning.Updates;
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
    public SharedReplay(ReplayConfig config, int boxActionSize = 0)
    {
        Buffer = new ReplayBuffer(config.BufferSize, EnvRegistry.Spec(config.Env).ObservationSize, boxActionSize);
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
