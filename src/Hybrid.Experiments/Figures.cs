using ScottPlot;

namespace Hybrid.Experiments;

/// <summary>
/// The report's figures, drawn with ScottPlot and saved as PNG and SVG: per env, the mean-100 return against env
/// steps and against wall seconds (one line per arm: the median over seeds, with a band from the 25th to the 75th
/// percentile), and every seed's time to the threshold per arm.
/// </summary>
public static class Figures
{
    const int Width = 900, Height = 520, GridPoints = 200;

    /// <summary>Draws every figure into <paramref name="directory"/>/figures; returns per env its (title, relative PNG path).</summary>
    public static Dictionary<string, List<(string Title, string File)>> Draw(ExperimentResults results, string directory)
    {
        ArgumentNullException.ThrowIfNull(results);
        string folder = Path.Combine(directory, "figures");
        Directory.CreateDirectory(folder);
        var byEnv = new Dictionary<string, List<(string, string)>>();
        foreach (string env in results.Spec.Envs)
        {
            string slug = ExperimentRunner.Slug(env);
            RunResult[] runs = results.Report.Where(r => r.Run.Env == env).ToArray();
            if (runs.Length == 0) continue;
            double threshold = runs[0].Summary.SolveThreshold;
            // Each figure carries its title (the env and the measure) in the image too, so a copied PNG still says what it shows.
            string steps = $"{env}: mean-100 return against env steps", seconds = $"{env}: mean-100 return against wall seconds";
            var files = new List<(string, string)>
            {
                (steps, Curves(results.Spec, runs, threshold, folder, $"{slug}-return-vs-steps", bySeconds: false, steps)),
                (seconds, Curves(results.Spec, runs, threshold, folder, $"{slug}-return-vs-seconds", bySeconds: true, seconds)),
            };
            if (double.IsFinite(threshold))
            {
                string reach = $"{env}: seconds to reach {Show.Number(threshold)}, every seed";
                files.Add((reach, TimeToThreshold(results.Spec, runs, threshold, folder, $"{slug}-time-to-threshold", reach)));
            }
            byEnv[env] = files;
        }
        return byEnv;
    }

    static string Curves(ExperimentSpec spec, RunResult[] runs, double threshold, string folder, string name, bool bySeconds, string title)
    {
        var plot = new Plot();
        plot.Title(title);
        double end = 0;
        foreach (RunResult r in runs)
            if (r.Curve.Count > 0) end = Math.Max(end, bySeconds ? r.Curve[^1].Seconds : r.Curve[^1].EnvSteps);
        for (int a = 0; a < spec.Arms.Count; a++)
        {
            RunResult[] arm = runs.Where(r => r.Run.Arm.Name == spec.Arms[a].Name && r.Curve.Count > 0).ToArray();
            if (arm.Length == 0 || end <= 0) continue;
            var xs = new double[GridPoints];
            double[] median = new double[GridPoints], low = new double[GridPoints], high = new double[GridPoints];
            var column = new double[arm.Length];
            int used = 0;
            for (int i = 0; i < GridPoints; i++)
            {
                double x = end * (i + 1) / GridPoints;
                int have = 0;
                foreach (RunResult r in arm)
                {
                    // A seed counts from its first row on; one that stopped (solved) keeps its last value.
                    double v = ValueAt(r.Curve, x, bySeconds);
                    if (!double.IsNaN(v)) column[have++] = v;
                }
                if (have == 0) continue;
                double[] sorted = column[..have];
                Array.Sort(sorted);
                xs[used] = x;
                median[used] = Statistics.Percentile(sorted, 50);
                low[used] = Statistics.Percentile(sorted, 25);
                high[used] = Statistics.Percentile(sorted, 75);
                used++;
            }
            if (used == 0) continue;
            Color color = Colors.Category10[a % 10];
            var band = plot.Add.FillY(xs[..used], low[..used], high[..used]);
            band.FillStyle.Color = color.WithAlpha(0.2);
            band.LineStyle.Width = 0;
            var line = plot.Add.ScatterLine(xs[..used], median[..used]);
            line.Color = color;
            line.LineWidth = 2;
            line.LegendText = $"{spec.Arms[a].Name} (median of {arm.Length}, band: IQR)";
        }
        if (double.IsFinite(threshold))
        {
            var h = plot.Add.HorizontalLine(threshold);
            h.LinePattern = LinePattern.Dashed;
            h.Color = Colors.Gray;
            h.LegendText = $"threshold {Show.Number(threshold)}";
        }
        plot.XLabel(bySeconds ? "wall seconds" : "env steps");
        plot.YLabel("mean return of the last 100 episodes");
        plot.ShowLegend(Alignment.LowerRight);
        return Save(plot, folder, name);
    }

