using Hybrid.Cli.Speedup;

namespace Hybrid.Tests.Cli;

public sealed class SpeedupCliTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hybrid-speedup").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    (int Code, string Output, string Error) Speedup(string yaml, int cores, bool oversubscribe = false)
    {
        string file = Path.Combine(_dir, "s.yaml");
        File.WriteAllText(file, yaml);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = SpeedupCommand.Run(file, Path.Combine(_dir, "out"), oversubscribe, cores, CompareCliTests.PlainConsole(stdout), stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    // A3C on CartPole to a mean-100 of 25: a few thousand steps a run.
    const string Tiny = """
        name: tiny-speedup
        methods: [a3c]
        threads: [1, 2, 4]
        envs: [CartPole-v1]
        seeds: [1, 2]
        max_env_steps: 20000
        reference_scores: {CartPole-v1: 25}
        """;

    [Fact]
    public void SpeedupRunsWhatTheCoresAllowAndPrintsThePaperBesideOurs()
    {
        (int code, string output, string error) = Speedup(Tiny, cores: 2);
        Assert.True(code == 0, error);
        Assert.Contains("refused: a3c: 4 threads refused: this machine has 2 cores; --oversubscribe runs them anyway", output);
        Assert.Contains("Mnih et al. 2016 Table 2", output);
        // The 2-thread row: the paper's 2.1x beside ours.
        Assert.Contains(output.Split('\n'), l => l.Contains("a3c") && l.Contains("2.1x") && l.Contains("/2"));
        Assert.DoesNotContain(output.Split('\n'), l => l.Contains("│ 4 "));
        string report = File.ReadAllText(Path.Combine(_dir, "out", "report.md"));
        Assert.Contains("**2 cores**", report);
        Assert.Contains("| a3c | 2 | 2 | 2.1x |", report);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "figures", "speedup.png")));
        Assert.Equal(5, File.ReadAllLines(Path.Combine(_dir, "out", "results.csv")).Length);
        // Again on the same folder: every run is read back, none run again.
        (code, output, _) = Speedup(Tiny, cores: 2);
        Assert.Equal(0, code);
        Assert.Equal(4, output.Split('\n').Count(l => l.Contains("finished before, skipped")));
    }

    [Fact]
    public void OversubscribedCellsRunWhenAskedAndAreMarked()
    {
        (int code, string output, string error) = Speedup(Tiny.Replace("threads: [1, 2, 4]", "threads: [1, 2]"), cores: 1, oversubscribe: true);
        Assert.True(code == 0, error);
        Assert.DoesNotContain("refused", output);
        Assert.Contains("2 on 1 cores: oversubscribed", output);
        Assert.Contains("| a3c | 2 | 2 on 1 cores: oversubscribed |", File.ReadAllText(Path.Combine(_dir, "out", "report.md")));
    }

    [Fact]
    public void NothingThatFitsTheMachineIsRefusedWithExitCode2()
    {
        (int code, _, string error) = Speedup(Tiny.Replace("methods: [a3c]", "methods: [impala]"), cores: 1);
        Assert.Equal(2, code);
        Assert.Equal("speedup: nothing in '" + Path.Combine(_dir, "s.yaml") + "' fits this machine's 1 cores; expected thread counts up to 1, or --oversubscribe.", error.TrimEnd());
    }

    [Fact]
    public void ABadFileIsRefusedWithOneLine()
    {
        (int code, string output, string error) = Speedup(Tiny.Replace("methods: [a3c]", "methods: [a3c, ppo]"), cores: 2);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("speedup: ", error);
        Assert.Contains("method 'ppo' is unknown", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }
}
