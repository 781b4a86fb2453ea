using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Experiments;

/// <summary>How one arm did on one env over the report seeds.</summary>
/// <param name="Env">Env id.</param>
/// <param name="Arm">Arm name.</param>
/// <param name="Algo">Algorithm.</param>
/// <param name="LearningRate">The learning rate it ran with.</param>
/// <param name="Solved">Seeds that reached the threshold.</param>
/// <param name="Runs">Seeds run.</param>
/// <param name="Seconds">Median seconds to the threshold (unsolved seeds as +infinity) with its 95% bootstrap CI (censoring-aware: <see cref="Statistics.MedianCensored"/>).</param>
/// <param name="Steps">Median env steps to the threshold, likewise.</param>
/// <param name="FinalMedian">Median final mean-100 return, with CI.</param>
/// <param name="FinalIqm">Interquartile mean of the final mean-100 returns, with CI.</param>
/// <param name="StepsPerSecond">Median env steps per second.</param>
/// <param name="LagMean">Mean policy lag over the seeds' runs (null where nothing lags).</param>
/// <param name="LagMax">Largest policy lag of any seed (null where nothing lags).</param>
public sealed record ArmStats(string Env, string Arm, string Algo, float LearningRate, int Solved, int Runs, Estimate Seconds, Estimate Steps,
    Estimate FinalMedian, Estimate FinalIqm, double StepsPerSecond, double? LagMean, long? LagMax)
{
    /// <summary>Median CPU seconds to the threshold, likewise; null where some run did not record its CPU time.</summary>
    public Estimate? CpuSeconds { get; init; }

    /// <summary>Threads the arm's runs kept busy: their threads plus helper threads.</summary>
    public int ThreadsUsed { get; init; }

    /// <summary>The median of <paramref name="measure"/>, or null where it was not recorded.</summary>
    public Estimate? Of(Measure measure) => measure switch
    {
        Measure.WallSeconds => Seconds,
        Measure.EnvSteps => Steps,
        _ => CpuSeconds,
    };
}

/// <summary>
/// How one arm compares with another on the measure the verdict ranks by: P(Better sooner than Other) counting censored
/// pairs as undecided (<see cref="Statistics.ProbabilitySooner"/>), and median(Other) / median(Better) with its CI.
/// </summary>
/// <param name="Env">Env id.</param>
/// <param name="Better">The row arm.</param>
/// <param name="Other">The column arm.</param>
/// <param name="Probability">P(Better reaches the threshold sooner than Other), with its 95% bootstrap interval.</param>
public sealed record PairwiseImprovement(string Env, string Better, string Other, Estimate Probability)
{
    /// <summary>median(Other) / median(Better): how many times longer Other took, with its 95% bootstrap interval.</summary>
    public Estimate Ratio { get; init; }

    /// <summary>Pairs of runs whose order censoring left unknown, and pairs in all.</summary>
    public (int Undecided, int Pairs) Censoring { get; init; }

    /// <summary>
    /// Whether the probability's interval leaves no room for "either could be sooner": it excludes 0.5. Only then does a
    /// verdict say one arm is sooner; otherwise the two cannot be told apart.
    /// </summary>
    public bool Decided => Probability.Low > 0.5 || Probability.High < 0.5;
}

/// <summary>The plain-words outcome on one env.</summary>
public sealed record Verdict(string Env, double Threshold, IReadOnlyList<ArmStats> Arms, IReadOnlyList<PairwiseImprovement> Pairs, string Text)
{
    /// <summary>The measure the arms are ranked by.</summary>
    public Measure RankedBy { get; init; }
}

/// <summary>Aggregates an experiment's runs and writes results.csv and report.md (docs/architecture.md, "Run folder").</summary>
public static class Report
{
    /// <summary>The statistics of every (env, arm) over the report seeds, in the file's order.</summary>
    public static List<ArmStats> Stats(ExperimentResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var stats = new List<ArmStats>();
        foreach (string env in results.Spec.Envs)
            foreach (ArmSpec arm in results.Spec.Arms)
            {
                RunResult[] runs = results.Report.Where(r => r.Run.Env == env && r.Run.Arm.Name == arm.Name).ToArray();
                if (runs.Length == 0) continue;
                // A run that ended before any episode has no return: it counts as the worst possible, never dropped.
                double[] finals = runs.Select(r => double.IsFinite(r.Summary.FinalMeanReturn) ? r.Summary.FinalMeanReturn : double.NegativeInfinity).ToArray();
                double[] lags = runs.Where(r => r.Summary.PolicyLagMean is not null).Select(r => r.Summary.PolicyLagMean!.Value).ToArray();
                long[] lagMax = runs.Where(r => r.Summary.PolicyLagMax is not null).Select(r => r.Summary.PolicyLagMax!.Value).ToArray();
                stats.Add(new ArmStats(env, arm.Name, arm.Algo, runs[0].Run.LearningRate, runs.Count(r => r.Summary.Solved), runs.Length,
                    Median(runs, Measure.WallSeconds)!.Value, Median(runs, Measure.EnvSteps)!.Value,
                    Statistics.Bootstrap(finals, Aggregate.Median), Statistics.Bootstrap(finals, Aggregate.InterquartileMean),
                    Statistics.Median(runs.Select(r => r.Summary.StepsPerSecond).ToArray()),
                    lags.Length > 0 ? lags.Average() : null, lagMax.Length > 0 ? lagMax.Max() : null)
                {
                    CpuSeconds = Median(runs, Measure.CpuSeconds),
                    ThreadsUsed = results.Spec.ThreadsUsed(env, arm),
                });
            }
        return stats;
    }

