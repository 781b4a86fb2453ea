using System.Numerics.Tensors;
using Hybrid.Training.Parallel;
using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Parallel Deep Dyna-Q's settings: DQN's (the Q network, its replay of real transitions, exploration, target network)
/// and the planning threads'. Dyna-Q (Sutton 1990) learns Q from real experience and from experience simulated by a
/// learned model of the env; the parallel form runs the simulation on threads of its own, beside the one thread that
/// acts in the real env.
/// </summary>
public sealed record DynaQConfig : DqnConfig
{
    /// <summary>DQN's defaults, one thread acting in the real env.</summary>
    public DynaQConfig() => Threads = 1;

    /// <inheritdoc/>
    public override string Algo => "dyna-q";

    /// <summary>Threads training the world model and planning with it (K).</summary>
    [Description("dyna-q: threads beside the one acting in the real env, each training its copy of the world model on real transitions and turning the model's predictions into simulated Q updates (0: no planning, DQN alone).")]
    public int PlanningThreads { get; init; } = 1;

    /// <summary>Simulated Q updates each planning thread makes per real one.</summary>
    [Description("dyna-q: simulated Q updates each planning thread makes per real Q update (a planning thread waits when it is ahead), so simulated updates are K r / (1 + K r) of Q's updates with K planning threads.")]
    public float SimulatedRatio { get; init; } = 1f;

    /// <summary>A planning thread's model updates between synchronizations of its model with the others'.</summary>
    [Description("dyna-q: a planning thread's model updates between synchronizations: it adds its model's change since the last one to the shared model and takes the shared model back.")]
    public int ModelSyncInterval { get; init; } = 100;

    /// <summary>The world model's learning rate (Adam).</summary>
    [Description("dyna-q: the world model's learning rate (Adam).")]
    public float ModelLearningRate { get; init; } = 1e-3f;

    /// <summary>Model updates a planning thread makes before it plans.</summary>
    [Description("dyna-q: model updates a planning thread makes before its first simulated Q update (an untrained model's predictions are noise).")]
    public long ModelWarmup { get; init; } = 1_000;

    /// <summary>Steps of each simulated rollout.</summary>
    [Description("dyna-q: steps of each simulated rollout from replayed real states (each step one simulated Q update on a batch); 1 = one-step planning.")]
    public int PlanningHorizon { get; init; } = 1;

    /// <inheritdoc/>
    public override int HelperThreads => PlanningThreads + Async.HelperThreads;

    /// <inheritdoc/>
    private protected override long ParameterCopies => base.ParameterCopies + 4L * Math.Max(1, PlanningThreads);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(Threads == 1, "threads", Threads, "1: dyna-q acts in the real env on one thread (planning_threads sets the others)");
        Require(NStep == 1, "n_step", NStep, "1: the world model and the simulated updates are one-step transitions");
        Require(Replay == ReplayKind.Uniform, "replay", "prioritized", "uniform: dyna-q draws real batches uniformly");
        Require(PlanningThreads is >= 0 and <= 64, "planning_threads", PlanningThreads, "in [0, 64]");
        Require(SimulatedRatio > 0 && float.IsFinite(SimulatedRatio), "simulated_ratio", SimulatedRatio, "> 0");
        Require(ModelSyncInterval >= 1, "model_sync_interval", ModelSyncInterval, ">= 1");
        Require(ModelLearningRate > 0 && float.IsFinite(ModelLearningRate), "model_learning_rate", ModelLearningRate, "> 0");
        Require(ModelWarmup >= 0, "model_warmup", ModelWarmup, ">= 0");
        Require(PlanningHorizon is >= 1 and <= 100, "planning_horizon", PlanningHorizon, "in [1, 100]");
    }
}

/// <summary>
/// A learned model of a discrete-action env's one-step dynamics: from an observation and an action (one-hot), the change
/// of the observation, the reward and whether the step terminates. Its loss per transition is half the squared error of
/// the change and of the reward, plus the cross-entropy of the termination (a logistic output), averaged over the batch.
/// One instance belongs to one thread; the parameters are the caller's.
/// </summary>
public sealed class WorldModel
{
    readonly QNetwork _net;
    readonly float[] _inputs, _outputGradient;
    readonly int _observations, _actions, _capacity;

