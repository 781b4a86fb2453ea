using Hybrid.Training.Devices;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// The hybrid regime's settings: a synchronous stream of num_envs lanes (A2C's defaults: t_max 5, one batched forward
/// pass per step) and threads asynchronous workers (A3C's: worker_t_max 20), one parameter set, one RMSProp.
/// </summary>
public sealed record HybridConfig : ActorCriticConfig
{
    /// <summary>One worker beside the synchronous stream (two threads in all); A2C's learning rate.</summary>
    public HybridConfig()
    {
        Threads = 1;
        Async = new() { Update = UpdateMode.Lock };
    }

    /// <inheritdoc/>
    public override string Algo => "hybrid";

    /// <summary>Lanes of the synchronous stream.</summary>
    public LaneSettings Lanes { get; init; } = new();

    /// <summary>The asynchronous workers' t_max.</summary>
    [Description("hybrid: the asynchronous workers' t_max (the synchronous stream uses t_max).")]
    public int WorkerTMax { get; init; } = 20;

    /// <summary>Segments between a worker's copies of theta.</summary>
    [Description("hybrid: segments a worker runs between copies of the shared theta into its own (1 = every segment, as A3C).")]
    public int RefreshEvery { get; init; } = 1;

    /// <summary>Where the synchronous stream's lanes, network and gradient run (the workers and the optimizer stay on the CPU).</summary>
    public DeviceSettings Compute { get; init; } = new();

    /// <summary>GAE lambda for both streams.</summary>
    public ReturnSettings Advantage { get; init; } = new();

    /// <summary>How the streams' gradients reach theta.</summary>
    public AsyncSettings Async { get; init; } = new();

    /// <inheritdoc/>
    public override int TotalEnvs => Lanes.NumEnvs + Threads;

    /// <summary>The synchronous stream, on the calling thread, next to the <see cref="AlgoConfig.Threads"/> workers.</summary>
    public override int HelperThreads => 1;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Lanes.Validate();
        Require(WorkerTMax >= 1, "worker_t_max", WorkerTMax, ">= 1");
        Require(RefreshEvery >= 1, "refresh_every", RefreshEvery, ">= 1");
        Advantage.Validate();
        Compute.Validate();
        Require(Async.Update != UpdateMode.Server, "update", Async.Update, "hogwild or lock: a server's applier would apply both streams' gradients and hide whose lag is whose");
        RefuseNormalization();
        CheckSize();
    }

    /// <inheritdoc/>
    private protected override long SamplesHeld => (long)Lanes.NumEnvs * TMax + (long)Threads * WorkerTMax;

    /// <summary>The synchronous stream's settings: an A2C config with every setting the two share, in one lane group.</summary>
    internal A2cConfig SyncStream => ConfigBinder.Project(this, new A2cConfig()) with { Threads = 1 };

    /// <summary>The workers' settings: an A3C config with every setting the two share, and the workers' t_max.</summary>
    internal A3cConfig Workers => ConfigBinder.Project(this, new A3cConfig()) with { TMax = WorkerTMax };
}

/// <summary>
/// The hybrid regime: one parameter set trained at once by a synchronous stream (A2C's N lanes acting with one batched
/// forward pass per step, driven by the calling thread, on the CPU or a device) and K asynchronous workers (A3C's, each with its own env and theta'
/// copy). Both send gradients, not segments: each computes its gradient where its samples are (the workers' backward
/// passes run in parallel on their own cores), and one RMSProp applies them to theta as they arrive, one at a time
/// under a lock (or Hogwild). Telemetry: each stream's env steps per second and policy lag, and the synchronous
/// stream's share of the updates.
/// </summary>
public static class HybridRegime
{
    const string Kind = "hybrid";

    /// <summary>Trains with the synchronous stream on the CPU.</summary>
    /// <exception cref="WorkerFailedException">A worker or the synchronous stream threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(HybridConfig config, RunContext run) => Train(config, run, CpuDevice.Instance);

    /// <summary>
    /// Trains until the budget is spent or the run is solved (with stop_when_solved), the synchronous stream on
    /// <paramref name="device"/>: each update it takes theta from the host, acts, and hands its gradient back.
    /// </summary>
    /// <exception cref="WorkerFailedException">A worker or the synchronous stream threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(HybridConfig config, RunContext run, IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        UpdateRules.Begin(config, run);
        ModelSpec modelSpec = Acting.ActorCriticSpec(config);
        float[] theta = Acting.InitialTheta(modelSpec.Build(), config.Seed);
        RmsProp optimizer = UpdateRules.RmsProp(config, theta.Length);
        A2cConfig syncConfig = config.SyncStream;
        using ISyncStream stream = device.OpenA2c(syncConfig);
        // A checkpoint is the stream's (its lanes and generators, in its own section) with the shared theta and statistics.
        if (run.Resumed is { } checkpoint)
        {
            stream.Load(checkpoint);
            RunState.LoadParameters(checkpoint, modelSpec, theta, optimizer);
        }
        CheckpointData Save() => stream.Save(run) with
        {
            Parameters = (float[])theta.Clone(),
            OptimizerState = [.. optimizer.State.Select(s => new CheckpointArray(s.Name, (float[])s.Values.Clone()))],
        };

