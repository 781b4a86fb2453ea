using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Settings of Ape-X DQN (Horgan et al. 2018): DQN's, with the paper's choices as defaults (prioritized replay with
/// alpha 0.6 and beta 0.4, double Q, 3-step returns) and its distributed parts: actor threads with fixed epsilons
/// epsilon_i = base^(1 + exponent i / (N - 1)) (0.4 and 7 in the paper), which copy the learner's parameters every
/// <see cref="ActorRefreshSteps"/> of their steps and send their transitions in batches with the priorities they
/// computed. Scaled for the classic-control budgets: a 100,000-transition buffer (the paper's 2M), batches of 64 sent
/// every 50 transitions, parameters fetched every 400 steps (the paper's), the target network refreshed every 500
/// learner updates (the paper's 2,500).
/// </summary>
public sealed record ApexConfig : DqnConfig
{
    /// <summary>Ape-X's defaults.</summary>
    public ApexConfig()
    {
        Replay = ReplayKind.Prioritized;
        DoubleQ = true;
        NStep = 3;
        BatchSize = 64;
        LearningStarts = 2_000;
        TargetUpdateInterval = 500;
        Threads = 2;
        LearningRate = 2.5e-4f;
        MaxGradNorm = 40f;
    }

    /// <inheritdoc/>
    public override string Algo => "apex";

    /// <summary>How the actors feed the central replay and copy the learner's parameters.</summary>
    public DistributedSettings Distributed { get; init; } = new();

    /// <summary>An actor's steps between copies of the learner's parameters.</summary>
    public int ActorRefreshSteps => Distributed.ActorRefreshSteps;

    /// <summary>Transitions an actor gathers before sending them, with their priorities, to the replay.</summary>
    public int ActorSendBatch => Distributed.ActorSendBatch;

    /// <summary>Transitions the learner replays per transition the actors add.</summary>
    public float SamplesPerInsert => Distributed.SamplesPerInsert;

    /// <summary>epsilon's base in the actors' ladder.</summary>
    [Description("apex: actor i of N explores with epsilon = epsilon_base^(1 + epsilon_exponent i / (N - 1)) (0.4 and 7 in Horgan et al. 2018).")]
    public float EpsilonBase { get; init; } = 0.4f;

    /// <summary>epsilon's exponent in the actors' ladder.</summary>
    [Description("apex: the exponent of the actors' epsilon ladder (see epsilon_base).")]
    public float EpsilonExponent { get; init; } = 7f;

    /// <summary>The learner is a thread of its own beside the actors.</summary>
    public override int HelperThreads => 1;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Distributed.Validate();
        Require(EpsilonBase is > 0 and <= 1, "epsilon_base", EpsilonBase, "in (0, 1]");
        Require(EpsilonExponent >= 0 && float.IsFinite(EpsilonExponent), "epsilon_exponent", EpsilonExponent, ">= 0");
        if (Async.Update != UpdateMode.Hogwild)
            throw new ArgumentException($"update was {ConfigBinder.Format(Async.Update)}; apex's actors never apply gradients (its one learner does), so update does not apply to it.", "update");
        if (Replay != ReplayKind.Prioritized)
            throw new ArgumentException("replay was uniform; apex's actors send priorities with their transitions, so its replay is prioritized.", "replay");
    }

    /// <summary>Actor <paramref name="actor"/>'s epsilon: base^(1 + exponent i / (N - 1)); one actor takes the base.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such actor.</exception>
    public float ActorEpsilon(int actor)
    {
        if (actor < 0 || actor >= Threads) throw new ArgumentOutOfRangeException(nameof(actor), actor, $"actor was {actor}; expected an actor id in [0, {Threads}).");
        double exponent = 1 + (Threads > 1 ? EpsilonExponent * actor / (Threads - 1.0) : 0);
        return (float)Math.Pow(EpsilonBase, exponent);
    }
}

