using Hybrid.Nn;

namespace Hybrid.Experiments;

/// <summary>A point estimate with a confidence interval.</summary>
/// <param name="Value">The statistic on the data.</param>
/// <param name="Low">Lower end of the interval.</param>
/// <param name="High">Upper end of the interval.</param>
public readonly record struct Estimate(double Value, double Low, double High)
{
    /// <summary>True when this interval and <paramref name="other"/> share no point.</summary>
    public bool SeparatesFrom(Estimate other) => High < other.Low || other.High < Low;
}

/// <summary>
/// A run's time to a threshold (in seconds, env steps or CPU seconds): <see cref="Time"/> where it got there, else
/// +infinity with <see cref="StoppedAt"/> where it stopped without getting there (a right-censored time: all that is
/// known is that it would have taken longer than that).
/// </summary>
public readonly record struct Censored(double Time, double StoppedAt)
{
    /// <summary>Whether the run reached the threshold.</summary>
    public bool Reached => !double.IsPositiveInfinity(Time);

    /// <summary>A time reached at <paramref name="time"/>, or, where null, a run that stopped unsolved at <paramref name="stoppedAt"/>.</summary>
    public static Censored Of(double? time, double stoppedAt) => new(time ?? double.PositiveInfinity, time ?? stoppedAt);
}

/// <summary>Which statistic of a sample a bootstrap resamples.</summary>
public enum Aggregate
{
    /// <summary>The median; +infinity (a run that never reached the threshold) sorts last.</summary>
    Median,
    /// <summary>The interquartile mean: the mean of the middle 50% (Agarwal et al. 2021, rliable).</summary>
    InterquartileMean,
    /// <summary>The mean (of returns, say; a sample with an infinity has an infinite mean).</summary>
    Mean,
}

/// <summary>
/// Aggregates over seeds as rliable does (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice"):
/// median and interquartile mean with percentile-bootstrap 95% confidence intervals, and the probability of
/// improvement P(X &gt; Y). Times to a threshold are censored: a seed that never reached it counts as +infinity, so
/// it moves the median up instead of dropping out.
/// </summary>
public static class Statistics
{
    /// <summary>Bootstrap resamples (rliable's default for its interval estimates is 2,000 in its examples).</summary>
    public const int DefaultResamples = 2000;

    /// <summary>The median; with an even count the mean of the two middle values (infinite if either is).</summary>
    /// <exception cref="ArgumentException">The sample is empty or holds a NaN.</exception>
    public static double Median(ReadOnlySpan<double> sample)
    {
        double[] sorted = Sorted(sample, nameof(sample));
        return MedianOfSorted(sorted);
    }

    /// <summary>
    /// The interquartile mean: the mean after dropping floor(n / 4) values from each end (scipy's
    /// <c>trim_mean(x, 0.25)</c>, which rliable uses). Infinite if an infinite value survives the trim.
    /// </summary>
    /// <exception cref="ArgumentException">The sample is empty or holds a NaN.</exception>
    public static double InterquartileMean(ReadOnlySpan<double> sample)
    {
        double[] sorted = Sorted(sample, nameof(sample));
        return IqmOfSorted(sorted);
    }

    /// <summary>
    /// The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default):
    /// position p = q / 100 * (n - 1); value = x[floor p] + (p - floor p) * (x[ceil p] - x[floor p]).
    /// </summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double q)
    {
        if (sorted.IsEmpty) throw new ArgumentException("sample is empty; expected at least one value.", nameof(sorted));
        if (!(q >= 0 && q <= 100)) throw new ArgumentException($"q was {q}; expected a percentile in [0, 100].", nameof(q));
        double position = q / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        double fraction = position - below;
        if (fraction == 0 || sorted[below] == sorted[above]) return sorted[below];
        // An infinite neighbour (a censored time, or -infinity for a run that finished no episode) makes any
        // interpolation towards it infinite; between -infinity and +infinity, the nearer end.
        bool lowInfinite = double.IsInfinity(sorted[below]), highInfinite = double.IsInfinity(sorted[above]);
        if (lowInfinite && highInfinite) return fraction < 0.5 ? sorted[below] : sorted[above];
        if (highInfinite) return sorted[above];
        if (lowInfinite) return sorted[below];
        return sorted[below] + fraction * (sorted[above] - sorted[below]);
    }

