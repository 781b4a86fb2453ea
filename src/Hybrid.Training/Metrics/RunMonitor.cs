using System.Diagnostics;
using System.Reflection;
using Hybrid.Nn;
using Hybrid.Training.Config;

namespace Hybrid.Training.Metrics;

/// <summary>
/// A worker's updates and loss sums since it last reported them: asynchronous workers report every
/// <see cref="ReportEvery"/> updates, so that they rarely contend for the monitor's lock.
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

    /// <summary>Reports to <paramref name="monitor"/> if <see cref="ReportEvery"/> updates are tallied, or always with <paramref name="force"/>.</summary>
    public void ReportTo(RunMonitor monitor, bool force = false)
    {
        if (Count >= ReportEvery || LagCount >= ReportEvery || force) monitor.AddUpdates(ref this);
    }
}

/// <summary>
/// Counts a run's env steps, updates and episodes from any thread, decides when it is solved or out of budget, and
/// writes a metrics row each time the step count crosses a multiple of the log interval. Workers call the Add
/// methods; one thread (the learner, or the main thread of an async run) calls <see cref="Flush"/>.
/// </summary>
public sealed class RunMonitor
{
    const int Window = 100; // solved = mean of the last 100 episodes (docs/architecture.md, "Solved")

    readonly AlgoConfig _config;
    readonly IMetricsSink? _sink;
    readonly Action<string>? _progress;
    readonly Stopwatch _clock = Stopwatch.StartNew();
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
    long? _solvedAtSteps;
    double? _solvedAtSeconds, _solvedAtCpuSeconds;
    // The machine's load and this process's CPU time while the run goes; CPU seconds before a resume come from the checkpoint.
    readonly LoadSampler _load = new();
    readonly double _cpuStart = LoadSampler.ProcessCpuSeconds();
    double _cpuBefore;
    // Greedy evaluation's wall and CPU seconds so far: left out of the time to the threshold.
    double _evalSeconds, _evalCpuSeconds;
    volatile bool _stop, _solved;
    volatile string? _stopStatus;
    string _started = Timestamp(DateTimeOffset.Now);
    // Checkpoints: seconds the run had run before this process resumed it, which part of the run this is (0 until the
    // first resume), and when the next checkpoint is due.
    double _secondsBefore, _lastCheckpointSeconds;
    int _segment;
    long _nextCheckpointSteps;

