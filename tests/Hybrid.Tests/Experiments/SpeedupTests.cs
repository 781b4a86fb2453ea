using Hybrid.Experiments;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;

namespace Hybrid.Tests.Experiments;

public sealed class SpeedupTests
{
    const string Sample = """
        name: speedup-classic
        methods: [q1, sarsa1, qn, a3c]
        threads: [1, 2, 4, 8, 16]
        envs: [CartPole-v1, Acrobot-v1]
        seeds: [1, 2, 3, 4, 5]
        max_env_steps: 2000000
        reference_scores: {CartPole-v1: 475, Acrobot-v1: -100}   # optional; default: each env's threshold
        settings: {}                                              # optional; applied to every run
        """;

    static SpeedupSpec Spec(string yaml) => SpeedupSpec.Parse(yaml, "s.yaml");

    [Fact]
    public void TheDocumentedShapeParsesIntoOneArmPerMethodAndThreadCount()
    {
        SpeedupSpec spec = Spec(Sample);
        Assert.Equal(["q1", "sarsa1", "qn", "a3c"], spec.Methods);
        Assert.Equal([1, 2, 4, 8, 16], spec.Threads);
        Assert.Equal(-100, spec.ReferenceScore("Acrobot-v1"));
        ExperimentSpec experiment = spec.Experiment();
        Assert.Equal(20, experiment.Arms.Count);
        Assert.True(experiment.StopWhenSolved);
        ArmSpec arm = experiment.Arms.Single(a => a.Name == "qn x8");
        var config = experiment.Config("Acrobot-v1", arm, 1, null);
        Assert.Equal(8, config.Threads);
        Assert.Equal(-100, config.SolveThreshold);
        Assert.Equal(2_000_000, config.MaxEnvSteps);
    }

    [Fact]
    public void WithoutReferenceScoresEachEnvUsesItsThreshold()
    {
        SpeedupSpec spec = Spec("name: s\nmethods: [a3c]\nthreads: [2, 1]\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\n");
        Assert.Equal(475, spec.ReferenceScore("CartPole-v1"));
        Assert.Equal(1, spec.Baseline);
    }

    [Theory]
    [InlineData("methods: [q2]", "method 'q2' is unknown")]
    [InlineData("threads: [1, 0]", "threads holds 0")]
    [InlineData("threads: [2, 2]", "threads repeats a count")]
    [InlineData("settings: {threads: 4}", "threads is what a speedup file varies")]
    [InlineData("method_settings: {a3c: {threads: 4}}", "threads is what a speedup file varies")]
    [InlineData("method_settings: {q1: {learning_rate: 0.001}}", "method_settings names method 'q1'")]
    [InlineData("envs: [MinAtar/Breakout-v1]", "MinAtar/Breakout-v1 has no threshold of its own")]
    [InlineData("method_settings: {a3c: {learning_rate: -1}}", "learning_rate")]
    public void BadFilesAreRefusedWithTheLineAndWhatWasExpected(string line, string expected)
    {
        var fields = new Dictionary<string, string>
        {
            ["name"] = "name: s", ["methods"] = "methods: [a3c]", ["threads"] = "threads: [1, 2]", ["envs"] = "envs: [CartPole-v1]",
            ["seeds"] = "seeds: [1]", ["max_env_steps"] = "max_env_steps: 1000",
        };
        fields[line[..line.IndexOf(':')]] = line;
        var e = Assert.Throws<FormatException>(() => Spec(string.Join('\n', fields.Values)));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("s.yaml", e.Message);
    }

    [Fact]
    public void ThreadCountsAboveTheCoresAreRefusedUnlessOversubscriptionIsAsked()
    {
        SpeedupSpec spec = Spec("name: s\nmethods: [q1, a3c]\nthreads: [1, 2, 4]\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\n");
        SpeedupPlan plan = SpeedupPlan.Make(spec, cores: 2, oversubscribe: false);
        Assert.Equal([1, 2], plan.Of("q1").Select(c => c.Threads));
        Assert.Equal([1, 2], plan.Of("a3c").Select(c => c.Threads));
        Assert.All(plan.Cells, c => Assert.False(c.Oversubscribed));
        Assert.Contains(plan.Refused, l => l.StartsWith("q1: 4 threads refused: this machine has 2 cores", StringComparison.Ordinal));

        SpeedupPlan over = SpeedupPlan.Make(spec, cores: 2, oversubscribe: true);
        Assert.Empty(over.Refused);
        SpeedupCellPlan four = over.Of("a3c").Single(c => c.Threads == 4);
        Assert.True(four.Oversubscribed);
        Assert.Equal(4, four.ThreadsUsed);
        Assert.False(over.Of("a3c").Single(c => c.Threads == 2).Oversubscribed);
    }

