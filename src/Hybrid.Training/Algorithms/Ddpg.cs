using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>The exploration noise DDPG adds to its deterministic actions.</summary>
public enum NoiseKind
{
    /// <summary>Independent Gaussian noise each step.</summary>
    Normal,
    /// <summary>An Ornstein-Uhlenbeck process per lane, reset at each episode's start (Lillicrap et al. 2016).</summary>
    OrnsteinUhlenbeck,
}

/// <summary>
/// Settings of DDPG (Lillicrap et al. 2016). Defaults are Stable-Baselines3's DDPG defaults: Adam at 1e-3 for the actor
/// and the critic, a 1,000,000-transition buffer, 100 learning starts, batches of 256, one gradient step per env step,
/// Polyak averaging of both target networks with tau 0.005 every step, Gaussian action noise, and ReLU networks (of
/// <c>hidden</c> widths: 64, 64 unless set; SB3's are 400, 300, which the presets use).
/// </summary>
public record DdpgConfig : ReplayConfig
{
    /// <summary>DDPG's defaults.</summary>
    public DdpgConfig()
    {
        LearningRate = 1e-3f;
        MaxGradNorm = 0f;
        MaxEnvSteps = 200_000;
        BufferSize = 1_000_000;
        LearningStarts = 100;
        BatchSize = 256;
        TrainFrequency = 1;
        TargetUpdateInterval = 1;
        Tau = 0.005f;
    }

    /// <inheritdoc/>
    public override string Algo => "ddpg";

    /// <summary>The exploration noise.</summary>
    [Description("Exploration noise on the actor's actions (in the box scaled to [-1, 1]): normal, or ornstein-uhlenbeck (a process per lane, reset at each episode's start: Lillicrap et al. 2016).")]
    public NoiseKind Noise { get; init; } = NoiseKind.Normal;

    /// <summary>The noise's standard deviation (Gaussian) or sigma (Ornstein-Uhlenbeck), in the scaled box.</summary>
    [Description("The noise's standard deviation (normal) or sigma (ornstein-uhlenbeck), in the action box scaled to [-1, 1].")]
    public float NoiseStd { get; init; } = 0.1f;

    /// <summary>The Ornstein-Uhlenbeck process's pull toward 0 per unit of time.</summary>
    [Description("ornstein-uhlenbeck: the pull toward 0 per unit of time, with time steps of 0.01 (0.15 in Lillicrap et al. 2016).")]
    public float NoiseTheta { get; init; } = 0.15f;

    /// <summary>The Ornstein-Uhlenbeck process's time step.</summary>
    public const float NoiseDt = 0.01f;

    /// <inheritdoc/>
    private protected override long ParameterCopies => 12;

    /// <summary>DDPG acts and learns in one loop on one thread.</summary>
    private protected virtual void ValidateThreads() => Require(Threads == 1, "threads", Threads, $"1 ({Algo} acts and learns in one loop on one thread)");

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (EnvRegistry.Spec(Env).IsDiscrete)
            throw new ArgumentException($"env was '{Env}', whose actions are discrete; {Algo} acts in a box (Pendulum-v1, MountainCarContinuous-v0).", "env");
        ValidateThreads();
        Require(NoiseStd >= 0 && float.IsFinite(NoiseStd), "noise_std", NoiseStd, ">= 0");
        Require(NoiseTheta >= 0 && float.IsFinite(NoiseTheta), "noise_theta", NoiseTheta, ">= 0");
    }
}

/// <summary>
/// DDPG (Lillicrap et al. 2016): a deterministic actor mu(s) squashed by tanh into the action box, a critic Q(s, a),
/// both with target copies moved toward them by Polyak averaging, and a replay buffer of (n-step) transitions. The lanes
/// act with mu(s) plus exploration noise (clipped to the box); past learning_starts, each round of gradient steps
/// first fits the critic to y = R + discount Q'(s', mu'(s')) (squared error, importance-weighted under prioritized
/// replay), then steps the actor up the critic: the gradient of -Q(s, mu(s)) chained from the critic's gradient in its
/// action input into the actor (the deterministic policy gradient, Silver et al. 2014). Single-threaded and
/// deterministic for a seed; a resumed run continues exactly. Greedy evaluation (mu without noise) decides "solved".
/// </summary>
public static class Ddpg
{
    /// <summary>Trains until the budget is spent or greedy evaluation says solved (with stop_when_solved); a <see cref="D4pgConfig"/> trains D4PG.</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, a gradient or the parameters became NaN or infinite.</exception>
    public static RunSummary Train(DdpgConfig config, RunContext run)
    {
        UpdateRules.Begin(config, run);
        if (config is D4pgConfig { Threads: > 1 } d4pg) return D4pgActors.Train(d4pg, run);
        var learner = new DdpgLearner(config, run);
        learner.Run();
        return run.Finish(1, config.Lanes.NumEnvs);
    }
}