        var group = new WorkerGroup("hybrid");
        var shared = new SharedParameters(theta, optimizer, config.Async.Update, config.Threads, group, run.Metrics);
        var telemetry = new Telemetry(run);
        run.Metrics.Telemetry = telemetry;
        A3cConfig workers = config.Workers;
        for (int id = 0; id < config.Threads; id++)
            group.Start("worker", id, worker => A3c.Worker(worker, workers, modelSpec, shared, null, run, group, config.RefreshEvery, "hybrid worker"));

        // The synchronous stream: t_max steps of its N lanes on theta as it stands, one gradient, applied like a worker's.
        var gradient = new float[theta.Length];
        var tally = new UpdateTally();
        long updates = 0;
        try
        {
            while (!run.ShouldStop && !group.StopRequested)
            {
                long basedOn = shared.Version;
                stream.SetParameters(theta);
                stream.Collect(run);
                updates++;
                LossTerms terms = stream.Gradient(gradient, run);
                UpdateRules.Clip(gradient, config.MaxGradNorm, "hybrid sync stream", updates);
                long lagBefore = tally.LagSum;
                shared.Apply(gradient, UpdateRules.LearningRate(config, run.Metrics.EnvSteps), basedOn, ref tally);
                telemetry.AddSync(syncConfig.BatchSize, tally.LagSum - lagBefore);
                tally.Add(terms);
                // Reported at once, as the telemetry counts it: the workers' figures are the run's totals less the
                // stream's, and a stream update the totals did not hold yet made an interval's async lag negative.
                tally.ReportTo(run.Metrics, force: true);
                run.Metrics.Flush();
                if (run.CheckpointDue) run.Checkpoints.Save(Save());
            }
        }
        catch (Exception e)
        {
            group.Fail("hybrid sync stream", e);
        }
        tally.ReportTo(run.Metrics, force: true);
        group.Stop();
        shared.Complete();
        group.Join();
        UpdateRules.CheckParameters(theta, "hybrid", run.Metrics.Updates);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(Save());
        return run.Finish(config.Threads + 1, config.TotalEnvs, device.Info);
    }

    /// <summary>Per-stream figures: the synchronous stream's counts here, the workers' the run's totals less them.</summary>
    sealed class Telemetry(RunContext run) : SnapshotTelemetry<Telemetry.Snapshot>
    {
        readonly object _gate = new();
        long _syncSteps, _syncUpdates, _syncLagSum;

        internal readonly record struct Snapshot(long SyncSteps, long SyncUpdates, long SyncLagSum, long Steps, long Updates, double LagSum, long LagCount);

        public void AddSync(long steps, long lag)
        {
            lock (_gate)
            {
                _syncSteps += steps;
                _syncUpdates++;
                _syncLagSum += lag;
            }
        }

        protected override Snapshot Now()
        {
            (double lagSum, long lagCount) = run.Metrics.RunLag;
            lock (_gate) return new Snapshot(_syncSteps, _syncUpdates, _syncLagSum, run.Metrics.EnvSteps, run.Metrics.Updates, lagSum, lagCount);
        }

        protected override RuntimeTelemetry Between(Snapshot a, Snapshot b, double seconds)
        {
            long syncSteps = b.SyncSteps - a.SyncSteps, syncUpdates = b.SyncUpdates - a.SyncUpdates, updates = b.Updates - a.Updates;
            long asyncUpdates = updates - syncUpdates, asyncLagCount = b.LagCount - a.LagCount - syncUpdates;
            double syncLag = b.SyncLagSum - a.SyncLagSum;
            return RuntimeTelemetry.None with
            {
                UpdatesPerSecond = seconds > 0 ? updates / seconds : double.NaN,
                SyncStepsPerSecond = seconds > 0 ? syncSteps / seconds : double.NaN,
                AsyncStepsPerSecond = seconds > 0 ? (b.Steps - a.Steps - syncSteps) / seconds : double.NaN,
                SyncUpdateShare = updates > 0 ? (double)syncUpdates / updates : double.NaN,
                SyncPolicyLag = syncUpdates > 0 ? syncLag / syncUpdates : double.NaN,
                AsyncPolicyLag = asyncUpdates > 0 && asyncLagCount > 0 ? (b.LagSum - a.LagSum - syncLag) / asyncLagCount : double.NaN,
            };
        }
    }
}