    static Estimate? Median(RunResult[] runs, Measure measure) =>
        runs.All(r => r.Has(measure)) ? Statistics.MedianCensored(runs.Select(r => r.Outcome(measure)).ToArray()) : null;

    /// <summary>How a measure reads in a sentence.</summary>
    public static string Name(Measure measure) => measure switch
    {
        Measure.WallSeconds => "wall time",
        Measure.EnvSteps => "env steps",
        _ => "CPU time",
    };

    /// <summary>A value of a measure: "12.3 s", "218,696 steps", "4.1 CPU s", or "not reached".</summary>
    public static string Format(Measure measure, double value) => measure switch
    {
        _ when double.IsPositiveInfinity(value) => "not reached",
        Measure.WallSeconds => Show.Seconds(value),
        Measure.EnvSteps => Show.Steps(value) + " steps",
        _ => Show.Seconds(value).Replace(" s", " CPU s"),
    };

    static string FormatCi(Measure measure, Estimate e) => measure == Measure.EnvSteps ? Show.CiSteps(e) : Show.Ci(e, seconds: true);

    /// <summary>
    /// The arms in the verdict's order: most runs that reached the threshold first, then the lowest median of
    /// <paramref name="measure"/> (unsolved runs as +infinity), then the highest median final return.
    /// </summary>
    public static ArmStats[] Ranked(IEnumerable<ArmStats> arms, Measure measure) =>
        arms.OrderByDescending(a => a.Solved).ThenBy(a => a.Of(measure)?.Value ?? double.PositiveInfinity).ThenByDescending(a => a.FinalMedian.Value).ToArray();