/// <summary>A deterministic policy's outputs turned into actions: squashed by tanh into [-1, 1], then mapped onto the env's box.</summary>
public static class DeterministicActions
{
    /// <summary>
    /// For each of <paramref name="rows"/> rows: <paramref name="scaled"/> = tanh(<paramref name="outputs"/>) (the
    /// critic's action input, in [-1, 1]) and, when <paramref name="box"/> is given, <paramref name="env"/> = the same
    /// point of the env's box, low + (scaled + 1) (high - low) / 2.
    /// </summary>
    public static void Squash(ReadOnlySpan<float> outputs, int rows, Span<float> scaled, BoxSpace? box = null, Span<float> env = default)
    {
        int size = outputs.Length / Math.Max(rows, 1);
        for (int i = 0; i < rows * size; i++) scaled[i] = MathF.Tanh(outputs[i]);
        if (box is not null) ToBox(scaled[..(rows * size)], box, env);
    }

    /// <summary>Maps actions scaled to [-1, 1] onto <paramref name="box"/>: low + (a + 1) (high - low) / 2, row after row.</summary>
    public static void ToBox(ReadOnlySpan<float> scaled, BoxSpace box, Span<float> env)
    {
        ArgumentNullException.ThrowIfNull(box);
        int size = box.Size;
        for (int i = 0; i < scaled.Length; i++)
        {
            int d = i % size;
            env[i] = box.Low[d] + 0.5f * (scaled[i] + 1f) * (box.High[d] - box.Low[d]);
        }
    }
}

/// <summary>Polyak averaging of a target network: theta' += tau (theta - theta'); tau 1 copies.</summary>
public static class Polyak
{
    /// <summary>Moves <paramref name="target"/> toward <paramref name="theta"/> by <paramref name="tau"/>, and checks it is finite.</summary>
    public static void Update(ReadOnlySpan<float> theta, Span<float> target, float tau, string who, long update)
    {
        if (tau >= 1f) theta.CopyTo(target);
        else
            for (int p = 0; p < target.Length; p++) target[p] += tau * (theta[p] - target[p]);
        UpdateRules.CheckParameters(target, who, update);
    }
}

/// <summary>
/// DDPG's (and D4PG's) acting: mu(s) squashed into [-1, 1], plus exploration noise (Gaussian, or an
/// Ornstein-Uhlenbeck process per lane that starts afresh with each episode), clipped, then mapped onto the env's box.
/// The rows it writes are the scaled actions the replay stores. It gives no priorities of its own (NaN: the replay's
/// largest, Schaul et al. 2016's rule for new transitions).
/// </summary>
internal sealed class NoisyDeterministic : IActorPolicy
{
    readonly DdpgConfig _config;
    readonly QNetwork _actor;
    readonly BoxSpace _box;
    readonly Rng _rng;
    readonly float[] _envActions;
    readonly int _lanes, _act;

    public NoisyDeterministic(DdpgConfig config, ModelSpec spec, int lanes, Rng rng)
    {
        (_config, _rng, _lanes) = (config, rng, lanes);
        _actor = (QNetwork)spec.Build();
        _actor.EnsureCapacity(lanes);
        _box = (BoxSpace)EnvRegistry.Spec(config.Env).ActionSpace;
        _act = _box.Size;
        Noise = new float[lanes * _act];
        _envActions = new float[lanes * _act];
    }

    /// <summary>Each lane's noise now (the Ornstein-Uhlenbeck processes' state, which a checkpoint keeps).</summary>
    public float[] Noise { get; }

