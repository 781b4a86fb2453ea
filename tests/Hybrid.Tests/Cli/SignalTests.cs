using System.Diagnostics;
using System.Text.Json;

namespace Hybrid.Tests.Cli;

/// <summary>A real <c>hybrid train</c> process stopped by a signal: it finishes the update in progress, writes summary.json with status "interrupted" and exits 128 + the signal.</summary>
[Trait("Category", "Process")]
public sealed class SignalTests() : TempFolderTests("hybrid-signal")
{
    [Theory]
    [InlineData("INT", 130, "")]
    [InlineData("TERM", 143, "./run.sh")]
    public void ASignalStopsTheRunWithItsSummary(string signal, int exitCode, string invokedAs)
    {
        string run = Path.Combine(Folder, "run-" + signal);
        // run.sh passes the path it was called by, so that the command printed to continue the run is the user's.
        var start = new ProcessStartInfo("dotnet", [HybridDll(), "train", "--algo", "a2c", "--max-env-steps", "500000000", "--quiet", "--out", run])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment["HYBRID_INVOKED_AS"] = invokedAs;
        using Process process = Process.Start(start)!;
        // Wait until it trains (its first metrics row), then signal it.
        string metrics = Path.Combine(run, "metrics.csv");
        var clock = Stopwatch.StartNew();
        while ((!File.Exists(metrics) || File.ReadAllLines(metrics).Length < 2) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
        if (!File.Exists(metrics))
        {
            process.Kill();
            Assert.Fail("the run never started: " + process.StandardError.ReadToEnd());
        }
        if (signal == "INT" && InheritedIgnored(2))
        {
            // A suite started in the background by a non-interactive shell (`./run.sh test &`) inherits SIGINT ignored,
            // and so does the run: .NET keeps an ignored SIGINT ignored, as nohup'd programs do. It must go on; SIGTERM
            // then stops it as this test expects.
            Signal(process, "INT");
            Assert.False(process.WaitForExit(1_000), "a run that inherited SIGINT ignored stopped on SIGINT");
            (signal, exitCode) = ("TERM", 143);
        }
        Signal(process, signal);
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            Assert.Fail("the run did not stop within 30 s of the signal");
        }
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        Assert.Equal(exitCode, process.ExitCode);
        Assert.Contains("interrupted at", output);
        Assert.Contains("stopping after this update", error);
        Assert.DoesNotContain("   at ", error);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        JsonElement root = summary.RootElement;
        Assert.Equal("interrupted", root.GetProperty("status").GetString());
        Assert.InRange(root.GetProperty("env_steps").GetInt64(), 10_000, 499_999_999);
        Assert.Contains("train --algo a2c", root.GetProperty("command").GetString());
        Assert.StartsWith("20", root.GetProperty("started").GetString());

        // The checkpoint written at the stop holds the run where it stopped, and says how to continue it.
        var checkpoint = Hybrid.Nn.Checkpoint.Load(Path.Combine(run, "checkpoint.bin"));
        Assert.Equal(root.GetProperty("env_steps").GetInt64(), checkpoint.EnvSteps);
        Assert.Equal(root.GetProperty("updates").GetInt64(), checkpoint.Updates);
        Assert.Contains($"to continue it: {(invokedAs.Length > 0 ? invokedAs : "hybrid")} train --resume {run}", output);

        // Continuing it to a little past the stop: the same folder, the counters carry on.
        long budget = checkpoint.EnvSteps + 2_000;
        using Process resumed = StartHybrid("train", "--resume", run, "--max-env-steps", budget.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quiet");
        string resumedOutput = resumed.StandardOutput.ReadToEnd(), resumedError = resumed.StandardError.ReadToEnd();
        resumed.WaitForExit();
        Assert.True(resumed.ExitCode == 0, resumedError);
        using JsonDocument after = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal("finished", after.RootElement.GetProperty("status").GetString());
        Assert.Equal(1, after.RootElement.GetProperty("resumed").GetInt32());
        Assert.InRange(after.RootElement.GetProperty("env_steps").GetInt64(), budget, budget + 40);
        Assert.Contains("run folder: " + run, resumedOutput);
    }

    /// <summary>Sends <paramref name="process"/> SIG<paramref name="signal"/> (kill -SIGNAL PID).</summary>
    internal static void Signal(Process process, string signal)
    {
        using Process kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Whether this process ignores signal <paramref name="number"/> (its SigIgn mask in /proc), as its children then do.</summary>
    static bool InheritedIgnored(int number)
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (number - 1))) != 0;
    }

    [Fact]
    public void AKilledRunResumesFromItsLastCheckpointLosingAtMostOneInterval()
    {
        // kill -9 gives the process no chance to write anything: what survives is the last periodic checkpoint.
        string run = Path.Combine(Folder, "killed");
        using Process process = StartHybrid("train", "--algo", "a2c", "--max-env-steps", "500000000", "--checkpoint-interval", "20000",
            "--log-interval", "5000", "--quiet", "--out", run);
        string metrics = Path.Combine(run, "metrics.csv");
        var clock = Stopwatch.StartNew();
        while ((!File.Exists(metrics) || File.ReadAllLines(metrics).Length < 22) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
        process.Kill();
        process.WaitForExit();
        Assert.False(File.Exists(Path.Combine(run, "summary.json")), "a killed run writes no summary");
        var checkpoint = Hybrid.Nn.Checkpoint.Load(Path.Combine(run, "checkpoint.bin"));
        long lastRow = File.ReadLines(metrics).Skip(1).Select(line => long.Parse(line.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).Max();
        Assert.True(checkpoint.EnvSteps >= 100_000, $"checkpoint at {checkpoint.EnvSteps}");
        // The run had logged at most one checkpoint interval (and an update) past its last checkpoint.
        Assert.InRange(lastRow - checkpoint.EnvSteps, -5_000, 20_000 + 40);

        long budget = checkpoint.EnvSteps + 10_000;
        using Process resumed = StartHybrid("train", "--resume", run, "--max-env-steps", budget.ToString(System.Globalization.CultureInfo.InvariantCulture), "--quiet");
        string output = resumed.StandardOutput.ReadToEnd(), error = resumed.StandardError.ReadToEnd();
        resumed.WaitForExit();
        Assert.True(resumed.ExitCode == 0, error);
        // The rows the killed run wrote after its checkpoint were dropped and written again: steps rise, none twice.
        long[] steps = [.. File.ReadLines(metrics).Skip(1).Select(line => long.Parse(line.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture))];
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First < p.Second), string.Join(' ', steps));
        Assert.InRange(steps[^1], budget, budget + 40);
        Assert.Contains("run folder: " + run, output);
    }

    [Fact]
    public void AStoppedComparisonContinuesWhereItStopped()
    {
        // SIGTERM during a comparison's run: that run stops after its update with a checkpoint and an "interrupted"
        // summary, the command exits 143 saying how to continue, and the same command continues the run from there.
        string file = Path.Combine(Folder, "long.yaml"), output = Path.Combine(Folder, "long");
        File.WriteAllText(file, """
            name: long
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 1500000
            stop_when_solved: false
            arms:
              - {name: A2C, algo: a2c, settings: {device: cpu}}
            """);
        using Process process = StartHybrid("compare", file, "--out", output);
        string metrics = Path.Combine(output, "runs", "CartPole-v1", "A2C", "s1", "metrics.csv");
        var clock = Stopwatch.StartNew();
        while ((!File.Exists(metrics) || File.ReadAllLines(metrics).Length < 3) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
        Signal(process, "TERM");
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(143, process.ExitCode);
        Assert.Contains("compare: interrupted during runs/CartPole-v1/A2C/s1; the finished runs are kept and that run keeps its checkpoint", error);
        string summary = Path.Combine(output, "runs", "CartPole-v1", "A2C", "s1", "summary.json");
        Assert.Contains("\"status\": \"interrupted\"", File.ReadAllText(summary));

        (int code, string again, string againError) = TrainCliTests.Cli("compare", file, "--out", output);
        Assert.True(code == 0, againError);
        Assert.Contains("runs/CartPole-v1/A2C/s1: continues from its checkpoint at", again);
        string finished = File.ReadAllText(summary);
        Assert.Contains("\"status\": \"finished\"", finished);
        Assert.Contains("\"resumed\": 1", finished);
        Assert.Contains("\"env_steps\": 1500000", finished);
    }

    /// <summary>Starts the CLI with <paramref name="args"/>, its output redirected.</summary>
    internal static Process StartHybrid(params string[] args) =>
        Process.Start(new ProcessStartInfo("dotnet", [HybridDll(), .. args]) { RedirectStandardOutput = true, RedirectStandardError = true })!;

    /// <summary>The CLI the tests were built with (the same configuration, beside the repository's sources).</summary>
    internal static string HybridDll()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hybrid.sln")))
                return Path.Combine(dir.FullName, "src", "Hybrid.Cli", "bin", configuration, "net10.0", "hybrid.dll");
        throw new InvalidOperationException("Hybrid.sln not found above the test directory.");
    }
}