    /// <summary>A model for batches of up to <paramref name="capacity"/> transitions.</summary>
    /// <exception cref="ArgumentException">The spec is not a world model's.</exception>
    public WorldModel(ModelSpec spec, int capacity)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Kind != ModelKind.WorldModel) throw new ArgumentException($"spec was '{spec}'; expected a world-model spec.", nameof(spec));
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _net = (QNetwork)spec.Build();
        (_observations, _actions, _capacity) = (spec.ObservationSize, spec.Actions, capacity);
        _net.EnsureCapacity(capacity);
        _inputs = new float[capacity * spec.InputSize];
        _outputGradient = new float[capacity * spec.Outputs];
    }

    /// <summary>The world model of <paramref name="config"/>'s env: the Q network's hidden widths with ReLU.</summary>
    public static ModelSpec SpecFor(AlgoConfig config)
    {
        EnvSpec env = EnvRegistry.Spec(config.Env);
        return new ModelSpec
        {
            Kind = ModelKind.WorldModel,
            ObservationShape = [env.ObservationSize],
            Hidden = config.HiddenFor(env),
            Activation = Activation.Relu,
            ActionKind = ActionKind.Discrete,
            Actions = Acting.ActionCount(env),
        };
    }

    /// <summary>The network's parameter count.</summary>
    public int ParameterCount => _net.ParameterCount;

    /// <summary>Initial parameters from <paramref name="seed"/>.</summary>
    public float[] InitialParameters(int seed)
    {
        var theta = new float[_net.ParameterCount];
        _net.Initialize(theta, new Rng((ulong)seed, RandomStreams.WorldModelInit));
        return theta;
    }

    /// <summary>
    /// Adds the gradient of the mean loss over the batch into <paramref name="gradient"/> (the caller zeroes it) and
    /// returns the loss. <paramref name="terminated"/>: 1 where the transition ended its episode by termination, else 0.
    /// </summary>
    public float AddGradient(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> terminated, ReadOnlySpan<float> next, int batch, Span<float> gradient)
    {
        Guard(batch);
        int outputs = _observations + 2;
        ReadOnlySpan<float> predicted = Forward(theta, observations, actions, batch);
        Span<float> dOut = _outputGradient.AsSpan(0, batch * outputs);
        double loss = 0;
        float inverse = 1f / batch;
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> row = predicted.Slice(b * outputs, outputs);
            Span<float> dRow = dOut.Slice(b * outputs, outputs);
            for (int k = 0; k < _observations; k++)
            {
                float error = row[k] - (next[b * _observations + k] - observations[b * _observations + k]);
                loss += 0.5 * error * error;
                dRow[k] = error * inverse;
            }
            float rewardError = row[_observations] - rewards[b];
            loss += 0.5 * rewardError * rewardError;
            dRow[_observations] = rewardError * inverse;
            // Cross-entropy of a logistic output: softplus(z) - y z, gradient sigmoid(z) - y.
            float z = row[_observations + 1], y = terminated[b];
            loss += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))) - y * z;
            dRow[_observations + 1] = (1f / (1f + MathF.Exp(-z)) - y) * inverse;
        }
        _net.Backward(theta, _inputs, dOut, gradient, batch);
        return (float)(loss / batch);
    }

    /// <summary>The model's prediction for a batch: the next observations, the rewards, and the probability that each step terminates.</summary>
    public void Predict(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, int batch,
        Span<float> next, Span<float> rewards, Span<float> termination)
    {
        Guard(batch);
        int outputs = _observations + 2;
        ReadOnlySpan<float> predicted = Forward(theta, observations, actions, batch);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> row = predicted.Slice(b * outputs, outputs);
            for (int k = 0; k < _observations; k++) next[b * _observations + k] = observations[b * _observations + k] + row[k];
            rewards[b] = row[_observations];
            termination[b] = 1f / (1f + MathF.Exp(-row[_observations + 1]));
        }
    }

    ReadOnlySpan<float> Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<int> actions, int batch)
    {
        int width = _observations + _actions;
        Span<float> inputs = _inputs.AsSpan(0, batch * width);
        inputs.Clear();
        for (int b = 0; b < batch; b++)
        {
            observations.Slice(b * _observations, _observations).CopyTo(inputs.Slice(b * width, _observations));
            int a = actions[b];
            if ((uint)a >= (uint)_actions) throw new ArgumentOutOfRangeException(nameof(actions), a, $"action {a} of row {b}; expected 0 to {_actions - 1}.");
            inputs[b * width + _observations + a] = 1f;
        }
        _net.Forward(theta, inputs, batch);
        return _net.QValues(batch);
    }

    void Guard(int batch)
    {
        if (batch < 1 || batch > _capacity)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch was {batch}; expected 1 to {_capacity}.");
    }
}