    public void Step(float[] theta, VectorEnv env, float[] before, float[] rows)
    {
        env.Observations.CopyTo(before);
        _actor.Forward(theta, before, _lanes);
        DeterministicActions.Squash(_actor.QValues(_lanes), _lanes, rows);
        bool ou = _config.Noise == NoiseKind.OrnsteinUhlenbeck;
        float std = _config.NoiseStd, pull = _config.NoiseTheta, dt = DdpgConfig.NoiseDt;
        for (int i = 0; i < rows.Length; i++)
        {
            float gaussian = (float)_rng.NextGaussian();
            // Ornstein-Uhlenbeck: x += theta (0 - x) dt + sigma sqrt(dt) N(0, 1); Gaussian: x = sigma N(0, 1).
            Noise[i] = ou ? Noise[i] - pull * Noise[i] * dt + std * MathF.Sqrt(dt) * gaussian : std * gaussian;
            rows[i] = Math.Clamp(rows[i] + Noise[i], -1f, 1f);
        }
        DeterministicActions.ToBox(rows, _box, _envActions);
        env.Step(_envActions);
        // A new episode starts its noise afresh.
        for (int lane = 0; lane < _lanes; lane++)
            if (env.Terminated[lane] || env.Truncated[lane]) Noise.AsSpan(lane * _act, _act).Clear();
    }

    public void Priorities(float[] theta, TransitionBatch batch) => batch.Errors.AsSpan(0, batch.Count).Fill(float.NaN);
}

/// <summary>
/// DDPG's learning (and D4PG's, whose critic is categorical): the actor and critic with their targets and optimizers,
/// a batch's arrays, and one gradient step of each on a gathered batch. A resumed run's parameters come from its
/// checkpoint (<see cref="OwnState"/>: the targets, the critic and its Adam moments, beside theta and the actor's Adam).
/// </summary>
internal sealed class DdpgUpdate
{
    readonly string _kind;
    readonly DdpgConfig _config;
    readonly CategoricalSupport? _support;
    readonly QNetwork _actor, _actorTarget, _critic, _criticTarget;
    readonly float[] _actorTargetTheta, _criticTheta, _criticTargetTheta;
    readonly int _batch;
    readonly float[] _inputs, _targets, _outputGradient, _inputGradient, _policyActions, _policyGradient, _actorGradient, _criticGradient, _scratchGradient;

    public DdpgUpdate(DdpgConfig config)
    {
        (_config, _kind) = (config, config.Algo);
        _support = (config as D4pgConfig)?.Support();
        (ActorSpec, CriticSpec) = (Acting.DeterministicSpec(config), Acting.CriticSpec(config, atoms: _support?.Atoms ?? 1));
        _actor = (QNetwork)ActorSpec.Build();
        _actorTarget = (QNetwork)ActorSpec.Build();
        _critic = (QNetwork)CriticSpec.Build();
        _criticTarget = (QNetwork)CriticSpec.Build();
        Theta = Acting.InitialTheta(_actor, config.Seed);
        _actorTargetTheta = (float[])Theta.Clone();
        // The critic's initialization from a stream of its own.
        _criticTheta = new float[_critic.ParameterCount];
        _critic.Initialize(_criticTheta, new Rng((ulong)config.Seed, RandomStreams.CriticInit));
        _criticTargetTheta = (float[])_criticTheta.Clone();
        ActorOptimizer = new Adam(Theta.Length);
        CriticOptimizer = new Adam(_criticTheta.Length);
        int obs = _actor.ObservationSize, act = _actor.Actions, b = _batch = config.BatchSize;
        foreach (QNetwork net in new[] { _actor, _actorTarget, _critic, _criticTarget }) net.EnsureCapacity(b);
        Slots = new int[b];
        (Observations, Next, Actions) = (new float[b * obs], new float[b * obs], new float[b * act]);
        (Rewards, Discounts, Weights, Errors) = (new float[b], new float[b], new float[b], new float[b]);
        Array.Fill(Weights, 1f);
        // The critic's targets: one value per row, or (D4PG) the projected distribution's atoms.
        int outputs = _critic.Outputs;
        (_targets, _outputGradient) = (new float[b * outputs], new float[b * outputs]);
        (_inputs, _inputGradient) = (new float[b * (obs + act)], new float[b * (obs + act)]);
        (_policyActions, _policyGradient) = (new float[b * act], new float[b * act]);
        (_actorGradient, _criticGradient, _scratchGradient) = (new float[Theta.Length], new float[_criticTheta.Length], new float[_criticTheta.Length]);
    }

