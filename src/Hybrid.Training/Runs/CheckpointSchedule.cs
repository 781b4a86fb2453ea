using Hybrid.Nn;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;

namespace Hybrid.Training.Runs;

/// <summary>
/// When a run keeps a checkpoint (every checkpoint_interval env steps, every checkpoint_seconds, at the end and when
/// stopped), and what goes in one: the algorithm's state, the config, the counters and the run's progress
/// (<see cref="RunProgress"/>). Also the checkpoint a resumed run starts from and which part of the run this is.
/// </summary>
public sealed class CheckpointSchedule
{
    readonly AlgoConfig _config;
    readonly IMetricsSink? _sink;
    readonly RunClock _clock;
    readonly Func<RunProgress> _progress;
    double _lastSeconds;
    long _nextSteps;

    /// <summary>
    /// The schedule of a run of <paramref name="config"/> whose sink is <paramref name="sink"/> (checkpoints are kept
    /// only where it keeps them); <paramref name="progress"/> captures the run's progress for each one. A resumed run
    /// (<paramref name="resumed"/>, part <paramref name="segment"/>) counts from the <paramref name="stepsAtStart"/> it had taken.
    /// </summary>
    public CheckpointSchedule(AlgoConfig config, IMetricsSink? sink, RunClock clock, Func<RunProgress> progress, CheckpointData? resumed, int segment, long stepsAtStart)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(progress);
        (_config, _sink, _clock, _progress, Resumed, Segment) = (config, sink, clock, progress, resumed, segment);
        _lastSeconds = clock.SecondsBefore;
        _nextSteps = config.CheckpointInterval > 0 ? NextAfter(stepsAtStart) : long.MaxValue;
    }

    long NextAfter(long steps) => (steps / _config.CheckpointInterval + 1) * _config.CheckpointInterval;

    /// <summary>The checkpoint this run resumes from, or null for a new run.</summary>
    public CheckpointData? Resumed { get; }

    /// <summary>Which part of the run this is: 0 until it is first resumed, one more at each resume.</summary>
    public int Segment { get; }

    /// <summary>Whether the sink keeps checkpoints (the algorithm need not build one otherwise).</summary>
    public bool Kept => _sink is { KeepsCheckpoints: true };

    /// <summary>
    /// Whether a checkpoint is due at <paramref name="envSteps"/>: the sink keeps them, and checkpoint_interval env
    /// steps or checkpoint_seconds have passed since the last. The algorithm checks between updates and calls <see cref="Save"/>.
    /// </summary>
    public bool DueAt(long envSteps) => Kept
        && (envSteps >= _nextSteps || (_config.CheckpointSeconds > 0 && _clock.Seconds - _lastSeconds >= _config.CheckpointSeconds));

    /// <summary>
    /// Hands the sink a checkpoint: <paramref name="state"/> (the algorithm's parameters, optimizer and sections) with
    /// the config, the counters and the run's progress added. Call it between updates, and at the end before the run's
    /// summary (whose last, partial metrics row a resumed run must not find counted).
    /// </summary>
    public void Save(CheckpointData state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_sink is not { KeepsCheckpoints: true }) return;
        RunProgress progress = _progress();
        _sink.WriteCheckpoint(state with
        {
            Config = ConfigBinder.ToYaml(_config),
            EnvSteps = progress.EnvSteps,
            Updates = progress.Updates,
            Sections = [.. state.Sections, new CheckpointSection(RunProgress.Section, progress.Write())],
        });
        _lastSeconds = _clock.Seconds;
        if (_config.CheckpointInterval > 0) _nextSteps = NextAfter(progress.EnvSteps);
    }
}
