using Hybrid.Training.Runs;
namespace Hybrid.Training.Algorithms;

/// <summary>
/// GA3C settings (Babaeizadeh et al. 2017). The paper's predictor batches up to the requests waiting; here it also
/// waits up to max_wait_us for stragglers. Learning rate, t_max and batch are this project's for CartPole on a few
/// cores (those of <see cref="ImpalaConfig"/>, the other lagged learner).
/// </summary>
public sealed record Ga3cConfig : ActorCriticConfig
{
    /// <summary>One actor thread per core; IMPALA's budget, learning rate and unroll.</summary>
    public Ga3cConfig()
    {
        Threads = Math.Max(1, Environment.ProcessorCount);
        MaxEnvSteps = 1_000_000;
        LearningRate = 2e-3f;
        TMax = 20;
    }

    /// <inheritdoc/>
    public override string Algo => "ga3c";

    /// <summary>Most requests in one batched forward pass.</summary>
    [Description("ga3c: most prediction requests the predictor batches into one forward pass (at most one per actor thread).")]
    public int MaxBatch { get; init; } = 32;

    /// <summary>Microseconds the predictor waits for more requests after taking the first.</summary>
    [Description("ga3c: microseconds the predictor waits for more requests after it takes the first, before it runs the batch.")]
    public double MaxWaitUs { get; init; } = 100;

    /// <summary>Segments per learner update.</summary>
    [Description("ga3c: t_max segments the learner batches into one update.")]
    public int Segments { get; init; } = 2;

    /// <summary>Where the predictor's batched forward pass runs.</summary>
    public DeviceSettings Compute { get; init; } = new();

    /// <summary>V-trace on the segments.</summary>
    [Description("ga3c: correct the segments for their policy lag with V-trace (rho_bar = c_bar = 1); false treats them as on-policy, as the GA3C paper does.")]
    public bool Vtrace { get; init; } = true;

    /// <inheritdoc/>
    public override bool DiscreteOnly => true;

    /// <inheritdoc/>
    public override int TotalEnvs => Threads;

    /// <summary>The predictor and the learner (the calling thread), next to the actors.</summary>
    public override int HelperThreads => 2;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(MaxBatch >= 1, "max_batch", MaxBatch, ">= 1");
        Require(MaxWaitUs is >= 0 and <= 1_000_000, "max_wait_us", MaxWaitUs, "in [0, 1000000]");
        Require(Segments >= 1, "segments", Segments, ">= 1");
        Compute.Validate();
        RefuseNormalization();
        long perUpdate = (long)Segments * TMax;
        Require(perUpdate <= MaxEnvSteps, "segments", Segments,
            $"at most {Math.Max(1, MaxEnvSteps / TMax)}: {Segments} segments of {TMax} steps are {perUpdate:N0} env steps per update, more than max_env_steps {MaxEnvSteps:N0}, so the run would make no update");
        CheckSize();
    }

    /// <inheritdoc/>
    private protected override long SamplesHeld => ((long)Threads * 2 + Segments) * TMax + MaxBatch;
}

/// <summary>
/// GA3C (Babaeizadeh et al. 2017, "Reinforcement Learning through Asynchronous Advantage Actor-Critic on a GPU"): K
/// actor threads, each stepping its own env, share one batched forward pass through a predictor (<see cref="BatchedPredictor"/>)
/// instead of holding a parameter copy each; they hand t_max segments, with the behaviour log-probabilities and the
/// oldest parameter version that acted in them, to the lagged learner IMPALA uses (batches of segments, V-trace by
/// default). The predictor picks up the learner's parameters after every update. Telemetry: updates and predictions
/// per second, the predictor's batch sizes, the actors' wait for a prediction, and the policy lag.
/// </summary>
public static class Ga3c
{
    /// <summary>Trains with the predictor on the CPU.</summary>
    /// <exception cref="WorkerFailedException">An actor, the predictor or the learner threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(Ga3cConfig config, RunContext run) => Train(config, run, Devices.CpuDevice.Instance);

