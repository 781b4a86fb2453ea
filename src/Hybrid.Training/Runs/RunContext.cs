using Hybrid.Nn;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;

namespace Hybrid.Training.Runs;

/// <summary>
/// What an algorithm receives for a run: its config, its clock, when it stops (<see cref="StopPolicy"/>), its metrics
/// (<see cref="RunMetrics"/>, what workers report to), when it keeps checkpoints (<see cref="CheckpointSchedule"/>),
/// and the summary it ends with (<see cref="SummaryBuilder"/>). A resumed run's context continues the saved one's
/// counters, windows, solve and clocks; the algorithm restores the rest from <see cref="Resumed"/>.
/// </summary>
public sealed class RunContext
{
    readonly IMetricsSink? _sink;

    /// <summary>
    /// A run of <paramref name="config"/>: rows go to <paramref name="sink"/>, progress lines (about one a second) to
    /// <paramref name="progress"/>; it continues the run <paramref name="resume"/> was saved from, if given.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint's progress section is missing or damaged.</exception>
    public RunContext(AlgoConfig config, IMetricsSink? sink, Action<string>? progress, CheckpointData? resume = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _sink = sink;
        Clock = new RunClock();
        Stop = new StopPolicy(config, Clock);
        Metrics = new RunMetrics(config, Clock, Stop, sink, progress);
        int segment = 0;
        if (resume is not null)
        {
            RunProgress saved = RunProgress.Of(resume);
            Clock.Restore(saved);
            Stop.Restore(saved);
            Metrics.Restore(saved);
            segment = saved.Segment + 1;
        }
        Checkpoints = new CheckpointSchedule(config, sink, Clock, Capture, resume, segment, Metrics.EnvSteps);
    }

    /// <summary>The config the run trains.</summary>
    public AlgoConfig Config { get; }

    /// <summary>The run's wall and CPU clocks.</summary>
    public RunClock Clock { get; }

    /// <summary>When the run ends, and when it was solved.</summary>
    public StopPolicy Stop { get; }

    /// <summary>The run's counters and metrics rows.</summary>
    public RunMetrics Metrics { get; }

    /// <summary>When the run keeps checkpoints, and the one it resumed from.</summary>
    public CheckpointSchedule Checkpoints { get; }

    /// <summary>The command line the run came from, for summary.json (null: not from one).</summary>
    public string? Command { get; init; }

    /// <summary>True once the run is out of budget, solved with stop_when_solved, or asked to stop.</summary>
    public bool ShouldStop => Stop.ShouldStopAt(Metrics.EnvSteps);

    /// <summary>Whether a checkpoint is due now.</summary>
    public bool CheckpointDue => Checkpoints.DueAt(Metrics.EnvSteps);

    /// <summary>The checkpoint this run resumes from, or null for a new run.</summary>
    public CheckpointData? Resumed => Checkpoints.Resumed;

    /// <summary>Which part of the run this is: 0 until it is first resumed, one more at each resume.</summary>
    public int Segment => Checkpoints.Segment;

    /// <summary>
    /// Throws unless <paramref name="config"/> is the config this run was made for: the budget, stop rule and threshold
    /// come from the context's config, so training with another (a shorter warm-up budget, say) would silently run to
    /// the context's.
    /// </summary>
    /// <exception cref="ArgumentException">The context was made for another config.</exception>
    public void CheckConfig(AlgoConfig config)
    {
        if (!ReferenceEquals(config, Config))
            throw new ArgumentException($"the run context was made for another config (its budget is {Config.MaxEnvSteps:N0} env steps, the run's {config.MaxEnvSteps:N0}); " +
                "make the context from the config that trains.", nameof(config));
    }

    /// <summary>Keeps a file of the run's state in its run folder, if it has one.</summary>
    public void WriteFile(string name, string text) => _sink?.WriteFile(name, text);

    /// <summary>Writes the last row and builds the summary (and hands it to the sink); <paramref name="device"/> is where it ran (the CPU if null).</summary>
    public RunSummary Finish(int threads, int numEnvs, Devices.DeviceInfo? device = null)
    {
        Metrics.Flush(final: true);
        RunSummary summary = SummaryBuilder.Build(this, threads, numEnvs, device);
        _sink?.Complete(summary);
        return summary;
    }

    /// <summary>
    /// Writes the summary of a run that failed with <paramref name="error"/> (status <c>failed</c>, the error's text),
    /// when the sink can still take it; returns it.
    /// </summary>
    public RunSummary Fail(Exception error, int threads, int numEnvs)
    {
        ArgumentNullException.ThrowIfNull(error);
        RunSummary summary = SummaryBuilder.Build(this, threads, numEnvs, null) with { Status = RunSummary.Failed, Error = $"{error.GetType().Name}: {error.Message}" };
        try
        {
            _sink?.Complete(summary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return summary;
    }

    /// <summary>The run's progress as it stands, for a checkpoint.</summary>
    RunProgress Capture()
    {
        var progress = new RunProgress { Segment = Segment };
        Metrics.Capture(progress);
        Stop.Capture(progress);
        Clock.Capture(progress);
        return progress;
    }
}
