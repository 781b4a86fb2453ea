using Hybrid.Training.Runs;
namespace Hybrid.Training.Algorithms;

/// <summary>
/// A3C settings. From Mnih et al. 2016: shared RMSProp with alpha 0.99, the learning rate annealed to 0 over the
/// budget. The learning rate, t_max (20; the paper's Atari value is 5), entropy weight (0, as SB3's tuned CartPole
/// A2C), clip and budget are this project's.
/// </summary>
public sealed record A3cConfig : ActorCriticConfig, IRecurrentConfig
{
    /// <summary>A3C's defaults: 2 worker threads (one per core here), learning rate annealed to 0 as in the paper.</summary>
    public A3cConfig()
    {
        Threads = 2;
        AnnealLearningRate = true;
        LearningRate = 1e-3f;
        MaxEnvSteps = 1_000_000;
        // Mnih et al. 2016 use t_max 5 on Atari. On CartPole, experiments/tune-a3c-tmax.yaml (tuning seeds 101-110, which
        // no reported experiment uses; 2 cores, quiet, three invocations on 2026-12-04) gave median seconds to 475 of
        // t_max 5: 1.00, 0.94, 0.42; 10: 0.43, 0.41, 0.20; 20: 0.32, 0.27, 0.14; 40: 0.28, 0.28, 0.23. 20 has the lowest
        // median of the three (0.27 s against 40's 0.28 s; the two overlap) with half 40's env steps. It also makes a
        // quarter of t_max 5's updates to the shared parameters, whose cache-line traffic limits the second thread's
        // speedup here (docs/figures.md, "A3C scaling").
        TMax = 20;
    }

    /// <inheritdoc/>
    public override string Algo => "a3c";

    /// <summary>GAE's lambda.</summary>
    public ReturnSettings Advantage { get; init; } = new();

    /// <summary>How workers apply gradients to the shared parameters.</summary>
    public AsyncSettings Async { get; init; } = new();

    /// <summary>An LSTM after the torso, or none.</summary>
    public RecurrentSettings Memory { get; init; } = new();

    /// <inheritdoc/>
    public override int HelperThreads => Async.HelperThreads;

    /// <inheritdoc/>
    public override int TotalEnvs => Threads;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Advantage.Validate();
        Async.Validate();
        Memory.Validate();
        CheckSize();
    }

    /// <inheritdoc/>
    private protected override long SamplesHeld => (long)Threads * TMax;
}

/// <summary>
/// Asynchronous advantage actor-critic, Mnih et al. 2016, Algorithm S3. One deviation: Algorithm S3 sums each
/// step's gradient over the segment (d theta += ...); Hybrid averages them (the loss of <see cref="ActorCriticLoss"/> is
/// a mean over the batch, as in A2C), so a segment of t_max steps moves theta 1/t_max as far for the same learning
/// rate, and A3C's learning rates are not the paper's. K worker threads, each with its own
/// single-lane env, network scratch and parameter copy theta', apply their gradients to the shared theta through
/// shared RMSProp statistics, under the chosen update mode. The global step counter T is the run's env-step count.
/// </summary>
public static class A3c
{
    /// <summary>Trains until the budget is spent or the run is solved (with stop_when_solved).</summary>
    /// <exception cref="WorkerFailedException">A worker threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(A3cConfig config, RunContext run)
    {
        UpdateRules.Begin(config, run);
        EnvSpec envSpec = EnvRegistry.Spec(config.Env);
        ModelSpec modelSpec = Acting.ActorCriticSpec(config);

        // Global shared parameter vector theta and the shared RMSProp statistics g.
        float[] theta = Acting.InitialTheta(modelSpec.Build(), config.Seed);
        RmsProp optimizer = UpdateRules.RmsProp(config, theta.Length);
        Normalization? normalization = Normalization.For(config, envSpec);
        // A resumed run continues from the checkpoint's theta, statistics and normalization; its workers start new episodes.
        if (run.Resumed is { } checkpoint) RunState.Load(checkpoint, modelSpec, theta, optimizer, Kind, _ => { }, normalization);
        var group = new WorkerGroup("a3c");
        var shared = new SharedParameters(theta, optimizer, config.Async.Update, config.Threads, group, run.Metrics);
        for (int id = 0; id < config.Threads; id++) group.Start("worker", id, worker => Worker(worker, config, modelSpec, shared, normalization, run, group));
        CheckpointData Save() => RunState.Save(modelSpec, theta, optimizer, Kind, _ => { }, normalization);
        group.Supervise(shared, run, Save);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(Save());
        if (normalization is not null) run.WriteFile("normalization.json", normalization.ToJson());
        return run.Finish(config.Threads, config.TotalEnvs);
    }