/// <summary>
/// Parallel Deep Dyna-Q. One thread acts in the real env epsilon-greedily, writes its transitions into the replay and
/// learns Q from real batches on DQN's schedule; K planning threads each train a copy of a world model on real batches
/// (one model update per real Q update), synchronize the copies through a shared model every model_sync_interval updates,
/// and, once warmed up, turn the model's predictions into simulated Q updates: from replayed real states and uniformly
/// drawn actions, the model's next states and rewards, with the discount times the chance the step does not terminate,
/// make a batch whose DQN loss updates the same Q
/// network, simulated_ratio of them per real update. Every thread applies its gradients to the shared Q parameters under
/// the update mode (Adam's statistics shared). Greedy evaluation decides "solved", as for DQN. Not deterministic with
/// planning threads: their interleaving with the real thread decides what each reads.
/// </summary>
public static class DynaQ
{
    const string Kind = "dyna-q";

    /// <summary>Trains until the budget is spent or greedy evaluation says solved (with stop_when_solved).</summary>
    /// <exception cref="WorkerFailedException">A planning thread threw; the run was stopped. The inner exception is the original.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(DynaQConfig config, RunContext run)
    {
        UpdateRules.Begin(config, run);
        var state = new Learner(config, run);
        state.Run();
        return run.Finish(1 + config.PlanningThreads, config.Lanes.NumEnvs);
    }

    /// <summary>The real thread's learner, the shared parts and the planning threads' loop.</summary>
    sealed class Learner
    {
        readonly DynaQConfig _config;
        readonly RunContext _run;
        readonly ModelSpec _spec, _modelSpec;
        readonly QNetwork _online;
        readonly float[] _theta, _target, _model;
        readonly Adam _optimizer;
        readonly ReplayLearning _learning;
        readonly SharedParameters _shared;
        readonly WorkerGroup _group = new(Kind);
        readonly DqnBatch _batch;
        readonly int[] _laneActions;
        readonly float[] _before;
        readonly object _replayGate = new(), _modelGate = new();
        readonly RealUpdates _realUpdates = new();
        readonly PlanningCounters _counters;
        UpdateTally _tally;

        public Learner(DynaQConfig config, RunContext run)
        {
            (_config, _run) = (config, run);
            _spec = Acting.QSpec(config);
            _modelSpec = WorldModel.SpecFor(config);
            _online = (QNetwork)_spec.Build();
            _theta = Acting.InitialTheta(_online, config.Seed);
            _target = (float[])_theta.Clone();
            _optimizer = new Adam(_theta.Length);
            _model = new WorldModel(_modelSpec, 1).InitialParameters(config.Seed);
            _learning = new ReplayLearning(config, run, _spec, _theta, boxActionSize: 0);
            int n = _learning.Lanes, obs = _learning.Env.ObservationSize;
            _laneActions = new int[n];
            _before = new float[n * obs];
            _online.EnsureCapacity(n);
            _batch = new DqnBatch(_spec, config.BatchSize, obs, config.DoubleQ);
            _counters = new PlanningCounters(config.PlanningThreads);
            if (run.Resumed is { } checkpoint)
            {
                RunState.Load(checkpoint, _spec, _theta, _optimizer, Kind, Load);
                _optimizer.Steps = checkpoint.Updates;
            }
            _shared = new SharedParameters(_theta, _optimizer, config.Async.Update, 1 + config.PlanningThreads, _group, run.Metrics);
            run.Metrics.Telemetry = new Telemetry(_counters, _learning, config.BatchSize);
        }

        public void Run()
        {
            for (int id = 0; id < _config.PlanningThreads; id++) _group.Start("planner", id, Plan);
            try
            {
                // The planning threads stop before the last checkpoint and evaluation, which then see theta at rest; a
                // failure among them is thrown there, naming the thread.
                _learning.Run(Act, Learn, RefreshTarget, Save, () =>
                {
                    AskPlannersToStop();
                    _group.Join();
                });
            }
            finally
            {
                AskPlannersToStop();
            }
            _tally.ReportTo(_run.Metrics, force: true);
        }

        /// <summary>Tells the planning threads (and a server applier) to finish, waking those waiting for a real update.</summary>
        void AskPlannersToStop()
        {
            _group.Stop();
            _realUpdates.Release();
            _shared.Complete();
        }

        /// <summary>One step of every lane, epsilon-greedy with the shared Q; the steps go into the replay (under its lock).</summary>
        void Act()
        {
            DqnParts.Step(_online, _theta, _learning.Env, _before, _laneActions, _config.Epsilon(_run.Metrics.EnvSteps), _learning.Actions);
            lock (_replayGate) DqnParts.Record(_learning.Env, _learning.Writer, _before, _laneActions, _learning.Replay);
            _learning.Stepped();
            // A planning thread that failed stops the run here, on the main thread, naming itself.
            if (_group.Faulted) _group.ThrowIfFaulted();
        }

