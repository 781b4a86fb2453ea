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
        var output = new Option<string>("--out") { Description = "Experiment folder (default: runs/NAME, the experiment's name). Reusing it resumes: finished runs are skipped." };
        output.NotBlank("a folder path");
        var command = new Command("compare", "Compare arms (algorithms or settings) head to head over seeds: run folders, results.csv, figures, report.md and a verdict.")
        {
            file, output,
        };
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.GetValue(output), ExperimentConsole.Current(), Console.Error));
        return command;
    }

    /// <summary>Runs the experiment; returns the exit code (0 done, 1 a run failed, 2 bad input).</summary>
    internal static int Run(string file, string? output, IAnsiConsole console, TextWriter stderr)
    {
        ExperimentConsole.WidenForLogs(console);
        if (ExperimentConsole.Load("compare", () => ExperimentSpec.Load(file), stderr) is not ExperimentSpec spec) return 2;
        string directory = Path.GetFullPath(output ?? Path.Combine("runs", ExperimentRunner.Slug(spec.Name)));
        if (ExperimentConsole.Claim("compare", directory, file, stderr) is int code) return code;

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
        return ExperimentConsole.RunAndReport("compare", spec, directory, console, stderr, results =>
        {
            List<ArmStats> stats = Report.Stats(results);
            List<Verdict> verdicts = Report.Verdicts(results, stats);
            Dictionary<string, List<(string Title, string File)>> figures =
                ExperimentConsole.TryDraw("compare", () => Figures.Draw(results, directory), stderr) ?? [];
            return (Report.WriteMarkdown(results, stats, verdicts, figures, directory), c => PrintVerdicts(c, verdicts));
        });
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

}
