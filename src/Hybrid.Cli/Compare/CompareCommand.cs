using System.CommandLine;
using System.Diagnostics;
using Hybrid.Experiments;
using Hybrid.Training.Config;
using Hybrid.Training.Parallel;
using Spectre.Console;

namespace Hybrid.Cli.Compare;

/// <summary>
/// <c>hybrid compare FILE.yaml [--out DIR]</c>: runs an experiment (every env, arm and seed, one run at a time), writes
/// results.csv, the figures and report.md into the experiment folder, and prints the verdict table. Started again on
/// the same folder it skips the runs that finished.
/// </summary>
public static class CompareCommand
{
    /// <summary>The experiment file <c>./run.sh</c> runs with no arguments.</summary>
    public const string DefaultExperiment = "experiments/a2c-vs-a3c-default.yaml";

    internal static Command Build()
    {
        var file = new Argument<string>("file") { Description = "The experiment file (YAML): envs, seeds, budget, arms; see experiments/README.md." };
        var output = new Option<string>("--out") { Description = "Experiment folder (default: runs/NAME, the experiment's name). Reusing it resumes: finished runs are skipped." };
        var command = new Command("compare", "Compare arms (algorithms or settings) head to head over seeds: run folders, results.csv, figures, report.md and a verdict.")
        {
            file, output,
        };
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.GetValue(output), AnsiConsole.Console, Console.Error));
        return command;
    }

    /// <summary>Runs the experiment; returns the exit code (0 done, 1 a run failed, 2 bad input).</summary>
    internal static int Run(string file, string? output, IAnsiConsole console, TextWriter stderr)
    {
        // A log or a pipe gets whole lines, not lines cut at Spectre's default of 80 columns.
        if (!console.Profile.Capabilities.Interactive && console.Profile.Width < 200) console.Profile.Width = 200;
        ExperimentSpec spec;
        try
        {
            spec = ExperimentSpec.Load(file);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"compare: {ErrorText.Of(e)}");
            return 2;
        }
        string directory = Path.GetFullPath(output ?? Path.Combine("runs", ExperimentRunner.Slug(spec.Name)));
        try
        {
            ClaimFolder(directory, file);
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"compare: {ErrorText.Of(e)}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"compare: --out '{directory}' cannot be used as the experiment folder: {e.Message}");
            return 2;
        }

        int runs = spec.RunCount;
        console.MarkupLine($"[bold]{Markup.Escape(spec.Name)}[/]: {string.Join(", ", spec.Arms.Select(a => Markup.Escape($"{a.Name} ({a.Algo})")))} " +
            $"on {Markup.Escape(string.Join(", ", spec.Envs))}, {spec.Seeds.Count} seeds, {runs} runs of at most {spec.MaxEnvSteps.Values.Max():N0} env steps, {spec.CoresPerRun} cores each.");
        foreach (string env in spec.Envs)
            foreach (ArmSpec arm in spec.Arms)
            {
                string preset = Presets.Name(arm.Algo, env) is string name ? $"preset {name} ({Presets.Describe(Presets.For(arm.Algo, env))}) beneath the file's settings" : "no preset";
                string rate = spec.Tune is null
                    ? $"learning rate {ConfigBinder.Format(spec.Config(env, arm, spec.Seeds[0], null).LearningRate)} from {Report.LearningRateSource(spec, arm, env)}"
                    : "learning rate tuned first";
                console.MarkupLine(Markup.Escape($"{arm.Name} on {env}: {preset}; {rate}"));
            }
        console.MarkupLine($"experiment folder: {Markup.Escape(directory)}");

        ExperimentResults results;
        try
        {
            results = console.Profile.Capabilities.Interactive
                ? RunWithProgressBar(spec, directory, console)
                : new ExperimentRunner(spec, directory, new LineProgress(console)).Run();
        }
        catch (Exception e) when (e is WorkerFailedException or TrainingDivergedException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"compare: {ErrorText.Of(e)}");
            if (e is WorkerFailedException && e.InnerException is not null) stderr.WriteLine(e.InnerException);
            stderr.WriteLine($"compare: the finished runs are kept; run the same command again to resume.");
            return 1;
        }

        string report;
        List<Verdict> verdicts;
        try
        {
            Report.WriteResultsCsv(results, directory);
            List<ArmStats> stats = Report.Stats(results);
            verdicts = Report.Verdicts(results, stats);
            Dictionary<string, List<(string Title, string File)>> figures;
            try
            {
                figures = Figures.Draw(results, directory);
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or ArgumentException)
            {
                // The report is worth having without its figures (e.g. where Skia's native library cannot load).
                stderr.WriteLine($"compare: the figures could not be drawn ({e.Message}); report.md is written without them.");
                figures = [];
            }
            report = Report.WriteMarkdown(results, stats, verdicts, figures, directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"compare: writing the results into '{directory}' failed: {e.Message}");
            return 1;
        }
        PrintVerdicts(console, verdicts);
        console.MarkupLine($"report: {Markup.Escape(report)}");
        return 0;
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
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new ArgumentException($"--out '{directory}' is not empty and holds no experiment; expected a new or empty folder.");
        Directory.CreateDirectory(directory);
        File.WriteAllText(copy, text);
    }

    static ExperimentResults RunWithProgressBar(ExperimentSpec spec, string directory, IAnsiConsole console)
    {
        ExperimentResults? results = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask("starting", maxValue: 1);
                results = new ExperimentRunner(spec, directory, new BarProgress(task, console)).Run();
                task.Value = task.MaxValue;
                task.Description = $"{results.Tuning.Count + results.Report.Count} runs done";
            });
        return results!;
    }

    static void PrintVerdicts(IAnsiConsole console, List<Verdict> verdicts)
    {
        foreach (Verdict v in verdicts)
        {
            var table = new Table().Title($"[bold]{Markup.Escape(v.Env)}[/], threshold {Markup.Escape(Show.Number(v.Threshold))}");
            table.AddColumns("arm", "solved", Markup.Escape("median s to threshold [95% CI]"), Markup.Escape("median env steps [95% CI]"), "final return (median)", "steps/s");
            foreach (ArmStats a in v.Arms)
                table.AddRow(Markup.Escape(a.Arm), $"{a.Solved}/{a.Runs}", Markup.Escape($"{Show.Seconds(a.Seconds.Value)} {Show.Ci(a.Seconds, seconds: true)}"),
                    Markup.Escape($"{Show.Steps(a.Steps.Value)} {Show.CiSteps(a.Steps)}"), Markup.Escape(Show.Number(a.FinalMedian.Value)), $"{a.StepsPerSecond:N0}");
            console.Write(table);
            console.MarkupLine($"[bold]verdict:[/] {Markup.Escape(v.Text)}");
        }
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