    /// <summary>
    /// Per env: the arms ranked (<see cref="Ranked"/>) by <paramref name="rankBy"/>; for every pair P(X sooner than Y)
    /// with censored pairs undecided, and the ratio of medians with its interval; the verdict's text. When no arm
    /// reaches the threshold on most seeds, the arms are ranked by final return instead, and the verdict says so.
    /// </summary>
    public static List<Verdict> Verdicts(ExperimentResults results, IReadOnlyList<ArmStats> stats, Measure rankBy = Measure.WallSeconds)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(stats);
        var verdicts = new List<Verdict>();
        foreach (string env in results.Spec.Envs)
        {
            ArmStats[] arms = stats.Where(s => s.Env == env).ToArray();
            if (arms.Length == 0) continue;
            Measure measure = arms.All(a => a.Of(rankBy) is not null) ? rankBy : Measure.WallSeconds;
            double threshold = results.Report.First(r => r.Run.Env == env).Summary.SolveThreshold;
            List<PairwiseImprovement> pairs = Pairs(results, env, arms, measure);
            var others = new Dictionary<Measure, List<PairwiseImprovement>>();
            foreach (Measure m in Enum.GetValues<Measure>())
                if (m != measure && arms.All(a => a.Of(m) is not null)) others[m] = Pairs(results, env, arms, m);
            verdicts.Add(new Verdict(env, threshold, arms, pairs, VerdictText(arms, threshold, pairs, measure, others)) { RankedBy = measure });
        }
        return verdicts;
    }

    static List<PairwiseImprovement> Pairs(ExperimentResults results, string env, ArmStats[] arms, Measure measure)
    {
        Censored[] Of(string arm) => results.Report.Where(r => r.Run.Env == env && r.Run.Arm.Name == arm).Select(r => r.Outcome(measure)).ToArray();
        var pairs = new List<PairwiseImprovement>();
        foreach (ArmStats a in arms)
            foreach (ArmStats b in arms)
            {
                if (a == b) continue;
                Censored[] x = Of(a.Arm), y = Of(b.Arm);
                pairs.Add(new PairwiseImprovement(env, a.Arm, b.Arm, Statistics.ProbabilitySoonerBootstrap(x, y))
                {
                    Ratio = Statistics.RatioOfMedians(y.Select(c => c.Time).ToArray(), x.Select(c => c.Time).ToArray()),
                    Censoring = (Statistics.ProbabilitySooner(x, y).Undecided, x.Length * y.Length),
                });
            }
        return pairs;
    }

    /// <summary>
    /// The verdict in words, which never says more than the numbers: one arm is "sooner" only where the interval of
    /// P(it sooner than the other) excludes 0.5; otherwise the two "cannot be told apart". Where another measure puts
    /// another arm first, it says so.
    /// </summary>
    static string VerdictText(ArmStats[] arms, double threshold, List<PairwiseImprovement> pairs, Measure measure,
        Dictionary<Measure, List<PairwiseImprovement>> otherMeasures)
    {
        if (arms.Length == 1)
            return $"{arms[0].Arm} reached {Show.Number(threshold)} on {arms[0].Solved}/{arms[0].Runs} seeds (one arm: nothing to compare).";
        ArmStats[] ranked = Ranked(arms, measure);
        ArmStats best = ranked[0];
        var text = new StringBuilder();
        if (double.IsPositiveInfinity(best.Of(measure)!.Value.Value) || !double.IsFinite(threshold))
        {
            // Nobody reached the threshold on most seeds: say so, and rank by the final return.
            ArmStats[] byReturn = arms.OrderByDescending(a => a.FinalMedian.Value).ToArray();
            ArmStats top = byReturn[0], next = byReturn[1];
            text.Append(double.IsFinite(threshold)
                ? $"No arm reached {Show.Number(threshold)} on most seeds ({string.Join(", ", arms.Select(a => $"{a.Arm} {a.Solved}/{a.Runs}"))}); by final return, "
                : "This env has no threshold; by final return, ");
            text.Append($"{top.Arm} leads with a median of {Show.Number(top.FinalMedian.Value)} {Show.Ci(top.FinalMedian)} against {next.Arm}'s {Show.Number(next.FinalMedian.Value)} {Show.Ci(next.FinalMedian)}");
            text.Append(top.FinalMedian.SeparatesFrom(next.FinalMedian) ? "; the intervals do not overlap." : "; the intervals overlap, so more seeds are needed to tell them apart.");
            return text.ToString();
        }
        string t = Show.Number(threshold), by = Name(measure);
        text.Append($"Ranked by {by} to {t} (runs that reached it first, then the median). ");
        foreach (ArmStats other in ranked.Skip(1))
        {
            PairwiseImprovement p = pairs.First(x => x.Better == best.Arm && x.Other == other.Arm);
            Estimate a = best.Of(measure)!.Value, b = other.Of(measure)!.Value;
            string medians = $"median {Format(measure, a.Value)} {FormatCi(measure, a)} against {Format(measure, b.Value)} {FormatCi(measure, b)}";
            string factor = double.IsPositiveInfinity(b.Value) ? $"{other.Arm} did not reach it on most seeds: {other.Solved}/{other.Runs}"
                : $"{p.Ratio.Value:F2}x {RatioCi(p.Ratio)}";
            string probability = $"P({best.Arm} sooner than {other.Arm}) = {p.Probability.Value:F2} {Show.Ci(p.Probability)}";
            if (p.Probability.Low > 0.5)
                text.Append($"{best.Arm} reaches {t} sooner than {other.Arm} by {by}: {medians} ({factor}); {probability}.");
            else if (p.Probability.High < 0.5)
                text.Append($"{other.Arm} tends to reach {t} sooner than {best.Arm} by {by} ({probability}), but {best.Arm} reached it on more seeds ({best.Solved}/{best.Runs} against {other.Solved}/{other.Runs}): {medians}.");
            else
                text.Append($"{best.Arm} and {other.Arm} cannot be told apart by {by} with these seeds: {medians} ({factor}); {probability}, an interval that holds 0.5.");
            if (p.Censoring.Undecided > 0)
                text.Append($" {p.Censoring.Undecided} of {p.Censoring.Pairs} pairs of runs count as undecided: one stopped without reaching {t} before the other reached it.");
            text.Append(' ');
        }
        // Where another measure puts another arm first, say so: a verdict by wall time alone would hide it.
        foreach ((Measure m, List<PairwiseImprovement> otherPairs) in otherMeasures)
        {
            ArmStats lead = Ranked(arms, m)[0];
            if (lead.Arm == best.Arm)
            {
                // The same arm first: worth a sentence only where this measure tells the first two apart and the ranking one did not.
                ArmStats second = ranked[1];
                PairwiseImprovement primary = pairs.First(x => x.Better == best.Arm && x.Other == second.Arm);
                PairwiseImprovement here = otherPairs.First(x => x.Better == best.Arm && x.Other == second.Arm);
                if (primary.Decided || here.Probability.Low <= 0.5) continue;
                Estimate x1 = best.Of(m)!.Value, x2 = second.Of(m)!.Value;
                text.Append($"By {Name(m)}, {best.Arm} is sooner than {second.Arm} ({Format(m, x1.Value)} {FormatCi(m, x1)} against {Format(m, x2.Value)} {FormatCi(m, x2)}; " +
                    $"P({best.Arm} sooner than {second.Arm}) = {here.Probability.Value:F2} {Show.Ci(here.Probability)}). ");
                continue;
            }
            PairwiseImprovement q = otherPairs.First(x => x.Better == lead.Arm && x.Other == best.Arm);
            Estimate a = lead.Of(m)!.Value, b = best.Of(m)!.Value;
            string medians = $"{Format(m, a.Value)} {FormatCi(m, a)} against {Format(m, b.Value)} {FormatCi(m, b)}";
            string probability = $"P({lead.Arm} sooner than {best.Arm}) = {q.Probability.Value:F2} {Show.Ci(q.Probability)}";
            text.Append(q.Probability.Low > 0.5
                ? $"The measures disagree: by {Name(m)}, {lead.Arm} is sooner ({medians}; {probability}). "
                : $"By {Name(m)}, {lead.Arm} ranks first ({medians}), but {probability} holds 0.5: by {Name(m)} the two cannot be told apart. ");
        }
        return text.ToString().TrimEnd();
    }

    static string RatioCi(Estimate ratio) =>
        double.IsNaN(ratio.Low) ? "[interval undefined]" : $"[{FormatRatio(ratio.Low)}, {FormatRatio(ratio.High)}]";

    static string FormatRatio(double v) => double.IsPositiveInfinity(v) ? "inf" : Show.Invariant(v, "F2");

    /// <summary>The report runs the machine was too busy for (<see cref="RunResult.Busy"/>).</summary>
    public static List<RunResult> BusyRuns(ExperimentResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return results.Report.Where(r => r.Busy).ToList();
    }

    /// <summary>
    /// The warning the terminal and report.md put above the verdict when some run had less of the machine than its
    /// threads needed, naming them; null when none did.
    /// </summary>
    public static string? BusyWarning(ExperimentResults results)
    {
        List<RunResult> busy = BusyRuns(results);
        if (busy.Count == 0) return null;
        // Grouped by arm and env, with runs of consecutive seeds as ranges: "A2C seeds 1-7, 9 on CartPole-v1".
        string names = string.Join("; ", busy.GroupBy(r => (r.Run.Env, r.Run.Arm.Name)).Select(g =>
        {
            int[] seeds = g.Select(r => r.Run.Seed).Distinct().Order().ToArray();
            return $"{g.Key.Name} seed{(seeds.Length == 1 ? "" : "s")} {SeedRanges(seeds)}{(results.Spec.Envs.Count == 1 ? "" : $" on {g.Key.Env}")}";
        }));
        double worst = busy.Max(r => r.Summary.Load!.OtherBusyCoresMean);
        return $"The machine was busy during {busy.Count} of {results.Report.Count} runs ({names}): other processes kept up to " +
            $"{Show.Invariant(worst, "F1")} of its {busy[0].Summary.Load!.Cores} cores busy on average, more than those runs' threads left free. " +
            "Their wall times measure the machine's load as well as the arms; env steps and CPU time are less affected. Run again on a quiet machine, or with --wait-quiet.";
    }

    /// <summary>"1-7, 9": sorted seeds with consecutive runs as ranges.</summary>
    static string SeedRanges(int[] sorted)
    {
        var parts = new List<string>();
        for (int i = 0; i < sorted.Length;)
        {
            int j = i;
            while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(", ", parts);
    }

    /// <summary>One line on the load every run saw: the load average's range and the cores busy outside Hybrid, mean and highest.</summary>
    public static string LoadSummary(IReadOnlyCollection<RunResult> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        MachineLoad[] loads = runs.Where(r => r.Summary.Load is not null).Select(r => r.Summary.Load!).ToArray();
        if (loads.Length == 0) return "not recorded";
        double[] averages = loads.SelectMany(l => new[] { l.LoadAverageStart, l.LoadAverageMax, l.LoadAverageEnd }).Where(double.IsFinite).ToArray();
        double[] other = loads.Select(l => l.OtherBusyCoresMean).Where(double.IsFinite).ToArray();
        string load = averages.Length > 0 ? $"load average {Show.Invariant(averages.Min(), "F1")} to {Show.Invariant(averages.Max(), "F1")}" : "load average unknown";
        string busy = other.Length > 0
            ? $"cores busy outside Hybrid {Show.Invariant(other.Min(), "F2")} to {Show.Invariant(other.Max(), "F2")} of {loads[0].Cores} (per-run means)"
            : "cores busy outside Hybrid unknown";
        int marked = loads.Count(l => l.Busy);
        return $"{load}; {busy}; {marked} of {runs.Count} runs marked busy{(loads.Length < runs.Count ? $" ({runs.Count - loads.Length} runs recorded no load)" : "")}";
    }

    /// <summary>Writes results.csv: one row per report run.</summary>
    public static string WriteResultsCsv(ExperimentResults results, string directory)
    {
        string path = Path.Combine(directory, "results.csv");
        var text = new StringBuilder("env,arm,algo,seed,learning_rate,solved,env_steps_to_threshold,seconds_to_threshold,final_mean_return," +
            "steps_per_second,updates,policy_lag_mean,policy_lag_max,env_steps,wall_seconds,cpu_seconds_to_threshold,cpu_seconds,other_busy_cores_mean,busy,reused,run_folder\n");
        foreach (RunResult r in results.Report)
        {
            var s = r.Summary;
            text.AppendJoin(',', Csv(r.Run.Env), Csv(r.Run.Arm.Name), r.Run.Arm.Algo, r.Run.Seed.ToString(CultureInfo.InvariantCulture),
                ConfigBinder.Format(r.Run.LearningRate), s.Solved ? "true" : "false", s.SolvedAtEnvSteps?.ToString(CultureInfo.InvariantCulture) ?? "",
                s.SolvedAtSeconds is double t ? Show.Invariant(t, "F3") : "", Show.Invariant(s.FinalMeanReturn, "F3"),
                Show.Invariant(s.StepsPerSecond, "F0"), s.Updates.ToString(CultureInfo.InvariantCulture),
                s.PolicyLagMean is double lag ? Show.Invariant(lag, "F3") : "", s.PolicyLagMax?.ToString(CultureInfo.InvariantCulture) ?? "",
                s.EnvSteps.ToString(CultureInfo.InvariantCulture), Show.Invariant(s.WallSeconds, "F3"),
                s.SolvedAtCpuSeconds is double c ? Show.Invariant(c, "F3") : "", s.CpuSeconds is double cpu ? Show.Invariant(cpu, "F3") : "",
                s.Load is { OtherBusyCoresMean: var o } && double.IsFinite(o) ? Show.Invariant(o, "F3") : "", r.Busy ? "true" : "false", r.Reused ? "true" : "false",
                Csv(r.Run.Folder.Replace('\\', '/')));
            text.Append('\n');
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>Writes report.md and returns its path.</summary>
    /// <param name="results">The experiment's runs.</param>
    /// <param name="stats">From <see cref="Stats"/>.</param>
    /// <param name="verdicts">From <see cref="Verdicts"/>.</param>
    /// <param name="figures">Per env, the figure files (relative to the experiment folder) to embed.</param>
    /// <param name="directory">The experiment folder.</param>
    public static string WriteMarkdown(ExperimentResults results, IReadOnlyList<ArmStats> stats, IReadOnlyList<Verdict> verdicts,
        IReadOnlyDictionary<string, List<(string Title, string File)>> figures, string directory)
    {
        ExperimentSpec spec = results.Spec;
        var md = new StringBuilder();
        md.Append($"# {spec.Name}\n\n");
        md.Append($"Hybrid experiment `{spec.Source}`, run {DateTime.Now:yyyy-MM-dd HH:mm}.\n\n");
        if (BusyWarning(results) is string warning) md.Append($"> **Warning: the machine was busy.** {warning}\n\n");
        md.Append("## What was compared, and where\n\n");
        md.Append($"- **Machine**: {Machine.Cpu}, {Environment.ProcessorCount} cores; {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}; Hybrid {Machine.HybridVersion}.\n");
        md.Append($"- **Envs**: {string.Join(", ", spec.Envs)}. **Report seeds**: {string.Join(", ", spec.Seeds)}" +
            (spec.Tune is { } tune ? $"; tuning seeds {string.Join(", ", tune.Seeds)} (never reported)" : "") + ".\n");
        md.Append($"- **Budget**, the same for every arm: {string.Join(", ", spec.Envs.Select(e => $"{spec.MaxEnvSteps[e]:N0} env steps" + (spec.Envs.Count > 1 ? $" on {e}" : "")))}" + (spec.WallSeconds is double w ? $" or {w:G} s of wall clock, whichever ends first" : "") +
            $"; {(spec.StopWhenSolved ? "each run stops when it reaches the threshold" : "every run spends its whole budget")}.\n");
        md.Append($"- **Cores**: every run gets {spec.CoreLimit} (runs go one at a time); each arm's `threads` is that less its helper threads (a server applier, a learner, a predictor), at least 1, unless the file sets it; the arms table gives the threads each arm kept busy.\n");
        md.Append($"- **Devices**: {Machine.Devices(results.Report)}.\n");
        md.Append($"- **Load seen**: {LoadSummary(results.Report)}. A run is marked busy when the cores busy outside Hybrid, on average, exceed those its threads left free by more than {MachineLoad.Tolerance:G} core.\n");
        List<RunResult> reused = results.Report.Where(r => r.Reused).ToList();
        if (reused.Count > 0)
            md.Append($"- **Reused runs** (found finished in this folder with the same config, seed and Hybrid version, not run again): " +
                string.Join(", ", reused.Select(r => $"`{r.Run.Folder.Replace('\\', '/')}` (run {r.Summary.Started ?? "at an unrecorded time"})")) + ".\n");
        md.Append("- **Solve criterion**: the mean return of the last 100 episodes reaches the threshold (training episodes for actor-critic methods, greedy evaluation episodes for value-based ones). " +
            "A seed that never reaches it counts as +infinity in the medians below, and each table gives k/n.\n");
        md.Append("- **Statistics**: medians and interquartile means (IQM) over seeds, each with a 95% percentile-bootstrap confidence interval (2,000 resamples). " +
            "Times to the threshold are given three ways: wall time, env steps and CPU time (every thread of the process). " +
            "P(X sooner than Y) is the probability of improvement of Agarwal et al. 2021 (rliable), with censoring counted as Gehan's test does: a pair of runs " +
            "whose order is unknown (one stopped unsolved before the other reached the threshold) scores one half. The medians' intervals respect censoring the same way " +
            "(lower end with unsolved runs at their stopping points, upper end with them at +infinity). The speed factor is the ratio of medians with its own bootstrap interval. " +
            "The verdict calls one arm sooner only where the interval of P excludes 0.5.\n\n");

        md.Append("### Arms\n\n| arm | algo | threads (with helpers) | preset applied | learning rate | learning rate from |\n|---|---|---|---|---|---|\n");
        foreach (ArmSpec arm in spec.Arms)
            foreach (string env in spec.Envs)
            {
                string preset = Presets.Name(arm.Algo, env) is string p ? $"`{p}` ({Presets.Describe(Presets.For(arm.Algo, env))})" : "none";
                float rate = stats.FirstOrDefault(s => s.Env == env && s.Arm == arm.Name)?.LearningRate ?? float.NaN;
                (int used, string split) = spec.Threads(env, arm);
                string threads = $"{used}{split}" + (used > spec.CoreLimit ? $" on {spec.CoreLimit} cores: oversubscribed" : "");
                md.Append($"| {arm.Name}{(spec.Envs.Count > 1 ? $" on {env}" : "")} | {arm.Algo} | {threads} | {preset} | {ConfigBinder.Format(rate)} | {RateSource(spec, arm, env, results)} |\n");
            }
        md.Append('\n');
        foreach (string env in spec.Envs) AppendDifferences(md, spec, env, results);

        if (results.Tuning.Count > 0) AppendTuning(md, results);

        foreach (string env in spec.Envs)
        {
            Verdict? verdict = verdicts.FirstOrDefault(v => v.Env == env);
            if (verdict is null) continue;
            md.Append($"## {env}\n\n");
            md.Append($"**Verdict.** {verdict.Text}\n\n");
            md.Append($"Threshold: {Show.Number(verdict.Threshold)}.\n\n");
            md.Append("| arm | solved | median s to threshold [95% CI] | median env steps to threshold [95% CI] | median CPU s to threshold [95% CI] | final return, median [CI] | final return, IQM [CI] | steps/s (median) | policy lag, mean / max |\n");
            md.Append("|---|---|---|---|---|---|---|---|---|\n");
            foreach (ArmStats a in verdict.Arms)
                md.Append($"| {a.Arm} | {a.Solved}/{a.Runs} | {Show.Seconds(a.Seconds.Value)} {Show.Ci(a.Seconds, seconds: true)} | {Show.Steps(a.Steps.Value)} {Show.CiSteps(a.Steps)} | " +
                    $"{(a.CpuSeconds is Estimate cpu ? $"{Show.Seconds(cpu.Value)} {Show.Ci(cpu, seconds: true)}" : "not recorded")} | " +
                    $"{Show.Number(a.FinalMedian.Value)} {Show.Ci(a.FinalMedian)} | {Show.Number(a.FinalIqm.Value)} {Show.Ci(a.FinalIqm)} | {a.StepsPerSecond:N0} | " +
                    $"{(a.LagMean is double lag ? $"{lag:F2} / {a.LagMax}" : "none (synchronous)")} |\n");
            if (verdict.Pairs.Count > 0)
            {
                md.Append($"\n| P(row sooner than column), by {Name(verdict.RankedBy)} | " + string.Join(" | ", verdict.Arms.Select(a => a.Arm)) + " |\n|---|" + string.Concat(verdict.Arms.Select(_ => "---|")) + "\n");
                foreach (ArmStats row in verdict.Arms)
                {
                    md.Append($"| {row.Arm} |");
                    foreach (ArmStats col in verdict.Arms)
                    {
                        PairwiseImprovement? p = verdict.Pairs.FirstOrDefault(x => x.Better == row.Arm && x.Other == col.Arm);
                        md.Append(p is null ? " - |" : $" {p.Probability.Value:F2} {Show.Ci(p.Probability)} |");
                    }
                    md.Append('\n');
                }
            }
            md.Append("\nEvery seed:\n\n| arm | seed | solved | s to threshold | env steps to threshold | CPU s to threshold | final return | steps/s | cores busy outside Hybrid | run folder |\n|---|---|---|---|---|---|---|---|---|---|\n");
            foreach (RunResult r in results.Report.Where(r => r.Run.Env == env))
                md.Append($"| {r.Run.Arm.Name} | {r.Run.Seed} | {(r.Summary.Solved ? "yes" : "no")} | {Show.Seconds(r.SecondsToThreshold)} | {Show.Steps(r.StepsToThreshold)} | " +
                    $"{(r.Has(Measure.CpuSeconds) ? Show.Seconds(r.Outcome(Measure.CpuSeconds).Time) : "-")} | " +
                    $"{Show.Number(r.Summary.FinalMeanReturn)} | {r.Summary.StepsPerSecond:N0} | " +
                    $"{(r.Summary.Load is { OtherBusyCoresMean: var o } && double.IsFinite(o) ? Show.Invariant(o, "F2") + (r.Busy ? " (busy)" : "") : "-")} | " +
                    $"`{r.Run.Folder.Replace('\\', '/')}`{(r.Reused ? " (reused)" : "")} |\n");
            if (figures.TryGetValue(env, out var files))
            {
                md.Append('\n');
                foreach ((string title, string file) in files) md.Append($"![{title}]({file.Replace('\\', '/')})\n\n");
            }
            md.Append('\n');
        }
        md.Append("Raw numbers: `results.csv` (one row per run); each run's `metrics.csv`, TensorBoard events and `summary.json` are in its run folder.\n");
        string path = Path.Combine(directory, "report.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    /// <summary>Where an arm's learning rate on an env came from, the last of these that sets it (tuning aside).</summary>
    public static string LearningRateSource(ExperimentSpec spec, ArmSpec arm, string env)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Resolve(env, arm).OriginOf("learning_rate");
    }

    static string RateSource(ExperimentSpec spec, ArmSpec arm, string env, ExperimentResults results) =>
        results.Picks.ContainsKey((env, arm.Name)) ? "tuned here (see below)" : LearningRateSource(spec, arm, env);

    /// <summary>Every setting whose resolved value differs between arms on <paramref name="env"/> (a setting an algorithm lacks shows as "-").</summary>
    public static List<(string Key, string[] Values)> Differences(ExperimentSpec spec, string env, IReadOnlyDictionary<(string Env, string Arm), float> picks)
    {
        var configs = spec.Arms.Select(a => spec.Config(env, a, spec.Seeds[0], picks.TryGetValue((env, a.Name), out float p) ? p : null)).ToArray();
        var keys = new List<string>();
        foreach (AlgoConfig c in configs)
            foreach (ConfigKey k in ConfigBinder.Keys(c.GetType()))
                if (!keys.Contains(k.Key)) keys.Add(k.Key);
        var rows = new List<(string, string[])>();
        if (spec.Arms.Select(a => a.ClusterActors).Distinct().Count() > 1) rows.Add(("processes", [.. spec.Arms.Select(a => a.Processes)]));
        foreach (string key in keys)
        {
            string[] values = configs.Select(c => ConfigBinder.Keys(c.GetType()).FirstOrDefault(k => k.Key == key) is ConfigKey k
                ? ConfigBinder.Format(k.Get(c)!) : "-").ToArray();
            if (values.Distinct().Count() > 1) rows.Add((key, values));
        }
        return rows;
    }

    static void AppendDifferences(StringBuilder md, ExperimentSpec spec, string env, ExperimentResults results)
    {
        List<(string Key, string[] Values)> rows = Differences(spec, env, results.Picks);
        md.Append($"### Settings that differ between arms{(spec.Envs.Count > 1 ? $" on {env}" : "")}\n\n");
        if (rows.Count == 0)
        {
            md.Append("None: every arm runs the same settings.\n\n");
            return;
        }
        md.Append("Everything not listed is the same for every arm (the full resolved settings are in each run folder's `config.yaml`).\n\n");
        md.Append("| setting | " + string.Join(" | ", spec.Arms.Select(a => a.Name)) + " |\n|---|" + string.Concat(spec.Arms.Select(_ => "---|")) + "\n");
        foreach ((string key, string[] values) in rows) md.Append($"| `{key}` | {string.Join(" | ", values)} |\n");
        md.Append('\n');
    }

    static void AppendTuning(StringBuilder md, ExperimentResults results)
    {
        md.Append("### Learning-rate tuning\n\nEach arm's rate was picked on the tuning seeds: the lowest median seconds to the threshold, then the highest median final return.\n\n");
        md.Append("| env | arm | learning rate | solved | median s to threshold | median final return | picked |\n|---|---|---|---|---|---|---|\n");
        foreach (var group in results.Tuning.GroupBy(r => (r.Run.Env, r.Run.Arm.Name, r.Run.LearningRate)))
        {
            RunResult[] runs = group.ToArray();
            (double seconds, double finalReturn) = ExperimentRunner.GridScore(runs);
            bool picked = results.Picks.TryGetValue((group.Key.Env, group.Key.Name), out float p) && p == group.Key.LearningRate;
            md.Append($"| {group.Key.Env} | {group.Key.Name} | {ConfigBinder.Format(group.Key.LearningRate)} | {runs.Count(r => r.Summary.Solved)}/{runs.Length} | " +
                $"{Show.Seconds(seconds)} | {Show.Number(finalReturn)} | {(picked ? "yes" : "")} |\n");
        }
        md.Append('\n');
    }

    static string Csv(string text) => text.Contains(',') || text.Contains('"') ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
}

/// <summary>How numbers read in reports and on the terminal.</summary>
public static class Show
{
    /// <summary>Seconds, or "not reached" for +infinity.</summary>
    public static string Seconds(double s) =>
        double.IsPositiveInfinity(s) ? "not reached" : Invariant(s, s < 0.1 ? "F3" : s < 10 ? "F2" : "F1") + " s";

    /// <summary>Env steps with thousands separators, or "not reached".</summary>
    public static string Steps(double s) => double.IsPositiveInfinity(s) ? "not reached" : s.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A return or threshold with one decimal; "-" for NaN or -infinity (no episode finished).</summary>
    public static string Number(double v) => double.IsFinite(v) ? Invariant(v, "F1") : double.IsPositiveInfinity(v) ? "none" : "-";

    /// <summary>"[low, high]" of an interval, an infinite end as "not reached" for times.</summary>
    public static string Ci(Estimate e, bool seconds = false) => seconds
        ? $"[{Seconds(e.Low)}, {Seconds(e.High)}]".Replace(" s,", ",")
        : $"[{Format2(e.Low)}, {Format2(e.High)}]";

    /// <summary>"[low, high]" of an interval of env steps.</summary>
    public static string CiSteps(Estimate e) => $"[{Steps(e.Low)}, {Steps(e.High)}]";

    /// <summary>The invariant-culture text of a number.</summary>
    public static string Invariant(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    static string Format2(double v) => double.IsFinite(v) ? (Math.Abs(v) >= 10 ? Invariant(v, "F1") : Invariant(v, "F2")) : double.IsPositiveInfinity(v) ? "inf" : "-inf";
}

/// <summary>What the report says about the machine and the build.</summary>
public static class Machine
{
    /// <summary>The CPU model (Linux: /proc/cpuinfo's "model name"), or the architecture.</summary>
    public static string Cpu => Hybrid.Training.Devices.DeviceInfo.CpuModel;

    /// <summary>
    /// Where each arm's runs ran, as their summaries say: "A2C: cpu (NAME)" per arm and device, or one phrase when
    /// every run ran on the same device.
    /// </summary>
    public static string Devices(IEnumerable<RunResult> runs)
    {
        var byArm = runs.GroupBy(r => r.Run.Arm.Name)
            .Select(g => (Arm: g.Key, Devices: g.Select(r => r.Summary.DeviceName is null ? r.Summary.Device : $"{r.Summary.Device} ({r.Summary.DeviceName})").Distinct().ToList()))
            .ToList();
        var all = byArm.SelectMany(a => a.Devices).Distinct().ToList();
        return all.Count == 1 ? $"every run on {all[0]}" : string.Join("; ", byArm.Select(a => $"{a.Arm} on {string.Join(", ", a.Devices)}"));
    }

    /// <summary>Hybrid's version with the commit it was built from (the SDK adds it when built in a git checkout).</summary>
    public static string HybridVersion => Hybrid.Training.Runs.SummaryBuilder.HybridVersion;
}
