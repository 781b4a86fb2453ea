namespace Hybrid.Training.Metrics;

/// <summary>
/// The run folder of DESIGN.md: <c>config.yaml</c> (the resolved configuration, written first), <c>metrics.csv</c>
/// (a row per log interval, flushed as it goes), a TensorBoard event file, and <c>summary.json</c> (written last).
/// </summary>
public sealed class RunFolder : IMetricsSink, IDisposable
{
    readonly StreamWriter _metrics;
    readonly TensorBoardWriter _events;

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
    public string Directory { get; }

    /// <inheritdoc/>
    public void Write(in MetricsRow row)
    {
        _metrics.WriteLine(row.ToCsv());
        _metrics.Flush();
        _events.WriteScalars(row.EnvSteps, row.Scalars());
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
    }
}
