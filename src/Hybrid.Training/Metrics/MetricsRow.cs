using System.Globalization;

namespace Hybrid.Training.Metrics;

/// <summary>One row of metrics.csv (values not measured by the algorithm are NaN and written empty).</summary>
public readonly record struct MetricsRow(
    long EnvSteps, long Updates, long Episodes, double WallSeconds, double StepsPerSecond,
    double EpisodicReturn, double MeanReturn100, double EvalReturn100,
    double PolicyLoss, double ValueLoss, double Entropy, double PolicyLag, double PolicyLagMax)
{
    /// <summary>The CSV header, in the order of <see cref="ToCsv"/>.</summary>
    public const string CsvHeader =
        "env_steps,updates,episodes,wall_seconds,steps_per_second,episodic_return,mean_return_100,eval_return_100,policy_loss,value_loss,entropy,policy_lag,policy_lag_max";

    /// <summary>The row as CSV (invariant culture, NaN as empty).</summary>
    public string ToCsv() => string.Join(',',
        EnvSteps.ToString(CultureInfo.InvariantCulture), Updates.ToString(CultureInfo.InvariantCulture),
        Episodes.ToString(CultureInfo.InvariantCulture), F(WallSeconds), F(StepsPerSecond), F(EpisodicReturn),
        F(MeanReturn100), F(EvalReturn100), F(PolicyLoss), F(ValueLoss), F(Entropy), F(PolicyLag), F(PolicyLagMax));

    static string F(double v) => double.IsNaN(v) ? "" : v.ToString("G7", CultureInfo.InvariantCulture);

    /// <summary>The TensorBoard tags of DESIGN.md with this row's values.</summary>
    public (string, double)[] Scalars() =>
    [
        ("charts/episodic_return", EpisodicReturn), ("charts/mean_return_100", MeanReturn100), ("charts/eval_return_100", EvalReturn100),
        ("charts/sps", StepsPerSecond), ("losses/policy", PolicyLoss), ("losses/value", ValueLoss), ("losses/entropy", Entropy),
        ("runtime/policy_lag", PolicyLag), ("runtime/policy_lag_max", PolicyLagMax),
    ];
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
