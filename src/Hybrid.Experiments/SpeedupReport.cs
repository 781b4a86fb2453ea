using System.Runtime.InteropServices;
using System.Text;
using Hybrid.Training.Config;

namespace Hybrid.Experiments;

/// <summary>Writes a speedup measurement's report.md, beside the paper's Table 2.</summary>
public static class SpeedupReport
{
    /// <summary>A ratio as "1.83x"; "inf" for +infinity, "-" for NaN.</summary>
    public static string Ratio(double r) => double.IsNaN(r) ? "-" : double.IsPositiveInfinity(r) ? "inf" : Show.Invariant(r, "F2") + "x";

    /// <summary>A ratio with its interval: "1.83x [1.20, 2.50]".</summary>
    public static string WithCi(Estimate e) => $"{Ratio(e.Value)} {(double.IsNaN(e.Low) ? "[undefined]" : $"[{Bound(e.Low)}, {Bound(e.High)}]")}";

    static string Bound(double v) => double.IsPositiveInfinity(v) ? "inf" : Show.Invariant(v, "F2");

    /// <summary>The paper's speedup, or "-" where the paper has no entry.</summary>
    public static string Paper(string method, int threads) => PaperTable.Speedup(method, threads) is double p ? Show.Invariant(p, "F1") + "x" : "-";

