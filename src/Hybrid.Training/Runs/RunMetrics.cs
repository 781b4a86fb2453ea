using Hybrid.Training.Config;
using Hybrid.Training.Metrics;

namespace Hybrid.Training.Runs;

/// <summary>
/// A worker's updates and loss sums since it last reported them: asynchronous workers report every
/// <see cref="ReportEvery"/> updates, so that they rarely contend for the metrics' lock.
/// </summary>
public struct UpdateTally
{
    /// <summary>Updates a worker tallies before it reports them.</summary>
    public const int ReportEvery = 32;

    /// <summary>Updates tallied.</summary>
    public int Count { get; private set; }
    /// <summary>Sum of policy losses.</summary>
    public double Policy { get; private set; }
    /// <summary>Sum of value (or TD) losses.</summary>
    public double Value { get; private set; }
    /// <summary>Sum of entropies.</summary>
    public double Entropy { get; private set; }

    /// <summary>Gradients whose age was measured.</summary>
    public int LagCount { get; private set; }
    /// <summary>Sum of their ages.</summary>
    public long LagSum { get; private set; }
    /// <summary>The oldest.</summary>
    public long LagMax { get; private set; }

    /// <summary>Records one applied gradient's age in shared-parameter versions (the policy lag).</summary>
    public void AddLag(long lag)
    {
        LagCount++;
        LagSum += lag;
        if (lag > LagMax) LagMax = lag;
    }

    /// <summary>Tallies one update of an actor-critic method.</summary>
    public void Add(LossTerms terms)
    {
        Count++;
        Policy += terms.Policy;
        Value += terms.Value;
        Entropy += terms.Entropy;
    }

    /// <summary>Tallies one update of a value-based method: its loss goes in the value column, policy and entropy are NaN.</summary>
    public void Add(float tdLoss) => Add(new LossTerms(float.NaN, tdLoss, float.NaN));

    /// <summary>Reports to <paramref name="metrics"/> if <see cref="ReportEvery"/> updates are tallied, or always with <paramref name="force"/>.</summary>
    public void ReportTo(RunMetrics metrics, bool force = false)
    {
        if (Count >= ReportEvery || LagCount >= ReportEvery || force) metrics.AddUpdates(ref this);
    }
}

/// <summary>
/// A run's metrics: counts env steps, updates and episodes from any thread, keeps the return windows the solve
/// criterion reads (and hands them to the <see cref="StopPolicy"/> to judge), sums losses and policy lag over each log
/// interval, and writes a metrics row each time the step count crosses a multiple of the log interval, with a progress
/// line about once a second. Workers call the Add methods; one thread (the learner, or the main thread of an async
/// run) calls <see cref="Flush"/>.
/// </summary>
public sealed class RunMetrics
{
    readonly AlgoConfig _config;
    readonly RunClock _clock;
    readonly StopPolicy _stop;
    readonly IMetricsSink? _sink;
    readonly Action<string>? _progress;
    readonly object _gate = new();
    readonly ReturnWindow _train = new(), _eval = new();
    readonly bool _evalCriterion;
    long _envSteps, _updates, _episodes, _nextLog;
    // Sums over the current log interval, under _gate.
    double _returnSum, _policySum, _valueSum, _entropySum, _lagSum;
    long _returnCount, _lossCount, _lagCount, _lagMax = -1;
    // Policy lag over the whole run, for the summary.
    double _runLagSum;
    long _runLagCount, _runLagMax = -1;
    long _lastLogSteps;
    double _lastLogSeconds, _lastProgressSeconds;

