using System.Globalization;
using Hybrid.Nn;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;
using Hybrid.Training.Runs;

namespace Hybrid.Experiments;

/// <summary>One planned run of an experiment.</summary>
/// <param name="Env">Env id.</param>
/// <param name="Arm">The arm.</param>
/// <param name="Seed">Seed.</param>
/// <param name="LearningRate">The learning rate it runs with.</param>
/// <param name="Tuning">True for a run of the learning-rate grid, false for a reported run.</param>
/// <param name="Folder">Its run folder, relative to the experiment folder.</param>
public sealed record PlannedRun(string Env, ArmSpec Arm, int Seed, float LearningRate, bool Tuning, string Folder);

/// <summary>What a time to the threshold is counted in.</summary>
public enum Measure
{
    /// <summary>Wall-clock seconds.</summary>
    WallSeconds,
    /// <summary>Env steps (all threads together).</summary>
    EnvSteps,
    /// <summary>The process's CPU seconds, every thread.</summary>
    CpuSeconds,
}

/// <summary>A finished run: its plan, summary and learning curve; <see cref="Reused"/> when it was found finished in its folder instead of run.</summary>
public sealed record RunResult(PlannedRun Run, RunSummary Summary, IReadOnlyList<CurvePoint> Curve)
{
    /// <summary>True when this run was not run now: a finished run of the same config, seed and Hybrid version was in its folder.</summary>
    public bool Reused { get; init; }

    /// <summary>Whether the run recorded <paramref name="measure"/> (CPU time is missing from summaries written before it was recorded).</summary>
    public bool Has(Measure measure) => measure != Measure.CpuSeconds || (Summary.CpuSeconds is not null && (!Summary.Solved || Summary.SolvedAtCpuSeconds is not null));

    /// <summary>The time to the threshold in <paramref name="measure"/>, censored at the run's end where it never got there.</summary>
    /// <exception cref="InvalidOperationException">The run did not record that measure (<see cref="Has"/>).</exception>
    public Censored Outcome(Measure measure) => measure switch
    {
        // Greedy evaluation's time is left out of the time to the threshold, and so out of where an unsolved run stopped.
        Measure.WallSeconds => Censored.Of(Summary.SolvedAtSeconds, Summary.WallSeconds - (Summary.EvalSeconds ?? 0)),
        Measure.EnvSteps => Censored.Of(Summary.SolvedAtEnvSteps, Summary.EnvSteps),
        _ => Has(Measure.CpuSeconds) ? Censored.Of(Summary.SolvedAtCpuSeconds, Summary.CpuSeconds!.Value)
            : throw new InvalidOperationException($"{Run.Folder} has no CPU time in its summary."),
    };

    /// <summary>Whether the machine was busier than the run's threads allowed (<see cref="MachineLoad.Busy"/>).</summary>
    public bool Busy => Summary.Load?.Busy == true;

    /// <summary>Seconds to the threshold, +infinity if never reached (censored).</summary>
    public double SecondsToThreshold => Summary.SolvedAtSeconds ?? double.PositiveInfinity;

    /// <summary>Env steps to the threshold, +infinity if never reached (censored).</summary>
    public double StepsToThreshold => Summary.SolvedAtEnvSteps is long s ? s : double.PositiveInfinity;
}

/// <summary>One metrics row of a run's learning curve: env steps, wall seconds and the mean-100 return its criterion counts.</summary>
public readonly record struct CurvePoint(long EnvSteps, double Seconds, double Return);

/// <summary>What a runner tells whoever shows its progress.</summary>
public interface IExperimentProgress
{
    /// <summary>Run <paramref name="index"/> of <paramref name="total"/> starts (or is found finished, with <paramref name="skipped"/>).</summary>
    void RunStarting(PlannedRun run, int index, int total, bool skipped);

    /// <summary>About once a second during a run: its env steps so far out of its budget.</summary>
    void RunProgress(PlannedRun run, long envSteps, long budget, string line);

