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

    /// <summary>An actor's steps between copies of the learner's parameters.</summary>
    [Description("apex: an actor's env steps between copies of the learner's latest parameters (Horgan et al. 2018: 400).")]
    public int ActorRefreshSteps { get; init; } = 400;

    /// <summary>Transitions an actor gathers before sending them, with their priorities, to the replay.</summary>
    [Description("apex: transitions an actor gathers (with the priorities it computed from its n-step TD errors) before it adds them to the central replay.")]
    public int ActorSendBatch { get; init; } = 50;

    /// <summary>Transitions the learner replays per transition the actors add; the actors wait when they get ahead.</summary>
    [Description("apex: transitions the learner replays per transition the actors add; past learning_starts the actors wait while they are more than actor_send_batch transitions per actor ahead of it (a rate limiter: on a few cores the actors would otherwise outrun the learner many times over). DQN's defaults replay 8 (batch 32 every 4 steps).")]
    public float SamplesPerInsert { get; init; } = 8f;

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
        Require(ActorRefreshSteps >= 1, "actor_refresh_steps", ActorRefreshSteps, ">= 1");
        Require(ActorSendBatch >= 1, "actor_send_batch", ActorSendBatch, ">= 1");
        Require(SamplesPerInsert > 0 && float.IsFinite(SamplesPerInsert), "samples_per_insert", SamplesPerInsert, "> 0");
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
/// Ape-X DQN (Horgan et al. 2018) in one process: K actor threads, each with its own lanes and epsilon, act with a copy
/// of the learner's parameters refreshed every actor_refresh_steps; each turns its steps into n-step transitions,
/// computes their initial priorities from its own copy's TD errors (double Q), and adds them in batches to one
/// central prioritized replay (FIFO: the oldest transition goes first). One learner thread draws prioritized batches,
/// takes Adam steps on the importance-weighted Huber loss of double-Q n-step targets, sends the new priorities back
/// to the replay, publishes its parameters for the actors after every update and refreshes its target network every
/// target_update_interval updates. Greedy evaluation decides "solved". Not deterministic (the threads interleave).
/// </summary>
public static class Apex
{
    const string Kind = "apex";

    /// <summary>Trains until the budget is spent or greedy evaluation says solved (with stop_when_solved).</summary>
    /// <exception cref="WorkerFailedException">An actor or the learner threw; the run was stopped.</exception>
    public static RunSummary Train(ApexConfig config, RunContext run)
    {
        UpdateRules.Begin(config, run);
        ModelSpec spec = Acting.QSpec(config);
        var replay = new SharedReplay(config);
        (float[] theta, float[] target, Adam optimizer) = DqnParts.Parameters(spec, config, run, Kind, replay);
        CheckpointData Save() => DqnParts.Save(spec, theta, target, optimizer, Kind, replay, config.CheckpointReplay);
        var group = new WorkerGroup(Kind);
        // One applier (the learner) under the lock: the actors never step the parameters, they copy the published ones.
        var shared = new SharedParameters(theta, optimizer, UpdateMode.Lock, 1, group, run.Metrics);
        var evaluation = PeriodicEvaluation.For(config, config.Evaluation, spec, theta, run, group);
        var state = new State(config, spec, shared, target, replay, run, group, evaluation);
        run.Metrics.Telemetry = state;
        for (int id = 0; id < config.Threads; id++) group.Start("actor", id, state.Act);
        group.Start("learner", 0, state.Learn);
        group.Supervise(shared, run, Save);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(Save());
        if (!run.Stop.Solved) evaluation.RunNow();
        return run.Finish(config.Threads, config.TotalEnvs);
    }