    [Fact]
    public void HelperThreadsCountAgainstTheCores()
    {
        // The server update mode's applier and IMPALA's learner each need a core of their own.
        SpeedupSpec spec = Spec("name: s\nmethods: [a3c, impala, qn]\nthreads: [1, 2]\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\n" +
            "method_settings: {a3c: {update: server}}\n");
        SpeedupPlan plan = SpeedupPlan.Make(spec, cores: 2, oversubscribe: false);
        Assert.Equal([1], plan.Of("a3c").Select(c => c.Threads));
        Assert.Equal(2, plan.Of("a3c").Single().ThreadsUsed);
        Assert.Equal([1], plan.Of("impala").Select(c => c.Threads));
        Assert.Equal([1, 2], plan.Of("qn").Select(c => c.Threads));
        Assert.Contains(plan.Refused, l => l.Contains("a3c: 2 (3 with its helper threads) threads refused", StringComparison.Ordinal));

        SpeedupPlan oneCore = SpeedupPlan.Make(spec, cores: 1, oversubscribe: false);
        Assert.Empty(oneCore.Of("impala"));
        Assert.Contains(oneCore.Refused, l => l.StartsWith("impala: left out: its baseline of 1 thread needs more than this machine's 1 cores", StringComparison.Ordinal));
    }

    [Fact]
    public void SpeedupIsTheRatioOfMedianTimesWithCensoredSeedsAsInfinity()
    {
        double inf = double.PositiveInfinity;
        // Medians 12 and 6: 2x, even though one baseline seed never reached the score.
        Assert.Equal(2, SpeedupAnalysis.MedianRatio([[10, 12, inf], [5, 6, 7]]));
        // The baseline mostly did not reach it: unbounded.
        Assert.Equal(inf, SpeedupAnalysis.MedianRatio([[inf, inf, 10], [5, 5, 5]]));
        // n threads mostly did not: 0.
        Assert.Equal(0, SpeedupAnalysis.MedianRatio([[1, 2, 3], [inf, inf, 1]]));
        // Neither: undefined.
        Assert.True(double.IsNaN(SpeedupAnalysis.MedianRatio([[inf, inf, 1], [inf, 1, inf]])));
        // Over envs, the median of their ratios: (2 + 4) / 2 for two; a bound (inf) counts as itself, and an undefined
        // ratio is left out: ratios 2, 4, inf and NaN give the median of 2, 4, inf.
        Assert.Equal(3, SpeedupAnalysis.MedianRatio([[4, 4], [2, 2], [8, 8], [2, 2]]));
        Assert.Equal(4, SpeedupAnalysis.MedianRatio([[4, 4], [2, 2], [8, 8], [2, 2], [inf, inf], [1, 1], [inf, inf], [inf, inf]]));
        Assert.Throws<ArgumentException>(() => SpeedupAnalysis.MedianRatio([[1]]));
    }

    [Fact]
    public void TheIntervalResamplesSeedsAndCoversTheEstimate()
    {
        Estimate fixedSeeds = SpeedupAnalysis.MedianRatioOfMedians([[6, 6, 6], [3, 3, 3]]);
        Assert.Equal(new Estimate(2, 2, 2), fixedSeeds);
        Estimate spread = SpeedupAnalysis.MedianRatioOfMedians([[4, 5, 6, 7, 8], [2, 2.5, 3, 3.5, 4]]);
        Assert.Equal(2, spread.Value, 9);
        Assert.True(spread.Low < 2 && spread.High > 2 && spread.Low >= 1 && spread.High <= 4, $"{spread}");
        // A censored seed in the baseline's sample reaches the top of the interval in some resamples.
        Estimate censored = SpeedupAnalysis.MedianRatioOfMedians([[4, 5, double.PositiveInfinity], [2, 2, 2]]);
        Assert.Equal(2.5, censored.Value);
        Assert.Equal(double.PositiveInfinity, censored.High);
    }

