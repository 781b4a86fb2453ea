using Hybrid.Experiments;
using Hybrid.Training.Metrics;

namespace Hybrid.Tests.Experiments;

/// <summary>
/// How the report counts seeds that never reached the threshold (as +infinity in medians, undecided in P where their
/// order is unknown), the wording rule of the verdict, the three measures and the busy-machine warning.
/// </summary>
public class ReportTests
{
    static readonly ExperimentSpec Spec = ExperimentSpec.Parse("""
        name: censor
        envs: [CartPole-v1]
        seeds: [1, 2, 3, 4, 5]
        max_env_steps: 1000
        cores: 2
        arms: [{name: Fast, algo: a2c}, {name: Slow, algo: a3c}]
        """, "e.yaml");

    /// <summary>A run of <paramref name="arm"/> that reached the threshold at <paramref name="solvedAtSeconds"/> (null: never), stopping at <paramref name="wallSeconds"/>.</summary>
    static RunResult Result(string arm, int seed, double? solvedAtSeconds, double finalReturn = 100, double wallSeconds = 100, long? solvedAtSteps = 500,
        double? solvedAtCpu = null, MachineLoad? load = null)
    {
        ArmSpec spec = Spec.Arms.First(a => a.Name == arm);
        bool solved = solvedAtSeconds is not null;
        var summary = new RunSummary(spec.Algo, "CartPole-v1", seed, "cpu", 2, 8, 1000, 10, wallSeconds, 500, 475, solved,
            "train-last-100", solved ? solvedAtSteps : null, solvedAtSeconds, finalReturn, 20)
        {
            CpuSeconds = wallSeconds * 2,
            SolvedAtCpuSeconds = solved ? solvedAtCpu ?? solvedAtSeconds * 2 : null,
            Load = load,
        };
        return new RunResult(new PlannedRun("CartPole-v1", spec, seed, 1e-3f, false, $"runs/{arm}/s{seed}"), summary, []);
    }

    static ExperimentResults Results(params RunResult[] report) => new(Spec, [], new Dictionary<(string, string), float>(), report);

    [Fact]
    public void UnsolvedSeedsCountAsInfinityInTheMedianAndAreCountedInKOfN()
    {
        // Fast: 1 s, 2 s, never. Slow: 3 s, never, never. Every run stopped at 100 s.
        ExperimentResults r = Results(Result("Fast", 1, 1), Result("Fast", 2, 2), Result("Fast", 3, null), Result("Slow", 1, 3), Result("Slow", 2, null), Result("Slow", 3, null));
        List<ArmStats> stats = Report.Stats(r);
        ArmStats fast = stats.Single(s => s.Arm == "Fast"), slow = stats.Single(s => s.Arm == "Slow");
        Assert.Equal((2, 3), (fast.Solved, fast.Runs));
        Assert.Equal((1, 3), (slow.Solved, slow.Runs));
        // Sorted [1, 2, inf]: median 2. Sorted [3, inf, inf]: median inf (most seeds never got there).
        Assert.Equal(2, fast.Seconds.Value);
        Assert.Equal(double.PositiveInfinity, slow.Seconds.Value);
        Assert.Equal(double.PositiveInfinity, fast.Seconds.High);
        // The interval's lower end puts the unsolved run at its stopping point (100 s): it cannot be below the solved times.
        Assert.Equal(1, fast.Seconds.Low);

        Verdict v = Report.Verdicts(r, stats).Single();
        Assert.Equal(Measure.WallSeconds, v.RankedBy);
        Assert.Contains("Slow did not reach it on most seeds: 1/3", v.Text);
        // Every unsolved run stopped at 100 s, after every solved time, so each pair's order is known except (inf, inf):
        // (1,3) (1,inf)x2 (2,3) (2,inf)x2 win, (inf,3) loses, (inf,inf) twice undecided: (6 + 1) / 9.
        PairwiseImprovement p = v.Pairs.Single(x => x.Better == "Fast");
        Assert.Equal(7.0 / 9, p.Probability.Value, 12);
        Assert.Equal((2, 9), p.Censoring);
    }

    [Fact]
    public void APairWhoseOrderCensoringHidesIsUndecided()
    {
        // Fast stopped unsolved at 5 s (a short budget); Slow reached the threshold at 8 s. Fast might have got there at
        // 6 s or never: the pair is undecided (one half), not a win for Slow as +infinity alone would say.
        ExperimentResults r = Results(Result("Fast", 1, null, wallSeconds: 5), Result("Slow", 1, 8));
        PairwiseImprovement p = Report.Verdicts(r, Report.Stats(r)).Single().Pairs.Single(x => x.Better == "Slow");
        Assert.Equal(0.5, p.Probability.Value);
        Assert.Equal((1, 1), p.Censoring);
        // Stopped unsolved at 10 s, after Slow's 8 s: now Slow is known to be sooner.
        r = Results(Result("Fast", 1, null, wallSeconds: 10), Result("Slow", 1, 8));
        p = Report.Verdicts(r, Report.Stats(r)).Single().Pairs.Single(x => x.Better == "Slow");
        Assert.Equal(1.0, p.Probability.Value);
        Assert.Equal((0, 1), p.Censoring);
    }