    public ModelSpec ActorSpec { get; }
    public ModelSpec CriticSpec { get; }

    /// <summary>The actor's parameters (the checkpoint's theta).</summary>
    public float[] Theta { get; }
    public Adam ActorOptimizer { get; }
    public Adam CriticOptimizer { get; }
    public int[] Slots { get; }
    public float[] Observations { get; }
    public float[] Actions { get; }
    public float[] Rewards { get; }
    public float[] Discounts { get; }
    public float[] Next { get; }
    public float[] Weights { get; }

    /// <summary>Each row's TD error, or (D4PG) cross-entropy: the new priorities.</summary>
    public float[] Errors { get; }

    /// <summary>What a checkpoint holds beside theta and the actor's Adam.</summary>
    public float[][] OwnState => [_actorTargetTheta, _criticTheta, _criticTargetTheta, CriticOptimizer.FirstMoment, CriticOptimizer.SecondMoment];

    /// <summary>Copies the transitions at <see cref="Slots"/> from <paramref name="replay"/>.</summary>
    public void Gather(ReplayBuffer replay) => replay.Gather(Slots, Observations, Actions, Rewards, Discounts, Next);

    /// <summary>One gradient step of the critic, then one of the actor, on the gathered batch; returns their losses.</summary>
    /// <exception cref="TrainingDivergedException">A loss or a gradient is NaN or infinite.</exception>
    public LossTerms Step(float learningRate, long update)
    {
        float criticLoss = _support is null
            ? DdpgSteps.CriticGradient(_actorTarget, _actorTargetTheta, _criticTarget, _criticTargetTheta, _critic, _criticTheta,
                Observations, Actions, Rewards, Discounts, Next, Weights, _batch, _inputs, _policyActions, _targets, _outputGradient, Errors, _criticGradient)
            : D4pgSteps.CriticGradient(_support, _actorTarget, _actorTargetTheta, _criticTarget, _criticTargetTheta, _critic, _criticTheta,
                Observations, Actions, Rewards, Discounts, Next, Weights, _batch, _inputs, _policyActions, _targets, _outputGradient, Errors, _criticGradient);
        UpdateRules.CheckFinite(criticLoss, _kind, update);
        UpdateRules.Clip(_criticGradient, _config.MaxGradNorm, _kind, update);
        CriticOptimizer.Step(_criticTheta, _criticGradient, learningRate);
        float actorLoss = DdpgSteps.ActorGradient(_actor, Theta, _critic, _criticTheta, Observations, _batch, _inputs, _policyActions, _outputGradient,
            _inputGradient, _policyGradient, _actorGradient, _scratchGradient, _support);
        UpdateRules.CheckFinite(actorLoss, _kind, update);
        UpdateRules.Clip(_actorGradient, _config.MaxGradNorm, _kind, update);
        ActorOptimizer.Step(Theta, _actorGradient, learningRate);
        return new LossTerms(actorLoss, criticLoss, 0f);
    }

    /// <summary>Both targets a Polyak step (tau) toward their networks.</summary>
    public void RefreshTargets(long update)
    {
        Polyak.Update(Theta, _actorTargetTheta, _config.Tau, _kind, update);
        Polyak.Update(_criticTheta, _criticTargetTheta, _config.Tau, _kind, update);
    }
}

/// <summary>DDPG's (and D4PG's) one loop: a noisy deterministic actor on the shared replay learner's lanes, and its update.</summary>
internal sealed class DdpgLearner
{
    readonly DdpgConfig _config;
    readonly RunContext _run;
    readonly DdpgUpdate _update;
    readonly NoisyDeterministic _acting;
    readonly ReplayLearning _learning;
    readonly int _n, _obs, _act;
    readonly float[] _before, _scaled;

    public DdpgLearner(DdpgConfig config, RunContext run)
    {
        (_config, _run) = (config, run);
        _update = new DdpgUpdate(config);
        var box = (BoxSpace)EnvRegistry.Spec(config.Env).ActionSpace;
        _learning = new ReplayLearning(config, run, _update.ActorSpec, _update.Theta, box.Size);
        (_n, _obs, _act) = (_learning.Lanes, _learning.Env.ObservationSize, box.Size);
        _acting = new NoisyDeterministic(config, _update.ActorSpec, _n, _learning.Actions);
        (_before, _scaled) = (new float[_n * _obs], new float[_n * _act]);
        if (run.Resumed is { } checkpoint) RunState.Load(checkpoint, _update.ActorSpec, _update.Theta, _update.ActorOptimizer, config.Algo, Load);
    }