    /// <summary>A run finished.</summary>
    void RunFinished(RunResult result);

    /// <summary>A line for the user (e.g. the learning rate tuning picked).</summary>
    void Note(string line);
}

/// <summary>
/// Runs an experiment: the learning-rate grid on the tuning seeds (if any), each arm's pick, then every (env, arm,
/// report seed), one run at a time, each with the experiment's cores, each in its own run folder. A run whose
/// summary.json says it finished is read back instead of run again, so a killed experiment resumes where it stopped.
/// </summary>
public sealed class ExperimentRunner(ExperimentSpec spec, string directory, IExperimentProgress progress)
{
    /// <summary>Whether to warm the JIT up before the first run that runs (<see cref="WarmUpSteps"/>); tests that time nothing turn it off.</summary>
    public bool WarmUpFirst { get; init; } = true;

    /// <summary>
    /// Runs a cluster arm's run (<see cref="ArmSpec.ClusterActors"/>): its config, its context, the learner's device, actor
    /// processes and run folder (for the cluster's log). Null: this runner cannot, and an experiment with a cluster arm is refused.
    /// </summary>
    public Func<AlgoConfig, RunContext, IComputeDevice?, int, string, RunSummary>? Cluster { get; init; }

    /// <summary>Opens the device an A2C run names (the CPU alone unless the caller gives one that knows the GPU).</summary>
    public IDeviceProvider Devices { get; init; } = CpuOnlyDevices.Instance;

    bool _warmedUp;
    volatile bool _stopRequested;

    /// <summary>The run that failed (its folder, relative to the experiment's), once one has; null while none has (a warm-up run's failure leaves it null).</summary>
    public string? FailedRun { get; private set; }
    volatile RunContext? _current;

    /// <summary>
    /// Asks the experiment to stop (thread-safe; a signal handler calls it): the run in progress finishes its update,
    /// writes its checkpoint and an "interrupted" summary, and <see cref="Run"/> throws <see cref="ExperimentInterruptedException"/>.
    /// The same experiment started again skips the finished runs and continues the stopped one from its checkpoint.
    /// </summary>
    public void Stop()
    {
        _stopRequested = true;
        _current?.Stop.Request(RunSummary.Interrupted);
    }

    IComputeDevice? DeviceFor(AlgoConfig config) => DeviceChoice.For(Devices, config, null);

    /// <summary>The experiment folder.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Runs everything and returns the results (tuning runs, each arm's pick per env, report runs).</summary>
    /// <exception cref="WorkerFailedException">A worker of some run threw; the run folder is left without a summary and reruns on resume.</exception>
    /// <exception cref="TrainingDivergedException">Some run diverged.</exception>
    public ExperimentResults Run()
    {
        if (Cluster is null && spec.Arms.FirstOrDefault(a => a.ClusterActors > 0) is { } clusterArm)
            throw new ArgumentException($"arm '{clusterArm.Name}' runs across processes (cluster_actors), which this runner cannot start.");
        System.IO.Directory.CreateDirectory(Directory);
        var tuning = new List<RunResult>();
        var picks = new Dictionary<(string Env, string Arm), float>();
        int total = spec.RunCount, index = 0;

        // The learning-rate grid, on seeds the report never uses; each arm's pick: the lowest median seconds to the
        // threshold (censored), then the highest median final return.
        if (spec.Tune is TuneSpec tune)
            foreach (string env in spec.Envs)
                foreach (ArmSpec arm in spec.Arms)
                {
                    var byRate = new List<(float Rate, double Seconds, double Return)>();
                    foreach (float rate in tune.LearningRates)
                    {
                        var results = new List<RunResult>();
                        foreach (int seed in tune.Seeds)
                        {
                            string folder = Path.Combine("tune", Slug(env), Slug(arm.Name), "lr-" + Format(rate), "s" + seed);
                            RunResult r = RunOne(new PlannedRun(env, arm, seed, rate, Tuning: true, folder), ++index, total);
                            results.Add(r);
                            tuning.Add(r);
                        }
                        (double medianSeconds, double medianReturn) = GridScore(results);
                        byRate.Add((rate, medianSeconds, medianReturn));
                    }
                    (float best, double seconds, double ret) = byRate.OrderBy(r => r.Seconds).ThenByDescending(r => r.Return).First();
                    picks[(env, arm.Name)] = best;
                    progress.Note($"{env}, {arm.Name}: learning rate {Format(best)} (on the tuning seeds: median time to the threshold {Show.Seconds(seconds)}, median final return {Show.Number(ret)})");
                }

        // Seed by seed, the arms taking turns, so that the machine's drift over minutes does not land on one arm.
        var report = new List<RunResult>();
        foreach (string env in spec.Envs)
            foreach (int seed in spec.Seeds)
                foreach (ArmSpec arm in spec.Arms)
                {
                    float rate = picks.TryGetValue((env, arm.Name), out float p) ? p : spec.Config(env, arm, seed, null).LearningRate;
                    string folder = Path.Combine("runs", Slug(env), Slug(arm.Name), "s" + seed);
                    report.Add(RunOne(new PlannedRun(env, arm, seed, rate, Tuning: false, folder), ++index, total));
                }
        return new ExperimentResults(spec, tuning, picks, report);
    }