        /// <summary>One real Q update on a batch of real transitions, applied to the shared parameters; the planning threads may then take one more turn.</summary>
        void Learn()
        {
            lock (_replayGate)
            {
                _learning.Draw(_batch.Slots, _batch.Weights);
                _batch.Gather(_learning.Replay);
            }
            long basedOn = _shared.Version;
            float loss = _batch.Compute(_theta, _target, _config.MaxGradNorm, "dyna-q real learner", _learning.Updates);
            if (!_shared.Apply(_batch.Gradient, UpdateRules.LearningRate(_config, _run.Metrics.EnvSteps), basedOn, ref _tally)) return;
            _tally.Add(loss);
            _tally.ReportTo(_run.Metrics);
            _realUpdates.Add();
        }

        void RefreshTarget() => Polyak.Update(_theta, _target, _config.Tau, Kind, _learning.Updates);

        CheckpointData Save() => RunState.Save(_spec, _theta, _optimizer, Kind, writer =>
        {
            BinaryState.Write<float>(writer, _target);
            lock (_modelGate) BinaryState.Write<float>(writer, _model);
            _learning.Save(writer);
        });

        void Load(BinaryReader reader)
        {
            BinaryState.Read<float>(reader, _target, "target network");
            BinaryState.Read<float>(reader, _model, "world model");
            _learning.Load(reader);
        }

        /// <summary>
        /// Planning thread <paramref name="id"/>: per real Q update, one update of its model copy on a real batch (and a
        /// synchronization every model_sync_interval), then, past the warm-up, simulated Q updates up to simulated_ratio
        /// per real update.
        /// </summary>
        void Plan(int id)
        {
            string who = $"dyna-q planner {id}";
            int batch = _config.BatchSize, obs = _learning.Env.ObservationSize, actions = _online.Actions;
            var model = new WorldModel(_modelSpec, batch);
            float[] local, basis;
            lock (_modelGate) (local, basis) = ((float[])_model.Clone(), (float[])_model.Clone());
            var modelGradient = new float[local.Length];
            var modelOptimizer = new Adam(local.Length);
            // One batch serves both: a real batch for the model's step, then the simulated batches.
            var work = new DqnBatch(_spec, batch, obs, _config.DoubleQ);
            var terminated = new float[batch];
            var ends = new float[batch];
            Rng actionsRng = Acting.WorkerRng(_config, 1 + id, _run.Segment);
            var sampling = new Rng((ulong)_config.Seed ^ AlgoConfig.SegmentSalt(_run.Segment), RandomStreams.ReplaySampling + 1 + (ulong)id);
            var tally = new UpdateTally();
            long turns = 0, modelUpdates = 0, planningTurns = 0, simulated = 0;

            while (!_group.StopRequested && !_run.ShouldStop)
            {
                if (!_realUpdates.WaitBeyond(turns, _group)) break;
                turns++;
                // Nothing trains while a greedy evaluation runs.
                _learning.Evaluation.MaybeRun(_run.Metrics.EnvSteps);

                // The model: one step on a real batch (terminated = discount 0: one-step transitions), then its synchronization.
                lock (_replayGate)
                {
                    _learning.Replay.SampleUniform(sampling, work.Slots);
                    work.Gather(_learning.Replay);
                }
                for (int b = 0; b < batch; b++) terminated[b] = work.Discounts[b] == 0f ? 1f : 0f;
                Array.Clear(modelGradient);
                float modelLoss = model.AddGradient(local, work.Observations, work.Actions, work.Rewards, terminated, work.Next, batch, modelGradient);
                UpdateRules.CheckFinite(modelLoss, who + " (world model)", modelUpdates + 1);
                UpdateRules.Clip(modelGradient, _config.MaxGradNorm, who + " (world model)", modelUpdates + 1);
                modelOptimizer.Step(local, modelGradient, _config.ModelLearningRate);
                modelUpdates++;
                _counters.ModelUpdated(id, modelLoss);
                if (modelUpdates % _config.ModelSyncInterval == 0) Synchronize(local, basis);
                if (modelUpdates < _config.ModelWarmup) continue;

                // Simulated Q updates: replayed real states, drawn actions, the model's outcomes.
                planningTurns++;
                while (simulated < _config.SimulatedRatio * planningTurns && !_group.StopRequested)
                {
                    lock (_replayGate)
                    {
                        _learning.Replay.SampleUniform(sampling, work.Slots);
                        work.Gather(_learning.Replay);
                    }
                    for (int step = 0; step < _config.PlanningHorizon; step++)
                    {
                        if (step > 0) work.Next.CopyTo(work.Observations, 0);
                        for (int b = 0; b < batch; b++) work.Actions[b] = actionsRng.NextInt(actions);
                        model.Predict(local, work.Observations, work.Actions, batch, work.Next, work.Rewards, ends);
                        // The expected discount: termination is rare (CartPole's come once an episode), and a model that only
                        // called it where it is more likely than not would bootstrap past most of the ends it half sees.
                        for (int b = 0; b < batch; b++) work.Discounts[b] = _config.Gamma * (1f - ends[b]);
                        long basedOn = _shared.Version;
                        float loss = work.Compute(_theta, _target, _config.MaxGradNorm, who, simulated + 1);
                        if (!_shared.Apply(work.Gradient, UpdateRules.LearningRate(_config, _run.Metrics.EnvSteps), basedOn, ref tally)) return;
                        tally.Add(loss);
                        tally.ReportTo(_run.Metrics);
                        _counters.Simulated(id);
                        simulated++;
                    }
                }
            }
            tally.ReportTo(_run.Metrics, force: true);
        }