    public void Run() => _learning.Run(Act, Learn, () => _update.RefreshTargets(_learning.Updates), Save);

    /// <summary>One step of every lane: mu(s) plus noise, clipped to the box; the steps go to the n-step writer.</summary>
    void Act()
    {
        VectorEnv env = _learning.Env;
        _acting.Step(_update.Theta, env, _before, _scaled);
        for (int lane = 0; lane < _n; lane++)
        {
            bool terminated = env.Terminated[lane], ended = terminated || env.Truncated[lane];
            ReadOnlySpan<float> next = ended ? env.FinalObservations.Slice(lane * _obs, _obs) : env.Observations.Slice(lane * _obs, _obs);
            _learning.Writer.Add(lane, _before.AsSpan(lane * _obs, _obs), _scaled.AsSpan(lane * _act, _act), env.Rewards[lane], terminated, ended && !terminated,
                next, _learning.Replay);
        }
        _learning.Stepped();
    }

    /// <summary>One gradient step of the critic, then one of the actor, on a batch drawn uniformly or by priority.</summary>
    void Learn()
    {
        _learning.Draw(_update.Slots, _update.Weights);
        _update.Gather(_learning.Replay);
        LossTerms losses = _update.Step(UpdateRules.LearningRate(_config, _run.Metrics.EnvSteps), _learning.Updates);
        _learning.Priorities?.Update(_update.Slots, _update.Errors);
        _run.Metrics.AddUpdate(losses);
    }

    CheckpointData Save() => RunState.Save(_update.ActorSpec, _update.Theta, _update.ActorOptimizer, _config.Algo, writer =>
    {
        foreach (float[] values in _update.OwnState) BinaryState.Write<float>(writer, values);
        BinaryState.Write<float>(writer, _acting.Noise);
        _learning.Save(writer);
    });

    void Load(BinaryReader reader)
    {
        // The counters come after the networks and the noise: read those first, and Adam's step counts once the counters are in.
        foreach (float[] values in _update.OwnState) BinaryState.Read<float>(reader, values, $"{_config.Algo}'s networks");
        BinaryState.Read<float>(reader, _acting.Noise, $"{_config.Algo}'s noise");
        _learning.Load(reader);
        _update.ActorOptimizer.Steps = _update.CriticOptimizer.Steps = _learning.Updates;
    }
}

/// <summary>DDPG's two gradients for a batch, apart from the loop so that they can be checked against hand computation.</summary>
public static class DdpgSteps
{
    /// <summary>
    /// The critic's loss, mean over the batch of w_i (Q(s_i, a_i) - y_i)^2 / 2 with y_i = R_i + discount_i
    /// Q'(s'_i, mu'(s'_i)); returns it, writes each error Q - y into <paramref name="errors"/> (the new priorities) and
    /// its gradient in the critic's parameters into <paramref name="gradient"/> (cleared first). The other spans are
    /// scratch of the batch's size: <paramref name="inputs"/> [B * (obs + act)], <paramref name="actions"/> [B * act],
    /// <paramref name="targets"/> and <paramref name="qGradient"/> [B].
    /// </summary>
    public static float CriticGradient(QNetwork actorTarget, ReadOnlySpan<float> actorTargetTheta, QNetwork criticTarget, ReadOnlySpan<float> criticTargetTheta,
        QNetwork critic, ReadOnlySpan<float> criticTheta, ReadOnlySpan<float> observations, ReadOnlySpan<float> batchActions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> discounts, ReadOnlySpan<float> next, ReadOnlySpan<float> weights, int batch, Span<float> inputs, Span<float> actions,
        Span<float> targets, Span<float> qGradient, Span<float> errors, Span<float> gradient)
    {
        // y = R + discount Q'(s', mu'(s')).
        ReadOnlySpan<float> qNext = AtPolicy(actorTarget, actorTargetTheta, criticTarget, criticTargetTheta, next, batch, inputs, actions);
        for (int i = 0; i < batch; i++) targets[i] = rewards[i] + discounts[i] * qNext[i];
        SideBySide(observations, batchActions, critic.ObservationSize, critic.Actions, batch, inputs);
        critic.Forward(criticTheta, inputs, batch);
        ReadOnlySpan<float> q = critic.QValues(batch);
        double loss = 0;
        float inverse = 1f / batch;
        for (int i = 0; i < batch; i++)
        {
            float error = q[i] - targets[i];
            errors[i] = error;
            loss += 0.5 * weights[i] * error * error;
            qGradient[i] = weights[i] * error * inverse;
        }
        gradient.Clear();
        critic.Backward(criticTheta, inputs, qGradient, gradient, batch);
        return (float)(loss / batch);
    }