    const string Kind = "a3c";

    /// <summary>
    /// Worker <paramref name="id"/>'s loop (Algorithm S3 of Mnih et al. 2016). It copies theta every <paramref name="refreshEvery"/>
    /// segments (the paper: every one; the hybrid regime may refresh less often) and names itself <paramref name="role"/> N.
    /// </summary>
    internal static void Worker(int id, A3cConfig config, ModelSpec modelSpec, SharedParameters shared, Normalization? normalization, RunContext run,
        WorkerGroup group, int refreshEvery = 1, string role = "a3c worker")
    {
        // Thread-specific parameters theta', gradients d(theta), env, and scratch.
        VectorEnv env = config.MakeEnv(1);
        env.Reset(config.WorkerEnvSeed(id, run.Segment));
        var net = (ActorCriticNetwork)modelSpec.Build();
        var thetaLocal = new float[net.ParameterCount];
        var gradient = new float[net.ParameterCount];
        var rollout = new Rollout(config.TMax, 1, env.Spec, net.RecurrentSize);
        NormalizationTally? seen = normalization is null ? null : new NormalizationTally(normalization, 1);
        var update = new ActorCriticUpdate(net, config.TMax, 1);
        Rng[] rngs = [Acting.WorkerRng(config, id, run.Segment)];
        string who = $"{role} {id}";
        long basedOn = 0;
        long updates = 0;
        var tally = new UpdateTally();

        while (!group.StopRequested && !run.ShouldStop)
        {
            // Reset gradients d(theta) = 0 and synchronize theta' = theta (checked here, on the worker's own copy); the
            // version read first is what the gradient's age (the policy lag) is measured from.
            Array.Clear(gradient);
            if (updates % refreshEvery == 0)
            {
                basedOn = shared.Version;
                shared.Theta.CopyTo(thetaLocal, 0);
                UpdateRules.CheckParameters(thetaLocal, who, updates);
            }

            // Act with theta' until terminal s_t or t - t_start == t_max.
            rollout.Clear();
            bool ended;
            do
            {
                Acting.Step(net, thetaLocal, env, rollout, config.Gamma, rngs, recordLogProbabilities: false, seen);
                ended = env.Terminated[0] || env.Truncated[0];
            }
            while (!ended && rollout.Steps < config.TMax);
            long globalT = run.Metrics.AddSteps(rollout.Steps);
            if (ended)
            {
                run.Metrics.AddEpisodes(env.Episodes.Records);
                env.Episodes.Clear();
            }

            // R = 0 at a terminal, else V(s_t; theta'); accumulate gradients wrt theta' over the segment.
            updates++;
            LossTerms terms = update.AddGradient(thetaLocal, rollout, Acting.Seen(env, seen), config.Advantage.GaeLambda, config.ValueCoef, config.EntropyCoef, null, gradient);
            UpdateRules.CheckFinite(terms, who, updates);
            UpdateRules.Clip(gradient, config.MaxGradNorm, who, updates);

            // Asynchronous update of theta using d(theta).
            if (!shared.Apply(gradient, UpdateRules.LearningRate(config, globalT), basedOn, ref tally)) break;
            // The normalization statistics take in this segment's data; the next segment uses what every worker saw.
            seen?.Publish();
            tally.Add(terms);
            tally.ReportTo(run.Metrics);
        }
        tally.ReportTo(run.Metrics, force: true);
    }
}
