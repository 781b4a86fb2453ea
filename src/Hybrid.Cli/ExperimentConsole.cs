using System.Diagnostics;
using Hybrid.Experiments;
using Hybrid.Gpu;
using Hybrid.Training.Parallel;
using Hybrid.Training.Runs;
using Spectre.Console;

namespace Hybrid.Cli;

/// <summary>What <c>compare</c> and <c>speedup</c> share: the experiment folder, running with progress, and failures shown as one line.</summary>
internal static class ExperimentConsole
{
    /// <summary>
    /// A console on the process's standard output as it is now. AnsiConsole.Console binds to Console.Out once, the first
    /// time it is used, and keeps writing there even after the output is redirected (as an in-process caller does).
    /// </summary>
    public static IAnsiConsole Current() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    /// <summary>A log or a pipe gets whole lines, not lines cut at Spectre's default of 80 columns.</summary>
    public static void WidenForLogs(IAnsiConsole console)
    {
        if (!console.Profile.Capabilities.Interactive && console.Profile.Width < 200) console.Profile.Width = 200;
    }

    /// <summary>Reads an experiment file; null after telling the user, in one line, what is wrong with it.</summary>
    public static T? Load<T>(string command, Func<T> load, TextWriter stderr) where T : class
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{command}: {ErrorText.Of(e)}");
            return null;
        }
    }

    /// <summary>
    /// Claims the folder for the experiment in <paramref name="file"/>; returns null, or the exit code after telling
    /// the user why the folder cannot be used.
    /// </summary>
    public static int? Claim(string command, string directory, string file, TextWriter stderr, out FolderLock? held)
    {
        held = null;
        try
        {
            held = FolderLock.Take(directory);
            if (held is null)
            {
                stderr.WriteLine($"{command}: --out '{directory}' is in use by another Hybrid process ({FolderLock.Holder(directory)}); expected one experiment per folder at a time: wait for it, or give another --out.");
                return 2;
            }
            ClaimFolder(directory, file);
            return null;
        }
        catch (ArgumentException e)
        {
            held?.Dispose();
            held = null;
            stderr.WriteLine($"{command}: {ErrorText.Of(e)}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            held?.Dispose();
            held = null;
            stderr.WriteLine($"{command}: --out '{directory}' cannot be used as the experiment folder: {e.Message}");
            return 2;
        }
    }

    /// <summary>
    /// Runs the experiment in its folder, writes results.csv, then lets <paramref name="write"/> write the rest and
    /// return (report.md's path, what to print); prints that and the report's path. Returns the exit code: 0, or 1
    /// where a run failed or the folder could not be written.
    /// </summary>
    public static int RunAndReport(string command, ExperimentSpec spec, string directory, IAnsiConsole console, TextWriter stderr,
        Func<ExperimentResults, (string Report, Action<IAnsiConsole> Print)> write, double? waitQuiet = null)
    {
        console.MarkupLine($"experiment folder: {Markup.Escape(directory)}");
        ExperimentResults? results = Run(command, spec, directory, console, stderr, waitQuiet, out int failed);
        if (results is null) return failed;
        (string Report, Action<IAnsiConsole> Print) written;
        try
        {
            Report.WriteResultsCsv(results, directory);
            written = write(results);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{command}: writing the results into '{directory}' failed: {e.Message}");
            return 1;
        }
        // The warning goes above the verdict: a reader who stops at the first line still sees it.
        if (Report.BusyWarning(results) is string warning) console.MarkupLine($"[yellow bold]warning:[/] {Markup.Escape(warning)}");
        written.Print(console);
        console.MarkupLine($"report: {Markup.Escape(written.Report)}");
        return 0;
    }

    /// <summary>
    /// Runs the experiment with a progress bar on a terminal, a line per run elsewhere; null after telling the user why
    /// it stopped, with <paramref name="code"/> 1 (a run failed) or 128 + the signal (Ctrl-C or SIGTERM: the run in
    /// progress finishes its update and keeps a checkpoint; a second Ctrl-C quits at once).
    /// </summary>
    static ExperimentResults? Run(string command, ExperimentSpec spec, string directory, IAnsiConsole console, TextWriter stderr, double? waitQuiet, out int code)
    {
        ExperimentRunner? runner = null;
        using var signals = new StopSignals(_ =>
        {
            runner?.Stop();
            stderr.WriteLine($"{command}: stopping after this run's current update (a second Ctrl-C quits at once)");
        });
        ExperimentRunner Make(IExperimentProgress progress)
        {
            var made = new ExperimentRunner(spec, directory, progress) { Devices = GpuDevices.Instance, Cluster = Cluster.ClusterCommand.LocalRun, WaitQuiet = waitQuiet };
            runner = made;
            if (signals.Signal != 0) made.Stop();
            return made;
        }
        try
        {
            code = 0;
            return console.Profile.Capabilities.Interactive ? RunWithProgressBar(console, Make) : Make(new LineProgress(console)).Run();
        }
        catch (ExperimentInterruptedException e)
        {
            stderr.WriteLine($"{command}: interrupted during {e.Run}; the finished runs are kept and that run keeps its checkpoint: run the same command again to continue.");
            code = 128 + signals.Signal;
            return null;
        }
        catch (Exception e) when (e is WorkerFailedException or TrainingDivergedException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{command}: {ErrorText.Of(e)}");
            if (e is WorkerFailedException && e.InnerException is { } inner) stderr.WriteLine($"{command}: {inner.GetType().Name}: {inner.Message}");
            if (runner?.FailedRun is string failed)
                stderr.WriteLine($"{command}: {failed} holds error.txt (the whole exception) and summary.json with status \"failed\".");
            stderr.WriteLine($"{command}: the finished runs are kept; run the same command again to resume.");
            code = 1;
            return null;
        }
    }

    /// <summary>Draws figures; where they cannot be drawn (e.g. Skia's native library does not load) says so and returns null: the report is worth having without them.</summary>
    public static T? TryDraw<T>(string command, Func<T> draw, TextWriter stderr) where T : class
    {
        try
        {
            return draw();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or ArgumentException)
        {
            stderr.WriteLine($"{command}: the figures could not be drawn ({e.Message}); report.md is written without them.");
            return null;
        }
    }

    /// <summary>Makes the folder the experiment's: new, or one that holds this same experiment (to resume).</summary>
    static void ClaimFolder(string directory, string file)
    {
        string copy = Path.Combine(directory, "experiment.yaml");
        string text = File.ReadAllText(file);
        if (File.Exists(copy))
        {
            if (File.ReadAllText(copy) != text)
                throw new ArgumentException($"--out '{directory}' holds a different experiment (its experiment.yaml differs from '{file}'); expected a new folder, or this experiment's to resume it.");
            return;
        }
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any(e => !FolderLock.IsLockFile(e)))
            throw new ArgumentException($"--out '{directory}' is not empty and holds no experiment; expected a new or empty folder.");
        Directory.CreateDirectory(directory);
        File.WriteAllText(copy, text);
    }

    static ExperimentResults RunWithProgressBar(IAnsiConsole console, Func<IExperimentProgress, ExperimentRunner> make)
    {
        ExperimentResults? results = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask("starting", maxValue: 1);
                results = make(new BarProgress(task, console)).Run();
                task.Value = task.MaxValue;
                task.Description = $"{results.Tuning.Count + results.Report.Count} runs done";
            });
        return results!;
    }

    /// <summary>A progress bar: runs done of the total (the current run counted by its share of the budget), the run, and an ETA.</summary>
    sealed class BarProgress(ProgressTask task, IAnsiConsole console) : IExperimentProgress
    {
        int _index, _total;

        public void RunStarting(PlannedRun run, int index, int total, bool skipped)
        {
            (_index, _total) = (index, total);
            task.MaxValue = total;
            task.Value = index - 1;
            task.Description = Markup.Escape($"run {index}/{total}: {Describe(run)}{(skipped ? " (finished before; skipped)" : "")}");
        }

        public void RunProgress(PlannedRun run, long envSteps, long budget, string line)
        {
            task.Value = _index - 1 + Math.Min(1.0, (double)envSteps / budget);
            task.Description = Markup.Escape($"run {_index}/{_total}: {Describe(run)}, {envSteps:N0} steps");
        }

        public void RunFinished(RunResult result) => task.Value = _index;

        public void Note(string line) => console.MarkupLine(Markup.Escape(line));
    }

    /// <summary>One line per run, for logs and terminals that cannot redraw a bar.</summary>
    sealed class LineProgress(IAnsiConsole console) : IExperimentProgress
    {
        readonly Stopwatch _clock = new();
        int _index, _total, _ran;
        bool _skipped;

        public void RunStarting(PlannedRun run, int index, int total, bool skipped)
        {
            (_index, _total, _skipped) = (index, total, skipped);
            if (skipped) console.MarkupLine(Markup.Escape($"[{index}/{total}] {Describe(run)}: finished before, skipped"));
            else _clock.Start();
        }

        public void RunProgress(PlannedRun run, long envSteps, long budget, string line) { }

        public void RunFinished(RunResult result)
        {
            if (_skipped) return;
            _clock.Stop();
            // The time per run so far, over the runs that ran (a skipped run takes none).
            double eta = _clock.Elapsed.TotalSeconds / ++_ran * (_total - _index);
            var s = result.Summary;
            console.MarkupLine(Markup.Escape($"[{_index}/{_total}] {Describe(result.Run)}: {(s.Solved ? $"solved at {s.SolvedAtEnvSteps:N0} steps, {Show.Seconds(s.SolvedAtSeconds!.Value)}" : "not solved")}, " +
                $"final return {Show.Number(s.FinalMeanReturn)}, {s.StepsPerSecond:N0} steps/s; ETA {eta:F0} s"));
        }

        public void Note(string line) => console.MarkupLine(Markup.Escape(line));
    }

    static string Describe(PlannedRun run) =>
        $"{run.Env} {run.Arm.Name} seed {run.Seed}{(run.Tuning ? $" (tuning lr {Hybrid.Training.Config.ConfigBinder.Format(run.LearningRate)})" : "")}";
}