    /// <summary>A monitor for <paramref name="config"/>; rows go to <paramref name="sink"/>, progress lines (about one a second) to <paramref name="progress"/>.</summary>
    public RunMonitor(AlgoConfig config, IMetricsSink? sink, Action<string>? progress)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _sink = sink;
        _progress = progress;
        _nextLog = config.LogInterval;
        Threshold = config.Threshold;
        _evalCriterion = config.SolveCriterion == "greedy-eval-100";
        _nextCheckpointSteps = config.CheckpointInterval > 0 ? config.CheckpointInterval : long.MaxValue;
    }

    /// <summary>
    /// A monitor that continues the run <paramref name="resume"/> was saved from: counters, the return windows, the
    /// current log interval's sums, the solve and the clock carry on from it; the algorithm restores the rest from
    /// <see cref="Resumed"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint's monitor section is missing or damaged.</exception>
    public RunMonitor(AlgoConfig config, IMetricsSink? sink, Action<string>? progress, CheckpointData? resume) : this(config, sink, progress)
    {
        if (resume is null) return;
        Resumed = resume;
        Restore(resume.Section(StateSection) ?? throw new InvalidDataException("the checkpoint has no monitor section; it was not written by train."));
    }

    /// <summary>The checkpoint this run resumes from, or null for a new run.</summary>
    public CheckpointData? Resumed { get; }

    /// <summary>Which part of the run this is: 0 until it is first resumed, one more at each resume.</summary>
    public int Segment => _segment;

    /// <summary>
    /// Throws unless <paramref name="config"/> is the config this monitor was made for: the monitor's budget, stop rule
    /// and threshold come from its own config, so training with another (a shorter warm-up budget, say) would silently
    /// run to the monitor's.
    /// </summary>
    /// <exception cref="ArgumentException">The monitor was made for another config.</exception>
    public void CheckConfig(AlgoConfig config)
    {
        if (!ReferenceEquals(config, _config))
            throw new ArgumentException($"the monitor was made for another config (its budget is {_config.MaxEnvSteps:N0} env steps, the run's {config.MaxEnvSteps:N0}); " +
                "make the monitor from the config that trains.", nameof(config));
    }

    /// <summary>The runtime's own telemetry, asked at every metrics row and for the summary (set by the algorithm before it starts).</summary>
    public ITelemetrySource? Telemetry { get; set; }

    /// <summary>The command line the run came from, for summary.json (null: not from one).</summary>
    public string? Command { get; init; }

    /// <summary>
    /// Asks the run to stop after the update in progress (thread-safe; a signal handler calls it): the algorithm ends as
    /// at its budget, and the summary's status is <paramref name="status"/>.
    /// </summary>
    public void RequestStop(string status = RunSummary.Interrupted)
    {
        _stopStatus = status;
        _stop = true;
    }

    /// <summary>Whether <see cref="RequestStop"/> was called.</summary>
    public bool StopRequested => _stopStatus is not null;

    /// <summary>
    /// Writes the summary of a run that failed with <paramref name="error"/> (status <c>failed</c>, the error's text),
    /// when the sink can still take it; returns it.
    /// </summary>
    public RunSummary Fail(Exception error, int threads, int numEnvs)
    {
        ArgumentNullException.ThrowIfNull(error);
        RunSummary summary = Summary(threads, numEnvs, null) with { Status = RunSummary.Failed, Error = $"{error.GetType().Name}: {error.Message}" };
        try
        {
            _sink?.Complete(summary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return summary;
    }

    /// <summary>The solve threshold: the config's, or the env's.</summary>
    public double Threshold { get; }

    /// <summary>Env steps so far, all threads.</summary>
    public long EnvSteps => Volatile.Read(ref _envSteps);

    /// <summary>Updates so far.</summary>
    public long Updates => Volatile.Read(ref _updates);

    /// <summary>Wall-clock seconds of the run: since the monitor was created, plus the seconds before the checkpoint it resumed from.</summary>
    public double Seconds => _secondsBefore + _clock.Elapsed.TotalSeconds;

    /// <summary>
    /// This process's CPU seconds (all its threads) since the run started, plus those before the checkpoint it resumed
    /// from. One run at a time per process: a second run in the same process at once would be counted in both.
    /// </summary>
    public double CpuSeconds => _cpuBefore + LoadSampler.ProcessCpuSeconds() - _cpuStart;

    /// <summary>True once the budget (env steps, or wall seconds where max_wall_seconds is set) is spent, or the run is solved and <see cref="AlgoConfig.StopWhenSolved"/> is set.</summary>
    public bool ShouldStop => _stop || EnvSteps >= _config.MaxEnvSteps || (_config.MaxWallSeconds > 0 && Seconds >= _config.MaxWallSeconds);

    /// <summary>Whether the solve criterion has been met.</summary>
    public bool Solved => _solved;

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
            if (!_evalCriterion) CheckSolved(_train);
        }
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

    /// <summary>Adds greedy evaluation episodes (thread-safe); they decide "solved" for value-based methods.</summary>
    public void AddEvalEpisodes(ReadOnlySpan<EpisodeRecord> episodes)
    {
        lock (_gate)
        {
            foreach (EpisodeRecord e in episodes) _eval.Add(e.Return);
            if (_evalCriterion) CheckSolved(_eval);
        }
    }

    void CheckSolved(ReturnWindow window)
    {
        if (_solvedAtSeconds is not null || window.Count < Window || window.Mean < Threshold) return;
        _solvedAtSteps = EnvSteps;
        _solvedAtSeconds = Seconds - _evalSeconds;
        _solvedAtCpuSeconds = CpuSeconds - _evalCpuSeconds;
        _solved = true;
        if (_config.StopWhenSolved) _stop = true;
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
    internal (double Sum, long Count) RunLag
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
        double now = Seconds;
        _load.Sample();
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

    static double Mean(double sum, long count) => count == 0 ? double.NaN : sum / count;

    double TrainMean
    {
        get { lock (_gate) return _train.Count > 0 ? _train.Mean : double.NaN; }
    }

    double EvalMean
    {
        get { lock (_gate) return _eval.Count > 0 ? _eval.Mean : double.NaN; }
    }

    /// <summary>
    /// Whether a checkpoint is due: the sink keeps them, and checkpoint_interval env steps or checkpoint_seconds have
    /// passed since the last. The algorithm checks between updates and calls <see cref="SaveCheckpoint"/>.
    /// </summary>
    public bool CheckpointDue => _sink is { KeepsCheckpoints: true }
        && (EnvSteps >= _nextCheckpointSteps || (_config.CheckpointSeconds > 0 && Seconds - _lastCheckpointSeconds >= _config.CheckpointSeconds));

    /// <summary>Whether the sink keeps checkpoints (the algorithm need not build one otherwise).</summary>
    public bool KeepsCheckpoints => _sink is { KeepsCheckpoints: true };

    /// <summary>
    /// Hands the sink a checkpoint: <paramref name="state"/> (the algorithm's parameters, optimizer and sections) with
    /// the config, the counters and this monitor's own section added. Call it between updates, and at the end before
    /// <see cref="Finish"/> (whose last, partial metrics row a resumed run must not find counted).
    /// </summary>
    public void SaveCheckpoint(CheckpointData state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_sink is not { KeepsCheckpoints: true }) return;
        long steps = EnvSteps;
        _sink.WriteCheckpoint(state with
        {
            Config = ConfigBinder.ToYaml(_config),
            EnvSteps = steps,
            Updates = Updates,
            Sections = [.. state.Sections, new CheckpointSection(StateSection, SaveState())],
        });
        _lastCheckpointSeconds = Seconds;
        if (_config.CheckpointInterval > 0) _nextCheckpointSteps = (steps / _config.CheckpointInterval + 1) * _config.CheckpointInterval;
    }

    /// <summary>The name of the monitor's checkpoint section.</summary>
    public const string StateSection = "monitor";

    /// <summary>The env steps of the last metrics row the checkpoint's run had written: rows after it are the resumed run's to write.</summary>
    /// <exception cref="InvalidDataException">The checkpoint has no monitor section, or it is damaged.</exception>
    public static long LoggedThrough(CheckpointData checkpoint) => Head(checkpoint).LoggedThrough;

    /// <summary>The wall-clock seconds the checkpoint's run had run when it was saved (all its parts).</summary>
    /// <exception cref="InvalidDataException">The checkpoint has no monitor section, or it is damaged.</exception>
    public static double SecondsAt(CheckpointData checkpoint) => Head(checkpoint).Seconds;

    // The monitor section's fixed head, as SaveState writes it: the tag, then these counters and these sums.
    const int StateLongs = 11, StateDoubles = 8, LastLogStepsIndex = 10, SecondsIndex = 7;

    /// <summary>Reads the two figures a resume needs before it builds its monitor, from the section's fixed head.</summary>
    static (long LoggedThrough, double Seconds) Head(CheckpointData checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        byte[] bytes = checkpoint.Section(StateSection) ?? throw new InvalidDataException("the checkpoint has no monitor section; it was not written by train.");
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            Envs.BinaryState.ReadTag(r, StateSection);
            long loggedThrough = 0;
            for (int i = 0; i < StateLongs; i++)
            {
                long v = r.ReadInt64();
                if (i == LastLogStepsIndex) loggedThrough = v;
            }
            double seconds = 0;
            for (int i = 0; i < StateDoubles; i++)
            {
                double v = r.ReadDouble();
                if (i == SecondsIndex) seconds = v;
            }
            return (loggedThrough, seconds);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the checkpoint's monitor section ends early.", e);
        }
    }

    byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            Envs.BinaryState.WriteTag(w, StateSection);
            lock (_gate)
            {
                // The fixed head Head() reads: StateLongs counters (the last, _lastLogSteps), then StateDoubles sums (the last, Seconds).
                foreach (long v in (long[])[EnvSteps, Updates, _episodes, _nextLog, _returnCount, _lossCount, _lagCount, _lagMax, _runLagCount, _runLagMax, _lastLogSteps])
                    w.Write(v);
                foreach (double v in (double[])[_returnSum, _policySum, _valueSum, _entropySum, _lagSum, _runLagSum, _lastLogSeconds, Seconds])
                    w.Write(v);
                w.Write(_solvedAtSteps ?? -1);
                w.Write(_solvedAtSeconds ?? double.NaN);
                _train.Save(w);
                _eval.Save(w);
                w.Write(_started);
                w.Write(_segment);
                w.Write(CpuSeconds);
                w.Write(_solvedAtCpuSeconds ?? double.NaN);
                w.Write(_evalSeconds);
                w.Write(_evalCpuSeconds);
            }
        }
        return buffer.ToArray();
    }

    void Restore(byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            Envs.BinaryState.ReadTag(r, StateSection);
            _envSteps = r.ReadInt64();
            _updates = r.ReadInt64();
            _episodes = r.ReadInt64();
            _nextLog = r.ReadInt64();
            (_returnCount, _lossCount, _lagCount, _lagMax) = (r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
            (_runLagCount, _runLagMax, _lastLogSteps) = (r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
            (_returnSum, _policySum, _valueSum, _entropySum) = (r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble());
            (_lagSum, _runLagSum, _lastLogSeconds, _secondsBefore) = (r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble());
            long solvedAt = r.ReadInt64();
            double solvedSeconds = r.ReadDouble();
            if (solvedAt >= 0) (_solvedAtSteps, _solvedAtSeconds, _solved) = (solvedAt, solvedSeconds, true);
            _train.Load(r);
            _eval.Load(r);
            _started = r.ReadString();
            _segment = r.ReadInt32() + 1;
            // CPU time was added to checkpoints later: an older one gives none (the summary then counts this part only).
            if (r.BaseStream.Position < r.BaseStream.Length)
            {
                _cpuBefore = r.ReadDouble();
                double solvedCpu = r.ReadDouble();
                if (_solved && double.IsFinite(solvedCpu)) _solvedAtCpuSeconds = solvedCpu;
                if (r.BaseStream.Position < r.BaseStream.Length) (_evalSeconds, _evalCpuSeconds) = (r.ReadDouble(), r.ReadDouble());
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the checkpoint's monitor section ends early.", e);
        }
        _stop = _solved && _config.StopWhenSolved;
        _lastCheckpointSeconds = _lastProgressSeconds = _secondsBefore;
        if (_config.CheckpointInterval > 0) _nextCheckpointSteps = (_envSteps / _config.CheckpointInterval + 1) * _config.CheckpointInterval;
    }

    /// <summary>Keeps a file of the run's state in its run folder, if it has one.</summary>
    public void WriteFile(string name, string text) => _sink?.WriteFile(name, text);

    /// <summary>Writes the last row and builds the summary (and hands it to the sink); <paramref name="device"/> is where it ran (the CPU if null).</summary>
    public RunSummary Finish(int threads, int numEnvs, Devices.DeviceInfo? device = null)
    {
        Flush(final: true);
        RunSummary summary = Summary(threads, numEnvs, device);
        _sink?.Complete(summary);
        return summary;
    }

    /// <summary>The summary as things stand: counters, the solve, the device, status and where and when the run ran.</summary>
    RunSummary Summary(int threads, int numEnvs, Devices.DeviceInfo? device)
    {
        device ??= Devices.DeviceInfo.Cpu;
        double seconds = Seconds, cpu = CpuSeconds;
        MachineLoad load = _load.Finish(_config.Threads + _config.HelperThreads);
        lock (_gate)
        {
            ReturnWindow window = _evalCriterion ? _eval : _train;
            return new RunSummary(_config.Algo, _config.Env, _config.Seed, device.Kind, threads, numEnvs, EnvSteps, Updates, seconds,
                EnvSteps / Math.Max(seconds, 1e-9), Threshold, _solvedAtSeconds is not null, _config.SolveCriterion, _solvedAtSteps,
                _solvedAtSeconds, window.Count > 0 ? window.Mean : double.NaN, _episodes)
            {
                PolicyLagMean = _runLagCount > 0 ? _runLagSum / _runLagCount : null,
                PolicyLagMax = _runLagMax >= 0 ? _runLagMax : null,
                DeviceName = device.Name,
                DeviceMemoryBytes = device.MemoryBytes,
                Status = _stopStatus ?? RunSummary.Finished,
                Version = HybridVersion,
                Command = Command,
                Machine = $"{Devices.DeviceInfo.Cpu.Name}; {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}",
                Started = _started,
                Ended = Timestamp(DateTimeOffset.Now),
                Resumed = _segment,
                Runtime = Telemetry?.Total(seconds),
                CpuSeconds = cpu,
                SolvedAtCpuSeconds = _solvedAtCpuSeconds,
                EvalSeconds = _evalSeconds > 0 ? _evalSeconds : null,
                Load = load,
            };
        }
    }

    static string Timestamp(DateTimeOffset time) => time.ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Hybrid's version with the commit it was built from (the SDK adds it when built in a git checkout).</summary>
    public static string HybridVersion { get; } =
        typeof(RunMonitor).Assembly.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>()?.InformationalVersion.Replace("1.0.0+", "commit ")
        ?? "(version unknown)";

    /// <summary>The last 100 returns, in a ring.</summary>
    sealed class ReturnWindow
    {
        readonly double[] _values = new double[Window];
        int _next;

        public int Count { get; private set; }

        public void Add(double value)
        {
            _values[_next] = value;
            _next = (_next + 1) % Window;
            if (Count < Window) Count++;
        }

        public void Save(BinaryWriter w)
        {
            Envs.BinaryState.Write<double>(w, _values);
            w.Write(_next);
            w.Write(Count);
        }

        public void Load(BinaryReader r)
        {
            Envs.BinaryState.Read<double>(r, _values, "return window");
            _next = r.ReadInt32();
            Count = r.ReadInt32();
            if ((uint)_next >= Window || (uint)Count > Window) throw new InvalidDataException("the checkpoint's return window is damaged.");
        }

        public double Mean
        {
            get
            {
                double sum = 0;
                for (int i = 0; i < Count; i++) sum += _values[i];
                return sum / Count;
            }
        }
    }
}
