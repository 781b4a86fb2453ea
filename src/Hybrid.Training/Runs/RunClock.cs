using System.Diagnostics;
using Hybrid.Training.Metrics;

namespace Hybrid.Training.Runs;

/// <summary>
/// A run's wall and CPU clocks: both continue from the checkpoint a resumed run starts from, and both keep apart the
/// time greedy evaluation took, which the time to the threshold leaves out.
/// </summary>
public sealed class RunClock
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly double _cpuStart = LoadSampler.ProcessCpuSeconds();
    readonly object _gate = new();
    double _secondsBefore, _cpuBefore, _evalSeconds, _evalCpuSeconds;

    /// <summary>When the run started (ISO 8601, local time with offset): this process's start, or the first part's for a resumed run.</summary>
    public string Started { get; private set; } = Timestamp(DateTimeOffset.Now);

    /// <summary>Wall-clock seconds of the run: since this clock started, plus the seconds before the checkpoint it resumed from.</summary>
    public double Seconds => _secondsBefore + _clock.Elapsed.TotalSeconds;

    /// <summary>The seconds the run had run before this process resumed it (0 for a new run).</summary>
    public double SecondsBefore => _secondsBefore;

    /// <summary>
    /// This process's CPU seconds (all its threads) since the run started, plus those before the checkpoint it resumed
    /// from. One run at a time per process: a second run in the same process at once would be counted in both.
    /// </summary>
    public double CpuSeconds => _cpuBefore + LoadSampler.ProcessCpuSeconds() - _cpuStart;

    /// <summary>Wall seconds spent in greedy evaluation so far.</summary>
    public double EvalSeconds
    {
        get { lock (_gate) return _evalSeconds; }
    }

    /// <summary>Wall seconds spent learning: <see cref="Seconds"/> less greedy evaluation's.</summary>
    public double LearningSeconds
    {
        get { lock (_gate) return Seconds - _evalSeconds; }
    }

    /// <summary>CPU seconds spent learning: <see cref="CpuSeconds"/> less greedy evaluation's.</summary>
    public double LearningCpuSeconds
    {
        get { lock (_gate) return CpuSeconds - _evalCpuSeconds; }
    }

    /// <summary>
    /// Counts a greedy evaluation's wall and CPU seconds (thread-safe): the run's time to the threshold leaves them out
    /// (the time it spent learning, not checking), while its wall_seconds and budget include them.
    /// </summary>
    public void AddEvaluationTime(double seconds, double cpuSeconds)
    {
        lock (_gate)
        {
            _evalSeconds += seconds;
            _evalCpuSeconds += Math.Max(0, cpuSeconds);
        }
    }

    /// <summary>Puts the clock's part of the run's saved progress into <paramref name="progress"/>.</summary>
    internal void Capture(RunProgress progress)
    {
        lock (_gate)
        {
            progress.Seconds = Seconds;
            progress.CpuSeconds = CpuSeconds;
            progress.EvalSeconds = _evalSeconds;
            progress.EvalCpuSeconds = _evalCpuSeconds;
        }
        progress.Started = Started;
    }

    /// <summary>Continues from saved progress: the seconds before it, its CPU time and evaluation time, its start.</summary>
    internal void Restore(RunProgress progress)
    {
        lock (_gate)
        {
            _secondsBefore = progress.Seconds;
            _cpuBefore = progress.CpuSeconds;
            _evalSeconds = progress.EvalSeconds;
            _evalCpuSeconds = progress.EvalCpuSeconds;
        }
        Started = progress.Started;
    }

    /// <summary>A time as summary.json writes it.</summary>
    public static string Timestamp(DateTimeOffset time) => time.ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture);
}