    [Fact]
    public void SoonerOnlyWhenTheIntervalOfPExcludesOneHalf()
    {
        // Five seeds each, every Fast run before every Slow run: P = 1 and its interval cannot reach 0.5.
        ExperimentResults clear = Results([.. Enumerable.Range(1, 5).Select(s => Result("Fast", s, 10 + s)), .. Enumerable.Range(1, 5).Select(s => Result("Slow", s, 20 + s))]);
        Verdict v = Report.Verdicts(clear, Report.Stats(clear)).Single();
        PairwiseImprovement p = v.Pairs.Single(x => x.Better == "Fast");
        Assert.True(p.Probability.Low > 0.5);
        Assert.Contains("Fast reaches 475.0 sooner than Slow by wall time", v.Text);
        Assert.DoesNotContain("cannot be told apart", v.Text);
        // The speed factor: median 23 / median 13, with an interval around it.
        Assert.Equal(23.0 / 13, p.Ratio.Value, 12);
        Assert.True(p.Ratio.Low <= p.Ratio.Value && p.Ratio.Value <= p.Ratio.High && p.Ratio.Low > 1);
        Assert.Contains("1.77x [", v.Text);

        // Interleaved times: Fast's median is lower, but P's interval holds 0.5: the two cannot be told apart.
        ExperimentResults close = Results(Result("Fast", 1, 10), Result("Fast", 2, 12), Result("Fast", 3, 14), Result("Fast", 4, 16), Result("Fast", 5, 18),
            Result("Slow", 1, 11), Result("Slow", 2, 13), Result("Slow", 3, 15), Result("Slow", 4, 17), Result("Slow", 5, 19));
        v = Report.Verdicts(close, Report.Stats(close)).Single();
        p = v.Pairs.Single(x => x.Better == "Fast");
        Assert.True(p.Probability.Low <= 0.5 && p.Probability.High >= 0.5);
        Assert.Contains("Fast and Slow cannot be told apart by wall time", v.Text);
        Assert.DoesNotContain("sooner than Slow by", v.Text);
    }