    static RunResult Run(string method, int threads, int seed, double? seconds, long? steps, double stepsPerSecond, string env = "CartPole-v1")
    {
        var arm = new ArmSpec(SpeedupSpec.ArmName(method, threads), method, []);
        var summary = new RunSummary(method, env, seed, "cpu", threads, threads, 1000, 10, seconds ?? 9, stepsPerSecond, 475, seconds is not null,
            "train-last-100", steps, seconds, 100, 10);
        return new RunResult(new PlannedRun(env, arm, seed, 1e-3f, false, $"runs/{arm.Name}/s{seed}"), summary, []);
    }

    [Fact]
    public void ResultsSplitASuperlinearSpeedupIntoDataEfficiencyAndThroughput()
    {
        SpeedupSpec spec = Spec("name: s\nmethods: [a3c]\nthreads: [1, 2]\nenvs: [CartPole-v1]\nseeds: [1, 2, 3]\nmax_env_steps: 1000\n");
        SpeedupPlan plan = SpeedupPlan.Make(spec, cores: 2, oversubscribe: false);
        // One thread: 30 s and 300k steps at 10k steps/s; two threads: 10 s and 150k steps at 15k steps/s (one seed censored).
        RunResult[] runs =
        [
            Run("a3c", 1, 1, 30, 300_000, 10_000), Run("a3c", 1, 2, 28, 280_000, 10_000), Run("a3c", 1, 3, 32, 320_000, 10_000),
            Run("a3c", 2, 1, 10, 150_000, 15_000), Run("a3c", 2, 2, 9, 140_000, 15_000), Run("a3c", 2, 3, null, null, 15_000),
        ];
        var results = new ExperimentResults(spec.Experiment(plan.Cells), [], new Dictionary<(string, string), float>(), runs);
        List<SpeedupResult> rows = SpeedupAnalysis.Results(spec, plan, results);
        SpeedupResult two = rows.Single(r => r.Cell.Threads == 2);
        Assert.Equal("CartPole-v1", two.Env);
        Assert.Equal((2, 3), (two.Solved, two.Runs));
        Assert.Equal(3.0, two.Speedup.Value, 9);          // 30 / 10: above the ideal 2x
        Assert.Equal(2.0, two.DataEfficiency.Value, 9);   // 300k / 150k
        Assert.Equal(1.5, two.Throughput.Value, 9);       // 15k / 10k
        Assert.Equal(10, two.MedianSeconds);
        // The parallel Dyna-Q study's measures: every run finished 10 episodes with a final mean of 100; seconds per
        // episode 1.0, 0.9 and not reached.
        Assert.Equal((100.0, 10.0, 1.0), (two.MedianFinalReturn, two.MedianEpisodes, two.MedianSecondsPerEpisode));
        Assert.Equal(("100.0", "10.0 s", "10", "1000.00 ms"), SpeedupReport.Measures(two));
        SpeedupResult one = rows.Single(r => r.Cell.Threads == 1);
        Assert.Equal(new Estimate(1, 1, 1), one.Speedup);
    }

    [Fact]
    public void TheMedianOverEnvsLeavesOutOnlyAnUndefinedEnvAndSaysSo()
    {
        SpeedupSpec spec = Spec("name: s\nmethods: [a3c]\nthreads: [1, 2]\nenvs: [CartPole-v1, Acrobot-v1]\nseeds: [1, 2]\nmax_env_steps: 1000\n");
        SpeedupPlan plan = SpeedupPlan.Make(spec, cores: 2, oversubscribe: false);
        const string Acrobot = "Acrobot-v1";
        RunResult[] runs =
        [
            Run("a3c", 1, 1, 30, 300, 10), Run("a3c", 1, 2, 30, 300, 10), Run("a3c", 2, 1, 10, 100, 30), Run("a3c", 2, 2, 10, 100, 30),
            // Neither thread count reaches the score on Acrobot-v1: its speedup is undefined.
            Run("a3c", 1, 1, null, null, 10, Acrobot), Run("a3c", 1, 2, null, null, 10, Acrobot),
            Run("a3c", 2, 1, null, null, 20, Acrobot), Run("a3c", 2, 2, 5, 50, 20, Acrobot),
        ];
        var results = new ExperimentResults(spec.Experiment(plan.Cells), [], new Dictionary<(string, string), float>(), runs);
        List<SpeedupResult> rows = SpeedupAnalysis.Results(spec, plan, results);
        Assert.True(double.IsNaN(rows.Single(r => r.Env == Acrobot && r.Cell.Threads == 2).Speedup.Value));
        SpeedupResult average = rows.Single(r => r.Env is null && r.Cell.Threads == 2);
        Assert.Equal(3.0, average.Speedup.Value, 9);
        Assert.Equal(["CartPole-v1"], average.AveragedOver);
        Assert.Equal((3, 4), (average.Solved, average.Runs)); // over both envs
        string line = Assert.Single(SpeedupReport.LeftOut(spec, rows));
        Assert.Equal("a3c at 2 threads: median over 1 of 2 envs; left out Acrobot-v1 (neither thread count reached the score on most seeds).", line);

        // Two threads reach it on Acrobot while one does not: its speedup is unbounded, and the median counts it as such.
        RunResult[] bounded = [.. runs.Take(6), Run("a3c", 2, 1, 5, 50, 20, Acrobot), Run("a3c", 2, 2, 5, 50, 20, Acrobot)];
        rows = SpeedupAnalysis.Results(spec, plan, new ExperimentResults(spec.Experiment(plan.Cells), [], new Dictionary<(string, string), float>(), bounded));
        average = rows.Single(r => r.Env is null && r.Cell.Threads == 2);
        Assert.Equal(double.PositiveInfinity, average.Speedup.Value); // the median of 3 and inf
        Assert.Equal(["CartPole-v1", Acrobot], average.AveragedOver);
        Assert.Equal("a3c at 2 threads: median over 2 of 2 envs; counted as bounds: Acrobot-v1 as inf (1 thread did not reach the score on most seeds).",
            Assert.Single(SpeedupReport.LeftOut(spec, rows)));
    }