    /// <summary>The value of the step curve at x: the last row at or before x; NaN before the first row.</summary>
    static double ValueAt(IReadOnlyList<CurvePoint> curve, double x, bool bySeconds)
    {
        double value = double.NaN;
        foreach (CurvePoint p in curve)
        {
            if ((bySeconds ? p.Seconds : p.EnvSteps) > x) break;
            value = p.Return;
        }
        return value;
    }

    static string TimeToThreshold(ExperimentSpec spec, RunResult[] runs, double threshold, string folder, string name, string title)
    {
        var plot = new Plot();
        plot.Title(title);
        double top = runs.Where(r => r.Summary.Solved).Select(r => r.SecondsToThreshold).DefaultIfEmpty(1).Max();
        double censoredAt = top * 1.15;
        var ticks = new List<Tick>();
        for (int a = 0; a < spec.Arms.Count; a++)
        {
            RunResult[] arm = runs.Where(r => r.Run.Arm.Name == spec.Arms[a].Name).ToArray();
            ticks.Add(new Tick(a, spec.Arms[a].Name));
            Color color = Colors.Category10[a % 10];
            for (int i = 0; i < arm.Length; i++)
            {
                // Spread the seeds sideways so equal times stay visible.
                double x = a + (arm.Length == 1 ? 0 : -0.2 + 0.4 * i / (arm.Length - 1));
                bool solved = arm[i].Summary.Solved;
                var marker = plot.Add.Marker(x, solved ? arm[i].SecondsToThreshold : censoredAt);
                marker.Color = color;
                marker.Size = 9;
                marker.Shape = solved ? MarkerShape.FilledCircle : MarkerShape.Eks;
            }
            double[] seconds = arm.Select(r => r.SecondsToThreshold).ToArray();
            double median = Statistics.Median(seconds);
            if (double.IsFinite(median))
            {
                var m = plot.Add.Line(a - 0.3, median, a + 0.3, median);
                m.Color = color;
                m.LineWidth = 2;
            }
        }
        if (runs.Any(r => !r.Summary.Solved))
        {
            var h = plot.Add.HorizontalLine(censoredAt);
            h.LinePattern = LinePattern.Dotted;
            h.Color = Colors.Gray;
            h.LegendText = "x: not reached within the budget";
            plot.ShowLegend(Alignment.UpperRight);
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.SetLimitsX(-0.6, spec.Arms.Count - 0.4);
        plot.Axes.SetLimitsY(0, censoredAt * 1.08);
        plot.YLabel($"seconds to a mean-100 return of {Show.Number(threshold)} (bar: median)");
        return Save(plot, folder, name);
    }

    /// <summary>
    /// Speedup against threads, the median over the envs: per method, Hybrid's speedups joined by a line with their 95%
    /// intervals as bars (an oversubscribed cell as an open circle), the paper's Table 2 as open squares, and the ideal
    /// (n over the baseline) dashed. Returns the PNG's path relative to <paramref name="directory"/>.
    /// </summary>
    public static string Speedup(SpeedupSpec spec, IReadOnlyList<SpeedupResult> rows, string directory)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rows);
        string folder = Path.Combine(directory, "figures");
        Directory.CreateDirectory(folder);
        SpeedupResult[] shown = SpeedupAnalysis.Headline(spec, rows).ToArray();
        int maxThreads = shown.Select(r => r.Cell.Threads).DefaultIfEmpty(spec.Baseline).Max();
        // Infinite values and interval ends are drawn at the top edge.
        // The paper's points go as far as the threads measured here. Infinite values and interval ends are drawn at the top edge.
        bool drawPaper = spec.Baseline == 1;
        double paperTop = drawPaper ? spec.Methods.SelectMany(m => spec.Threads.Where(n => n <= maxThreads).Select(n => PaperTable.Speedup(m, n) ?? 0)).DefaultIfEmpty(0).Max() : 0;
        double top = Math.Max(Math.Max((double)maxThreads / spec.Baseline, paperTop), shown.SelectMany(r => new[] { r.Speedup.Value, r.Speedup.High })
            .Where(double.IsFinite).DefaultIfEmpty(1).Max()) * 1.15;
        var plot = new Plot();
        var ideal = plot.Add.Line(spec.Baseline, 1, maxThreads, (double)maxThreads / spec.Baseline);
        ideal.LinePattern = LinePattern.Dashed;
        ideal.Color = Colors.Gray;
        ideal.LegendText = "ideal (linear in threads)";
        bool anyInfinite = false, anyOpen = shown.Any(r => double.IsPositiveInfinity(r.Speedup.High));
        for (int m = 0; m < spec.Methods.Count; m++)
        {
            string method = spec.Methods[m];
            Color color = Colors.Category10[m % 10];
            // Methods sit side by side around each thread count, so that their bars do not hide each other.
            double shift = (m - (spec.Methods.Count - 1) / 2.0) * 0.012 * maxThreads;
            SpeedupResult[] own = shown.Where(r => r.Method == method && !double.IsNaN(r.Speedup.Value)).OrderBy(r => r.Cell.Threads).ToArray();
            SpeedupResult[] finite = own.Where(r => double.IsFinite(r.Speedup.Value)).ToArray();
            if (finite.Length > 0)
            {
                var line = plot.Add.ScatterLine(finite.Select(r => r.Cell.Threads + shift).ToArray(), finite.Select(r => r.Speedup.Value).ToArray());
                line.Color = color;
                line.LineWidth = 2;
                line.LegendText = $"{method}: Hybrid (bars: 95% CI)";
            }
            foreach (SpeedupResult r in own)
            {
                bool infinite = double.IsPositiveInfinity(r.Speedup.Value);
                var marker = plot.Add.Marker(r.Cell.Threads + shift, Math.Min(r.Speedup.Value, top));
                marker.Color = color;
                marker.Size = 9;
                marker.Shape = infinite ? MarkerShape.FilledTriangleUp : r.Cell.Oversubscribed ? MarkerShape.OpenCircle : MarkerShape.FilledCircle;
                if (!double.IsNaN(r.Speedup.Low))
                {
                    var bar = plot.Add.Line(r.Cell.Threads + shift, r.Speedup.Low, r.Cell.Threads + shift, Math.Min(r.Speedup.High, top));
                    bar.Color = color;
                    bar.LineWidth = 1.5f;
                    if (double.IsPositiveInfinity(r.Speedup.High))
                    {
                        // An interval open at the top ends in an arrowhead.
                        var open = plot.Add.Marker(r.Cell.Threads + shift, top);
                        open.Color = color;
                        open.Size = 7;
                        open.Shape = MarkerShape.OpenTriangleUp;
                    }
                }
            }
            if (own.Any(r => double.IsPositiveInfinity(r.Speedup.Value))) anyInfinite = true;
            int[] paper = spec.Threads.Where(n => PaperTable.Speedup(method, n) is not null && n <= maxThreads).ToArray();
            if (paper.Length > 0 && drawPaper)
            {
                var points = plot.Add.ScatterPoints(paper.Select(n => (double)n).ToArray(), paper.Select(n => PaperTable.Speedup(method, n)!.Value).ToArray());
                points.Color = color;
                points.MarkerShape = MarkerShape.OpenSquare;
                points.MarkerSize = 10;
                points.LegendText = $"{method}: Mnih et al. 2016, Table 2";
            }
        }
        if (anyInfinite)
        {
            var legend = plot.Add.Marker(spec.Baseline, -top); // below the axis: a legend entry only
            legend.Shape = MarkerShape.FilledTriangleUp;
            legend.Color = Colors.Black;
            legend.LegendText = "filled triangle at the top: infinite (the baseline mostly did not reach the score)";
        }
        if (anyOpen)
        {
            var legend = plot.Add.Marker(spec.Baseline, -top); // below the axis: a legend entry only
            legend.Shape = MarkerShape.OpenTriangleUp;
            legend.Color = Colors.Black;
            legend.LegendText = "open triangle: the interval has no upper end (some resamples: the baseline did not reach the score)";
        }
        if (shown.Any(r => r.Cell.Oversubscribed))
        {
            var legend = plot.Add.Marker(spec.Baseline, -top); // below the axis: a legend entry only
            legend.Shape = MarkerShape.OpenCircle;
            legend.Color = Colors.Black;
            legend.LegendText = "open circle: oversubscribed (more threads than cores)";
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            spec.Threads.Select(n => new Tick(n, n.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray());
        plot.XLabel("threads");
        plot.YLabel($"speedup in time to the reference score (vs {spec.Baseline} thread{(spec.Baseline == 1 ? "" : "s")})");
        plot.Axes.SetLimitsY(0, top * 1.05);
        plot.ShowLegend(Alignment.UpperLeft);
        return Save(plot, folder, "speedup");
    }

    static string Save(Plot plot, string folder, string name)
    {
        plot.SavePng(Path.Combine(folder, name + ".png"), Width, Height);
        plot.SaveSvg(Path.Combine(folder, name + ".svg"), Width, Height);
        return Path.Combine("figures", name + ".png");
    }
}
