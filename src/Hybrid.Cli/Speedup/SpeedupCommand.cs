using System.CommandLine;
using Hybrid.Experiments;
using Spectre.Console;

namespace Hybrid.Cli.Speedup;

/// <summary>
/// <c>hybrid speedup FILE.yaml [--out DIR] [--oversubscribe] [--wait-quiet]</c>: for every method, thread count, env and seed, the
/// wall time to a reference score; then speedup, data efficiency and throughput per thread count beside Mnih et al.
/// 2016 Table 2, in the terminal, report.md and a figure. Started again on the same folder it skips finished runs.
/// </summary>
public static class SpeedupCommand
{
    internal static Command Build()
    {
        var file = new Argument<string>("file") { Description = "The speedup file (YAML): methods, threads, envs, seeds, budget, reference scores; see experiments/README.md." };
        var output = new Option<string>("--out") { Description = "Experiment folder (default: runs/NAME, the file's name). Reusing it resumes: a finished run of the same config, seed and Hybrid version is reused, any other runs again." };
        output.NotBlank("a folder path");
        var oversubscribe = new Option<bool>("--oversubscribe")
        {
            Description = "Run thread counts that need more threads than this machine has cores too, each marked as oversubscribed (default: they are refused).",
        };
        var waitQuiet = new Option<bool>("--wait-quiet")
        {
            Description = $"Before each run, wait (up to {Compare.CompareCommand.WaitQuietSeconds:G} s) until the machine has the cores the run needs; runs on a busy machine are marked either way.",
        };
        var command = new Command("speedup", "How the asynchronous methods scale with threads: time to a reference score per thread count, beside Mnih et al. 2016 Table 2.")
        {
            file, output, oversubscribe, waitQuiet,
        };
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.GetValue(output), parse.GetValue(oversubscribe), Environment.ProcessorCount,
            ExperimentConsole.Current(), Console.Error, parse.GetValue(waitQuiet) ? Compare.CompareCommand.WaitQuietSeconds : null));
        return command;
    }

    /// <summary>Runs the measurement; returns the exit code (0 done, 1 a run failed, 2 bad input or nothing this machine can run).</summary>
    internal static int Run(string file, string? output, bool oversubscribe, int cores, IAnsiConsole console, TextWriter stderr, double? waitQuiet = null)
    {
        ExperimentConsole.WidenForLogs(console);
        if (ExperimentConsole.Load("speedup", () => SpeedupSpec.Load(file), stderr) is not SpeedupSpec spec) return 2;
        SpeedupPlan plan = SpeedupPlan.Make(spec, cores, oversubscribe);
        foreach (string line in plan.Refused) console.MarkupLine(Markup.Escape($"refused: {line}"));
        if (plan.Cells.Count == 0)
        {
            stderr.WriteLine($"speedup: nothing in '{file}' fits this machine's {cores} cores; expected thread counts up to {cores}, or --oversubscribe.");
            return 2;
        }
        string directory = Path.GetFullPath(output ?? Path.Combine("runs", ExperimentRunner.Slug(spec.Name)));
        if (ExperimentConsole.Claim("speedup", directory, file, stderr, out FolderLock? held) is int code) return code;
        using FolderLock folderLock = held!;

        ExperimentSpec experiment = spec.Experiment(plan.Cells);
        console.MarkupLine(Markup.Escape($"{spec.Name}: {string.Join(", ", spec.Methods.Select(m => $"{m} at {string.Join(", ", plan.Of(m).Select(c => c.Threads))} threads"))} " +
            $"on {string.Join(", ", spec.Envs)} (reference scores {string.Join(", ", spec.Envs.Select(e => Show.Number(spec.ReferenceScore(e))))}), " +
            $"{spec.Seeds.Count} seeds: {experiment.RunCount} runs of at most {spec.MaxEnvSteps.Values.Max():N0} env steps{(spec.WallSeconds is double w ? $" or {w:G} s" : "")}, on {cores} cores."));
        return ExperimentConsole.RunAndReport("speedup", experiment, directory, console, stderr, results =>
        {
            List<SpeedupResult> rows = SpeedupAnalysis.Results(spec, plan, results);
            string? figure = ExperimentConsole.TryDraw("speedup", () => Figures.Speedup(spec, rows, directory), stderr);
            return (SpeedupReport.WriteMarkdown(spec, plan, results, rows, figure, directory), c => PrintTable(c, spec, plan, rows));
        }, waitQuiet);
    }

    static void PrintTable(IAnsiConsole console, SpeedupSpec spec, SpeedupPlan plan, List<SpeedupResult> rows)
    {
        string over = spec.Envs.Count > 2 ? $"median over {spec.Envs.Count} envs" : spec.Envs.Count == 2 ? $"median over {spec.Envs[0]} and {spec.Envs[1]}" : spec.Envs[0];
        var table = new Table().Title(Markup.Escape($"Speedup in time to the reference score, {over}, beside Mnih et al. 2016 Table 2 (7 Atari games, 16 cores); this machine: {plan.Cores} cores"));
        table.AddColumns("method", "threads", "cores used", "paper", Markup.Escape("Hybrid [95% CI]"), "reached", Markup.Escape("data efficiency [CI]"), Markup.Escape("throughput [CI]"));
        foreach (SpeedupResult r in SpeedupAnalysis.Headline(spec, rows))
            table.AddRow(Markup.Escape(r.Method), r.Cell.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(SpeedupReport.CoresUsed(r.Cell, plan.Cores)),
                Markup.Escape(SpeedupReport.Paper(r.Method, r.Cell.Threads)), Markup.Escape(SpeedupReport.WithCi(r.Speedup)),
                $"{r.Solved}/{r.Runs}", Markup.Escape(SpeedupReport.WithCi(r.DataEfficiency)),
                Markup.Escape(SpeedupReport.WithCi(r.Throughput)));
        console.Write(table);
        foreach (string line in SpeedupReport.LeftOut(spec, rows)) console.MarkupLine(Markup.Escape(line));
        foreach (string env in spec.Envs)
        {
            // The measures the study of parallel Deep Dyna-Q reports per thread count, for every method.
            var measures = new Table().Title(Markup.Escape($"Training measures on {env} (medians over seeds)"));
            measures.AddColumns("method", "threads", "average score", "time to train", "episodes to train", "time per episode");
            foreach (SpeedupResult r in rows.Where(r => r.Env == env))
            {
                (string score, string time, string episodes, string perEpisode) = SpeedupReport.Measures(r);
                measures.AddRow(Markup.Escape(r.Method), Markup.Escape($"{r.Cell.Threads}{(r.Cell.Oversubscribed ? " (oversubscribed)" : "")}"), score,
                    Markup.Escape(time), Markup.Escape(episodes), Markup.Escape(perEpisode));
            }
            console.Write(measures);
        }
        console.MarkupLine(Markup.Escape("speedup = time with the baseline / time with n threads; data efficiency = env steps with the baseline / with n; throughput = steps/s with n / with the baseline. Per env: report.md."));
    }
}
