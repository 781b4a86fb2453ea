using System.Diagnostics;
using System.Text.Json;

namespace Hybrid.Tests.Cli;

/// <summary>A real <c>hybrid train</c> process stopped by a signal: it finishes the update in progress, writes summary.json with status "interrupted" and exits 128 + the signal.</summary>
public sealed class SignalTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hybrid-signal").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public void ASignalStopsTheRunWithItsSummary(string signal, int exitCode)
    {
        string run = Path.Combine(_dir, "run-" + signal);
        var start = new ProcessStartInfo("dotnet", [HybridDll(), "train", "--algo", "a2c", "--max-env-steps", "500000000", "--quiet", "--out", run])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
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
        using (Process kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
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
    }

    /// <summary>The CLI the tests were built with (the same configuration, beside the repository's sources).</summary>
    static string HybridDll()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hybrid.sln")))
                return Path.Combine(dir.FullName, "src", "Hybrid.Cli", "bin", configuration, "net10.0", "hybrid.dll");
        throw new InvalidOperationException("Hybrid.sln not found above the test directory.");
    }
}
