using Hybrid.Nn;
using Hybrid.Tests.Training;

namespace Hybrid.Tests.Cli;

/// <summary><c>train --resume RUN_DIR</c> on real run folders: metrics.csv and the TensorBoard file continue without duplicate steps.</summary>
public sealed class ResumeCliTests() : TempFolderTests("hybrid-resume")
{
    static readonly string[] Common = ["--algo", "a2c", "--seed", "5", "--log-interval", "2000", "--quiet", "--device", "cpu"];

    [Fact]
    public void ASettingNewerThanTheRunsCheckpointCountsAsItsDefault()
    {
        // A run saved before impala had a device setting resumes on the default (auto), and only on it.
        List<(string Key, string Value, string Source)> saved = [("algo", "impala", "c"), ("env", "CartPole-v1", "c")];
        Hybrid.Cli.Train.TrainCommand.CheckSameRun(saved, [("env", "CartPole-v1", "now"), ("device", "auto", "now")], "run", "impala");
        var e = Assert.Throws<ArgumentException>(() =>
            Hybrid.Cli.Train.TrainCommand.CheckSameRun(saved, [("env", "CartPole-v1", "now"), ("device", "cpu", "now")], "run", "impala"));
        Assert.Contains("device (the run's auto, now cpu)", e.Message);
    }

    [Fact]
    public void AStoppedRunResumedInItsFolderEndsAsTheUninterruptedOne()
    {
        string whole = Path.Combine(Folder, "whole"), parts = Path.Combine(Folder, "parts");
        (int code, _, string error) = TrainCliTests.Cli(["train", .. Common, "--max-env-steps", "16000", "--out", whole]);
        Assert.True(code == 0, error);
        // The first part ends at 7,000 steps, inside a log interval: its last row is a partial one at 7,000.
        (code, _, error) = TrainCliTests.Cli(["train", .. Common, "--max-env-steps", "7000", "--out", parts]);
        Assert.True(code == 0, error);
        Assert.EndsWith("7000", File.ReadLines(Path.Combine(parts, "metrics.csv")).Last().Split(',')[0]);

        (code, string output, error) = TrainCliTests.Cli("train", "--resume", parts, "--max-env-steps", "16000", "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains("16,000 steps", output);

        // Every column but the two wall-clock ones, row for row; the same final parameters and optimizer state.
        Assert.Equal(Columns(whole), Columns(parts));
        CheckpointData a = Checkpoint.Load(Path.Combine(whole, "checkpoint.bin")), b = Checkpoint.Load(Path.Combine(parts, "checkpoint.bin"));
        Assert.Equal(a.Parameters, b.Parameters);
        Assert.Equal(a.OptimizerState[0].Values, b.OptimizerState[0].Values);

        // The TensorBoard file: one event per row, steps strictly increasing (the partial row at 7,000 is gone).
        var events = RunFolderTests.ReadEvents(Directory.GetFiles(parts, "events.out.tfevents.*").Single()).Skip(1).Select(e => e.Step).ToList();
        var wholeEvents = RunFolderTests.ReadEvents(Directory.GetFiles(whole, "events.out.tfevents.*").Single()).Skip(1).Select(e => e.Step).ToList();
        Assert.Equal(wholeEvents, events);
        Assert.DoesNotContain(7000L, events);

        // config.yaml has the raised budget; the summary counts the resume.
        Assert.Contains("max_env_steps: 16000", File.ReadAllText(Path.Combine(parts, "config.yaml")));
        Assert.Contains("\"resumed\": 1", File.ReadAllText(Path.Combine(parts, "summary.json")));
    }

    [Fact]
    public void AResumeWithOtherSettingsOrNoBudgetLeftIsRefusedByName()
    {
        string run = Path.Combine(Folder, "run");
        (int code, _, string error) = TrainCliTests.Cli(["train", .. Common, "--max-env-steps", "2000", "--out", run]);
        Assert.True(code == 0, error);
        (code, _, error) = TrainCliTests.Cli("train", "--resume", run, "--learning-rate", "0.01", "--num-envs", "4", "--max-env-steps", "4000");
        Assert.Equal(2, code);
        Assert.Contains("learning_rate (the run's 0.0007, now 0.01), num_envs (the run's 8, now 4)", error);
        Assert.DoesNotContain("max_env_steps (", error);
        (code, _, error) = TrainCliTests.Cli("train", "--resume", run);
        Assert.Equal(2, code);
        Assert.Contains("its whole budget (max_env_steps 2000); raise it with --max-env-steps", error);
        (code, _, error) = TrainCliTests.Cli("train", "--resume", run, "--algo", "a3c", "--max-env-steps", "4000");
        Assert.Equal(2, code);
        Assert.Contains("--algo is 'a3c' but the run in", error);
        Assert.DoesNotContain("   at ", error);
        // Nothing was touched: the folder still holds the finished run.
        Assert.Contains("\"status\": \"finished\"", File.ReadAllText(Path.Combine(run, "summary.json")));
    }

    [Fact]
    public void AResumeWithItsWallClockBudgetSpentIsRefused()
    {
        string run = Path.Combine(Folder, "timed");
        (int code, _, string error) = TrainCliTests.Cli(["train", .. Common, "--max-env-steps", "100000000", "--max-wall-seconds", "0.3", "--out", run]);
        Assert.True(code == 0, error);
        (code, _, error) = TrainCliTests.Cli("train", "--resume", run);
        Assert.Equal(2, code);
        Assert.Contains("its whole wall-clock budget (max_wall_seconds 0.3); raise it with --max-wall-seconds", error);
        (code, _, error) = TrainCliTests.Cli("train", "--resume", run, "--max-wall-seconds", "0.6", "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains("\"resumed\": 1", File.ReadAllText(Path.Combine(run, "summary.json")));
    }

    [Fact]
    public void AFailedRunKeepsItsErrorAndSaysSo()
    {
        // An infinite step size makes theta infinite at the first update.
        string run = Path.Combine(Folder, "diverged");
        (int code, string output, string error) = TrainCliTests.Cli(["train", .. Common, "--learning-rate", "1e30", "--max-grad-norm", "0", "--out", run]);
        Assert.Equal(1, code);
        Assert.Contains("NaN or infinite", error);
        Assert.Contains("summary.json has status \"failed\"", error);
        Assert.DoesNotContain("   at ", error + output);
        string summary = File.ReadAllText(Path.Combine(run, "summary.json"));
        Assert.Contains("\"status\": \"failed\"", summary);
        Assert.Contains("TrainingDivergedException", summary);
        Assert.Contains("   at ", File.ReadAllText(Path.Combine(run, "error.txt")));
    }

    static List<string> Columns(string run) =>
        [.. File.ReadLines(Path.Combine(run, "metrics.csv")).Select(line =>
        {
            string[] c = line.Split(',');
            return string.Join(',', c[..3].Concat(c[5..]));
        })];
}
