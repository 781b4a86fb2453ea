using System.Numerics.Tensors;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>Which of the paper's asynchronous value-based methods.</summary>
public enum AsyncQMethod
{
    /// <summary>Asynchronous one-step Q-learning (Mnih et al. 2016, Algorithm 1).</summary>
    OneStepQ,
    /// <summary>Asynchronous one-step SARSA: the target uses Q(s', a') of the next action taken (section 4).</summary>
    OneStepSarsa,
    /// <summary>Asynchronous n-step Q-learning (Algorithm S2).</summary>
    NStepQ,
}

/// <summary>
/// Settings of the asynchronous value-based methods. From Mnih et al. 2016: final epsilons {0.1, 0.01, 0.5} drawn
/// per thread with probabilities {0.4, 0.3, 0.3}, I_AsyncUpdate 5, t_max 5, shared RMSProp, learning rate annealed to
/// 0. The target interval, annealing span, learning rate and budget are this project's, scaled for CartPole.
/// </summary>
public sealed record AsyncQConfig : AlgoConfig
{
    /// <summary>The settings of <paramref name="method"/>.</summary>
    public AsyncQConfig(AsyncQMethod method)
    {
        Method = method;
        Threads = 2;
        AnnealLearningRate = true;
        LearningRate = 5e-4f;
        MaxEnvSteps = 1_000_000;
        MaxGradNorm = 10f;
    }

    /// <summary>Which method.</summary>
    public AsyncQMethod Method { get; }

    /// <inheritdoc/>
    public override string Algo => Method switch
    {
        AsyncQMethod.OneStepQ => "q1",
        AsyncQMethod.OneStepSarsa => "sarsa1",
        _ => "qn",
    };

    /// <summary>How workers apply gradients to the shared parameters.</summary>
    public AsyncSettings Async { get; init; } = new();

    /// <inheritdoc/>
    public override int HelperThreads => Async.HelperThreads;

    /// <inheritdoc/>
    public override int TotalEnvs => Threads;

    /// <summary>Fraction of the budget over which each thread's epsilon falls from 1 to its final value.</summary>
    [Description("Fraction of max_env_steps over which each thread's epsilon falls linearly from 1 to its final value.")]
    public float EpsilonAnnealFraction { get; init; } = 0.1f;

    /// <summary>Global steps between refreshes of the target network (I_target).</summary>
    [Description("Global env steps between copies of theta into the target network (I_target).")]
    public long TargetInterval { get; init; } = 2_000;

    /// <summary>Steps a 1-step worker accumulates gradients over before applying them (I_AsyncUpdate).</summary>
    [Description("Steps a q1 or sarsa1 worker accumulates gradients before applying them (I_AsyncUpdate; also at episode ends; qn uses t_max).")]
    public int AsyncUpdateInterval { get; init; } = 5;

    /// <summary>Greedy evaluation (the solve criterion).</summary>
    public GreedyEvalSettings Evaluation { get; init; } = new();

    /// <inheritdoc/>
    public override bool DiscreteOnly => true;

    /// <inheritdoc/>
    public override bool ValueBased => true;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(EpsilonAnnealFraction is > 0 and <= 1, "epsilon_anneal_fraction", EpsilonAnnealFraction, "in (0, 1]");
        Require(TargetInterval >= 1, "target_interval", TargetInterval, ">= 1");
        Require(AsyncUpdateInterval >= 1, "async_update_interval", AsyncUpdateInterval, ">= 1");
        Async.Validate();
        Evaluation.Validate();
        CheckSize();
    }

    /// <inheritdoc/>
    private protected override long SamplesHeld => (long)Threads * TMax;

    /// <summary>The paper's final epsilons and their probabilities (Mnih et al. 2016, section 8 of the supplement).</summary>
    static readonly (float Value, double Probability)[] FinalEpsilonDistribution = [(0.1f, 0.4), (0.01f, 0.3), (0.5f, 0.3)];

    /// <summary>
    /// Every worker's final epsilon, from {0.1, 0.01, 0.5} with probabilities {0.4, 0.3, 0.3} (Mnih et al. 2016,
    /// section 8 of the supplement), dealt out rather than drawn independently: the threads take evenly spaced points
    /// (i + u) / n of the distribution from one random offset u, then a shuffle decides which thread holds which. Each
    /// value goes to the floor or the ceiling of its share of the threads (two threads never share a value; ten get
    /// 4, 3 and 3), and a thread's value still has the paper's probabilities. Fixed by the run's seed.
    /// </summary>
    public float[] FinalEpsilons()
    {
        var rng = new Rng((ulong)Seed, RandomStreams.FinalEpsilons);
        double offset = rng.NextDouble();
        var values = new float[Threads];
        for (int i = 0; i < values.Length; i++)
        {
            double u = (i + offset) / values.Length, cumulative = 0;
            values[i] = FinalEpsilonDistribution[^1].Value;
            foreach ((float value, double probability) in FinalEpsilonDistribution)
                if (u < (cumulative += probability))
                {
                    values[i] = value;
                    break;
                }
        }
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
        return values;
    }

    /// <summary>Worker <paramref name="worker"/>'s final epsilon: its entry of <see cref="FinalEpsilons"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="worker"/> is not in [0, threads).</exception>
    public float FinalEpsilon(int worker)
    {
        if (worker < 0 || worker >= Threads)
            throw new ArgumentOutOfRangeException(nameof(worker), worker, $"worker was {worker}; expected a worker id in [0, {Threads}).");
        return FinalEpsilons()[worker];
    }

    /// <summary>epsilon at global step T: linear from 1 to <paramref name="final"/> over the annealing span, then constant.</summary>
    public float Epsilon(float final, long globalStep)
    {
        double span = EpsilonAnnealFraction * (double)MaxEnvSteps;
        return (float)(1.0 + (final - 1.0) * Math.Min(1.0, globalStep / span));
    }
}