/// <summary>
/// Ape-X DQN (Horgan et al. 2018) in one process: K actor threads (<see cref="ApexActor"/>), each with its own lanes and
/// epsilon, send their transitions with the priorities they computed to one <see cref="ApexLearner"/>: its central
/// prioritized replay (FIFO eviction) and its learner thread. Greedy evaluation decides "solved". Not deterministic
/// (the threads interleave). The cluster learner serves the same <see cref="ApexLearner"/> to actor processes.
/// </summary>
public static class Apex
{
    /// <summary>Trains until the budget is spent or greedy evaluation says solved (with stop_when_solved).</summary>
    /// <exception cref="WorkerFailedException">An actor or the learner threw; the run was stopped.</exception>
    public static RunSummary Train(ApexConfig config, RunContext run)
    {
        var learner = new ApexLearner(config, run);
        learner.Train(group =>
        {
            for (int id = 0; id < config.Threads; id++)
                group.Start("actor", id, id => ApexActor.Run(config, learner.Spec, id, run.Segment, config.ActorEpsilon(id), learner.Published,
                    new CentralSink(learner.Central, learner.Evaluation, run, group)));
        });
        return run.Finish(config.Threads, config.TotalEnvs);
    }
}

/// <summary>
/// Complete n-step transitions with the priorities (|TD error|) their actor computed: what an Ape-X actor sends to the
/// central replay in one go. Actions are rows of floats: a discrete action's index as one float, or a box action's
/// floats (scaled to [-1, 1]). Allocated once per actor at its capacity (or around a message's arrays).
/// </summary>
public sealed class TransitionBatch
{
    /// <summary>An empty batch of room for <paramref name="capacity"/> transitions of <paramref name="observationSize"/>-float observations and actions of <paramref name="actionWidth"/> floats.</summary>
    public TransitionBatch(int capacity, int observationSize, int actionWidth = 1)
        : this(new float[capacity * observationSize], new float[capacity * actionWidth], new float[capacity], new float[capacity],
            new float[capacity * observationSize], new float[capacity], observationSize, actionWidth, 0)
    {
    }

    /// <summary>A batch of <paramref name="count"/> transitions over the given arrays (not copied).</summary>
    public TransitionBatch(float[] observations, float[] actions, float[] rewards, float[] discounts, float[] next, float[] errors, int observationSize,
        int actionWidth, int count)
    {
        (Observations, Actions, Rewards, Discounts, Next, Errors) = (observations, actions, rewards, discounts, next, errors);
        (ObservationSize, ActionWidth, Count) = (observationSize, actionWidth, count);
    }

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per action: 1 for a discrete action's index, a box action's size.</summary>
    public int ActionWidth { get; }

    /// <summary>Transitions held.</summary>
    public int Count { get; set; }

    /// <summary>s of each transition, row after row.</summary>
    public float[] Observations { get; }

    /// <summary>a of each transition, row after row (a discrete action's index as one float).</summary>
    public float[] Actions { get; }

    /// <summary>The n-step return R of each transition.</summary>
    public float[] Rewards { get; }

    /// <summary>What multiplies the bootstrap from s' (gamma^n, or 0 where the episode terminated).</summary>
    public float[] Discounts { get; }

    /// <summary>s' of each transition, row after row.</summary>
    public float[] Next { get; }

    /// <summary>Each transition's TD error under its actor's parameters (its initial priority is the magnitude).</summary>
    public float[] Errors { get; }
}

/// <summary>Where an Ape-X actor's steps, episodes and transition batches go, and where its parameters come from: the learner in this process, or one across the network.</summary>
public interface ITransitionSink
{
    /// <summary>Whether the actor should stop.</summary>
    bool Stopping { get; }

    /// <summary>The actor's lanes took <paramref name="envSteps"/> env steps, in which <paramref name="episodes"/> ended.</summary>
    void Acted(int envSteps, ReadOnlySpan<EpisodeRecord> episodes);

    /// <summary>Adds <paramref name="batch"/> to the central replay (waiting while the actors are ahead of the learner); false when the run is over.</summary>
    bool Send(TransitionBatch batch);

    /// <summary>Copies the learner's published parameters into <paramref name="theta"/> if they are newer than <paramref name="held"/>; returns the version now held.</summary>
    long Fetch(float[] theta, long held);
}

/// <summary>How a distributed replay method's actor acts and scores what it sends: Ape-X's epsilon-greedy Q, D4PG's noisy deterministic policy.</summary>
internal interface IActorPolicy
{
    /// <summary>Copies the lanes' observations into <paramref name="before"/>, steps every lane, and writes each lane's action as a row of floats into <paramref name="rows"/>.</summary>
    void Step(float[] theta, VectorEnv env, float[] before, float[] rows);