    /// <summary>Env steps of each arm's warm-up run.</summary>
    public const long WarmUpSteps = 100_000;

    /// <summary>...or this many seconds, whichever comes first (measured: on CartPole-v1 a 20k-step warm-up still left the
    /// first A2C run twice as slow as the next; 100k steps or 2 s removed the difference).</summary>
    public const double WarmUpSeconds = 2;

    /// <summary>
    /// A short run of every arm on every env before the timed ones, results discarded, so that the JIT has compiled
    /// each algorithm's loop before any run is timed: otherwise the first arm alone would pay for it. Arms that differ
    /// only in their threads (a speedup file's) run the same code, so one of them warms it up for all. A cluster arm
    /// warms up in one process: the learner's code is the same, and its actor processes are new in every run anyway.
    /// </summary>
    void WarmUp()
    {
        var warmed = new HashSet<string>(StringComparer.Ordinal);
        foreach (string env in spec.Envs)
            foreach (ArmSpec arm in spec.Arms)
            {
                AlgoConfig config = spec.Config(env, arm, spec.Seeds[0], null) with { MaxEnvSteps = WarmUpSteps, MaxWallSeconds = WarmUpSeconds, StopWhenSolved = false };
                if (!warmed.Add(ConfigBinder.ToYaml(config with { Threads = 1 }))) continue;
                Trainer.Train(config, new RunContext(config, null, null), DeviceFor(config));
            }
    }