/// <summary>
/// The paper's asynchronous value-based methods: one-step Q-learning and one-step SARSA (Algorithm 1) and n-step
/// Q-learning (Algorithm S2). Each worker thread acts epsilon-greedily in its own single-lane env with its own final
/// epsilon; targets come from a shared target network theta-minus, refreshed every I_target global steps; gradients
/// are accumulated and applied to the shared theta with shared RMSProp under the chosen update mode. The loss of a
/// step is (y - Q(s, a))^2 / 2, summed over the accumulated steps as in the paper. Greedy evaluation takes its turn
/// on a worker thread, so a run uses exactly its workers' threads (plus the applier in server mode).
/// </summary>
public static class AsyncQ
{
    /// <summary>Trains until the budget is spent or greedy evaluation says solved (with stop_when_solved).</summary>
    /// <exception cref="WorkerFailedException">A worker threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(AsyncQConfig config, RunContext run)
    {
        UpdateRules.Begin(config, run);
        ModelSpec modelSpec = Acting.QSpec(config);

        // Shared theta, target network theta-minus = theta, shared RMSProp statistics.
        float[] theta = Acting.InitialTheta(modelSpec.Build(), config.Seed);
        var target = (float[])theta.Clone();
        RmsProp optimizer = UpdateRules.RmsProp(config, theta.Length);
        // A resumed run continues from the checkpoint's theta, target network and statistics; its workers start new episodes.
        if (run.Resumed is { } checkpoint)
            RunState.Load(checkpoint, modelSpec, theta, optimizer, config.Algo, r => BinaryState.Read<float>(r, target, "target network"));
        CheckpointData Save() => RunState.Save(modelSpec, theta, optimizer, config.Algo, w => BinaryState.Write<float>(w, target));
        var group = new WorkerGroup(config.Algo);
        var shared = new SharedParameters(theta, optimizer, config.Async.Update, config.Threads, group, run.Metrics);
        var evaluation = PeriodicEvaluation.For(config, config.Evaluation, modelSpec, theta, run, group);
        var workers = new QWorkerState(config, modelSpec, shared, target, run, group, evaluation);
        for (int id = 0; id < config.Threads; id++)
            group.Start("worker", id, config.Method == AsyncQMethod.NStepQ ? workers.NStep : workers.OneStep);
        group.Supervise(shared, run, Save);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(Save());
        // A last evaluation of the final parameters, unless the run stopped right at one.
        if (!run.Stop.Solved) evaluation.RunNow();
        return run.Finish(config.Threads, config.TotalEnvs);
    }