/// <summary>
/// One experiment per folder at a time: <c>.hybrid.lock</c> in the folder, held open with an exclusive advisory lock
/// (released by the system however the holder ends), and <c>.hybrid.owner</c> naming the holder's process for the
/// message a second process gives (a locked file cannot be read on Unix, where .NET's reads take a shared lock).
/// </summary>
internal sealed class FolderLock : IDisposable
{
    const string Name = ".hybrid.lock", Owner = ".hybrid.owner";
    readonly FileStream _stream;

    FolderLock(FileStream stream) => _stream = stream;

    /// <summary>Whether an experiment folder may hold this file beside nothing else and still count as empty.</summary>
    public static bool IsLockFile(string path) => Path.GetFileName(path) is Name or Owner;

    /// <summary>Takes the folder's lock (creating the folder); null when another process holds it.</summary>
    public static FolderLock? Take(string directory)
    {
        Directory.CreateDirectory(directory);
        FileStream stream;
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock on Unix, a sharing mode on Windows).
            stream = new FileStream(Path.Combine(directory, Name), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        File.WriteAllText(Path.Combine(directory, Owner), $"pid {Environment.ProcessId} since {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss}\n");
        return new FolderLock(stream);
    }

    /// <summary>What the owner file says of the lock's holder ("pid 1234 since ..."), or "its pid unknown".</summary>
    public static string Holder(string directory)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(directory, Owner)).Trim();
            return text.Length > 0 ? text : "its pid unknown";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "its pid unknown";
        }
    }

    /// <summary>Releases the lock. The files stay: deleting the lock file could let a process that opened it just before hold a lock on a file no one else sees.</summary>
    public void Dispose() => _stream.Dispose();
}
