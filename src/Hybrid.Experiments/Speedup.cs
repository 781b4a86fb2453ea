using System.Globalization;
using System.Reflection;

namespace Hybrid.Experiments;

/// <summary>One (method, thread count) cell of a speedup measurement.</summary>
/// <param name="Method">Algorithm.</param>
/// <param name="Threads">Its threads (workers; actor threads for impala, lane groups for a2c).</param>
/// <param name="ThreadsUsed">Threads it keeps busy: <paramref name="Threads"/> plus its helpers (server applier, IMPALA learner).</param>
/// <param name="Oversubscribed">True when <paramref name="ThreadsUsed"/> exceeds the machine's cores.</param>
public readonly record struct SpeedupCellPlan(string Method, int Threads, int ThreadsUsed, bool Oversubscribed);

/// <summary>
/// Which cells of a speedup file this machine runs: a cell whose threads (with helpers) exceed the cores is refused
/// unless oversubscription is allowed, and then it is marked. A method whose baseline cell is refused is left out.
/// </summary>
/// <param name="Cells">The cells that run.</param>
/// <param name="Refused">Lines saying what was refused and why.</param>
/// <param name="Cores">The machine's cores.</param>
public sealed record SpeedupPlan(IReadOnlyList<SpeedupCellPlan> Cells, IReadOnlyList<string> Refused, int Cores)
{
    /// <summary>Plans <paramref name="spec"/> on a machine of <paramref name="cores"/> cores.</summary>
    /// <exception cref="ArgumentException"><paramref name="cores"/> &lt; 1.</exception>
    public static SpeedupPlan Make(SpeedupSpec spec, int cores, bool oversubscribe)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (cores < 1) throw new ArgumentException($"cores was {cores}; expected >= 1.", nameof(cores));
        ExperimentSpec all = spec.Experiment();
        var cells = new List<SpeedupCellPlan>();
        var refused = new List<string>();
        foreach (string method in spec.Methods)
        {
            var over = new List<string>();
            var own = new List<SpeedupCellPlan>();
            foreach (int n in spec.Threads)
            {
                ArmSpec arm = all.Arms.First(a => a.Name == SpeedupSpec.ArmName(method, n));
                int used = spec.Envs.Max(env => { var c = all.Config(env, arm, spec.Seeds[0], null); return c.Threads + c.HelperThreads; });
                bool oversubscribed = used > cores;
                if (oversubscribed && !oversubscribe) over.Add(used == n ? $"{n}" : $"{n} ({used} with its helper threads)");
                else own.Add(new SpeedupCellPlan(method, n, used, oversubscribed));
            }
            if (own.Count == 0 || own[0].Threads != spec.Baseline)
            {
                refused.Add($"{method}: left out: its baseline of {spec.Baseline} thread{(spec.Baseline == 1 ? "" : "s")} needs more than this machine's {cores} cores; --oversubscribe runs it anyway, marked.");
                continue;
            }
            if (over.Count > 0)
                refused.Add($"{method}: {string.Join(", ", over)} threads refused: this machine has {cores} cores; --oversubscribe runs them anyway, marked as oversubscribed.");
            cells.AddRange(own);
        }
        return new SpeedupPlan(cells, refused, cores);
    }

    /// <summary>The thread counts that run for <paramref name="method"/>, ascending.</summary>
    public IEnumerable<SpeedupCellPlan> Of(string method) => Cells.Where(c => c.Method == method);
}

/// <summary>How one (method, thread count) did on one env, or over the envs (their median).</summary>
/// <param name="Method">Algorithm.</param>
/// <param name="Env">Env id, or null for the median over the envs.</param>
/// <param name="Cell">The planned cell (threads, threads used, oversubscribed).</param>
/// <param name="Solved">Runs that reached the reference score.</param>
/// <param name="Runs">Runs.</param>
/// <param name="MedianSeconds">Median seconds to the score (+infinity where most did not reach it); NaN for the average.</param>
/// <param name="MedianSteps">Median env steps to the score, likewise.</param>
/// <param name="StepsPerSecond">Median env steps per second.</param>
/// <param name="Speedup">time(baseline) / time(n): the ratio of the median times, with a 95% bootstrap CI over seeds.</param>
/// <param name="DataEfficiency">steps(baseline) / steps(n): above 1, n threads needed fewer env steps to the score.</param>
/// <param name="Throughput">steps/s(n) / steps/s(baseline).</param>
public sealed record SpeedupResult(string Method, string? Env, SpeedupCellPlan Cell, int Solved, int Runs, double MedianSeconds, double MedianSteps,
    double StepsPerSecond, Estimate Speedup, Estimate DataEfficiency, Estimate Throughput)
{
    /// <summary>
    /// For the row over envs (Env null): the envs its median counts, those whose speedup is defined: a number, or the
    /// bound it is (+infinity where the baseline mostly did not reach the score, 0 where n threads mostly did not).
    /// Only an env where neither did is left out, and the report names it.
    /// </summary>
    public IReadOnlyList<string> AveragedOver { get; init; } = [];

    /// <summary>Per env: the median over seeds of each run's final mean return (of the episodes its criterion counts); NaN for the row over envs.</summary>
    public double MedianFinalReturn { get; init; } = double.NaN;

    /// <summary>Per env: the median training episodes to the score (the episodes a run finished; it stops when solved), +infinity where most did not reach it; NaN over envs.</summary>
    public double MedianEpisodes { get; init; } = double.NaN;

    /// <summary>Per env: the median of each run's seconds to the score over its episodes to it, +infinity where most did not reach it; NaN over envs.</summary>
    public double MedianSecondsPerEpisode { get; init; } = double.NaN;
}

