using Hybrid.Experiments;

namespace Hybrid.Tests.Experiments;

public class StatisticsTests
{
    const double Inf = double.PositiveInfinity;

    [Fact]
    public void MedianCountsCensoredSeedsAsInfinity()
    {
        // Sorted [1, 2, 3, inf]: the two middle values are 2 and 3.
        Assert.Equal(2.5, Statistics.Median([3, 1, Inf, 2]));
        // Two of three seeds never reached the threshold: the median is that they did not.
        Assert.Equal(Inf, Statistics.Median([1, Inf, Inf]));
        // Two of four: the upper middle value is censored, so the median is too.
        Assert.Equal(Inf, Statistics.Median([1, 2, Inf, Inf]));
        Assert.Equal(7, Statistics.Median([7]));
    }

    [Fact]
    public void InterquartileMeanTrimsAQuarterFromEachEnd()
    {
        // n = 8: drop 2 from each end, mean of 3, 4, 5, 6.
        Assert.Equal(4.5, Statistics.InterquartileMean([8, 1, 7, 2, 6, 3, 5, 4]));
        // n = 5: floor(5 / 4) = 1 from each end, mean of 2, 3, 10.
        Assert.Equal(5.0, Statistics.InterquartileMean([1, 2, 3, 10, 100]));
        // A censored value beyond the trim does not count; one inside it does.
        Assert.Equal(2.5, Statistics.InterquartileMean([1, 2, 3, Inf]));
        Assert.Equal(Inf, Statistics.InterquartileMean([1, Inf, Inf, Inf]));
    }

    [Fact]
    public void PercentileInterpolatesLikeNumpy()
    {
        // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 97.5, 100]) = 1, 1.75, 2.5, 3.925, 4.
        double[] x = [1, 2, 3, 4];
        Assert.Equal(1.0, Statistics.Percentile(x, 0));
        Assert.Equal(1.75, Statistics.Percentile(x, 25), 12);
        Assert.Equal(2.5, Statistics.Percentile(x, 50), 12);
        Assert.Equal(3.925, Statistics.Percentile(x, 97.5), 12);
        Assert.Equal(4.0, Statistics.Percentile(x, 100));
        Assert.Equal(Inf, Statistics.Percentile([1, Inf], 60));
        // A run that finished no episode has a final return of -infinity: towards it, the percentile is -infinity, not NaN.
        Assert.Equal(double.NegativeInfinity, Statistics.Percentile([double.NegativeInfinity, 5], 40));
        Assert.Equal(double.NegativeInfinity, Statistics.Percentile([double.NegativeInfinity, Inf], 25));
        Assert.Equal(Inf, Statistics.Percentile([double.NegativeInfinity, Inf], 75));
        Estimate finals = Statistics.Bootstrap([double.NegativeInfinity, 3, 5, 7], Aggregate.Median);
        Assert.False(double.IsNaN(finals.Low) || double.IsNaN(finals.High), $"{finals}");
    }

    [Fact]
    public void ProbabilityOfImprovementMatchesPairCounts()
    {
        // Lower is better. Pairs (1,2) win, (1,3) win, (2,2) tie, (2,3) win: 3.5 of 4.
        Assert.Equal(0.875, Statistics.ProbabilityOfImprovement([1, 2], [2, 3], lowerIsBetter: true));
        Assert.Equal(0.125, Statistics.ProbabilityOfImprovement([2, 3], [1, 2], lowerIsBetter: true));
        // Higher is better (returns): the same pairs the other way.
        Assert.Equal(0.125, Statistics.ProbabilityOfImprovement([1, 2], [2, 3], lowerIsBetter: false));
        // Censored times: a finite time beats infinity, two infinities tie. x = [1, inf], y = [inf, inf]:
        // (1, inf) twice wins, (inf, inf) twice ties: (2 + 1) / 4.
        Assert.Equal(0.75, Statistics.ProbabilityOfImprovement([1, Inf], [Inf, Inf], lowerIsBetter: true));
    }

    [Fact]
    public void BootstrapIntervalOfAConstantSampleIsThePoint()
    {
        Estimate e = Statistics.Bootstrap([5, 5, 5, 5, 5], Aggregate.Median);
        Assert.Equal(new Estimate(5, 5, 5), e);
    }

    [Fact]
    public void BootstrapIntervalOfTwoValuesSpansBoth()
    {
        // Resampling [0, 1] gives a median of 0 with probability 1/4, 0.5 w.p. 1/2, 1 w.p. 1/4: the 2.5th and 97.5th
        // percentiles of the bootstrap distribution are 0 and 1.
        Estimate e = Statistics.Bootstrap([0, 1], Aggregate.Median);
        Assert.Equal(0.5, e.Value);
        Assert.Equal(0.0, e.Low);
        Assert.Equal(1.0, e.High);
    }

    [Fact]
    public void BootstrapIntervalCoversTheMedianOfANormalSampleAtAboutTheRightWidth()
    {
        // 200 draws of N(0, 1): the median's standard error is about 1.2533 / sqrt(200) = 0.0886, so a 95% interval is
        // about 2 * 1.96 * 0.0886 = 0.35 wide.
        var rng = new Hybrid.Nn.Rng(5);
        double[] x = new double[200];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextGaussian();
        Estimate e = Statistics.Bootstrap(x, Aggregate.Median);
        Assert.InRange(e.High - e.Low, 0.2, 0.5);
        Assert.InRange(e.Value, e.Low, e.High);
        Assert.Equal(e, Statistics.Bootstrap(x, Aggregate.Median)); // reproducible for a seed
    }

