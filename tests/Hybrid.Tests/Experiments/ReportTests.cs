using Hybrid.Experiments;
using Hybrid.Training.Metrics;

namespace Hybrid.Tests.Experiments;

/// <summary>How the report counts seeds that never reached the threshold: as +infinity, never dropped.</summary>
public class ReportTests
{
    static readonly ExperimentSpec Spec = ExperimentSpec.Parse("""
        name: censor
        envs: [CartPole-v1]
        seeds: [1, 2, 3]
        max_env_steps: 1000
        arms: [{name: Fast, algo: a2c}, {name: Slow, algo: a3c}]
        """, "e.yaml");

    static RunResult Result(string arm, int seed, double? solvedAtSeconds, double finalReturn = 100)
    {
        ArmSpec spec = Spec.Arms.First(a => a.Name == arm);
        var summary = new RunSummary(spec.Algo, "CartPole-v1", seed, "cpu", 2, 8, 1000, 10, 2.0, 500, 475, solvedAtSeconds is not null,
            "train-last-100", solvedAtSeconds is null ? null : 500, solvedAtSeconds, finalReturn, 20);
        return new RunResult(new PlannedRun("CartPole-v1", spec, seed, 1e-3f, false, $"runs/{arm}/s{seed}"), summary, []);
    }

    static ExperimentResults Results(params RunResult[] report) => new(Spec, [], new Dictionary<(string, string), float>(), report);

    [Fact]
    public void UnsolvedSeedsCountAsInfinityAndAreCountedInKOfN()
    {
        // Fast: 1 s, 2 s, never. Slow: 3 s, never, never.
        ExperimentResults r = Results(Result("Fast", 1, 1), Result("Fast", 2, 2), Result("Fast", 3, null), Result("Slow", 1, 3), Result("Slow", 2, null), Result("Slow", 3, null));
        List<ArmStats> stats = Report.Stats(r);
        ArmStats fast = stats.Single(s => s.Arm == "Fast"), slow = stats.Single(s => s.Arm == "Slow");
        Assert.Equal((2, 3), (fast.Solved, fast.Runs));
        Assert.Equal((1, 3), (slow.Solved, slow.Runs));
        // Sorted [1, 2, inf]: median 2. Sorted [3, inf, inf]: median inf (most seeds never got there).
        Assert.Equal(2, fast.Seconds.Value);
        Assert.Equal(double.PositiveInfinity, slow.Seconds.Value);
        Assert.Equal(double.PositiveInfinity, fast.Seconds.High);

        Verdict v = Report.Verdicts(r, stats).Single();
        Assert.StartsWith("Fast's median time to 475.0 is lower than Slow's: median 2.00 s", v.Text);
        Assert.Contains("Slow did not reach it on most seeds: 1/3", v.Text);
        // P(Fast faster than Slow): pairs (1,3) (1,inf) (1,inf) (2,3) (2,inf) (2,inf) win, (inf,3) loses, (inf,inf) twice ties: (6 + 1) / 9.
        Assert.Equal(7.0 / 9, v.Pairs.Single(p => p.Better == "Fast").Probability.Value, 12);
    }

    [Fact]
    public void WhenNoArmReachesTheThresholdTheVerdictRanksByFinalReturnAndSaysSo()
    {
        ExperimentResults r = Results(Result("Fast", 1, null, 50), Result("Fast", 2, null, 60), Result("Slow", 1, null, 200), Result("Slow", 2, null, 210));
        Verdict v = Report.Verdicts(r, Report.Stats(r)).Single();
        Assert.StartsWith("No arm reached 475.0 on most seeds (Fast 0/2, Slow 0/2); by final return, Slow leads with a median of 205.0", v.Text);
        Assert.Contains("the intervals do not overlap", v.Text);
    }
}