/// <summary>
/// The speedup arithmetic. Per env, speedup(n) = median over seeds of the seconds to the reference score with the
/// baseline thread count, over the same median with n threads; a seed that never reached the score counts as
/// +infinity, so a median of +infinity gives a speedup of +infinity (the baseline mostly did not reach it) or 0 (n
/// threads mostly did not), and infinity over infinity is undefined (NaN). Over several envs the headline is the
/// median of the per-env ratios (Mnih et al. 2016 averaged over games; a mean would have to drop the envs whose ratio is
/// a bound, a median counts them as the bounds they are): only envs whose ratio is undefined are left out, by name.
/// The intervals resample each (env, thread count)'s seeds independently.
/// </summary>
public static class SpeedupAnalysis
{
    /// <summary>Per (method, thread count): one result per env, then the median over envs (Env null).</summary>
    public static List<SpeedupResult> Results(SpeedupSpec spec, SpeedupPlan plan, ExperimentResults results)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<SpeedupResult>();
        foreach (string method in spec.Methods)
            foreach (SpeedupCellPlan cell in plan.Of(method))
            {
                var baseline = spec.Envs.Select(env => Runs(results, env, method, spec.Baseline)).ToArray();
                var runs = spec.Envs.Select(env => Runs(results, env, method, cell.Threads)).ToArray();
                if (runs.Any(r => r.Length == 0) || baseline.Any(r => r.Length == 0)) continue;
                var perEnv = new List<SpeedupResult>();
                for (int e = 0; e < spec.Envs.Count; e++)
                    perEnv.Add(Row(method, spec.Envs[e], cell, cell.Threads == spec.Baseline, [baseline[e]], [runs[e]]));
                rows.AddRange(perEnv);
                if (spec.Envs.Count == 1) continue;
                // The median over envs counts every env whose speedup is defined, a bound (inf or 0) included; an env where
                // neither thread count mostly reached the score has none, and is left out by name.
                int[] defined = Enumerable.Range(0, spec.Envs.Count).Where(e => !double.IsNaN(perEnv[e].Speedup.Value)).ToArray();
                rows.Add(Row(method, null, cell, cell.Threads == spec.Baseline, baseline, runs)
                    with { AveragedOver = defined.Select(e => spec.Envs[e]).ToArray(), Solved = perEnv.Sum(r => r.Solved), Runs = perEnv.Sum(r => r.Runs) });
            }
        return rows;
    }

    /// <summary>The rows set beside the paper's: the averages over envs, or the per-env rows where there is one env.</summary>
    public static IEnumerable<SpeedupResult> Headline(SpeedupSpec spec, IEnumerable<SpeedupResult> rows)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return rows.Where(r => r.Env is null || spec.Envs.Count == 1);
    }

    static RunResult[] Runs(ExperimentResults results, string env, string method, int threads) =>
        results.Report.Where(r => r.Run.Env == env && r.Run.Arm.Name == SpeedupSpec.ArmName(method, threads)).ToArray();

    static SpeedupResult Row(string method, string? env, SpeedupCellPlan cell, bool isBaseline, RunResult[][] baseline, RunResult[][] runs)
    {
        static double[] Of(RunResult[] r, Func<RunResult, double> f) => r.Select(f).ToArray();
        double[][] Pairs(Func<RunResult, double> f, bool baselineFirst) => baseline.Zip(runs)
            .SelectMany(p => baselineFirst ? new[] { Of(p.First, f), Of(p.Second, f) } : [Of(p.Second, f), Of(p.First, f)]).ToArray();
        RunResult[] all = runs.SelectMany(r => r).ToArray();
        // The baseline against itself is 1 by definition, not an interval from resampling the same runs twice.
        Estimate Ratio(Func<RunResult, double> f, bool baselineFirst) => isBaseline ? new Estimate(1, 1, 1) : MedianRatioOfMedians(Pairs(f, baselineFirst));
        // The parallel Dyna-Q study's measures per thread count: average score, time to train, episodes to train, time per episode.
        static double Episodes(RunResult r) => r.Summary.Solved && r.Summary.Episodes > 0 ? r.Summary.Episodes : double.PositiveInfinity;
        return new SpeedupResult(method, env, cell, all.Count(r => r.Summary.Solved), all.Length,
            env is null ? double.NaN : Statistics.Median(Of(all, r => r.SecondsToThreshold)),
            env is null ? double.NaN : Statistics.Median(Of(all, r => r.StepsToThreshold)),
            Statistics.Median(Of(all, r => r.Summary.StepsPerSecond)),
            Ratio(r => r.SecondsToThreshold, baselineFirst: true),
            Ratio(r => r.StepsToThreshold, baselineFirst: true),
            Ratio(r => r.Summary.StepsPerSecond, baselineFirst: false))
        {
            MedianFinalReturn = env is null ? double.NaN : Statistics.Median(Of(all, r => r.Summary.FinalMeanReturn)),
            MedianEpisodes = env is null ? double.NaN : Statistics.Median(Of(all, Episodes)),
            MedianSecondsPerEpisode = env is null ? double.NaN : Statistics.Median(Of(all, r => double.IsFinite(Episodes(r)) ? r.SecondsToThreshold / Episodes(r) : double.PositiveInfinity)),
        };
    }

    /// <summary>
    /// The median over pairs of median(numerator) / median(denominator), the samples given as numerator 0, denominator
    /// 0, numerator 1, ...; with a 95% bootstrap interval over each sample's values. One pair: its ratio.
    /// </summary>
    /// <exception cref="ArgumentException">An odd number of samples, or an empty one.</exception>
    public static Estimate MedianRatioOfMedians(IReadOnlyList<double[]> samples)
    {
        CheckPairs(samples);
        return Statistics.BootstrapSamples(samples, MedianRatio);
    }

    static void CheckPairs(IReadOnlyList<double[]> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0 || samples.Count % 2 != 0)
            throw new ArgumentException($"samples held {samples.Count} samples; expected numerator and denominator pairs.", nameof(samples));
    }

    /// <summary>
    /// The statistic of <see cref="MedianRatioOfMedians"/>, without the interval: the median of the pairs' ratios that
    /// are defined (+infinity and 0 included, as the bounds they are); NaN when none is.
    /// </summary>
    /// <exception cref="ArgumentException">An odd number of samples, or an empty one.</exception>
    public static double MedianRatio(IReadOnlyList<double[]> samples)
    {
        CheckPairs(samples);
        Span<double> ratios = stackalloc double[samples.Count / 2];
        int defined = 0;
        for (int i = 0; i < samples.Count; i += 2)
        {
            double r = Statistics.Median(samples[i]) / Statistics.Median(samples[i + 1]);
            if (!double.IsNaN(r)) ratios[defined++] = r;
        }
        return defined == 0 ? double.NaN : Statistics.Median(ratios[..defined]);
    }
}