    /// <summary>The initial priorities (TD errors) of the batch's transitions under <paramref name="theta"/>; NaN gives a transition the replay's largest priority.</summary>
    void Priorities(float[] theta, TransitionBatch batch);
}

/// <summary>
/// A distributed replay method's actor (Ape-X's, D4PG's): steps its lanes with its copy of the learner's parameters
/// (fetched every actor_refresh_steps of its steps), turns the steps into n-step transitions, and once it holds
/// actor_send_batch of them scores them (their initial priorities) and sends them on.
/// </summary>
public static class ApexActor
{
    /// <summary>
    /// Acts as Ape-X actor <paramref name="id"/> of part <paramref name="segment"/> of a run of <paramref name="config"/>
    /// with <paramref name="epsilon"/>, starting from <paramref name="initial"/>'s parameters, until
    /// <paramref name="sink"/> says stop; returns its env steps.
    /// </summary>
    public static long Run(ApexConfig config, ModelSpec spec, int id, int segment, float epsilon, ParameterBroadcast initial, ITransitionSink sink)
    {
        ArgumentNullException.ThrowIfNull(initial);
        var theta = new float[initial.ParameterCount];
        return Run(config, spec, id, segment, epsilon, theta, initial.CopyIfNewer(theta, -1), sink);
    }

    /// <summary>As the other overload, from <paramref name="theta"/> at <paramref name="version"/> (which the actor goes on to update).</summary>
    public static long Run(ApexConfig config, ModelSpec spec, int id, int segment, float epsilon, float[] theta, long version, ITransitionSink sink)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(theta);
        var policy = new EpsilonGreedy(spec, config.Lanes.NumEnvs, config.Distributed.ActorSendBatch + config.Lanes.NumEnvs * config.NStep, epsilon,
            Acting.WorkerRng(config, id, segment));
        if (theta.Length != policy.ParameterCount)
            throw new ArgumentException($"theta has {theta.Length} parameters; the model '{spec}' has {policy.ParameterCount}.", nameof(theta));
        return Run(config, config.Distributed, id, segment, policy, theta, version, sink);
    }

    /// <summary>The actor's loop for any <paramref name="policy"/>; returns its env steps.</summary>
    internal static long Run(ReplayConfig config, DistributedSettings distributed, int id, int segment, IActorPolicy policy, float[] theta, long version,
        ITransitionSink sink)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(sink);
        int n = config.Lanes.NumEnvs, send = distributed.ActorSendBatch;
        VectorEnv env = config.MakeEnv(n);
        env.Reset(config.WorkerEnvSeed(id, segment));
        int obs = env.ObservationSize, box = env.Spec.IsDiscrete ? 0 : env.Spec.ActionSpace.Size, width = Math.Max(1, box);
        // The actor's own buffer of complete transitions, sent (with priorities) when it holds a batch.
        var local = new ReplayBuffer(send + n * config.NStep, obs, box);
        var writer = new NStepWriter(n, config.NStep, obs, config.Gamma, box);
        var before = new float[n * obs];
        var rows = new float[n * width];
        var slots = new int[local.Capacity];
        for (int i = 0; i < slots.Length; i++) slots[i] = i;
        var batch = new TransitionBatch(local.Capacity, obs, width);
        long steps = 0, total = 0;
        while (!sink.Stopping)
        {
            policy.Step(theta, env, before, rows);
            for (int lane = 0; lane < n; lane++)
            {
                bool terminated = env.Terminated[lane], ended = terminated || env.Truncated[lane];
                ReadOnlySpan<float> next = ended ? env.FinalObservations.Slice(lane * obs, obs) : env.Observations.Slice(lane * obs, obs);
                writer.Add(lane, before.AsSpan(lane * obs, obs), rows.AsSpan(lane * width, width), env.Rewards[lane], terminated, ended && !terminated, next, local);
            }
            sink.Acted(n, env.Episodes.Records);
            env.Episodes.Clear();
            steps += n;
            total += n;
            if (local.Count >= send)
            {
                int count = batch.Count = local.Count;
                local.Gather(slots.AsSpan(0, count), batch.Observations, batch.Actions, batch.Rewards, batch.Discounts, batch.Next);
                policy.Priorities(theta, batch);
                if (!sink.Send(batch)) break;
                local.Clear();
            }
            if (steps >= distributed.ActorRefreshSteps)
            {
                steps = 0;
                version = sink.Fetch(theta, version);
            }
        }
        return total;
    }

    /// <summary>Ape-X's actor: epsilon-greedy on Q; initial priorities from its own copy, |double-Q n-step TD error|.</summary>
    sealed class EpsilonGreedy : IActorPolicy
    {
        readonly QNetwork _net, _targetNet;
        readonly int[] _laneActions;
        readonly float[] _targets;
        readonly float _epsilon;
        readonly Rng _rng;

        public EpsilonGreedy(ModelSpec spec, int lanes, int capacity, float epsilon, Rng rng)
        {
            (_net, _targetNet, _epsilon, _rng) = ((QNetwork)spec.Build(), (QNetwork)spec.Build(), epsilon, rng);
            _net.EnsureCapacity(Math.Max(lanes, capacity));
            _targetNet.EnsureCapacity(capacity);
            (_laneActions, _targets) = (new int[lanes], new float[capacity]);
        }

        /// <summary>The Q network's parameter count, which the actor's theta must have.</summary>
        public int ParameterCount => _net.ParameterCount;

        public void Step(float[] theta, VectorEnv env, float[] before, float[] rows)
        {
            DqnParts.Step(_net, theta, env, before, _laneActions, _epsilon, _rng);
            for (int lane = 0; lane < _laneActions.Length; lane++) rows[lane] = _laneActions[lane];
        }

        public void Priorities(float[] theta, TransitionBatch batch)
        {
            int count = batch.Count, actions = _net.Actions;
            DqnTargets.Compute(_targetNet, theta, _net, theta, batch.Next, batch.Rewards, batch.Discounts, count, _targets);
            _net.Forward(theta, batch.Observations.AsSpan(0, count * batch.ObservationSize), count);
            ReadOnlySpan<float> qs = _net.QValues(count);
            for (int i = 0; i < count; i++) batch.Errors[i] = qs[i * actions + (int)batch.Actions[i]] - _targets[i];
        }
    }
}