    /// <summary>What the actors and the learner share: the replay, the published parameters, the counters.</summary>
    sealed class State(ApexConfig config, ModelSpec spec, SharedParameters shared, float[] target, SharedReplay replay, RunContext run,
        WorkerGroup group, PeriodicEvaluation evaluation) : SnapshotTelemetry<(long Inserted, long Sampled, long AgeSum, long AgeCount)>
    {
        readonly object _replayGate = replay.Gate, _publishGate = new();
        readonly PrioritizedReplay _priorities = replay.Priorities!;
        readonly float[] _published = (float[])shared.Theta.Clone();
        long _publishedVersion, _inserted, _sampled, _ageSum, _ageCount;

        ReplayBuffer Replay => replay.Buffer;

        /// <summary>An actor: steps, n-step transitions with local priorities, batches to the replay, refreshed parameters.</summary>
        public void Act(int id)
        {
            int n = config.Lanes.NumEnvs, send = config.ActorSendBatch;
            VectorEnv env = config.MakeEnv(n);
            env.Reset(config.WorkerEnvSeed(id, run.Segment));
            int obs = env.ObservationSize;
            float epsilon = config.ActorEpsilon(id);
            var net = (QNetwork)spec.Build();
            var targetNet = (QNetwork)spec.Build();
            int actions = net.Actions;
            net.EnsureCapacity(Math.Max(n, send + n * config.NStep));
            targetNet.EnsureCapacity(send + n * config.NStep);
            var theta = new float[_published.Length];
            long version = Fetch(theta);
            // The actor's own buffer of complete transitions, sent (with priorities) when it holds a batch.
            var local = new ReplayBuffer(send + n * config.NStep, obs);
            var writer = new NStepWriter(n, config.NStep, obs, config.Gamma);
            Rng rng = Acting.WorkerRng(config, id, run.Segment);
            var before = new float[n * obs];
            var laneActions = new int[n];
            int capacity = local.Capacity;
            int[] slots = new int[capacity], batchActions = new int[capacity];
            float[] batchObs = new float[capacity * obs], batchNext = new float[capacity * obs];
            float[] rewards = new float[capacity], discounts = new float[capacity], targets = new float[capacity], errors = new float[capacity];
            long steps = 0;
            while (!group.StopRequested && !run.ShouldStop)
            {
                DqnParts.Step(net, theta, env, before, laneActions, epsilon, rng);
                DqnParts.Record(env, writer, before, laneActions, local);
                long global = run.Metrics.AddSteps(n);
                run.Metrics.AddEpisodes(env.Episodes.Records);
                env.Episodes.Clear();
                steps += n;
                if (local.Count >= send)
                {
                    // Initial priorities from the actor's own parameters: |double-Q n-step TD error| of each transition.
                    int count = local.Count;
                    for (int i = 0; i < count; i++) slots[i] = i;
                    local.Gather(slots.AsSpan(0, count), batchObs, batchActions, rewards, discounts, batchNext);
                    DqnTargets.Compute(targetNet, theta, net, theta, batchNext, rewards, discounts, count, targets);
                    net.Forward(theta, batchObs.AsSpan(0, count * obs), count);
                    ReadOnlySpan<float> qs = net.QValues(count);
                    for (int i = 0; i < count; i++) errors[i] = qs[i * actions + batchActions[i]] - targets[i];
                    lock (_replayGate)
                    {
                        // The rate limiter: past learning_starts, wait while the actors are ahead of the learner's replay.
                        while (TooFarAhead() && !group.StopRequested && !run.ShouldStop) Monitor.Wait(_replayGate, 20);
                        for (int i = 0; i < count; i++)
                        {
                            (ReadOnlyMemory<float> o, ReadOnlyMemory<float> nx) = local.ObservationsAt(i);
                            int slot = Replay.Add(o.Span, batchActions[i], rewards[i], discounts[i], nx.Span);
                            _priorities.Update([slot], errors.AsSpan(i, 1));
                        }
                        _inserted += count;
                        Monitor.PulseAll(_replayGate);
                    }
                    local.Clear();
                }
                if (steps >= config.ActorRefreshSteps)
                {
                    steps = 0;
                    long now = Fetch(theta);
                    Interlocked.Add(ref _ageSum, now - version);
                    Interlocked.Increment(ref _ageCount);
                    version = now;
                }
                evaluation.MaybeRun(global);
            }
        }

        /// <summary>Whether the actors have added more than the learner's replay allows (call under the replay's lock).</summary>
        bool TooFarAhead() =>
            _inserted > config.LearningStarts && (_inserted - config.LearningStarts) * (double)config.SamplesPerInsert > _sampled + (double)config.SamplesPerInsert * config.ActorSendBatch * config.Threads;

        /// <summary>Copies the learner's latest published parameters; returns their version.</summary>
        long Fetch(float[] theta)
        {
            lock (_publishGate)
            {
                _published.CopyTo(theta, 0);
                return _publishedVersion;
            }
        }

        /// <summary>The learner: prioritized batches, double-Q n-step targets, Adam, priorities back, parameters published.</summary>
        public void Learn(int id)
        {
            const string who = "apex learner";
            int batch = config.BatchSize;
            var work = new DqnBatch(spec, batch, Replay.ObservationSize, doubleQ: true);
            var sampling = new Rng((ulong)config.Seed ^ AlgoConfig.SegmentSalt(run.Segment), RandomStreams.ReplaySampling);
            var tally = new UpdateTally();
            long updates = run.Metrics.Updates;
            while (!group.StopRequested && !run.ShouldStop)
            {
                long global = run.Metrics.EnvSteps;
                lock (_replayGate)
                {
                    // Until the replay holds learning_starts transitions, wait for the actors' batches (they pulse).
                    if (Replay.Count < Math.Max(batch, config.LearningStarts))
                    {
                        Monitor.Wait(_replayGate, 20);
                        continue;
                    }
                    _priorities.Sample(sampling, config.Beta(global), work.Slots, work.Weights);
                    work.Gather(Replay);
                    _sampled += batch;
                    Monitor.PulseAll(_replayGate);
                }
                float loss = work.Compute(shared.Theta, target, config.MaxGradNorm, who, ++updates);
                lock (_replayGate) _priorities.Update(work.Slots, work.Errors);
                if (!shared.Apply(work.Gradient, UpdateRules.LearningRate(config, global), shared.Version, ref tally)) break;
                tally.Add(loss);
                tally.ReportTo(run.Metrics);
                lock (_publishGate)
                {
                    shared.Theta.CopyTo(_published, 0);
                    _publishedVersion = shared.Version;
                }
                // An evaluation pauses the learner too (or the learner runs it), as it pauses the actors.
                evaluation.MaybeRun(run.Metrics.EnvSteps);
                if (updates % config.TargetUpdateInterval == 0) DqnParts.RefreshTarget(shared.Theta, target, config.Tau, who, updates);
            }
            tally.ReportTo(run.Metrics, force: true);
        }

        protected override (long Inserted, long Sampled, long AgeSum, long AgeCount) Now()
        {
            lock (_replayGate) return (_inserted, _sampled, Interlocked.Read(ref _ageSum), Interlocked.Read(ref _ageCount));
        }

        protected override RuntimeTelemetry Between((long Inserted, long Sampled, long AgeSum, long AgeCount) a, (long Inserted, long Sampled, long AgeSum, long AgeCount) b,
            double seconds)
        {
            long inserted = b.Inserted - a.Inserted, sampled = b.Sampled - a.Sampled, ages = b.AgeCount - a.AgeCount;
            int size;
            double total, largest;
            lock (_replayGate) (size, total, largest) = (Replay.Count, _priorities.Tree.Total, _priorities.MaxPriority);
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
}