    /// <summary>What every worker shares, and the two worker loops.</summary>
    sealed class QWorkerState(AsyncQConfig config, ModelSpec spec, SharedParameters shared, float[] target, RunContext run, WorkerGroup group,
        PeriodicEvaluation evaluation)
    {
        /// <summary>Copies theta into theta-minus when the global counter crosses a multiple of I_target, and checks the copy.</summary>
        void MaybeRefreshTarget(long before, long after, string who, long update)
        {
            if (before / config.TargetInterval == after / config.TargetInterval) return;
            shared.Theta.CopyTo(target, 0);
            UpdateRules.CheckParameters(target, who, update);
        }

        static int EpsilonGreedy(ReadOnlySpan<float> q, float epsilon, Rng rng) =>
            rng.NextFloat() < epsilon ? rng.NextInt(q.Length) : TensorPrimitives.IndexOfMax(q);

        /// <summary>Algorithm 1: one-step Q-learning, or one-step SARSA.</summary>
        public void OneStep(int id)
        {
            bool sarsa = config.Method == AsyncQMethod.OneStepSarsa;
            string who = $"{config.Algo} worker {id}";
            VectorEnv env = config.MakeEnv(1);
            env.Reset(config.WorkerEnvSeed(id, run.Segment));
            // Two online networks take turns holding s and s' so that s's activations survive until its backward pass.
            var current = (QNetwork)spec.Build();
            var next = (QNetwork)spec.Build();
            var targetNet = (QNetwork)spec.Build();
            int actions = current.Actions, obsSize = env.ObservationSize;
            var gradient = new float[current.ParameterCount];
            var qGradient = new float[actions];
            float[] s = new float[obsSize], sNext = new float[obsSize];
            var rng = Acting.WorkerRng(config, id, run.Segment);
            float finalEpsilon = config.FinalEpsilon(id);
            long globalT = run.Metrics.EnvSteps, updates = 0;
            var tally = new UpdateTally();
            int pending = 0;
            double lossSum = 0;
            // The accumulated gradient is as old as the version its first step read theta at.
            long basedOn = shared.Version;

            env.Observations.CopyTo(s);
            current.Forward(shared.Theta, s, 1);
            int a = EpsilonGreedy(current.QValues(1), config.Epsilon(finalEpsilon, globalT), rng);
            while (!group.StopRequested && !run.ShouldStop)
            {
                // Take action a, receive r and s'; choose a' in s' (the next state acted from).
                env.Step(new ReadOnlySpan<int>(ref a));
                bool terminated = env.Terminated[0], truncated = env.Truncated[0] && !terminated;
                env.Observations.CopyTo(sNext);
                float epsilon = config.Epsilon(finalEpsilon, globalT + pending);
                next.Forward(shared.Theta, sNext, 1);
                int aNext = EpsilonGreedy(next.QValues(1), epsilon, rng);

                // y = r at a terminal, else r + gamma max_a' Q(s', a'; theta-minus) (SARSA: Q(s', a'; theta-minus)).
                // After a truncation s' is the observation before the reset; SARSA then takes the epsilon-greedy choice there.
                float y = env.Rewards[0];
                if (!terminated)
                {
                    targetNet.Forward(target, truncated ? env.FinalObservations : sNext, 1);
                    ReadOnlySpan<float> qTarget = targetNet.QValues(1);
                    float bootstrap = !sarsa ? TensorPrimitives.Max(qTarget)
                        : truncated ? qTarget[EpsilonGreedy(qTarget, epsilon, rng)] : qTarget[aNext];
                    y += config.Gamma * bootstrap;
                }

                // Accumulate d(theta) += d(y - Q(s, a; theta))^2 / d(theta).
                float error = current.QValues(1)[a] - y;
                Array.Clear(qGradient);
                qGradient[a] = error;
                current.Backward(shared.Theta, s, qGradient, gradient, 1);
                lossSum += 0.5 * error * error;
                pending++;

                bool ended = terminated || env.Truncated[0];
                if (ended)
                {
                    run.Metrics.AddEpisodes(env.Episodes.Records);
                    env.Episodes.Clear();
                }
                // Every I_AsyncUpdate steps or at an episode's end: apply d(theta) asynchronously and clear it.
                if (pending == config.AsyncUpdateInterval || ended)
                {
                    long before = globalT;
                    globalT = run.Metrics.AddSteps(pending);
                    updates++;
                    float loss = (float)lossSum;
                    UpdateRules.CheckFinite(loss, who, updates);
                    UpdateRules.Clip(gradient, config.MaxGradNorm, who, updates);
                    if (!shared.Apply(gradient, UpdateRules.LearningRate(config, globalT), basedOn, ref tally)) break;
                    basedOn = shared.Version;
                    tally.Add(loss / pending);
                    tally.ReportTo(run.Metrics);
                    MaybeRefreshTarget(before, globalT, who, updates);
                    evaluation.MaybeRun(globalT);
                    Array.Clear(gradient);
                    pending = 0;
                    lossSum = 0;
                }

                // s = s', a = a'.
                (current, next) = (next, current);
                (s, sNext) = (sNext, s);
                a = aNext;
            }
            tally.ReportTo(run.Metrics, force: true);
        }

        /// <summary>Algorithm S2: n-step Q-learning.</summary>
        public void NStep(int id)
        {
            string who = $"qn worker {id}";
            VectorEnv env = config.MakeEnv(1);
            env.Reset(config.WorkerEnvSeed(id, run.Segment));
            var net = (QNetwork)spec.Build();
            var targetNet = (QNetwork)spec.Build();
            int actions = net.Actions, tMax = config.TMax;
            var thetaLocal = new float[net.ParameterCount];
            var gradient = new float[net.ParameterCount];
            var rollout = new Rollout(tMax, 1, env.Spec);
            var qBootstrap = new float[tMax * actions];
            var continues = new float[tMax];
            var targets = new float[tMax];
            var qGradient = new float[tMax * actions];
            var rng = Acting.WorkerRng(config, id, run.Segment);
            float finalEpsilon = config.FinalEpsilon(id);
            long globalT = run.Metrics.EnvSteps, updates = 0;
            var tally = new UpdateTally();
            net.EnsureCapacity(tMax);

            while (!group.StopRequested && !run.ShouldStop)
            {
                // Reset gradients, synchronize theta' = theta.
                Array.Clear(gradient);
                long basedOn = shared.Version;
                shared.Theta.CopyTo(thetaLocal, 0);
                UpdateRules.CheckParameters(thetaLocal, who, updates);

                // Act epsilon-greedily with theta' until terminal or t_max steps.
                rollout.Clear();
                float epsilon = config.Epsilon(finalEpsilon, globalT);
                bool ended;
                do
                {
                    int t = rollout.BeginStep(env.Observations);
                    net.Forward(thetaLocal, env.Observations, 1);
                    Span<int> action = rollout.DiscreteActionsAt(t);
                    action[0] = EpsilonGreedy(net.QValues(1), epsilon, rng);
                    env.Step(action);
                    rollout.EndStep(t, env, config.Gamma);
                    ended = env.Terminated[0] || env.Truncated[0];
                }
                while (!ended && rollout.Steps < tMax);
                int steps = rollout.Steps;
                long before = globalT;
                globalT = run.Metrics.AddSteps(steps);
                if (ended)
                {
                    run.Metrics.AddEpisodes(env.Episodes.Records);
                    env.Episodes.Clear();
                }

                // R = 0 at a terminal, else max_a Q(s_t, a; theta-minus); a truncated step bootstraps from its pre-reset observation.
                continues.AsSpan(0, steps).Fill(1f);
                continues[steps - 1] = 0f;
                // Only the last step can be truncated: the segment ends at an episode's end.
                targetNet.Forward(target, rollout.TruncatedCount > 0 ? rollout.FinalObservations : env.Observations, 1);
                targetNet.QValues(1).CopyTo(qBootstrap.AsSpan((steps - 1) * actions));
                Returns.NStepQ(rollout.Rewards.AsSpan(0, steps), rollout.Discounts.AsSpan(0, steps), continues.AsSpan(0, steps),
                    qBootstrap.AsSpan(0, steps * actions), actions, targets.AsSpan(0, steps));

                // Accumulate d(theta') += d(R - Q(s_i, a_i; theta'))^2 / d(theta') over the segment, in one batched pass.
                net.Forward(thetaLocal, rollout.Observations.AsSpan(0, steps * env.ObservationSize), steps);
                ReadOnlySpan<float> q = net.QValues(steps);
                Array.Clear(qGradient);
                double loss = 0;
                for (int t = 0; t < steps; t++)
                {
                    int a = rollout.DiscreteActions[t];
                    float error = q[t * actions + a] - targets[t];
                    qGradient[t * actions + a] = error;
                    loss += 0.5 * error * error;
                }
                net.Backward(thetaLocal, rollout.Observations.AsSpan(0, steps * env.ObservationSize), qGradient, gradient, steps);
                updates++;
                UpdateRules.CheckFinite((float)loss, who, updates);
                UpdateRules.Clip(gradient, config.MaxGradNorm, who, updates);

                // Asynchronous update of theta; refresh theta-minus every I_target global steps.
                if (!shared.Apply(gradient, UpdateRules.LearningRate(config, globalT), basedOn, ref tally)) break;
                tally.Add((float)(loss / steps));
                tally.ReportTo(run.Metrics);
                MaybeRefreshTarget(before, globalT, who, updates);
                evaluation.MaybeRun(globalT);
            }
            tally.ReportTo(run.Metrics, force: true);
        }
    }
}
