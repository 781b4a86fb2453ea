using Hybrid.Training.Config;
using Hybrid.Training.Metrics;

namespace Hybrid.Training.Runs;

/// <summary>
/// When a run ends: its env-step budget, its wall-clock budget (max_wall_seconds), the solve criterion (with
/// stop_when_solved), or a request from outside (a signal). It records when the run was solved, in env steps, wall
/// seconds and CPU seconds (greedy evaluation's time left out), and what summary.json's status will say.
/// </summary>
public sealed class StopPolicy
{
    /// <summary>Solved = the mean of the last <see cref="Window"/> episodes reaches the threshold (docs/architecture.md, "Solved").</summary>
    public const int Window = 100;

    readonly AlgoConfig _config;
    readonly RunClock _clock;
    volatile bool _solved;
    volatile string? _requested;
    long? _solvedAtSteps;
    double? _solvedAtSeconds, _solvedAtCpuSeconds;

    /// <summary>The policy of a run of <paramref name="config"/>, timed by <paramref name="clock"/>.</summary>
    public StopPolicy(AlgoConfig config, RunClock clock)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(clock);
        (_config, _clock) = (config, clock);
        Threshold = config.Threshold;
        EvalCriterion = config.SolveCriterion == "greedy-eval-100";
    }

    /// <summary>The solve threshold: the config's, or the env's.</summary>
    public double Threshold { get; }

    /// <summary>Whether greedy evaluation episodes decide "solved" (value-based methods) rather than training episodes.</summary>
    public bool EvalCriterion { get; }

    /// <summary>Whether the solve criterion has been met.</summary>
    public bool Solved => _solved;

    /// <summary>Env steps when the run was solved (null if not yet).</summary>
    public long? SolvedAtSteps => _solvedAtSteps;

    /// <summary>Wall seconds when solved, evaluation's left out (null if not yet).</summary>
    public double? SolvedAtSeconds => _solvedAtSeconds;

    /// <summary>CPU seconds when solved, evaluation's left out (null if not yet).</summary>
    public double? SolvedAtCpuSeconds => _solvedAtCpuSeconds;

    /// <summary>
    /// Asks the run to stop after the update in progress (thread-safe; a signal handler calls it): the algorithm ends as
    /// at its budget, and the summary's status is <paramref name="status"/>.
    /// </summary>
    public void Request(string status = RunSummary.Interrupted) => _requested = status;

    /// <summary>Whether <see cref="Request"/> was called.</summary>
    public bool Requested => _requested is not null;

    /// <summary>summary.json's status for a run that ended now: the requested one, or finished.</summary>
    public string Status => _requested ?? RunSummary.Finished;

    /// <summary>
    /// True once the run has taken <paramref name="envSteps"/> of its budget (or max_wall_seconds have passed), is
    /// solved with stop_when_solved, or was asked to stop.
    /// </summary>
    public bool ShouldStopAt(long envSteps) =>
        _requested is not null || (_solved && _config.StopWhenSolved) || envSteps >= _config.MaxEnvSteps
        || (_config.MaxWallSeconds > 0 && _clock.Seconds >= _config.MaxWallSeconds);

    /// <summary>Judges the criterion's window of returns at <paramref name="envSteps"/>: the first time it holds 100 episodes averaging the threshold, the run is solved.</summary>
    internal void Judge(ReturnWindow window, long envSteps)
    {
        if (_solved || window.Count < Window || window.Mean < Threshold) return;
        _solvedAtSteps = envSteps;
        _solvedAtSeconds = _clock.LearningSeconds;
        _solvedAtCpuSeconds = _clock.LearningCpuSeconds;
        _solved = true;
    }

    /// <summary>Puts the solve into <paramref name="progress"/>.</summary>
    internal void Capture(RunProgress progress)
    {
        progress.SolvedAtSteps = _solvedAtSteps ?? -1;
        progress.SolvedAtSeconds = _solvedAtSeconds ?? double.NaN;
        progress.SolvedAtCpuSeconds = _solvedAtCpuSeconds ?? double.NaN;
    }

    /// <summary>Continues from saved progress: a run solved before it was saved stays solved (and stops, with stop_when_solved).</summary>
    internal void Restore(RunProgress progress)
    {
        if (progress.SolvedAtSteps < 0) return;
        (_solvedAtSteps, _solvedAtSeconds) = (progress.SolvedAtSteps, progress.SolvedAtSeconds);
        if (double.IsFinite(progress.SolvedAtCpuSeconds)) _solvedAtCpuSeconds = progress.SolvedAtCpuSeconds;
        _solved = true;
    }
}