/// <summary>Mnih et al. 2016, Table 2: the paper's speedups per method and thread count (experiments/reference/mnih2016_table2.csv).</summary>
public static class PaperTable
{
    static readonly Lazy<Dictionary<string, Dictionary<int, double>>> Table = new(Load);

    /// <summary>The paper's name of a Hybrid method, or null where the paper has no row for it.</summary>
    public static string? Label(string method) => method switch
    {
        "q1" => "1-step Q",
        "sarsa1" => "1-step SARSA",
        "qn" => "n-step Q",
        "a3c" => "A3C",
        _ => null,
    };

    /// <summary>The paper's speedup of <paramref name="method"/> at <paramref name="threads"/> threads, or null.</summary>
    public static double? Speedup(string method, int threads) =>
        Label(method) is string label && Table.Value.TryGetValue(label, out var row) && row.TryGetValue(threads, out double s) ? s : null;

    static Dictionary<string, Dictionary<int, double>> Load()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("mnih2016_table2.csv")
            ?? throw new InvalidOperationException("The Table 2 resource is missing from Hybrid.Experiments.");
        string[] lines = new StreamReader(stream).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith('#')).ToArray();
        int[] threads = lines[0].Split(',')[1..].Select(h => int.Parse(h["threads_".Length..], CultureInfo.InvariantCulture)).ToArray();
        var table = new Dictionary<string, Dictionary<int, double>>(StringComparer.Ordinal);
        foreach (string line in lines[1..])
        {
            string[] cells = line.Split(',');
            table[cells[0]] = threads.Select((t, i) => (t, double.Parse(cells[i + 1], CultureInfo.InvariantCulture))).ToDictionary(x => x.t, x => x.Item2);
        }
        return table;
    }
}
