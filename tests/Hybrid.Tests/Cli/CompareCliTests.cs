using Hybrid.Cli.Compare;
using Hybrid.Training.Runs;
using Spectre.Console;

namespace Hybrid.Tests.Cli;

public sealed class CompareCliTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hybrid-compare").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    (int Code, string Output, string Error) Compare(string yaml, string? output = null)
    {
        string file = Path.Combine(_dir, "e.yaml");
        File.WriteAllText(file, yaml);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CompareCommand.Run(file, output ?? Path.Combine(_dir, "out"), PlainConsole(stdout), stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A console as a log sees it: no colours, no progress bar.</summary>
    internal static IAnsiConsole PlainConsole(StringWriter stdout) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No,
        Interactive = InteractionSupport.No,
        Out = new AnsiConsoleOutput(stdout),
    });

    [Fact]
    public void ADivergingArmEndsTheComparisonWithItsMessageAndNoStackTrace()
    {
        // An infinite step size makes theta infinite at the first update (here already in the warm-up run).
        (int code, string output, string error) = Compare("""
            name: diverging
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 3000
            cores: 1
            arms: [{name: A2C, algo: a2c, settings: {learning_rate: 1e30, max_grad_norm: 0, device: cpu}}]
            """);
        Assert.Equal(1, code);
        Assert.Contains("NaN or infinite", error);
        Assert.Contains("run the same command again", error);
        Assert.DoesNotContain("   at ", error + output);
    }

    const string Tiny = """
        name: tiny-cli
        envs: [CartPole-v1]
        seeds: [1, 2]
        max_env_steps: 3000
        threshold: 20
        stop_when_solved: true
        cores: 1
        arms: [{name: A2C, algo: a2c}, {name: A3C, algo: a3c}]
        """;

    [Fact]
    public void CompareWritesTheReportAndPrintsTheVerdictAndItsPath()
    {
        (int code, string output, string error) = Compare(Tiny);
        Assert.True(code == 0, error);
        Assert.Contains("verdict:", output);
        Assert.Contains($"report: {Path.Combine(_dir, "out", "report.md")}", output);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "results.csv")));
        Assert.True(File.Exists(Path.Combine(_dir, "out", "figures", "CartPole-v1-return-vs-steps.svg")));
        // Again on the same folder: every run is read back, none run again.
        (code, output, _) = Compare(Tiny);
        Assert.Equal(0, code);
        Assert.Equal(4, output.Split('\n').Count(l => l.Contains("finished before, skipped")));
    }

    [Fact]
    public void CompareRunsAnArmOnTheDeviceKernelsAndTheReportSaysWhere()
    {
        string file = Tiny.Replace("arms: [{name: A2C, algo: a2c}", "arms: [{name: A2C, algo: a2c, settings: {device: ilgpu-cpu}}").Replace("seeds: [1, 2]", "seeds: [1]");
        (int code, _, string error) = Compare(file);
        Assert.True(code == 0, error);
        string report = File.ReadAllText(Path.Combine(_dir, "out", "report.md"));
        Assert.Contains("- **Devices**: A2C on ilgpu-cpu (ILGPU CPU accelerator on ", report);
        Assert.Contains("; A3C on cpu (", report);
    }

    [Theory]
    [InlineData("arms: [{name: A2C, algo: a2c}, {name: A3C, algo: a3c}]", "arms: [{name: A2C, algo: a2c}, {name: X, algo: ppo}]", "algo 'ppo' is unknown")]
    [InlineData("cores: 1", "cores: 1\nbudget: 3", "'budget' is not a field of an experiment")]
    [InlineData("cores: 1", "cores: 1\ntune: {learning_rate: [0.001], seeds: [2]}", "tune seeds 2 are also report seeds")]
    public void ABadExperimentIsRefusedWithOneLineAndExitCode2(string from, string to, string expected)
    {
        (int code, string output, string error) = Compare(Tiny.Replace(from, to));
        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.StartsWith("compare: ", error);
        Assert.Contains(expected, error);
        Assert.Equal("", output);
    }

    [Fact]
    public void AFolderInUseByAnotherProcessIsRefusedWithOneLine()
    {
        string output = Path.Combine(_dir, "out");
        using (Hybrid.Cli.FolderLock? held = Hybrid.Cli.FolderLock.Take(output))
        {
            Assert.NotNull(held);
            (int code, _, string error) = Compare(Tiny, output);
            Assert.Equal(2, code);
            Assert.StartsWith($"compare: --out '{output}' is in use by another Hybrid process (pid {Environment.ProcessId} since ", error);
            Assert.Single(error.TrimEnd().Split('\n'));
            Assert.False(File.Exists(Path.Combine(output, "experiment.yaml")), "the refused command wrote into the folder");
        }
        // Released (as when its holder ends, however it ends), the folder is free.
        Assert.Equal(0, Compare(Tiny, output).Code);
    }

    [Fact]
    public void AFinishedRunIsReusedOnlyWithTheSameConfigSeedAndVersion()
    {
        string output = Path.Combine(_dir, "out");
        Assert.Equal(0, Compare(Tiny, output).Code);
        string again = Path.Combine(output, "runs", "CartPole-v1", "A3C", "s2", "summary.json");
        string started = System.Text.Json.JsonDocument.Parse(File.ReadAllText(again)).RootElement.GetProperty("started").GetString()!;
        // Another Hybrid version wrote A2C seed 1's summary; A3C seed 2 stays as it was.
        string old = Path.Combine(output, "runs", "CartPole-v1", "A2C", "s1", "summary.json");
        File.WriteAllText(old, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(old), "\"version\": \"[^\"]*\"", "\"version\": \"commit 0000000\""));
        Assert.Equal(0, Compare(Tiny, output).Code);
        Assert.Contains(RunContextVersion, File.ReadAllText(old)); // ran again, by this version
        string report = File.ReadAllText(Path.Combine(output, "report.md"));
        Assert.Contains("**Reused runs**", report);
        Assert.Contains($"`runs/CartPole-v1/A3C/s2` (run {started})", report);
        Assert.DoesNotContain("`runs/CartPole-v1/A2C/s1` (run", report);
        Assert.Contains("`runs/CartPole-v1/A2C/s1` |", report); // in the every-seed table, not marked reused
    }

    static string RunContextVersion => $"\"version\": \"{Hybrid.Training.Runs.SummaryBuilder.HybridVersion}\"";

    [Fact]
    public void AFolderHoldingAnotherExperimentIsRefused()
    {
        Assert.Equal(0, Compare(Tiny).Code);
        (int code, _, string error) = Compare(Tiny.Replace("seeds: [1, 2]", "seeds: [1, 3]"));
        Assert.Equal(2, code);
        Assert.Contains("holds a different experiment", error);
    }
}