    RunResult RunOne(PlannedRun run, int index, int total)
    {
        string folder = Path.Combine(Directory, run.Folder);
        AlgoConfig config = spec.Config(run.Env, run.Arm, run.Seed, run.LearningRate);
        RunSummary? finished = Finished(folder);
        if (finished is RunSummary done && Reusable(folder, done, config))
        {
            progress.RunStarting(run, index, total, skipped: true);
            var reused = new RunResult(run, done, ReadCurve(folder, done.SolveCriterion)) { Reused = true };
            progress.RunFinished(reused);
            return reused;
        }
        // A folder without a finished summary is what a stopped or killed run leaves: it continues from its checkpoint
        // (as train --resume does) if it has one of this very config, else it starts again from nothing; so does a finished
        // run that may not be reused (another config or Hybrid version).
        CheckpointData? checkpoint = finished is null ? Resumable(folder, config) : null;
        if (checkpoint is null && System.IO.Directory.Exists(folder)) System.IO.Directory.Delete(folder, recursive: true);
        if (WarmUpFirst && !_warmedUp)
        {
            WarmUp();
            _warmedUp = true;
        }
        if (WaitQuiet is double patience) WaitForQuiet(config.Threads + config.HelperThreads, patience);
        progress.RunStarting(run, index, total, skipped: false);
        if (checkpoint is not null)
            progress.Note(string.Create(CultureInfo.InvariantCulture,
                $"{run.Folder}: continues from its checkpoint at {checkpoint.EnvSteps:N0} env steps; its times add the part before the stop (up to that checkpoint) to this one."));
        RunSummary summary;
        if (_stopRequested) throw new ExperimentInterruptedException(run.Folder);
        using (RunFolder sink = checkpoint is null ? new RunFolder(folder, config) : RunFolder.Resume(folder, config, RunProgress.Of(checkpoint).LoggedThrough))
        {
            RunContext? context = null;
            context = new RunContext(config, sink, line => progress.RunProgress(run, context!.Metrics.EnvSteps, config.MaxEnvSteps, line), checkpoint);
            _current = context;
            if (_stopRequested) context.Stop.Request(RunSummary.Interrupted);
            try
            {
                summary = run.Arm.ClusterActors > 0
                    ? (Cluster ?? throw new InvalidOperationException("this runner cannot run cluster arms"))(config, context, DeviceFor(config), run.Arm.ClusterActors, folder)
                    : Trainer.Train(config, context, DeviceFor(config));
            }
            catch (Exception e) when (e is WorkerFailedException or TrainingDivergedException)
            {
                // As train does: the run folder keeps a "failed" summary and the whole exception; the caller shows the message.
                sink.RecordFailure(context, e, config.Threads, config.TotalEnvs);
                FailedRun = run.Folder;
                throw;
            }
            finally
            {
                _current = null;
            }
        }
        if (summary.Status == RunSummary.Interrupted) throw new ExperimentInterruptedException(run.Folder);
        var result = new RunResult(run, summary, ReadCurve(folder, summary.SolveCriterion));
        progress.RunFinished(result);
        return result;
    }