    [Fact]
    public void DynaQsThreadCountIsItsPlanningThreadsAndItsRealThreadCountsAgainstTheCores()
    {
        SpeedupSpec spec = Spec("name: s\nmethods: [dyna-q]\nthreads: [1, 2]\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\n");
        Assert.Equal(["1", "2"], spec.Experiment().Arms.Select(a => a.Settings.Single(x => x.Key == "planning_threads").Value));
        Assert.DoesNotContain(spec.Experiment().Arms, a => a.Settings.Any(x => x.Key == "threads"));
        SpeedupPlan plan = SpeedupPlan.Make(spec, cores: 2, oversubscribe: true);
        Assert.Equal([(1, 2, false), (2, 3, true)], plan.Of("dyna-q").Select(c => (c.Threads, c.ThreadsUsed, c.Oversubscribed)));
        var e = Assert.Throws<FormatException>(() => Spec("name: s\nmethods: [dyna-q]\nthreads: [1, 2]\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\n" +
            "settings: {planning_threads: 3}\n"));
        Assert.Contains("planning_threads is what a speedup file varies", e.Message);
    }

    [Fact]
    public void ThePapersTableIsThere()
    {
        Assert.Equal(3.0, PaperTable.Speedup("q1", 2));
        Assert.Equal(12.5, PaperTable.Speedup("a3c", 16));
        Assert.Equal(17.2, PaperTable.Speedup("qn", 16));
        Assert.Null(PaperTable.Speedup("a2c", 2));
    }

    [Fact]
    public void AMethodCanBeAVariantOfAnAlgorithmWithItsOwnSettings()
    {
        // Lock and lock-free DQN side by side: two labels, one algorithm, each with its update mode at every thread count.
        SpeedupSpec spec = SpeedupSpec.Parse("""
            name: s
            methods:
              - {name: dqn-lock, algo: dqn, settings: {update: lock}}
              - {name: dqn-hogwild, algo: dqn, settings: {update: hogwild}}
            threads: [1, 2]
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 1000
            """, "s.yaml");
        Assert.Equal(["dqn-lock", "dqn-hogwild"], spec.Methods);
        Assert.Equal("dqn", spec.AlgoOf("dqn-lock"));
        ExperimentSpec experiment = spec.Experiment();
        ArmSpec arm = experiment.Arms.Single(a => a.Name == "dqn-hogwild x2");
        Assert.Equal("dqn", arm.Algo);
        var config = (DqnConfig)experiment.Config("CartPole-v1", arm, 1, null);
        Assert.Equal(2, config.Threads);
        Assert.Equal(UpdateMode.Hogwild, config.Async.Update);
        Assert.Equal(UpdateMode.Lock, ((DqnConfig)experiment.Config("CartPole-v1", experiment.Arms.Single(a => a.Name == "dqn-lock x1"), 1, null)).Async.Update);
        var e = Assert.Throws<FormatException>(() => SpeedupSpec.Parse("""
            name: s
            methods: [{name: a3c, algo: dqn}]
            threads: [1]
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 1000
            """, "s.yaml"));
        Assert.Contains("another algorithm's name", e.Message);
    }
}
