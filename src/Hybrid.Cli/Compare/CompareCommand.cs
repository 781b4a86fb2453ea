using System.CommandLine;
using Hybrid.Experiments;
using Hybrid.Training.Config;
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
        var output = new Option<string>("--out") { Description = "Experiment folder (default: runs/NAME, the experiment's name). Reusing it resumes: a finished run of the same config, seed and Hybrid version is reused, any other runs again." };
        output.NotBlank("a folder path");
        var rankBy = new Option<string>("--rank-by")
        {
            Description = "The measure the verdict ranks arms by: wall (time to the threshold, the default), steps (env steps) or cpu (CPU seconds, every thread).",
            DefaultValueFactory = _ => "wall",
        };
        rankBy.AcceptOnlyFromAmong("wall", "steps", "cpu");
        var oversubscribe = new Option<bool>("--oversubscribe")
        {
            Description = "Run arms whose threads plus helper threads exceed the cores each run gets, marked as oversubscribed (default: refused).",
        };
        var waitQuiet = new Option<bool>("--wait-quiet")
        {
            Description = $"Before each run, wait (up to {WaitQuietSeconds:G} s) until the machine has the cores the run needs; runs on a busy machine are marked either way.",
        };
        var command = new Command("compare", "Compare arms (algorithms or settings) head to head over seeds: run folders, results.csv, figures, report.md and a verdict.")
        {
            file, output, rankBy, oversubscribe, waitQuiet,
        };
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.GetValue(output), ExperimentConsole.Current(), Console.Error,
            new CompareOptions(ParseMeasure(parse.GetValue(rankBy)!), parse.GetValue(oversubscribe), parse.GetValue(waitQuiet) ? WaitQuietSeconds : null)));
        return command;
    }

    /// <summary>How long <c>--wait-quiet</c> waits before each run at most.</summary>
    public const double WaitQuietSeconds = 600;

    /// <summary>The measure named by <c>--rank-by</c>.</summary>
    internal static Measure ParseMeasure(string name) => name switch
    {
        "steps" => Measure.EnvSteps,
        "cpu" => Measure.CpuSeconds,
        _ => Measure.WallSeconds,
    };

    /// <summary>Runs the experiment; returns the exit code (0 done, 1 a run failed, 2 bad input).</summary>
    internal static int Run(string file, string? output, IAnsiConsole console, TextWriter stderr, CompareOptions? options = null)
    {
        options ??= new CompareOptions();
        ExperimentConsole.WidenForLogs(console);
        if (ExperimentConsole.Load("compare", () => ExperimentSpec.Load(file), stderr) is not ExperimentSpec spec) return 2;
        List<string> over = spec.Oversubscribing();
        if (over.Count > 0 && !options.Oversubscribe)
        {
            string cores = spec.CoreLimit == 1 ? "1 core" : $"{spec.CoreLimit} cores", threads = spec.CoreLimit == 1 ? "1 thread" : $"{spec.CoreLimit} threads";
            stderr.WriteLine($"compare: {string.Join("; ", over)}, and each run gets {cores}; expected at most {threads} per run: " +
                "set the arm's threads lower, or pass --oversubscribe to run it marked as oversubscribed.");
            return 2;
        }
        string directory = Path.GetFullPath(output ?? Path.Combine("runs", ExperimentRunner.Slug(spec.Name)));
        if (ExperimentConsole.Claim("compare", directory, file, stderr, out FolderLock? held) is int code) return code;
        using FolderLock folderLock = held!;
        foreach (string line in over) console.MarkupLine(Markup.Escape($"oversubscribed: {line} on {spec.CoreLimit} cores; its runs are marked in the report."));

        int runs = spec.RunCount;
        console.MarkupLine($"[bold]{Markup.Escape(spec.Name)}[/]: {string.Join(", ", spec.Arms.Select(a => Markup.Escape($"{a.Name} ({a.Algo})")))} " +
            $"on {Markup.Escape(string.Join(", ", spec.Envs))}, {spec.Seeds.Count} seed{(spec.Seeds.Count == 1 ? "" : "s")}, {runs} run{(runs == 1 ? "" : "s")} of at most {spec.MaxEnvSteps.Values.Max():N0} env steps, {spec.CoreLimit} core{(spec.CoreLimit == 1 ? "" : "s")} each.");
        foreach (string env in spec.Envs)
            foreach (ArmSpec arm in spec.Arms)
            {
                string preset = Presets.Name(arm.Algo, env) is string name ? $"preset {name} ({Presets.Describe(Presets.For(arm.Algo, env))}) beneath the file's settings" : "no preset";
                string rate = spec.Tune is null
                    ? $"learning rate {ConfigBinder.Format(spec.Config(env, arm, spec.Seeds[0], null).LearningRate)} from {Report.LearningRateSource(spec, arm, env)}"
                    : "learning rate tuned first";
                console.MarkupLine(Markup.Escape($"{arm.Name} on {env}: {preset}; {rate}"));
            }
        return ExperimentConsole.RunAndReport("compare", spec, directory, console, stderr, results =>
        {
            List<ArmStats> stats = Report.Stats(results);
            List<Verdict> verdicts = Report.Verdicts(results, stats, options.RankBy);
            Dictionary<string, List<(string Title, string File)>> figures =
                ExperimentConsole.TryDraw("compare", () => Figures.Draw(results, directory), stderr) ?? [];
            return (Report.WriteMarkdown(results, stats, verdicts, figures, directory), c => PrintVerdicts(c, verdicts));
        }, options.WaitQuiet);
    }

    static void PrintVerdicts(IAnsiConsole console, List<Verdict> verdicts)
    {
        foreach (Verdict v in verdicts)
        {
            var table = new Table().Title($"[bold]{Markup.Escape(v.Env)}[/], threshold {Markup.Escape(Show.Number(v.Threshold))}");
            table.AddColumns("arm", "threads", "solved", Markup.Escape("median s to threshold [95% CI]"), Markup.Escape("median env steps [95% CI]"),
                Markup.Escape("median CPU s [95% CI]"), "final return (median)", "steps/s");
            foreach (ArmStats a in v.Arms)
                table.AddRow(Markup.Escape(a.Arm), $"{a.ThreadsUsed}", $"{a.Solved}/{a.Runs}", Markup.Escape($"{Show.Seconds(a.Seconds.Value)} {Show.Ci(a.Seconds, seconds: true)}"),
                    Markup.Escape($"{Show.Steps(a.Steps.Value)} {Show.CiSteps(a.Steps)}"),
                    Markup.Escape(a.CpuSeconds is Estimate cpu ? $"{Show.Seconds(cpu.Value)} {Show.Ci(cpu, seconds: true)}" : "not recorded"),
                    Markup.Escape(Show.Number(a.FinalMedian.Value)), $"{a.StepsPerSecond:N0}");
            console.Write(table);
            console.MarkupLine($"[bold]verdict:[/] {Markup.Escape(v.Text)}");
        }
    }

}

/// <summary>What <c>compare</c>'s options ask beyond the file and the folder.</summary>
/// <param name="RankBy">The measure the verdict ranks by.</param>
/// <param name="Oversubscribe">Run arms that need more threads than the cores, marked, instead of refusing them.</param>
/// <param name="WaitQuiet">Seconds to wait for a quiet machine before each run; null: none.</param>
internal sealed record CompareOptions(Measure RankBy = Measure.WallSeconds, bool Oversubscribe = false, double? WaitQuiet = null);