    /// <summary>
    /// The statistic with a percentile-bootstrap confidence interval: <paramref name="resamples"/> samples of the
    /// same size drawn with replacement (from <paramref name="seed"/>, so a report is reproducible), the statistic
    /// of each, and their (1 - level) / 2 and (1 + level) / 2 percentiles.
    /// </summary>
    /// <exception cref="ArgumentException">The sample is empty or holds a NaN, the level is not in (0, 1), or resamples &lt; 1.</exception>
    public static Estimate Bootstrap(ReadOnlySpan<double> sample, Aggregate aggregate, double level = 0.95,
        int resamples = DefaultResamples, ulong seed = 1)
    {
        double[] data = Sorted(sample, nameof(sample));
        CheckBootstrap(level, resamples);
        var rng = new Rng(seed, RandomStreams.BootstrapAggregate);
        var draw = new double[data.Length];
        var statistics = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < draw.Length; i++) draw[i] = data[rng.NextInt(data.Length)];
            Array.Sort(draw);
            statistics[r] = Of(draw, aggregate);
        }
        return Interval(Of(data, aggregate), statistics, level);
    }

    /// <summary>
    /// P(X better than Y) for one draw of each: the fraction of pairs (x, y) where x is better, ties counting one half
    /// (the Mann-Whitney U statistic over n * m, rliable's probability of improvement). Lower is better for times to
    /// a threshold, higher for returns; two infinite (censored) times tie.
    /// </summary>
    /// <exception cref="ArgumentException">Either sample is empty or holds a NaN.</exception>
    public static double ProbabilityOfImprovement(ReadOnlySpan<double> x, ReadOnlySpan<double> y, bool lowerIsBetter)
    {
        CheckSample(x, nameof(x));
        CheckSample(y, nameof(y));
        double wins = 0;
        foreach (double a in x)
            foreach (double b in y)
                wins += a == b ? 0.5 : (lowerIsBetter ? a < b : a > b) ? 1 : 0;
        return wins / ((double)x.Length * y.Length);
    }

    /// <summary>
    /// <see cref="ProbabilityOfImprovement"/> with a percentile-bootstrap interval: each resample redraws both samples
    /// with replacement, independently.
    /// </summary>
    public static Estimate ProbabilityOfImprovementBootstrap(ReadOnlySpan<double> x, ReadOnlySpan<double> y, bool lowerIsBetter,
        double level = 0.95, int resamples = DefaultResamples, ulong seed = 1)
    {
        CheckSample(x, nameof(x));
        CheckSample(y, nameof(y));
        return BootstrapPair(x.ToArray(), y.ToArray(), (a, b) => ProbabilityOfImprovement(a, b, lowerIsBetter), level, resamples, new Rng(seed, RandomStreams.BootstrapImprovement));
    }

    /// <summary>A statistic of two samples with a percentile-bootstrap interval: each resample redraws both with replacement, independently.</summary>
    static Estimate BootstrapPair<T>(T[] x, T[] y, Func<T[], T[], double> statistic, double level, int resamples, Rng rng)
    {
        CheckBootstrap(level, resamples);
        T[] dx = new T[x.Length], dy = new T[y.Length];
        var statistics = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < dx.Length; i++) dx[i] = x[rng.NextInt(x.Length)];
            for (int i = 0; i < dy.Length; i++) dy[i] = y[rng.NextInt(y.Length)];
            statistics[r] = statistic(dx, dy);
        }
        return Interval(statistic(x, y), statistics, level);
    }

    /// <summary>
    /// A statistic of several independent samples with a percentile-bootstrap interval: each resample redraws every
    /// sample with replacement, on its own. A resample whose statistic is NaN (undefined, e.g. infinity over infinity
    /// where no run in either draw reached a threshold) is left out of the interval; when more than half are, the
    /// interval is NaN to NaN.
    /// </summary>
    /// <exception cref="ArgumentException">No samples, an empty one or one holding NaN, a level not in (0, 1), or resamples &lt; 1.</exception>
    public static Estimate BootstrapSamples(IReadOnlyList<double[]> samples, Func<IReadOnlyList<double[]>, double> statistic,
        double level = 0.95, int resamples = DefaultResamples, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(statistic);
        if (samples.Count == 0) throw new ArgumentException("samples is empty; expected at least one sample.", nameof(samples));
        for (int i = 0; i < samples.Count; i++) CheckSample(samples[i], $"samples[{i}]");
        CheckBootstrap(level, resamples);
        double value = statistic(samples);
        var rng = new Rng(seed, RandomStreams.BootstrapSamples);
        double[][] draws = samples.Select(x => new double[x.Length]).ToArray();
        var statistics = new List<double>(resamples);
        for (int r = 0; r < resamples; r++)
        {
            for (int g = 0; g < draws.Length; g++)
                for (int i = 0; i < draws[g].Length; i++) draws[g][i] = samples[g][rng.NextInt(samples[g].Length)];
            double s = statistic(draws);
            if (!double.IsNaN(s)) statistics.Add(s);
        }
        return statistics.Count * 2 < resamples ? new Estimate(value, double.NaN, double.NaN) : Interval(value, statistics.ToArray(), level);
    }

    /// <summary>
    /// P(X reaches the threshold sooner than Y) over every pair (x, y), censoring counted as Gehan's generalized
    /// Wilcoxon test does (Gehan 1965): a pair scores 1 where x is known to be sooner (x reached it before y did, or
    /// before y stopped unsolved), 0 where y is known to be sooner, and one half where the order is unknown: both
    /// unsolved, one stopped unsolved before the other reached it, or a tie. Returns the probability and how many pairs
    /// were undecided by censoring.
    /// </summary>
    /// <exception cref="ArgumentException">Either sample is empty or holds a NaN.</exception>
    public static (double Probability, int Undecided) ProbabilitySooner(ReadOnlySpan<Censored> x, ReadOnlySpan<Censored> y)
    {
        CheckCensored(x, nameof(x));
        CheckCensored(y, nameof(y));
        double score = 0;
        int undecided = 0;
        foreach (Censored a in x)
            foreach (Censored b in y)
            {
                // a is known sooner when it reached the threshold before b reached it or stopped; likewise b.
                bool aSooner = a.Reached && a.Time < (b.Reached ? b.Time : b.StoppedAt);
                bool bSooner = b.Reached && b.Time < (a.Reached ? a.Time : a.StoppedAt);
                if (aSooner) score += 1;
                else if (!bSooner)
                {
                    score += 0.5;
                    if (!(a.Reached && b.Reached)) undecided++;
                }
            }
        return (score / ((double)x.Length * y.Length), undecided);
    }

    /// <summary><see cref="ProbabilitySooner"/> with a percentile-bootstrap interval (both samples redrawn, independently).</summary>
    public static Estimate ProbabilitySoonerBootstrap(ReadOnlySpan<Censored> x, ReadOnlySpan<Censored> y, double level = 0.95,
        int resamples = DefaultResamples, ulong seed = 1)
    {
        CheckCensored(x, nameof(x));
        CheckCensored(y, nameof(y));
        return BootstrapPair(x.ToArray(), y.ToArray(), (a, b) => ProbabilitySooner(a, b).Probability, level, resamples, new Rng(seed, RandomStreams.BootstrapSooner));
    }

    /// <summary>
    /// The median time to a threshold with a 95% percentile-bootstrap interval that respects censoring: the point
    /// estimate counts an unsolved run as +infinity; each resample's median is taken twice, with unsolved runs at
    /// +infinity (the interval's upper end) and at the point where they stopped (its lower end: they would have taken
    /// at least that long). A run stopped early and unsolved thus widens the interval instead of deciding it.
    /// </summary>
    /// <exception cref="ArgumentException">The sample is empty or holds a NaN.</exception>
    public static Estimate MedianCensored(ReadOnlySpan<Censored> sample, double level = 0.95, int resamples = DefaultResamples, ulong seed = 1)
    {
        CheckCensored(sample, nameof(sample));
        CheckBootstrap(level, resamples);
        Censored[] data = sample.ToArray();
        double value = Median(data.Select(c => c.Time).ToArray());
        var rng = new Rng(seed, RandomStreams.BootstrapCensoredMedian);
        double[] upper = new double[data.Length], lower = new double[data.Length];
        double[] highs = new double[resamples], lows = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < data.Length; i++)
            {
                Censored c = data[rng.NextInt(data.Length)];
                upper[i] = c.Time;
                lower[i] = c.Reached ? c.Time : c.StoppedAt;
            }
            Array.Sort(upper);
            Array.Sort(lower);
            highs[r] = MedianOfSorted(upper);
            lows[r] = MedianOfSorted(lower);
        }
        Array.Sort(highs);
        Array.Sort(lows);
        double tail = (1 - level) / 2 * 100;
        return new Estimate(value, Percentile(lows, tail), Percentile(highs, 100 - tail));
    }

    /// <summary>
    /// median(<paramref name="numerator"/>) / median(<paramref name="denominator"/>) with a 95% percentile-bootstrap
    /// interval, each sample redrawn on its own (unsolved runs as +infinity: a ratio whose numerator's median is
    /// infinite is infinite, and resamples where both are are left out).
    /// </summary>
    public static Estimate RatioOfMedians(double[] numerator, double[] denominator, int resamples = DefaultResamples, ulong seed = 1) =>
        BootstrapSamples([numerator, denominator], s => Median(s[0]) / Median(s[1]), resamples: resamples, seed: seed);

    static void CheckCensored(ReadOnlySpan<Censored> sample, string name)
    {
        if (sample.IsEmpty) throw new ArgumentException($"{name} is empty; expected at least one run.", name);
        foreach (Censored c in sample)
            if (double.IsNaN(c.Time) || double.IsNaN(c.StoppedAt))
                throw new ArgumentException($"{name} holds NaN; expected times (+infinity with a stopping point for a run that never got there).", name);
    }

    static void CheckBootstrap(double level, int resamples)
    {
        if (!(level > 0 && level < 1)) throw new ArgumentException($"level was {level}; expected a confidence level in (0, 1).", nameof(level));
        if (resamples < 1) throw new ArgumentException($"resamples was {resamples}; expected >= 1.", nameof(resamples));
    }

    /// <summary>The point estimate with the (1 - level) / 2 and (1 + level) / 2 percentiles of the bootstrap statistics.</summary>
    static Estimate Interval(double value, double[] statistics, double level)
    {
        Array.Sort(statistics);
        double tail = (1 - level) / 2 * 100;
        return new Estimate(value, Percentile(statistics, tail), Percentile(statistics, 100 - tail));
    }

    static double Of(double[] sorted, Aggregate aggregate) => aggregate switch
    {
        Aggregate.Median => MedianOfSorted(sorted),
        Aggregate.Mean => sorted.Average(),
        _ => IqmOfSorted(sorted),
    };

    static double MedianOfSorted(double[] sorted)
    {
        int n = sorted.Length;
        if (n % 2 == 1) return sorted[n / 2];
        double a = sorted[n / 2 - 1], b = sorted[n / 2];
        return double.IsPositiveInfinity(b) ? b : (a + b) / 2;
    }

    static double IqmOfSorted(double[] sorted)
    {
        int cut = sorted.Length / 4;
        double sum = 0;
        for (int i = cut; i < sorted.Length - cut; i++) sum += sorted[i];
        return sum / (sorted.Length - 2 * cut);
    }

    static double[] Sorted(ReadOnlySpan<double> sample, string name)
    {
        CheckSample(sample, name);
        double[] sorted = sample.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    static void CheckSample(ReadOnlySpan<double> sample, string name)
    {
        if (sample.IsEmpty) throw new ArgumentException($"{name} is empty; expected at least one value.", name);
        foreach (double v in sample)
            if (double.IsNaN(v)) throw new ArgumentException($"{name} holds NaN; expected numbers (+infinity for a censored time).", name);
    }
}