public class TrainPresetCliTests
{
    [Fact]
    public void TrainAppliesAndNamesThePresetUnlessToldNotTo()
    {
        string dir = Directory.CreateTempSubdirectory("hybrid-preset").FullName;
        try
        {
            var (code, _, error) = TrainCliTests.Cli("train", "--algo", "a2c", "--env", "Pendulum-v1", "--max-env-steps", "800", "--quiet", "--out", Path.Combine(dir, "a"));
            Assert.Equal(0, code);
            Assert.Contains("train: preset a2c Pendulum-v1: gamma 0.9, gae_lambda 0.9, t_max 8", error);
            Assert.Contains("\ngamma: 0.9\n", File.ReadAllText(Path.Combine(dir, "a", "config.yaml")));
            // The user's own setting wins over the preset.
            (code, _, _) = TrainCliTests.Cli("train", "--algo", "a2c", "--env", "Pendulum-v1", "--t-max", "4", "--max-env-steps", "800", "--quiet", "--out", Path.Combine(dir, "b"));
            Assert.Equal(0, code);
            Assert.Contains("\nt_max: 4\n", File.ReadAllText(Path.Combine(dir, "b", "config.yaml")));
            (code, _, error) = TrainCliTests.Cli("train", "--algo", "a2c", "--env", "Pendulum-v1", "--no-preset", "--max-env-steps", "800", "--quiet", "--out", Path.Combine(dir, "c"));
            Assert.Equal(0, code);
            Assert.DoesNotContain("preset", error);
            Assert.Contains("\ngamma: 0.99\n", File.ReadAllText(Path.Combine(dir, "c", "config.yaml")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
