using System.Globalization;

namespace Hybrid.Training.Metrics;

/// <summary>One row of metrics.csv (values not measured by the algorithm are NaN and written empty).</summary>
public readonly record struct MetricsRow(
    long EnvSteps, long Updates, long Episodes, double WallSeconds, double StepsPerSecond,
    double EpisodicReturn, double MeanReturn100, double EvalReturn100,
    double PolicyLoss, double ValueLoss, double Entropy, double PolicyLag, double PolicyLagMax)
{
    /// <summary>The runtime's own telemetry (GA3C's predictor, the hybrid regime's streams), where the algorithm has some.</summary>
    public RuntimeTelemetry? Runtime { get; init; }

    /// <summary>The CSV header, in the order of <see cref="ToCsv"/>.</summary>
    public static readonly string CsvHeader =
        EnvStepsColumn + ",updates,episodes," + WallSecondsColumn + ",steps_per_second,episodic_return," + MeanReturnColumn + "," + EvalReturnColumn +
        ",policy_loss,value_loss,entropy,policy_lag,policy_lag_max," + RuntimeTelemetry.CsvHeader;

    /// <summary>metrics.csv's columns that readers look up by name (the curves in reports and figures).</summary>
    public const string EnvStepsColumn = "env_steps", WallSecondsColumn = "wall_seconds", MeanReturnColumn = "mean_return_100", EvalReturnColumn = "eval_return_100";

    /// <summary>The mean-100 column a solve criterion counts: greedy evaluation's for greedy-eval-100, training's otherwise.</summary>
    public static string ReturnColumn(string solveCriterion) => solveCriterion == "greedy-eval-100" ? EvalReturnColumn : MeanReturnColumn;

    /// <summary>The row as CSV (invariant culture, NaN as empty).</summary>
    public string ToCsv() => string.Join(',',
        EnvSteps.ToString(CultureInfo.InvariantCulture), Updates.ToString(CultureInfo.InvariantCulture),
        Episodes.ToString(CultureInfo.InvariantCulture), F(WallSeconds), F(StepsPerSecond), F(EpisodicReturn),
        F(MeanReturn100), F(EvalReturn100), F(PolicyLoss), F(ValueLoss), F(Entropy), F(PolicyLag), F(PolicyLagMax),
        string.Join(',', (Runtime ?? RuntimeTelemetry.None).Values().Select(v => F(v.Value))));

    internal static string F(double v) => double.IsNaN(v) ? "" : v.ToString("G7", CultureInfo.InvariantCulture);

    /// <summary>The TensorBoard tags of the run folder (docs/architecture.md, "Run folder") with this row's values (NaN ones are not written).</summary>
    public (string, double)[] Scalars() =>
    [
        ("charts/episodic_return", EpisodicReturn), ("charts/mean_return_100", MeanReturn100), ("charts/eval_return_100", EvalReturn100),
        ("charts/sps", StepsPerSecond), ("losses/policy", PolicyLoss), ("losses/value", ValueLoss), ("losses/entropy", Entropy),
        ("runtime/policy_lag", PolicyLag), ("runtime/policy_lag_max", PolicyLagMax),
        .. (Runtime ?? RuntimeTelemetry.None).Values().Select(v => ("runtime/" + v.Name, v.Value)),
        .. (Runtime?.ActorProcesses ?? []).Select(a => ($"actor_processes/{a.Process}/steps_per_second", a.StepsPerSecond)),
    ];
}