/// <summary>
/// Ape-X's learner side, in this process or serving actor processes: theta, Adam and the target network (a resumed
/// run's from its checkpoint), the central prioritized replay (FIFO) with its rate limiter, the published parameters,
/// and one learner thread that draws prioritized batches, takes Adam steps on the importance-weighted Huber loss of
/// double-Q n-step targets, sends the new priorities back to the replay, publishes its parameters after every update
/// and refreshes its target network every target_update_interval updates. Its telemetry: replay size, insert and
/// sample rates, the replay ratio, priority statistics and the actors' parameter age.
/// </summary>
public sealed class ApexLearner : ICentralLearner
{
    const string Kind = "apex";
    readonly ApexConfig _config;
    readonly RunContext _run;
    readonly SharedReplay _replay;
    readonly CentralReplay _central;
    readonly float[] _target;
    readonly Adam _optimizer;
    readonly SharedParameters _shared;

    /// <summary>The learner of <paramref name="config"/>'s run (from <paramref name="run"/>'s checkpoint when resuming); it reports the run's telemetry.</summary>
    public ApexLearner(ApexConfig config, RunContext run)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(run);
        (_config, _run) = (config, run);
        UpdateRules.Begin(config, run);
        Spec = Acting.QSpec(config);
        _replay = new SharedReplay(config);
        (float[] theta, _target, _optimizer) = DqnParts.Parameters(Spec, config, run, Kind, _replay);
        Group = new WorkerGroup(Kind);
        // One applier (the learner) under the lock: the actors never step the parameters, they copy the published ones.
        _shared = new SharedParameters(theta, _optimizer, UpdateMode.Lock, 1, Group, run.Metrics);
        Evaluation = PeriodicEvaluation.For(config, config.Evaluation, Spec, theta, run, Group);
        _central = new CentralReplay(config, config.Distributed, run, _replay, theta);
        run.Metrics.Telemetry = this;
    }

    /// <summary>The run's settings.</summary>
    public ApexConfig Config => _config;

    ReplayConfig ICentralLearner.Config => _config;

    /// <inheritdoc/>
    public DistributedSettings Distributed => _config.Distributed;

    /// <summary>The Q network's spec.</summary>
    public ModelSpec Spec { get; }

    /// <summary>The learner's parameters as the actors copy them (after every update).</summary>
    public ParameterBroadcast Published => _central.Published;

    /// <summary>The learner's thread and, in this process, the actors' (a failure in one stops the run).</summary>
    public WorkerGroup Group { get; }

    /// <summary>theta's length.</summary>
    public int ParameterCount => _shared.Theta.Length;

    /// <summary>The greedy evaluation that decides "solved" (run by the learner, and by actors in this process).</summary>
    internal PeriodicEvaluation Evaluation { get; }

    /// <summary>
    /// Starts the learner thread and <paramref name="startActors"/>'s (in the learner's worker group), takes the run's
    /// checkpoints until the budget is spent, the run is solved or stopped, and evaluates once more at the end unless
    /// solved. The caller finishes the run (<see cref="RunContext.Finish"/>).
    /// </summary>
    /// <exception cref="WorkerFailedException">An actor or the learner threw; the run was stopped.</exception>
    public void Train(Action<WorkerGroup> startActors)
    {
        ArgumentNullException.ThrowIfNull(startActors);
        startActors(Group);
        Group.Start("learner", 0, Learn);
        Group.Supervise(_shared, _run, Save);
        if (_run.Checkpoints.Kept) _run.Checkpoints.Save(Save());
        if (!_run.Stop.Solved) Evaluation.RunNow();
    }

    CheckpointData Save() => DqnParts.Save(Spec, _shared.Theta, _target, _optimizer, Kind, _replay, _config.CheckpointReplay);

    /// <summary>The central replay the actors feed.</summary>
    internal CentralReplay Central => _central;

    /// <inheritdoc cref="CentralReplay.TryInsert"/>
    public Task? TryInsert(TransitionBatch batch, bool force = false) => _central.TryInsert(batch, force);

    /// <inheritdoc cref="CentralReplay.Fetch"/>
    public long Fetch(Span<float> theta, long held) => _central.Fetch(theta, held);

    /// <summary>The learner: prioritized batches, double-Q n-step targets, Adam, priorities back, parameters published.</summary>
    void Learn(int id)
    {
        const string who = "apex learner";
        int batch = _config.BatchSize;
        var work = new DqnBatch(Spec, batch, _replay.Buffer.ObservationSize, doubleQ: true);
        var sampling = new Rng((ulong)_config.Seed ^ AlgoConfig.SegmentSalt(_run.Segment), RandomStreams.ReplaySampling);
        Action<ReplayBuffer> gather = work.Gather;
        var tally = new UpdateTally();
        long updates = _run.Metrics.Updates;
        while (!Group.StopRequested && !_run.ShouldStop)
        {
            long global = _run.Metrics.EnvSteps;
            // Until the replay holds learning_starts transitions, wait for the actors' batches.
            if (!_central.TryDraw(sampling, global, work.Slots, work.Weights, gather)) continue;
            float loss = work.Compute(_shared.Theta, _target, _config.MaxGradNorm, who, ++updates);
            _central.UpdatePriorities(work.Slots, work.Errors);
            if (!_shared.Apply(work.Gradient, UpdateRules.LearningRate(_config, global), _shared.Version, ref tally)) break;
            tally.Add(loss);
            tally.ReportTo(_run.Metrics);
            Published.Publish(_shared.Theta, _shared.Version);
            // An evaluation pauses the learner too (or the learner runs it), as it pauses the actors.
            Evaluation.MaybeRun(_run.Metrics.EnvSteps);
            if (updates % _config.TargetUpdateInterval == 0) Polyak.Update(_shared.Theta, _target, _config.Tau, who, updates);
        }
        tally.ReportTo(_run.Metrics, force: true);
    }

    /// <inheritdoc/>
    public RuntimeTelemetry Interval(double seconds) => _central.Interval(seconds);

    /// <inheritdoc/>
    public RuntimeTelemetry Total(double seconds) => _central.Total(seconds);
}