    /// <summary>
    /// Trains until the budget is spent or the run is solved (with stop_when_solved), the predictor's batched forward
    /// pass on <paramref name="device"/> (the actors' envs and the learner stay on the CPU).
    /// </summary>
    /// <exception cref="WorkerFailedException">An actor, the predictor or the learner threw; the run was stopped. The inner exception is the original.</exception>
    public static RunSummary Train(Ga3cConfig config, RunContext run, Devices.IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        // The learner's gradient stays on the CPU: the device, if any, runs the predictor.
        float clip = config.Vtrace ? 1f : 0f;
        using var learner = new LaggedLearner(config, run, "ga3c", "ga3c learner",
            new Devices.LearnerShape(config.TMax, 1, config.Segments, config.ValueCoef, config.EntropyCoef, clip, clip), config.Threads, Devices.CpuDevice.Instance);
        ModelSpec modelSpec = learner.Parameters.Spec;
        using Devices.IBatchPolicy policy = device.OpenPolicy(modelSpec, Math.Min(config.MaxBatch, config.Threads));
        var predictor = new BatchedPredictor(new PolicyModel(policy, learner.Published, modelSpec), config.Threads, config.MaxBatch, config.MaxWaitUs);
        run.Metrics.Telemetry = new Telemetry(predictor, run);
        var group = new WorkerGroup("ga3c");
        group.Start("predictor", 0, _ => predictor.Run(() => group.StopRequested || run.ShouldStop));
        for (int id = 0; id < config.Threads; id++)
            group.Start("actor", id, actor => UnrollActor.Run(actor, config, 1, run.Segment,
                new PredictorPolicy(predictor, actor, modelSpec.Actions, config.Gamma), new QueueSink(learner.Queues, group, run)));

        // The learner publishes every update; the predictor takes the newest parameters at its next batch.
        learner.Learn(group, version => learner.Published.Publish(learner.Parameters.Theta, version));
        group.Stop();
        predictor.Stop();
        group.Join();
        return learner.Finish(config.Threads, config.TotalEnvs, device.Info);
    }

    /// <summary>An actor's behaviour policy: one request to the predictor per step, for the policy's logits and the value of its one lane.</summary>
    sealed class PredictorPolicy(BatchedPredictor predictor, int id, int actions, float gamma) : IBehaviourPolicy
    {
        public void Refresh() { }

        public bool Act(VectorEnv env, Rollout rollout, ReadOnlySpan<Rng> rngs, out long version)
        {
            if (!predictor.Predict(id, env.Observations, out ReadOnlySpan<float> output, out version)) return false;
            Acting.StepWith(env.Observations, output[..actions], output.Slice(actions, 1), actions, default, env, rollout, gamma, rngs,
                recordLogProbabilities: true);
            return true;
        }
    }

    /// <summary>The device's policy as the predictor runs it (each output row the logits, then the value), loaded with the learner's newest theta.</summary>
    sealed class PolicyModel(Devices.IBatchPolicy policy, ParameterBroadcast published, ModelSpec spec) : IBatchModel
    {
        readonly float[] _theta = new float[spec.Build().ParameterCount];
        long _version = -1;

        public int InputSize { get; } = spec.ObservationShape.Aggregate(1, (a, b) => a * b);
        public int OutputSize { get; } = spec.Actions + 1;

        public long Predict(ReadOnlySpan<float> inputs, int rows, Span<float> outputs)
        {
            long version = published.CopyIfNewer(_theta, _version);
            if (version != _version) policy.SetParameters(_theta);
            _version = version;
            policy.Predict(inputs, rows, outputs);
            return _version;
        }
    }

    /// <summary>GA3C's telemetry: the learner's updates per second and the predictor's figures.</summary>
    sealed class Telemetry(BatchedPredictor predictor, RunContext run) : ITelemetrySource
    {
        long _updates;

        public RuntimeTelemetry Interval(double seconds)
        {
            long updates = run.Metrics.Updates;
            RuntimeTelemetry t = Of(predictor.TakeInterval(), updates - _updates, seconds);
            _updates = updates;
            return t;
        }

        public RuntimeTelemetry Total(double seconds) => Of(predictor.Total(), run.Metrics.Updates, seconds);

        static RuntimeTelemetry Of(PredictorStats p, long updates, double seconds) => RuntimeTelemetry.None with
        {
            UpdatesPerSecond = seconds > 0 ? updates / seconds : double.NaN,
            PredictionsPerSecond = seconds > 0 ? p.Predictions / seconds : double.NaN,
            PredictBatchMean = p.MeanBatch,
            PredictBatchP50 = p.Batches > 0 ? p.P50Batch : double.NaN,
            PredictBatchP90 = p.Batches > 0 ? p.P90Batch : double.NaN,
            PredictBatchMax = p.Batches > 0 ? p.MaxBatch : double.NaN,
            PredictWaitMicroseconds = p.MeanWaitMicroseconds,
        };
    }
}