    /// <summary>"3 on 2 cores: oversubscribed", or "2".</summary>
    public static string CoresUsed(SpeedupCellPlan cell, int cores) =>
        cell.Oversubscribed ? $"{cell.ThreadsUsed} on {cores} cores: oversubscribed" : cell.ThreadsUsed.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// One line per row over envs whose median leaves an env out (neither thread count mostly reached the score) or
    /// counts one as a bound (the baseline or n threads mostly did not), naming them and why.
    /// </summary>
    public static List<string> LeftOut(SpeedupSpec spec, IReadOnlyList<SpeedupResult> rows)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rows);
        var lines = new List<string>();
        foreach (SpeedupResult median in rows.Where(r => r.Env is null))
        {
            double Of(string env) => rows.First(r => r.Env == env && r.Method == median.Method && r.Cell.Threads == median.Cell.Threads).Speedup.Value;
            string[] left = spec.Envs.Where(env => double.IsNaN(Of(env))).ToArray();
            string[] bounds = spec.Envs.Where(env => double.IsPositiveInfinity(Of(env)) || Of(env) == 0).Select(env => double.IsPositiveInfinity(Of(env))
                ? $"{env} as inf ({spec.Baseline} thread{(spec.Baseline == 1 ? "" : "s")} did not reach the score on most seeds)"
                : $"{env} as 0 ({median.Cell.Threads} threads did not reach the score on most seeds)").ToArray();
            if (left.Length == 0 && bounds.Length == 0) continue;
            var parts = new List<string> { $"{median.Method} at {median.Cell.Threads} threads: median over {median.AveragedOver.Count} of {spec.Envs.Count} envs" };
            if (bounds.Length > 0) parts.Add($"counted as bounds: {string.Join(", ", bounds)}");
            if (left.Length > 0) parts.Add($"left out {string.Join(", ", left.Select(e => $"{e} (neither thread count reached the score on most seeds)"))}");
            lines.Add(string.Join("; ", parts) + ".");
        }
        return lines;
    }

    /// <summary>
    /// A per-env row's training measures as text: the average score (the median final mean return), time to train (the median
    /// seconds to the score), episodes to train and time per episode (milliseconds).
    /// </summary>
    public static (string Score, string Time, string Episodes, string PerEpisode) Measures(SpeedupResult row)
    {
        ArgumentNullException.ThrowIfNull(row);
        static string Reached(double v, Func<double, string> show) => double.IsPositiveInfinity(v) ? "not reached" : double.IsNaN(v) ? "-" : show(v);
        return (Reached(row.MedianFinalReturn, v => Show.Invariant(v, "F1")), Show.Seconds(row.MedianSeconds),
            Reached(row.MedianEpisodes, v => Show.Invariant(v, "N0")), Reached(row.MedianSecondsPerEpisode, v => Show.Invariant(1000 * v, "F2") + " ms"));
    }

    /// <summary>Writes report.md and returns its path.</summary>
    /// <param name="spec">The speedup file.</param>
    /// <param name="plan">The cells this machine ran.</param>
    /// <param name="results">The runs.</param>
    /// <param name="rows">From <see cref="SpeedupAnalysis.Results"/>.</param>
    /// <param name="figure">The figure's path relative to the folder, or null if it could not be drawn.</param>
    /// <param name="directory">The experiment folder.</param>
    public static string WriteMarkdown(SpeedupSpec spec, SpeedupPlan plan, ExperimentResults results, IReadOnlyList<SpeedupResult> rows, string? figure, string directory)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(rows);
        var md = new StringBuilder();
        md.Append($"# {spec.Name}: speedup with threads\n\n");
        md.Append($"Hybrid speedup file `{spec.Source}`, run {DateTime.Now:yyyy-MM-dd HH:mm}.\n\n");
        if (Report.BusyWarning(results) is string warning) md.Append($"> **Warning: the machine was busy.** {warning}\n\n");
        md.Append("## What was measured, and where\n\n");
        md.Append($"- **Load seen**: {Report.LoadSummary(results.Report)}.\n");
        md.Append($"- **Machine**: {Machine.Cpu}, **{plan.Cores} cores**; {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; Hybrid {Machine.HybridVersion}.\n");
        md.Append($"- **Methods**: {string.Join(", ", spec.Methods)}; **threads**: {string.Join(", ", spec.Threads)} in the file, baseline {spec.Baseline}. " +
            "Threads are worker threads for a3c, q1, sarsa1 and qn, actor threads for impala and lane groups for a2c; for dyna-q, planning threads beside the one thread that acts in the real env.\n");
        md.Append("- **Cores each run keeps busy**: its threads plus its helper threads. Greedy evaluation (q1, sarsa1, qn) takes its turn on a worker " +
            "thread while the others wait, so it adds none and every thread count evaluates at the same env-step points; its time is left out of the time to the score. " +
            "The `server` update mode's applier and IMPALA's learner add one each; dyna-q's real-env thread adds one to its planning threads. A cell that needs more than the machine's cores is " +
            "refused, or with `--oversubscribe` run and marked.\n");
        foreach (string line in plan.Refused) md.Append($"- **Not run**: {line}\n");
        md.Append($"- **Envs and reference scores**: {string.Join(", ", spec.Envs.Select(e => $"{e} {Show.Number(spec.ReferenceScore(e))}" + (spec.ReferenceScores.ContainsKey(e) ? "" : " (its threshold)")))}. " +
            "A run stops when the mean return of its last 100 episodes reaches the score (training episodes for actor-critic methods, greedy evaluation episodes for the Q methods).\n");
        md.Append($"- **Budget per run**: {string.Join(", ", spec.Envs.Select(e => $"{spec.MaxEnvSteps[e]:N0} env steps" + (spec.Envs.Count > 1 ? $" on {e}" : "")))}" +
            (spec.WallSeconds is double w ? $", or {w:G} s of wall clock" : "") + "; a run that ends without the score counts as not reached (+infinity).\n");
        md.Append($"- **Seeds**: {string.Join(", ", spec.Seeds)}; runs go one at a time, seed by seed, the cells taking turns.\n");
        md.Append("- **Settings**: every thread count of a method runs the same settings; per method and env:\n");
        ExperimentSpec experiment = results.Spec;
        foreach (string method in spec.Methods)
        {
            ArmSpec? arm = experiment.Arms.FirstOrDefault(a => a.Algo == method);
            if (arm is null) continue;
            foreach (string env in spec.Envs)
            {
                string preset = Presets.Name(method, env) is string p ? $"preset `{p}` ({Presets.Describe(Presets.For(method, env))})" : "no preset";
                md.Append($"  - {method} on {env}: {preset}; learning rate {ConfigBinder.Format(experiment.Config(env, arm, spec.Seeds[0], null).LearningRate)} " +
                    $"from {Report.LearningRateSource(experiment, arm, env)}.\n");
            }
        }
        md.Append("- **Arithmetic**: speedup(n) = median seconds to the score with the baseline / the same median with n threads, per env, then the " +
            "median over the envs (Mnih et al. 2016 averaged over games; a median counts an env whose ratio is a bound, inf or 0, as that bound instead of dropping it; " +
            "only an env where neither thread count reached the score is left out, and the lines under the table name every such env). Data efficiency = median env steps to the score with the baseline / with n " +
            "threads (above 1: n threads needed fewer steps); throughput = median steps/s with n threads / with the baseline. Speedup is roughly their " +
            "product, so a speedup above the ideal comes from data efficiency. A median over seeds that did not reach the score is +infinity: a speedup " +
            "of inf (the baseline did not), 0 (n threads did not) or undefined (neither). Intervals: 95% percentile bootstrap, 2,000 resamples, each " +
            "(env, thread count)'s seeds resampled on their own; resamples where the ratio is undefined are left out.\n\n");

        md.Append(spec.Envs.Count > 1 ? $"## Beside the paper: median over {string.Join(", ", spec.Envs)}\n\n" : $"## Beside the paper: {spec.Envs[0]}\n\n");
        md.Append("Mnih et al. 2016, Table 2: average speedup over seven Atari games on 16 CPU cores.\n\n");
        md.Append("| method | threads | cores used | paper (Table 2) | Hybrid: speedup [95% CI] | reached | data efficiency [CI] | throughput [CI] |\n|---|---|---|---|---|---|---|---|\n");
        foreach (SpeedupResult r in SpeedupAnalysis.Headline(spec, rows))
            md.Append($"| {r.Method} | {r.Cell.Threads} | {CoresUsed(r.Cell, plan.Cores)} | {Paper(r.Method, r.Cell.Threads)} | {WithCi(r.Speedup)} | " +
                $"{r.Solved}/{r.Runs} | {WithCi(r.DataEfficiency)} | {WithCi(r.Throughput)} |\n");
        md.Append('\n');
        List<string> leftOut = LeftOut(spec, rows);
        foreach (string line in leftOut) md.Append($"- {line}\n");
        if (leftOut.Count > 0) md.Append('\n');
        if (figure is not null) md.Append($"![Speedup against threads]({figure.Replace('\\', '/')})\n\n");

        foreach (string env in spec.Envs)
        {
            md.Append($"## {env}, reference score {Show.Number(spec.ReferenceScore(env))}\n\n");
            md.Append("| method | threads | reached | median s to the score | median env steps to the score | steps/s (median) | speedup [95% CI] | data efficiency [CI] | throughput [CI] |\n");
            md.Append("|---|---|---|---|---|---|---|---|---|\n");
            foreach (SpeedupResult r in rows.Where(r => r.Env == env))
                md.Append($"| {r.Method} | {r.Cell.Threads}{(r.Cell.Oversubscribed ? " (oversubscribed)" : "")} | {r.Solved}/{r.Runs} | {Show.Seconds(r.MedianSeconds)} | {Show.Steps(r.MedianSteps)} | " +
                    $"{r.StepsPerSecond:N0} | {WithCi(r.Speedup)} | {WithCi(r.DataEfficiency)} | {WithCi(r.Throughput)} |\n");
            md.Append('\n');
            md.Append("Training measures, as the study of parallel Deep Dyna-Q reports them (medians over seeds; \"not reached\" where most runs did not reach the score):\n\n");
            md.Append("| method | threads | average score | time to train | episodes to train | time per episode |\n|---|---|---|---|---|---|\n");
            foreach (SpeedupResult r in rows.Where(r => r.Env == env))
            {
                (string score, string time, string episodes, string perEpisode) = Measures(r);
                md.Append($"| {r.Method} | {r.Cell.Threads}{(r.Cell.Oversubscribed ? " (oversubscribed)" : "")} | {score} | {time} | {episodes} | {perEpisode} |\n");
            }
            md.Append('\n');
        }
        md.Append("Raw numbers: `results.csv` (one row per run; the arm `q1 x2` is q1 with 2 threads); each run's `metrics.csv`, TensorBoard events and `summary.json` are in its run folder.\n");
        string path = Path.Combine(directory, "report.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }
}