    /// <summary>
    /// The actor's loss, -mean_i Q(s_i, mu(s_i)) (with a categorical critic, <paramref name="support"/> given, Q is the
    /// distribution's mean: Barth-Maron et al. 2018); returns it and writes its gradient in the actor's parameters into
    /// <paramref name="gradient"/> (cleared first): the critic's gradient in its action input, times tanh's derivative,
    /// back through the actor. The critic's own parameter gradient goes to <paramref name="criticScratch"/> and is
    /// dropped. The other spans are scratch of the batch's size (<paramref name="outputGradient"/>: [B * the critic's outputs]).
    /// </summary>
    public static float ActorGradient(QNetwork actor, ReadOnlySpan<float> theta, QNetwork critic, ReadOnlySpan<float> criticTheta, ReadOnlySpan<float> observations,
        int batch, Span<float> inputs, Span<float> actions, Span<float> outputGradient, Span<float> inputGradient, Span<float> actionGradient,
        Span<float> gradient, Span<float> criticScratch, CategoricalSupport? support = null)
    {
        int obs = critic.ObservationSize, act = critic.Actions;
        ReadOnlySpan<float> outputs = AtPolicy(actor, theta, critic, criticTheta, observations, batch, inputs, actions);
        double loss = 0;
        if (support is null)
        {
            for (int i = 0; i < batch; i++) loss -= outputs[i];
            outputGradient[..batch].Fill(-1f / batch);
        }
        else loss = -support.MeanGradient(outputs, batch, -1f / batch, outputGradient);
        criticScratch.Clear();
        critic.Backward(criticTheta, inputs, outputGradient, criticScratch, batch, inputGradient);
        // dL/du = dL/da (1 - a^2), a = tanh(u); dL/da is the action part of each input row's gradient.
        for (int i = 0; i < batch; i++)
            for (int d = 0; d < act; d++)
            {
                float a = actions[i * act + d];
                actionGradient[i * act + d] = inputGradient[i * (obs + act) + obs + d] * (1f - a * a);
            }
        gradient.Clear();
        actor.Backward(theta, observations, actionGradient, gradient, batch);
        return (float)(loss / batch);
    }

    /// <summary>
    /// The critic's outputs at the actor's actions, Q(s, mu(s)) for each of the batch's <paramref name="observations"/>:
    /// the squashed actions go into <paramref name="actions"/>, the critic's input rows into <paramref name="inputs"/>
    /// (which its backward pass then uses).
    /// </summary>
    public static ReadOnlySpan<float> AtPolicy(QNetwork actor, ReadOnlySpan<float> actorTheta, QNetwork critic, ReadOnlySpan<float> criticTheta,
        ReadOnlySpan<float> observations, int batch, Span<float> inputs, Span<float> actions)
    {
        actor.Forward(actorTheta, observations, batch);
        DeterministicActions.Squash(actor.QValues(batch), batch, actions);
        SideBySide(observations, actions, critic.ObservationSize, critic.Actions, batch, inputs);
        critic.Forward(criticTheta, inputs, batch);
        return critic.QValues(batch);
    }

    /// <summary>Rows of [observation, action] for the critic.</summary>
    internal static void SideBySide(ReadOnlySpan<float> observations, ReadOnlySpan<float> actions, int obs, int act, int batch, Span<float> inputs)
    {
        for (int i = 0; i < batch; i++)
        {
            observations.Slice(i * obs, obs).CopyTo(inputs.Slice(i * (obs + act), obs));
            actions.Slice(i * act, act).CopyTo(inputs.Slice(i * (obs + act) + obs, act));
        }
    }
}
