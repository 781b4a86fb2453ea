using Hybrid.Experiments;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Experiments;

/// <summary>Records what the runner reports.</summary>
internal sealed class RecordingProgress : IExperimentProgress
{
    public List<(string Run, bool Skipped)> Started { get; } = [];
    public List<string> Notes { get; } = [];

    public void RunStarting(PlannedRun run, int index, int total, bool skipped) => Started.Add(($"{run.Env} {run.Arm.Name} {run.Seed} {run.Tuning}", skipped));
    public void RunProgress(PlannedRun run, long envSteps, long budget, string line) { }
    public void RunFinished(RunResult result) { }
    public void Note(string line) => Notes.Add(line);
}

public sealed class ExperimentRunnerTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "hybrid-exp-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // Tiny budgets: the runner's bookkeeping is under test, not learning. CartPole with a threshold of 30 is reached
    // within a few thousand steps by some seeds and arms, which gives solved and unsolved runs alike.
    const string Tiny = """
        name: tiny
        envs: [CartPole-v1]
        seeds: [1, 2]
        max_env_steps: 6000
        threshold: 30
        stop_when_solved: true
        cores: 1
        arms:
          - {name: A2C, algo: a2c, settings: {log_interval: 1000}}
          - {name: A3C, algo: a3c, settings: {log_interval: 1000}}
        """;

    ExperimentResults Run(string yaml, RecordingProgress progress) =>
        new ExperimentRunner(ExperimentSpec.Parse(yaml, "tiny.yaml"), _dir, progress) { WarmUpFirst = false }.Run();

    [Fact]
    public void EveryRunGetsItsOwnFolderAndAKilledExperimentResumes()
    {
        var first = new RecordingProgress();
        ExperimentResults a = Run(Tiny, first);
        Assert.Equal(4, a.Report.Count);
        Assert.All(first.Started, s => Assert.False(s.Skipped));
        // Seed by seed, the arms taking turns.
        Assert.Equal(["CartPole-v1 A2C 1 False", "CartPole-v1 A3C 1 False", "CartPole-v1 A2C 2 False", "CartPole-v1 A3C 2 False"], first.Started.Select(s => s.Run));
        foreach (RunResult r in a.Report)
        {
            Assert.True(File.Exists(Path.Combine(_dir, r.Run.Folder, "summary.json")));
            Assert.Equal(1, r.Summary.Threads);
            Assert.NotEmpty(r.Curve);
        }

        // A run stopped midway leaves a folder without summary.json: with its checkpoint it continues from there (here the
        // checkpoint it wrote as it stopped); killed before any checkpoint, it runs again from nothing. The others are read back.
        string stopped = Path.Combine(_dir, a.Report[2].Run.Folder), killed = Path.Combine(_dir, a.Report[1].Run.Folder);
        File.Delete(Path.Combine(stopped, "summary.json"));
        File.Delete(Path.Combine(killed, "summary.json"));
        File.Delete(Path.Combine(killed, "checkpoint.bin"));
        var second = new RecordingProgress();
        ExperimentResults b = Run(Tiny, second);
        Assert.Equal([false, true, true, false], second.Started.Select(s => !s.Skipped));
        Assert.True(File.Exists(Path.Combine(stopped, "summary.json")));
        Assert.Equal(a.Report[0].Summary.ToJson(), b.Report[0].Summary.ToJson());
        Assert.Equal([$"{a.Report[2].Run.Folder}: continues from its checkpoint at {a.Report[2].Summary.EnvSteps:N0} env steps; its times add the part before the stop (up to that checkpoint) to this one."],
            second.Notes);
        Assert.Equal(1, b.Report[2].Summary.Resumed);
        Assert.Equal(0, b.Report[1].Summary.Resumed);
        // A2C is deterministic for a seed: the continued run has the same solve.
        Assert.Equal(a.Report[2].Summary.SolvedAtEnvSteps, b.Report[2].Summary.SolvedAtEnvSteps);
        Assert.Equal(a.Report[2].Summary.EnvSteps, b.Report[2].Summary.EnvSteps);
    }

    [Fact]
    public void AFailedRunKeepsItsErrorAndAFailedSummary()
    {
        string yaml = Tiny.Replace("settings: {log_interval: 1000}}\n  - {name: A3C, algo: a3c, settings: {log_interval: 1000}}",
            "settings: {learning_rate: 1e30, max_grad_norm: 0}}");
        var runner = new ExperimentRunner(ExperimentSpec.Parse(yaml, "tiny.yaml"), _dir, new RecordingProgress()) { WarmUpFirst = false };
        Assert.Throws<Hybrid.Training.Parallel.TrainingDivergedException>(() => runner.Run());
        Assert.Equal(Path.Combine("runs", "CartPole-v1", "A2C", "s1"), runner.FailedRun);
        string run = Path.Combine(_dir, runner.FailedRun!);
        Assert.Contains("\"status\": \"failed\"", File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Contains("   at ", File.ReadAllText(Path.Combine(run, "error.txt")));
    }

    [Fact]
    public void TuningPicksARatePerArmOnTheTuningSeedsAndReportsWithIt()
    {
        string yaml = Tiny.Replace("\n  - {name: A3C, algo: a3c, settings: {log_interval: 1000}}", "") + "\ntune: {learning_rate: [0.0000001, 0.01], seeds: [7]}\n";
        var progress = new RecordingProgress();
        ExperimentResults r = Run(yaml, progress);
        Assert.Equal(2, r.Tuning.Count);
        Assert.All(r.Tuning, t => Assert.Equal(7, t.Run.Seed));
        // A learning rate of 1e-7 leaves the initial policy as it is, which does not reach 30 within 6000 steps on
        // seed 7 while 0.01 does: the grid must pick 0.01.
        Assert.Equal(0.01f, r.Picks[("CartPole-v1", "A2C")]);
        Assert.All(r.Report, x => Assert.Equal(0.01f, x.Run.LearningRate));
        Assert.Single(progress.Notes);
        Assert.Contains("learning rate 0.01", progress.Notes[0]);
    }

    [Fact]
    public void ResultsAndReportAreWrittenWithEverySeed()
    {
        ExperimentResults r = Run(Tiny, new RecordingProgress());
        string csv = File.ReadAllText(Report.WriteResultsCsv(r, _dir));
        string[] lines = csv.TrimEnd().Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("env,arm,algo,seed,learning_rate,solved,env_steps_to_threshold,seconds_to_threshold,final_mean_return,steps_per_second,updates,policy_lag_mean,policy_lag_max", lines[0]);
        List<ArmStats> stats = Report.Stats(r);
        List<Verdict> verdicts = Report.Verdicts(r, stats);
        var figures = Figures.Draw(r, _dir);
        Assert.All(figures["CartPole-v1"], f => Assert.True(new FileInfo(Path.Combine(_dir, f.File)).Length > 1000));
        string md = File.ReadAllText(Report.WriteMarkdown(r, stats, verdicts, figures, _dir));
        Assert.Contains("**Verdict.**", md);
        Assert.Contains("| `t_max` | 5 | 20 |", md); // a setting that differs between the arms is printed
        Assert.Contains("| A2C | a2c | 1 | none | 0.0007 | a2c's default |", md); // its threads, and where each learning rate came from
        Assert.Contains("P(row sooner than column), by wall time", md);
        Assert.Contains("- **Load seen**: load average", md);
        Assert.Contains("![CartPole-v1: mean-100 return against env steps](figures/CartPole-v1-return-vs-steps.png)", md);
        Assert.Contains("runs/CartPole-v1/A3C/s2", md);
    }
}