    /// <summary>
    /// Before each run that runs: waits until the machine has the cores <paramref name="threads"/> need (no run started
    /// now would be marked busy) for 3 seconds in a row, or <paramref name="patience"/> seconds have gone, saying so.
    /// </summary>
    void WaitForQuiet(int threads, double patience)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int quiet = 0;
        bool said = false;
        while (quiet < 3 && !_stopRequested)
        {
            var sampler = new LoadSampler();
            Thread.Sleep(1000);
            MachineLoad load = sampler.Finish(threads);
            if (!double.IsFinite(load.OtherBusyCoresMean)) return; // no /proc/stat: nothing to wait on
            quiet = load.Busy ? 0 : quiet + 1;
            if (load.Busy && !said)
            {
                progress.Note(string.Create(CultureInfo.InvariantCulture,
                    $"waiting for a quiet machine: {load.OtherBusyCoresMean:F1} of {load.Cores} cores busy outside Hybrid, {threads} thread(s) to run (at most {patience:G} s)"));
                said = true;
            }
            if (clock.Elapsed.TotalSeconds >= patience)
            {
                progress.Note(string.Create(CultureInfo.InvariantCulture, $"the machine stayed busy for {patience:G} s; the run starts anyway and is marked if it stays busy."));
                return;
            }
        }
    }

    /// <summary>
    /// Seconds <see cref="Run"/> waits before each run for the machine to be quiet (<see cref="WaitForQuiet"/>); null:
    /// runs start at once, and a busy machine only marks them.
    /// </summary>
    public double? WaitQuiet { get; init; }

    /// <summary>The summary of a finished run in <paramref name="folder"/>, or null (none, not finished, or damaged).</summary>
    static RunSummary? Finished(string folder)
    {
        string path = Path.Combine(folder, "summary.json");
        if (!File.Exists(path)) return null;
        try
        {
            return RunSummary.ParseFinished(File.ReadAllText(path));
        }
        catch (FormatException)
        {
            return null; // damaged: the run runs again
        }
    }

    /// <summary>
    /// Whether the finished run <paramref name="done"/> in <paramref name="folder"/> may stand for this one: the same
    /// resolved config (config.yaml) and seed, and the same Hybrid version. Otherwise the run runs again (its folder is cleared).
    /// </summary>
    static bool Reusable(string folder, RunSummary done, AlgoConfig config)
    {
        string configPath = Path.Combine(folder, "config.yaml");
        return done.Version == SummaryBuilder.HybridVersion && done.Seed == config.Seed && File.Exists(configPath)
            && File.ReadAllText(configPath) == ConfigBinder.ToYaml(config);
    }

    /// <summary>The checkpoint a stopped run in <paramref name="folder"/> left, if it is readable and of exactly <paramref name="config"/>; else null.</summary>
    static CheckpointData? Resumable(string folder, AlgoConfig config)
    {
        string file = Path.Combine(folder, RunFolder.CheckpointFile);
        if (!File.Exists(file)) return null;
        try
        {
            CheckpointData checkpoint = Checkpoint.Load(file);
            return checkpoint.Config == ConfigBinder.ToYaml(config) ? checkpoint : null;
        }
        catch (InvalidDataException)
        {
            return null; // damaged: the run starts again
        }
    }

    /// <summary>Reads the curve the criterion counts (training or greedy-evaluation mean-100) from a run's metrics.csv.</summary>
    public static List<CurvePoint> ReadCurve(string folder, string criterion)
    {
        string path = Path.Combine(folder, "metrics.csv");
        var points = new List<CurvePoint>();
        if (!File.Exists(path)) return points;
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0) return points;
        string[] header = lines[0].Split(',');
        int steps = Array.IndexOf(header, MetricsRow.EnvStepsColumn), seconds = Array.IndexOf(header, MetricsRow.WallSecondsColumn);
        int ret = Array.IndexOf(header, MetricsRow.ReturnColumn(criterion));
        for (int i = 1; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split(',');
            if (cells.Length != header.Length || cells[ret].Length == 0) continue;
            points.Add(new CurvePoint(long.Parse(cells[steps], CultureInfo.InvariantCulture), double.Parse(cells[seconds], CultureInfo.InvariantCulture),
                double.Parse(cells[ret], CultureInfo.InvariantCulture)));
        }
        return points;
    }

    /// <summary>
    /// How one learning rate of the grid did over the tuning seeds: the median seconds to the threshold (censored) and
    /// the median final return (over the seeds that finished an episode; -infinity if none did).
    /// </summary>
    public static (double Seconds, double Return) GridScore(IReadOnlyCollection<RunResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        double[] finals = results.Select(r => r.Summary.FinalMeanReturn).Where(double.IsFinite).ToArray();
        return (Statistics.Median(results.Select(r => r.SecondsToThreshold).ToArray()),
            finals.Length == 0 ? double.NegativeInfinity : Statistics.Median(finals));
    }

    /// <summary>A name safe as a folder: letters, digits, '-', '_' and '.'; anything else becomes '_'.</summary>
    public static string Slug(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());

    static string Format(float rate) => rate.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>An experiment stopped by <see cref="ExperimentRunner.Stop"/>; <see cref="Run"/> is the run that was in progress (its folder, relative to the experiment's).</summary>
public sealed class ExperimentInterruptedException(string run) : Exception($"interrupted during {run}")
{
    /// <summary>The run in progress when the experiment stopped.</summary>
    public string Run { get; } = run;
}

/// <summary>What an experiment produced.</summary>
/// <param name="Spec">The experiment.</param>
/// <param name="Tuning">The learning-rate grid's runs.</param>
/// <param name="Picks">Each (env, arm)'s tuned learning rate.</param>
/// <param name="Report">The reported runs.</param>
public sealed record ExperimentResults(ExperimentSpec Spec, IReadOnlyList<RunResult> Tuning,
    IReadOnlyDictionary<(string Env, string Arm), float> Picks, IReadOnlyList<RunResult> Report);