    /// <summary>The metrics of a run of <paramref name="config"/>: rows to <paramref name="sink"/>, progress lines to <paramref name="progress"/>.</summary>
    public RunMetrics(AlgoConfig config, RunClock clock, StopPolicy stop, IMetricsSink? sink, Action<string>? progress)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(stop);
        (_config, _clock, _stop, _sink, _progress) = (config, clock, stop, sink, progress);
        _nextLog = config.LogInterval;
        _evalCriterion = stop.EvalCriterion;
    }

    /// <summary>The runtime's own telemetry, asked at every metrics row and for the summary (set by the algorithm before it starts).</summary>
    public ITelemetrySource? Telemetry { get; set; }

    /// <summary>Env steps so far, all threads.</summary>
    public long EnvSteps => Volatile.Read(ref _envSteps);

    /// <summary>Updates so far.</summary>
    public long Updates => Volatile.Read(ref _updates);

    /// <summary>Training episodes finished so far.</summary>
    public long Episodes
    {
        get { lock (_gate) return _episodes; }
    }

    /// <summary>Adds env steps (thread-safe); returns the new total, the global counter T of Mnih et al. 2016.</summary>
    public long AddSteps(long steps) => Interlocked.Add(ref _envSteps, steps);

    /// <summary>Adds training episodes (thread-safe).</summary>
    public void AddEpisodes(ReadOnlySpan<EpisodeRecord> episodes)
    {
        if (episodes.IsEmpty) return;
        lock (_gate)
        {
            foreach (EpisodeRecord e in episodes)
            {
                _train.Add(e.Return);
                _returnSum += e.Return;
                _returnCount++;
                _episodes++;
            }
            if (!_evalCriterion) _stop.Judge(_train, EnvSteps);
        }
    }

    /// <summary>Adds greedy evaluation episodes (thread-safe); they decide "solved" for value-based methods.</summary>
    public void AddEvalEpisodes(ReadOnlySpan<EpisodeRecord> episodes)
    {
        lock (_gate)
        {
            foreach (EpisodeRecord e in episodes) _eval.Add(e.Return);
            if (_evalCriterion) _stop.Judge(_eval, EnvSteps);
        }
    }

    /// <summary>Counts one update and its loss terms (thread-safe).</summary>
    public void AddUpdate(LossTerms terms)
    {
        var tally = new UpdateTally();
        tally.Add(terms);
        AddUpdates(ref tally);
    }

    /// <summary>Counts a worker's updates since its last report, and empties the tally (thread-safe).</summary>
    public void AddUpdates(ref UpdateTally tally)
    {
        if (tally.Count == 0 && tally.LagCount == 0) return;
        Interlocked.Add(ref _updates, tally.Count);
        lock (_gate)
        {
            _policySum += tally.Policy;
            _valueSum += tally.Value;
            _entropySum += tally.Entropy;
            _lossCount += tally.Count;
            if (tally.LagCount > 0) AddLagLocked(tally.LagSum, tally.LagCount, tally.LagMax);
        }
        tally = default;
    }

    /// <summary>The policy lag recorded over the run so far: the sum of the ages and how many.</summary>
    public (double Sum, long Count) RunLag
    {
        get { lock (_gate) return (_runLagSum, _runLagCount); }
    }

    /// <summary>
    /// Records the policy lag of one unroll of a lagged learner: <paramref name="meanLag"/>, the learner's version minus
    /// the versions that chose its actions averaged over its steps, and <paramref name="maxLag"/>, minus the oldest of
    /// them. Every method's policy_lag is such a mean and policy_lag_max such a maximum.
    /// </summary>
    public void AddPolicyLag(double meanLag, long maxLag)
    {
        lock (_gate) AddLagLocked(meanLag, 1, maxLag);
    }

    void AddLagLocked(double sum, long count, long max)
    {
        _lagSum += sum;
        _lagCount += count;
        _lagMax = Math.Max(_lagMax, max);
        _runLagSum += sum;
        _runLagCount += count;
        _runLagMax = Math.Max(_runLagMax, max);
    }

    /// <summary>Writes a metrics row if the step count has crossed the next log point (or <paramref name="final"/>), and a progress line about once a second.</summary>
    public void Flush(bool final = false)
    {
        long steps = EnvSteps;
        double now = _clock.Seconds;
        Load.Sample();
        if (_progress is not null && (now - _lastProgressSeconds >= 1.0 || final))
        {
            _lastProgressSeconds = now;
            double mean = _evalCriterion ? EvalMean : TrainMean;
            _progress($"{_config.Algo} {_config.Env}: {steps:N0}/{_config.MaxEnvSteps:N0} steps, {steps / Math.Max(now, 1e-9):N0} steps/s, " +
                $"mean return {(double.IsNaN(mean) ? "-" : mean.ToString("F1"))}{(_evalCriterion ? " (greedy)" : "")}, {now:F1} s");
        }
        if (steps < _nextLog && !final) return;
        if (final && steps == _lastLogSteps) return;
        MetricsRow row;
        lock (_gate)
        {
            double interval = now - _lastLogSeconds;
            row = new MetricsRow(steps, Updates, _episodes, now, interval > 0 ? (steps - _lastLogSteps) / interval : double.NaN,
                Mean(_returnSum, _returnCount), _train.Count > 0 ? _train.Mean : double.NaN, _eval.Count > 0 ? _eval.Mean : double.NaN,
                Mean(_policySum, _lossCount), Mean(_valueSum, _lossCount), Mean(_entropySum, _lossCount), Mean(_lagSum, _lagCount),
                _lagMax >= 0 ? _lagMax : double.NaN);
            _returnSum = _policySum = _valueSum = _entropySum = _lagSum = 0;
            _returnCount = _lossCount = _lagCount = 0;
            _lagMax = -1;
        }
        if (Telemetry is { } telemetry) row = row with { Runtime = telemetry.Interval(now - _lastLogSeconds) };
        _lastLogSteps = steps;
        _lastLogSeconds = now;
        _nextLog = (steps / _config.LogInterval + 1) * _config.LogInterval;
        _sink?.Write(row);
    }

    /// <summary>The machine's load while the run goes, sampled at every <see cref="Flush"/>.</summary>
    internal LoadSampler Load { get; } = new();

    static double Mean(double sum, long count) => count == 0 ? double.NaN : sum / count;

    double TrainMean
    {
        get { lock (_gate) return _train.Count > 0 ? _train.Mean : double.NaN; }
    }

    double EvalMean
    {
        get { lock (_gate) return _eval.Count > 0 ? _eval.Mean : double.NaN; }
    }

    /// <summary>The mean of the last 100 episodes the solve criterion counts (NaN if none finished).</summary>
    public double CriterionMean => _evalCriterion ? EvalMean : TrainMean;

    /// <summary>The run's mean and largest policy lag (null where nothing lagged).</summary>
    public (double? Mean, long? Max) PolicyLag
    {
        get { lock (_gate) return (_runLagCount > 0 ? _runLagSum / _runLagCount : null, _runLagMax >= 0 ? _runLagMax : null); }
    }

    /// <summary>Puts the counters, the current interval's sums and the windows into <paramref name="p"/>.</summary>
    internal void Capture(RunProgress p)
    {
        lock (_gate)
        {
            (p.EnvSteps, p.Updates, p.Episodes, p.NextLog) = (EnvSteps, Updates, _episodes, _nextLog);
            (p.ReturnCount, p.LossCount, p.LagCount, p.LagMax) = (_returnCount, _lossCount, _lagCount, _lagMax);
            (p.RunLagCount, p.RunLagMax, p.LastLogSteps) = (_runLagCount, _runLagMax, _lastLogSteps);
            (p.ReturnSum, p.PolicySum, p.ValueSum, p.EntropySum) = (_returnSum, _policySum, _valueSum, _entropySum);
            (p.LagSum, p.RunLagSum, p.LastLogSeconds) = (_lagSum, _runLagSum, _lastLogSeconds);
            p.Train.CopyFrom(_train);
            p.Eval.CopyFrom(_eval);
        }
    }

    /// <summary>Continues from saved progress: the counters, the current log interval's sums and the return windows carry on.</summary>
    internal void Restore(RunProgress p)
    {
        lock (_gate)
        {
            (_envSteps, _updates, _episodes, _nextLog) = (p.EnvSteps, p.Updates, p.Episodes, p.NextLog);
            (_returnCount, _lossCount, _lagCount, _lagMax) = (p.ReturnCount, p.LossCount, p.LagCount, p.LagMax);
            (_runLagCount, _runLagMax, _lastLogSteps) = (p.RunLagCount, p.RunLagMax, p.LastLogSteps);
            (_returnSum, _policySum, _valueSum, _entropySum) = (p.ReturnSum, p.PolicySum, p.ValueSum, p.EntropySum);
            (_lagSum, _runLagSum, _lastLogSeconds) = (p.LagSum, p.RunLagSum, p.LastLogSeconds);
            _train.CopyFrom(p.Train);
            _eval.CopyFrom(p.Eval);
            _lastProgressSeconds = p.Seconds;
        }
    }
}
