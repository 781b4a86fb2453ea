using System.Diagnostics;

namespace Hybrid.Tests.Cli;

/// <summary>IMPALA across real OS processes on Orleans (localhost clustering): a learner and actor processes.</summary>
public sealed class ClusterTests() : TempFolderTests("hybrid-cluster")
{
    static Process Start(params string[] args) => SignalTests.StartHybrid(args);

    static void WaitForRows(string metrics, int rows, Process learner)
    {
        var clock = Stopwatch.StartNew();
        while ((!File.Exists(metrics) || File.ReadAllLines(metrics).Length < rows + 1) && clock.Elapsed < TimeSpan.FromSeconds(60) && !learner.HasExited)
            Thread.Sleep(50);
    }

    [Fact]
    public void TheLearnerReachesTheThresholdWhenAnActorProcessIsKilledMidway()
    {
        string run = Path.Combine(Folder, "run");
        using Process learner = Start("cluster", "learner", "--cluster", "localhost:30101", "--stop-when-solved", "--quiet", "--out", run, "--log-interval", "5000");
        using Process first = Start("cluster", "actors", "--cluster", "localhost:30101");
        using Process second = Start("cluster", "actors", "--cluster", "localhost:30101");
        try
        {
            WaitForRows(Path.Combine(run, "metrics.csv"), 4, learner);
            second.Kill(); // SIGKILL: no goodbye
            Assert.True(learner.WaitForExit(120_000), "the learner did not finish within 120 s");
            string output = learner.StandardOutput.ReadToEnd(), error = learner.StandardError.ReadToEnd();
            Assert.True(learner.ExitCode == 0, error);
            Assert.Contains("solved at", output);
            Assert.Contains("actor 1 joined", error);
            Assert.True(first.WaitForExit(30_000), "the surviving actor did not exit after the run");
            Assert.Contains("the learner ended the run", first.StandardOutput.ReadToEnd());
            Assert.Equal(0, first.ExitCode);
            Assert.Contains("\"solved\": true", File.ReadAllText(Path.Combine(run, "summary.json")));
            // The cluster's telemetry: actors connected, unroll latency and bytes moved, per row and over the run.
            string summary = File.ReadAllText(Path.Combine(run, "summary.json"));
            Assert.Contains("\"unroll_latency_ms\"", summary);
            Assert.Contains("\"bytes_per_second\"", summary);
            string[] rows = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
            int connected = Array.IndexOf(rows[0].Split(','), "actors_connected");
            Assert.True(connected > 0, rows[0]);
            Assert.Contains(rows.Skip(1), r => r.Split(',')[connected] == "2");
            // Env steps per actor process: actors.csv has each process's rows, summary.json its run totals, and they add up to the run's steps.
            string[] actors = File.ReadAllLines(Path.Combine(run, "actors.csv"));
            Assert.Equal(2, actors.Skip(1).Select(r => r.Split(',')[2]).Distinct().Count());
            using var json = System.Text.Json.JsonDocument.Parse(summary);
            var processes = json.RootElement.GetProperty("actor_processes").EnumerateArray().ToList();
            Assert.Equal(2, processes.Count);
            Assert.All(processes, p => Assert.True(p.GetProperty("steps_per_second").GetDouble() > 0, p.ToString()));
            Assert.Equal(json.RootElement.GetProperty("env_steps").GetInt64(), processes.Sum(p => p.GetProperty("env_steps").GetInt64()));
        }
        finally
        {
            foreach (Process p in new[] { learner, first, second })
                if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void ThroughRedisTheLearnerReachesTheThresholdWhenAnActorProcessIsKilledMidway()
    {
        // Membership in a redis-server of the test's own, on the loopback only, without persistence; stopped at the end.
        string? server = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
        Assert.True(server is not null, "redis-server is not installed: .ci/run installs Debian's redis-server (apt-get install redis-server)");
        int port = FreePort();
        using Process redis = Process.Start(new ProcessStartInfo(server!, ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no"]) { RedirectStandardOutput = true })!;
        string cluster = $"redis://127.0.0.1:{port}", run = Path.Combine(Folder, "redis-run");
        Process? learner = null, first = null, second = null;
        try
        {
            Thread.Sleep(500);
            learner = Start("cluster", "learner", "--cluster", cluster, "--stop-when-solved", "--quiet", "--out", run, "--log-interval", "5000");
            first = Start("cluster", "actors", "--cluster", cluster);
            second = Start("cluster", "actors", "--cluster", cluster);
            WaitForRows(Path.Combine(run, "metrics.csv"), 4, learner);
            second.Kill();
            Assert.True(learner.WaitForExit(120_000), "the learner did not finish within 120 s");
            string output = learner.StandardOutput.ReadToEnd(), error = learner.StandardError.ReadToEnd();
            Assert.True(learner.ExitCode == 0, error);
            Assert.Contains("solved at", output);
            Assert.Contains($"the cluster in Redis at 127.0.0.1:{port}", error);
            Assert.True(first.WaitForExit(30_000), "the surviving actor did not exit after the run");
            Assert.Equal(0, first.ExitCode);
        }
        finally
        {
            foreach (Process? p in new[] { learner, first, second, redis })
                if (p is { HasExited: false }) p.Kill(entireProcessTree: true);
            foreach (Process? p in new[] { learner, first, second }) p?.Dispose();
        }
    }

    static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public void ActorsExitWithAMessageWhenTheLearnerIsKilled()
    {
        string run = Path.Combine(Folder, "killed");
        using Process learner = Start("cluster", "learner", "--cluster", "localhost:30102", "--max-env-steps", "100000000", "--quiet", "--out", run, "--log-interval", "5000");
        using Process actor = Start("cluster", "actors", "--cluster", "localhost:30102");
        try
        {
            WaitForRows(Path.Combine(run, "metrics.csv"), 2, learner);
            learner.Kill();
            var clock = Stopwatch.StartNew();
            Assert.True(actor.WaitForExit(30_000), "the actor did not notice the learner had gone within 30 s");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the actor took {clock.Elapsed.TotalSeconds:F1} s to notice");
            Assert.Equal(1, actor.ExitCode);
            string error = actor.StandardError.ReadToEnd();
            Assert.Contains("stopped answering", error);
            Assert.DoesNotContain("   at ", error);
        }
        finally
        {
            foreach (Process p in new[] { learner, actor })
                if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }
}