        /// <summary>Adds this copy's change since its last synchronization to the shared model and takes the shared model back.</summary>
        void Synchronize(float[] local, float[] basis)
        {
            lock (_modelGate)
            {
                TensorPrimitives.Add(_model, local, _model);
                TensorPrimitives.Subtract(_model, basis, _model);
                _model.CopyTo(local, 0);
                _model.CopyTo(basis, 0);
            }
        }
    }

    /// <summary>The real thread's count of Q updates, which the planning threads follow: each waits until it is behind.</summary>
    sealed class RealUpdates
    {
        readonly object _gate = new();
        long _count;

        public void Add()
        {
            lock (_gate)
            {
                _count++;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Waits until more than <paramref name="done"/> real updates were made; false when the group stops first.</summary>
        public bool WaitBeyond(long done, WorkerGroup group)
        {
            lock (_gate)
            {
                while (_count <= done)
                {
                    if (group.StopRequested) return false;
                    Monitor.Wait(_gate);
                }
            }
            return true;
        }

        /// <summary>Wakes every waiting thread (the run is stopping).</summary>
        public void Release()
        {
            lock (_gate) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Each planning thread's counts (written by that thread alone): simulated Q updates, model updates and their loss.</summary>
    sealed class PlanningCounters(int threads)
    {
        readonly long[] _simulated = new long[threads], _modelUpdates = new long[threads];
        readonly double[] _modelLoss = new double[threads];

        public void Simulated(int id) => Volatile.Write(ref _simulated[id], _simulated[id] + 1);

        public void ModelUpdated(int id, float loss)
        {
            _modelLoss[id] += loss;
            Volatile.Write(ref _modelUpdates[id], _modelUpdates[id] + 1);
        }

        public (long Simulated, long ModelUpdates, double ModelLoss) Sum()
        {
            (long s, long m, double l) = (0, 0, 0);
            for (int i = 0; i < _simulated.Length; i++)
            {
                s += Volatile.Read(ref _simulated[i]);
                m += Volatile.Read(ref _modelUpdates[i]);
                l += _modelLoss[i];
            }
            return (s, m, l);
        }
    }

    /// <summary>Simulated transitions per second, the simulated share of Q's updates and the world model's mean loss.</summary>
    sealed class Telemetry(PlanningCounters counters, ReplayLearning learning, int batch)
        : SnapshotTelemetry<(long Real, long Simulated, long ModelUpdates, double ModelLoss)>
    {
        protected override (long Real, long Simulated, long ModelUpdates, double ModelLoss) Now()
        {
            (long simulated, long modelUpdates, double loss) = counters.Sum();
            return (learning.Updates, simulated, modelUpdates, loss);
        }

        protected override RuntimeTelemetry Between((long Real, long Simulated, long ModelUpdates, double ModelLoss) a,
            (long Real, long Simulated, long ModelUpdates, double ModelLoss) b, double seconds)
        {
            long real = b.Real - a.Real, simulated = b.Simulated - a.Simulated, models = b.ModelUpdates - a.ModelUpdates;
            return RuntimeTelemetry.None with
            {
                SimulatedPerSecond = seconds > 0 ? simulated * (double)batch / seconds : double.NaN,
                SimulatedShare = real + simulated > 0 ? simulated / (double)(real + simulated) : double.NaN,
                ModelLoss = models > 0 ? (b.ModelLoss - a.ModelLoss) / models : double.NaN,
            };
        }
    }
}