    [Fact]
    public void TheWordingRuleHoldsOnManyRandomOutcomes()
    {
        // For any outcome, "cannot be told apart" appears exactly when P's interval holds 0.5.
        var rng = new Random(5);
        for (int trial = 0; trial < 40; trial++)
        {
            double shift = rng.NextDouble() * 10;
            RunResult[] runs = [.. Enumerable.Range(1, 5).SelectMany(s => new[]
            {
                Result("Fast", s, rng.NextDouble() < 0.1 ? null : 10 + rng.NextDouble() * 10, wallSeconds: 40),
                Result("Slow", s, rng.NextDouble() < 0.1 ? null : 10 + shift + rng.NextDouble() * 10, wallSeconds: 40),
            })];
            ExperimentResults r = Results(runs);
            Verdict v = Report.Verdicts(r, Report.Stats(r)).Single();
            if (v.Text.StartsWith("No arm reached", StringComparison.Ordinal)) continue;
            string best = Report.Ranked(v.Arms, Measure.WallSeconds)[0].Arm, other = best == "Fast" ? "Slow" : "Fast";
            PairwiseImprovement p = v.Pairs.Single(x => x.Better == best);
            Assert.Equal(!p.Decided, v.Text.Contains($"{best} and {other} cannot be told apart by wall time", StringComparison.Ordinal));
            Assert.Equal(p.Probability.Low > 0.5, v.Text.Contains($"{best} reaches 475.0 sooner than {other}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheBestArmIsRankedByRunsSolvedFirst()
    {
        // Fast solved 2 of 3, quickly: a finite median (2 s), lower than Slow's 30 s; but Slow solved all 3, so it ranks first.
        ExperimentResults r = Results(Result("Fast", 1, 1), Result("Fast", 2, 2), Result("Fast", 3, null), Result("Slow", 1, 20), Result("Slow", 2, 30), Result("Slow", 3, 40));
        Assert.Equal("Slow", Report.Ranked(Report.Stats(r), Measure.WallSeconds)[0].Arm);
        Verdict v = Report.Verdicts(r, Report.Stats(r)).Single();
        Assert.StartsWith("Ranked by wall time", v.Text);
    }

    [Fact]
    public void TheVerdictSaysWhenTheMeasuresDisagree()
    {
        // Fast is sooner by wall time (5 s against 10 s) but needs more env steps (900 against 300).
        ExperimentResults r = Results([.. Enumerable.Range(1, 5).Select(s => Result("Fast", s, 5 + s * 0.1, solvedAtSteps: 900 + s)),
            .. Enumerable.Range(1, 5).Select(s => Result("Slow", s, 10 + s * 0.1, solvedAtSteps: 300 + s))]);
        List<ArmStats> stats = Report.Stats(r);
        Verdict v = Report.Verdicts(r, stats).Single();
        Assert.Contains("Fast reaches 475.0 sooner than Slow by wall time", v.Text);
        Assert.Contains("The measures disagree: by env steps, Slow is sooner", v.Text);
        // Ranked by env steps instead, Slow leads, and wall time is the disagreeing measure.
        v = Report.Verdicts(r, stats, Measure.EnvSteps).Single();
        Assert.Equal(Measure.EnvSteps, v.RankedBy);
        Assert.Contains("Slow reaches 475.0 sooner than Fast by env steps", v.Text);
        Assert.Contains("The measures disagree: by wall time, Fast is sooner", v.Text);
        Assert.NotNull(stats[0].CpuSeconds);
    }

    [Fact]
    public void AMeasureThatTellsTheArmsApartIsNamedWhenTheRankingOneCannot()
    {
        // Interleaved wall times (cannot be told apart), but Fast needs far fewer env steps on every seed.
        ExperimentResults r = Results([.. Enumerable.Range(1, 5).Select(s => Result("Fast", s, 10 + 2 * s, solvedAtSteps: 100 + s)),
            .. Enumerable.Range(1, 5).Select(s => Result("Slow", s, 11 + 2 * s, solvedAtSteps: 900 + s))]);
        Verdict v = Report.Verdicts(r, Report.Stats(r)).Single();
        Assert.Contains("Fast and Slow cannot be told apart by wall time", v.Text);
        Assert.Contains("By env steps, Fast is sooner than Slow (103 steps", v.Text);
    }

    [Fact]
    public void WhenNoArmReachesTheThresholdTheVerdictRanksByFinalReturnAndSaysSo()
    {
        ExperimentResults r = Results(Result("Fast", 1, null, 50), Result("Fast", 2, null, 60), Result("Slow", 1, null, 200), Result("Slow", 2, null, 210));
        Verdict v = Report.Verdicts(r, Report.Stats(r)).Single();
        Assert.StartsWith("No arm reached 475.0 on most seeds (Fast 0/2, Slow 0/2); by final return, Slow leads with a median of 205.0", v.Text);
        Assert.Contains("the intervals do not overlap", v.Text);
    }

    [Fact]
    public void BusyRunsAreNamedAtTheTopAndAQuietMachineGetsNoWarning()
    {
        var quiet = new MachineLoad(2, 2, 0.3, 0.4, 0.5, 0.05, 0.2, 10);
        var busy = new MachineLoad(2, 2, 2.1, 3.9, 4.2, 1.7, 1.95, 10);
        Assert.False(quiet.Busy);
        Assert.True(busy.Busy);
        // One thread on two cores leaves a core free: 1.2 cores busy outside is within it (1 + 0.5).
        Assert.False((busy with { ThreadsUsed = 1, OtherBusyCoresMean = 1.2 }).Busy);
        // Three threads on two cores (GA3C's actor, predictor and learner) on a quiet machine: oversubscribed, not busy.
        Assert.False((quiet with { ThreadsUsed = 3 }).Busy);
        Assert.True((busy with { ThreadsUsed = 3 }).Busy);

        ExperimentResults calm = Results(Result("Fast", 1, 1, load: quiet), Result("Slow", 1, 2, load: quiet));
        Assert.Null(Report.BusyWarning(calm));
        ExperimentResults loaded = Results(Result("Fast", 1, 1, load: quiet), Result("Slow", 1, 2, load: busy));
        string? warning = Report.BusyWarning(loaded);
        Assert.NotNull(warning);
        Assert.StartsWith("The machine was busy during 1 of 2 runs (Slow seed 1)", warning);
        ExperimentResults many = Results([.. new[] { 1, 2, 3, 5 }.Select(s => Result("Fast", s, 1, load: busy)), Result("Slow", 1, 2, load: busy), Result("Slow", 2, 2, load: quiet)]);
        Assert.StartsWith("The machine was busy during 5 of 6 runs (Fast seeds 1-3, 5; Slow seed 1)", Report.BusyWarning(many));
        Assert.Contains("1.7 of its 2 cores", warning);
        Assert.Contains("1 of 2 runs marked busy", Report.LoadSummary(loaded.Report));
    }
}
