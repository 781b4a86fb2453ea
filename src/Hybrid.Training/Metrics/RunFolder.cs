using Hybrid.Training.Config;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Metrics;

/// <summary>
/// The run folder (docs/architecture.md, "Run folder"): <c>config.yaml</c> (the resolved configuration, written first), <c>metrics.csv</c>
/// (a row per log interval, flushed as it goes), a TensorBoard event file, and <c>summary.json</c> (written last); a
/// cluster run adds <c>actors.csv</c> (each actor process's env steps per second, per metrics row).
/// </summary>
public sealed class RunFolder : IMetricsSink, IDisposable
{
    readonly StreamWriter _metrics;
    readonly TensorBoardWriter _events;
    StreamWriter? _actors;

    /// <summary>Creates the folder (or uses an empty one) and writes config.yaml.</summary>
    /// <exception cref="ArgumentException">The folder already holds a run, or anything else, or is a file; nothing is overwritten.</exception>
    public RunFolder(string directory, AlgoConfig config)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(config);
        if (File.Exists(directory)) throw new ArgumentException($"out '{directory}' is a file; expected a new or empty folder.", nameof(directory));
        foreach (string name in new[] { "summary.json", "metrics.csv", "config.yaml" })
            if (File.Exists(Path.Combine(directory, name)))
                throw new ArgumentException($"out '{directory}' already holds a run ({name}); expected a new or empty folder.", nameof(directory));
        if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).FirstOrDefault() is string other)
            throw new ArgumentException($"out '{directory}' is not empty (it holds {Path.GetFileName(other)}); expected a new or empty folder.", nameof(directory));
        System.IO.Directory.CreateDirectory(directory);
        Directory = Path.GetFullPath(directory);
        File.WriteAllText(Path.Combine(directory, "config.yaml"), ConfigBinder.ToYaml(config));
        _metrics = new StreamWriter(Path.Combine(directory, "metrics.csv"));
        _metrics.WriteLine(MetricsRow.CsvHeader);
        _metrics.Flush();
        _events = new TensorBoardWriter(directory);
    }

    /// <summary>The folder's full path.</summary>
    /// <summary>The checkpoint's file name in a run folder.</summary>
    public const string CheckpointFile = "checkpoint.bin";

    RunFolder(string directory, AlgoConfig config, long loggedThrough)
    {
        Directory = Path.GetFullPath(directory);
        File.WriteAllText(Path.Combine(Directory, "config.yaml"), ConfigBinder.ToYaml(config));
        // Rows the run wrote after its checkpoint are written again by the resumed run: keep those up to the checkpoint.
        string metrics = Path.Combine(Directory, "metrics.csv");
        KeepRowsThrough(metrics, MetricsRow.CsvHeader, loggedThrough);
        if (File.Exists(ActorsFile)) KeepRowsThrough(ActorsFile, ActorsHeader, loggedThrough);
        _metrics = new StreamWriter(metrics, append: true);
        _events = TensorBoardWriter.Reopen(Directory, loggedThrough);
        // The old outcome no longer holds; the resumed run writes its own.
        File.Delete(Path.Combine(Directory, "summary.json"));
        File.Delete(Path.Combine(Directory, "error.txt"));
    }

    /// <summary>Rewrites <paramref name="file"/> (a CSV whose first column is env_steps) with the rows through <paramref name="loggedThrough"/>.</summary>
    static void KeepRowsThrough(string file, string header, long loggedThrough)
    {
        var kept = new List<string> { header };
        if (File.Exists(file))
            foreach (string line in File.ReadLines(file).Skip(1))
            {
                int comma = line.IndexOf(',');
                if (comma > 0 && long.TryParse(line.AsSpan(0, comma), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long steps)
                    && steps <= loggedThrough)
                    kept.Add(line);
            }
        string temp = file + ".tmp";
        File.WriteAllLines(temp, kept);
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>
    /// Opens the folder of a run to continue it from its checkpoint: config.yaml gets <paramref name="config"/> (whose
    /// budget may have been raised), metrics.csv and the TensorBoard file keep their rows up to
    /// <paramref name="loggedThrough"/> env steps and take the resumed run's after them, and the old summary goes.
    /// </summary>
    /// <exception cref="ArgumentException">The folder holds no run.</exception>
    public static RunFolder Resume(string directory, AlgoConfig config, long loggedThrough)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(config);
        if (!File.Exists(Path.Combine(directory, CheckpointFile)))
            throw new ArgumentException($"resume: '{directory}' holds no {CheckpointFile}; expected the folder of a run made by train.", nameof(directory));
        return new RunFolder(directory, config, loggedThrough);
    }

    /// <inheritdoc/>
    public bool KeepsCheckpoints => true;

    /// <inheritdoc/>
    public void WriteCheckpoint(CheckpointData checkpoint) => Checkpoint.Save(Path.Combine(Directory, CheckpointFile), checkpoint);

    public string Directory { get; }

    /// <inheritdoc/>
    public void Write(in MetricsRow row)
    {
        _metrics.WriteLine(row.ToCsv());
        _metrics.Flush();
        _events.WriteScalars(row.EnvSteps, row.Scalars());
        if (row.Runtime?.ActorProcesses is { Count: > 0 } processes) WriteActors(row, processes);
    }

    /// <summary>actors.csv: a cluster run's actor processes, a row each per metrics row (written from the first such row on).</summary>
    string ActorsFile => Path.Combine(Directory, "actors.csv");

    /// <summary>actors.csv's columns.</summary>
    public const string ActorsHeader = "env_steps,wall_seconds,actor_process,threads,env_steps_in_interval,steps_per_second";

    void WriteActors(in MetricsRow row, IReadOnlyList<ActorProcessRate> processes)
    {
        if (_actors is null)
        {
            bool existed = File.Exists(ActorsFile);
            _actors = new StreamWriter(ActorsFile, append: true);
            if (!existed) _actors.WriteLine(ActorsHeader);
        }
        foreach (ActorProcessRate a in processes)
            _actors.WriteLine(string.Join(',', row.EnvSteps.ToString(System.Globalization.CultureInfo.InvariantCulture), MetricsRow.F(row.WallSeconds), a.Process,
                a.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture), a.EnvSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
                MetricsRow.F(a.StepsPerSecond)));
        _actors.Flush();
    }

    /// <inheritdoc/>
    public void Complete(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        File.WriteAllText(Path.Combine(Directory, "summary.json"), summary.ToJson());
    }

    /// <inheritdoc/>
    public void WriteFile(string name, string text) => File.WriteAllText(Path.Combine(Directory, name), text);

    /// <inheritdoc/>
    public void Dispose()
    {
        _metrics.Dispose();
        _events.Dispose();
        _actors?.Dispose();
    }

    /// <summary>
    /// Refuses a checkpoint that is not the run of its folder: the folder's config.yaml names another algorithm or env
    /// than the checkpoint's config (a checkpoint.bin copied from another run). Resuming it would rewrite config.yaml
    /// and append another run's rows to metrics.csv; evaluating it would play another env without a word. A folder
    /// without config.yaml (a checkpoint kept on its own) is not checked.
    /// </summary>
    /// <exception cref="ArgumentException">They differ; the message names both.</exception>
    public static void CheckCheckpointIsTheFolders(string directory, string checkpointConfig)
    {
        string path = Path.Combine(directory, "config.yaml");
        if (!File.Exists(path)) return;
        static (string Algo, string Env) Of(string yaml, string name)
        {
            var settings = ConfigBinder.ParseRun(yaml, name, out string algo);
            return (algo, settings.LastOrDefault(s => s.Key == "env").Value ?? "(no env)");
        }
        (string Algo, string Env) folder, checkpoint;
        try
        {
            folder = Of(TextFiles.Read(path, "config.yaml"), path);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException)
        {
            return; // an unreadable config.yaml is the resume's to rewrite; the checkpoint's own config decides
        }
        checkpoint = Of(checkpointConfig, Path.Combine(directory, CheckpointFile));
        if (folder != checkpoint)
            throw new ArgumentException($"{CheckpointFile} in '{directory}' is of {checkpoint.Algo} on {checkpoint.Env}, but the folder's config.yaml is " +
                $"{folder.Algo} on {folder.Env}; expected the checkpoint of the run in that folder.");
    }

    /// <summary>The file a failed run's whole exception (a worker's stack trace included) is kept in.</summary>
    public const string ErrorFile = "error.txt";

    /// <summary>
    /// Keeps what a failed run leaves: summary.json with status "failed" and the error (through
    /// <paramref name="run"/>), and the whole exception in <see cref="ErrorFile"/>. Returns whether error.txt was
    /// written (a full disk or a removed folder may stop it; the summary is attempted either way).
    /// </summary>
    public bool RecordFailure(RunContext run, Exception error, int threads, int numEnvs)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(error);
        run.Fail(error, threads, numEnvs);
        try
        {
            WriteFile(ErrorFile, error.ToString());
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