/// <summary>
/// What a runtime measures of itself over an interval or a run: GA3C's updates and predictions per second, its
/// predictor's batch sizes (mean, median, 90th percentile, largest) and the actors' wait for a prediction; the hybrid
/// regime's env steps per second and policy lag per stream and the synchronous stream's share of the updates; a
/// cluster's actors and traffic; concurrent DQN's wait for the lock and updates per thread; Ape-X's replay (size,
/// insert and sample rates, their ratio, its priorities) and its actors' parameter age; Dyna-Q's simulated transitions, their
/// share of Q's updates and its world model's loss. NaN where a runtime does not measure it.
/// </summary>
public readonly record struct RuntimeTelemetry(
    double UpdatesPerSecond, double PredictionsPerSecond, double PredictBatchMean, double PredictBatchP50, double PredictBatchP90, double PredictBatchMax,
    double PredictWaitMicroseconds, double SyncStepsPerSecond, double AsyncStepsPerSecond, double SyncUpdateShare, double SyncPolicyLag, double AsyncPolicyLag)
{
    /// <summary>A cluster learner's actors that sent an unroll recently.</summary>
    public double ActorsConnected { get; init; } = double.NaN;

    /// <summary>A cluster's mean time from an actor finishing an unroll to the learner queueing it, in milliseconds.</summary>
    public double UnrollLatencyMs { get; init; } = double.NaN;

    /// <summary>Unroll payload bytes a cluster learner received per second.</summary>
    public double BytesPerSecond { get; init; } = double.NaN;

    /// <summary>Under a shared lock (concurrent DQN with update lock): the mean time a gradient waited for the lock, in microseconds.</summary>
    public double LockWaitMicroseconds { get; init; } = double.NaN;

    /// <summary>Concurrent DQN: updates applied per second, per worker thread.</summary>
    public double UpdatesPerSecondPerThread { get; init; } = double.NaN;

    /// <summary>Ape-X: transitions in the replay.</summary>
    public double ReplaySize { get; init; } = double.NaN;

    /// <summary>Ape-X: transitions the actors added to the replay per second.</summary>
    public double InsertsPerSecond { get; init; } = double.NaN;

    /// <summary>Ape-X: transitions the learner drew from the replay per second.</summary>
    public double SamplesPerSecond { get; init; } = double.NaN;

    /// <summary>Ape-X: transitions replayed per transition generated.</summary>
    public double ReplayRatio { get; init; } = double.NaN;

    /// <summary>Ape-X: learner updates between an actor's copies of the parameters, on average (how stale its policy grows).</summary>
    public double ParameterAge { get; init; } = double.NaN;

    /// <summary>Ape-X: the mean of the replay's priorities p^alpha (the tree's total over the transitions held).</summary>
    public double PriorityMean { get; init; } = double.NaN;

    /// <summary>Ape-X: the largest priority |TD error| + epsilon seen, which new transitions of an uncomputed priority would get.</summary>
    public double PriorityMax { get; init; } = double.NaN;

    /// <summary>Dyna-Q: simulated transitions (the world model's predictions) its planning threads learned from per second.</summary>
    public double SimulatedPerSecond { get; init; } = double.NaN;

    /// <summary>Dyna-Q: the share of Q's updates made on simulated transitions.</summary>
    public double SimulatedShare { get; init; } = double.NaN;

    /// <summary>Dyna-Q: the world model's mean loss on real transitions.</summary>
    public double ModelLoss { get; init; } = double.NaN;

    /// <summary>A cluster learner's actor processes, each with its env steps and rate (null where there are none).</summary>
    public IReadOnlyList<ActorProcessRate>? ActorProcesses { get; init; }

    /// <summary>Nothing measured.</summary>
    public static RuntimeTelemetry None { get; } = new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN,
        double.NaN, double.NaN, double.NaN, double.NaN);

    /// <summary>The column names (metrics.csv; TensorBoard tags under runtime/; summary.json keys under "runtime"), in order.</summary>
    public static readonly string[] Names =
    [
        "updates_per_second", "predictions_per_second", "predict_batch_mean", "predict_batch_p50", "predict_batch_p90", "predict_batch_max",
        "predict_wait_us", "sync_steps_per_second", "async_steps_per_second", "sync_update_share", "sync_policy_lag", "async_policy_lag",
        "actors_connected", "unroll_latency_ms", "bytes_per_second", "lock_wait_us", "updates_per_second_per_thread",
        "replay_size", "inserts_per_second", "samples_per_second", "replay_ratio", "parameter_age", "priority_mean", "priority_max",
        "simulated_per_second", "simulated_share", "model_loss",
    ];

    /// <summary>The header part for metrics.csv: the names, in order.</summary>
    public static readonly string CsvHeader = string.Join(',', Names);

    /// <summary>Each value with its name.</summary>
    public IEnumerable<(string Name, double Value)> Values()
    {
        double[] values = [UpdatesPerSecond, PredictionsPerSecond, PredictBatchMean, PredictBatchP50, PredictBatchP90, PredictBatchMax,
            PredictWaitMicroseconds, SyncStepsPerSecond, AsyncStepsPerSecond, SyncUpdateShare, SyncPolicyLag, AsyncPolicyLag, ActorsConnected, UnrollLatencyMs,
            BytesPerSecond, LockWaitMicroseconds, UpdatesPerSecondPerThread, ReplaySize, InsertsPerSecond, SamplesPerSecond, ReplayRatio, ParameterAge, PriorityMean,
            PriorityMax, SimulatedPerSecond, SimulatedShare, ModelLoss];
        for (int i = 0; i < values.Length; i++) yield return (Names[i], values[i]);
    }
}

/// <summary>
/// One actor process of a cluster over an interval or a run: its name (host:pid), its actor threads, the env steps it
/// sent and their rate over the time it was connected (for an interval: over the interval).
/// </summary>
public readonly record struct ActorProcessRate(string Process, int Threads, long EnvSteps, double StepsPerSecond);

/// <summary>A runtime that measures itself: the run asks it at every metrics row and for the summary.</summary>
public interface ITelemetrySource
{
    /// <summary>The figures since the last call, over <paramref name="seconds"/> of wall time.</summary>
    RuntimeTelemetry Interval(double seconds);

    /// <summary>The figures of the whole run, over <paramref name="seconds"/>.</summary>
    RuntimeTelemetry Total(double seconds);
}

/// <summary>
/// A telemetry source that reads cumulative counters (<typeparamref name="T"/>) and reports the figures between two
/// readings: since the last row for an interval, since the start for the run.
/// </summary>
public abstract class SnapshotTelemetry<T> : ITelemetrySource where T : struct
{
    T _last;

    /// <summary>The counters now.</summary>
    protected abstract T Now();

    /// <summary>The figures between readings <paramref name="a"/> and <paramref name="b"/>, <paramref name="seconds"/> apart.</summary>
    protected abstract RuntimeTelemetry Between(T a, T b, double seconds);

    /// <inheritdoc/>
    public RuntimeTelemetry Interval(double seconds)
    {
        T now = Now();
        RuntimeTelemetry t = Between(_last, now, seconds);
        _last = now;
        return t;
    }

    /// <inheritdoc/>
    public RuntimeTelemetry Total(double seconds) => Between(default, Now(), seconds);
}

/// <summary>Where a run's metrics go.</summary>
public interface IMetricsSink
{
    /// <summary>Records one log interval.</summary>
    void Write(in MetricsRow row);

    /// <summary>Records the outcome.</summary>
    void Complete(RunSummary summary);

    /// <summary>Keeps a file of the run's state beside its metrics (e.g. normalization.json); sinks without a folder ignore it.</summary>
    void WriteFile(string name, string text) { }

    /// <summary>Whether the sink keeps checkpoints (a run folder does; sinks that do not are never handed one).</summary>
    bool KeepsCheckpoints => false;

    /// <summary>Keeps <paramref name="checkpoint"/>, replacing the previous one only once it is complete.</summary>
    void WriteCheckpoint(Hybrid.Nn.CheckpointData checkpoint) { }
}
