using Hybrid.Training.Parallel;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Greedy evaluation every I_eval global steps (the value-based methods' solve criterion), run by the thread whose
/// update crosses the point, so that a run of n workers keeps to n threads: no helper thread competes for the cores.
/// While it runs, the other workers (of the asynchronous Q methods) wait at their next update: nothing trains during
/// an evaluation, so every thread count evaluates at the same env-step points (the first update past each multiple of
/// I_eval), and the evaluation's time is left out of the run's time to the threshold (<see cref="RunClock.AddEvaluationTime"/>).
/// </summary>
internal sealed class PeriodicEvaluation
{
    readonly GreedyEvaluator _evaluator;
    readonly float[] _theta;
    readonly long _interval;
    readonly RunContext _run;
    readonly WorkerGroup? _group;
    readonly ManualResetEventSlim _idle = new(initialState: true);
    long _next;
    int _busy;

    public PeriodicEvaluation(GreedyEvaluator evaluator, float[] theta, long interval, RunContext run, WorkerGroup? group)
    {
        (_evaluator, _theta, _interval, _run, _group) = (evaluator, theta, interval, run, group);
        _next = (run.Metrics.EnvSteps / interval + 1) * interval;
    }

    /// <summary>The evaluation <paramref name="settings"/> ask for, of <paramref name="spec"/>'s network at <paramref name="theta"/>, in an env of its own.</summary>
    public static PeriodicEvaluation For(AlgoConfig config, GreedyEvalSettings settings, ModelSpec spec, float[] theta, RunContext run, WorkerGroup? group) =>
        new(new GreedyEvaluator(config.MakeEnv(settings.EvalEpisodes), spec, settings.EvalEpisodes, config.Seed, settings.EvalMaxSteps),
            theta, settings.EvalInterval, run, group);

    /// <summary>The evaluator's seeds, for a checkpoint that resumes exactly.</summary>
    public GreedyEvaluator Evaluator => _evaluator;

    /// <summary>
    /// Waits while another worker evaluates; then evaluates if the global step has reached the next evaluation point
    /// and no other worker is evaluating.
    /// </summary>
    public void MaybeRun(long globalStep)
    {
        while (!_idle.IsSet && _group?.StopRequested != true) _idle.Wait(50);
        if (globalStep < Volatile.Read(ref _next) || Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return;
        _idle.Reset();
        try
        {
            if (globalStep < _next) return;
            RunNow();
            Volatile.Write(ref _next, (_run.Metrics.EnvSteps / _interval + 1) * _interval);
        }
        finally
        {
            _idle.Set();
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Evaluates the shared parameters now (the caller makes sure no one else is), its time counted apart.</summary>
    public void RunNow()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double cpu = LoadSampler.ProcessCpuSeconds();
        ReadOnlySpan<EpisodeRecord> episodes = _evaluator.Run(_theta);
        // The time first, so that a solve these episodes bring is stamped without it.
        _run.Clock.AddEvaluationTime(clock.Elapsed.TotalSeconds, LoadSampler.ProcessCpuSeconds() - cpu);
        _run.Metrics.AddEvalEpisodes(episodes);
    }
}