    [Fact]
    public void BootstrapWithCensoredSeedsHasAnInfiniteUpperEnd()
    {
        // 3 of 5 seeds reached the threshold: resamples with 3 or more censored seeds have an infinite median.
        Estimate e = Statistics.Bootstrap([10, 12, 14, Inf, Inf], Aggregate.Median);
        Assert.Equal(14, e.Value);
        Assert.Equal(Inf, e.High);
        Assert.True(double.IsFinite(e.Low));
    }

    [Fact]
    public void SeparationNeedsDisjointIntervals()
    {
        Assert.True(new Estimate(1, 0, 2).SeparatesFrom(new Estimate(4, 3, 5)));
        Assert.False(new Estimate(1, 0, 3).SeparatesFrom(new Estimate(4, 3, 5)));
    }

    [Fact]
    public void BadSamplesAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => Statistics.Median([]));
        Assert.Contains("sample is empty", e.Message);
        e = Assert.Throws<ArgumentException>(() => Statistics.ProbabilityOfImprovement([1], [double.NaN], true));
        Assert.Contains("y holds NaN", e.Message);
        e = Assert.Throws<ArgumentException>(() => Statistics.Bootstrap([1], Aggregate.Median, level: 1.5));
        Assert.Contains("level was 1.5", e.Message);
    }
}

/// <summary>Censored times to a threshold: Gehan-style pairs and the interval of the median, and the ratio of medians.</summary>
public class CensoredStatisticsTests
{
    const double Inf = double.PositiveInfinity;

    static Censored Reached(double t) => new(t, t);
    static Censored StoppedAt(double c) => new(Inf, c);

    [Fact]
    public void PairsWhoseOrderIsUnknownCountOneHalf()
    {
        // x reached at 3; y stopped unsolved at 5: x is known sooner (1). y stopped unsolved at 2: unknown (one half).
        Assert.Equal((1.0, 0), Statistics.ProbabilitySooner([Reached(3)], [StoppedAt(5)]));
        Assert.Equal((0.5, 1), Statistics.ProbabilitySooner([Reached(3)], [StoppedAt(2)]));
        // Both unsolved: unknown, whatever their stopping points.
        Assert.Equal((0.5, 1), Statistics.ProbabilitySooner([StoppedAt(3)], [StoppedAt(9)]));
        // Both reached: the plain comparison, a tie one half and not censored.
        Assert.Equal((0.5, 0), Statistics.ProbabilitySooner([Reached(4)], [Reached(4)]));
        Assert.Equal((0.0, 0), Statistics.ProbabilitySooner([Reached(5)], [Reached(4)]));
        // Two against two: (1 vs 2) 1, (1 vs stop 1.5) 1, (stop 3 vs 2) 0, (stop 3 vs stop 1.5) one half: 2.5 / 4.
        Assert.Equal((0.625, 1), Statistics.ProbabilitySooner([Reached(1), StoppedAt(3)], [Reached(2), StoppedAt(1.5)]));
    }

    [Fact]
    public void WithoutCensoringItIsTheProbabilityOfImprovement()
    {
        var rng = new Random(3);
        for (int i = 0; i < 20; i++)
        {
            double[] x = [.. Enumerable.Range(0, 5).Select(_ => Math.Round(rng.NextDouble() * 10))], y = [.. Enumerable.Range(0, 4).Select(_ => Math.Round(rng.NextDouble() * 10))];
            Assert.Equal(Statistics.ProbabilityOfImprovement(x, y, lowerIsBetter: true),
                Statistics.ProbabilitySooner(x.Select(Reached).ToArray(), y.Select(Reached).ToArray()).Probability, 12);
        }
    }

    [Fact]
    public void TheMediansIntervalSpansWhereTheUnsolvedRunsCouldHaveLanded()
    {
        // Three runs reached at 10, 11, 12; two stopped unsolved at 4 (a short wall budget). The point estimate counts
        // them as +infinity (median 12); the interval's lower end puts them at 4, where the median of a resample can be 4.
        Estimate e = Statistics.MedianCensored([Reached(10), Reached(11), Reached(12), StoppedAt(4), StoppedAt(4)]);
        Assert.Equal(12, e.Value);
        Assert.Equal(4, e.Low);
        Assert.Equal(Inf, e.High);
        // No censoring: the same as the plain bootstrap of the median.
        double[] plain = [3, 1, 4, 1, 5, 9, 2, 6];
        Assert.Equal(Statistics.Bootstrap(plain, Aggregate.Median).High, Statistics.MedianCensored(plain.Select(Reached).ToArray()).High);
    }

    [Fact]
    public void TheRatioOfMediansHasAnIntervalAroundIt()
    {
        Estimate constant = Statistics.RatioOfMedians([4, 4, 4], [2, 2, 2]);
        Assert.Equal(new Estimate(2, 2, 2), constant);
        Estimate spread = Statistics.RatioOfMedians([10, 12, 14, 16, 18], [5, 6, 7, 8, 9]);
        Assert.Equal(2, spread.Value, 12);
        Assert.True(spread.Low < 2 && spread.High > 2, $"{spread}");
        // Most numerator runs never reached the threshold: the ratio is infinite.
        Assert.Equal(Inf, Statistics.RatioOfMedians([1, Inf, Inf], [2, 2, 2]).Value);
    }
}
