using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Hybrid.Tests.Cli;

/// <summary>
/// IMPALA across real OS processes on Orleans: a learner and actor processes, on localhost clustering and through a
/// redis-server of the test's own. Every process a test starts is killed at its end.
/// </summary>
[Trait("Category", "Process")]
public sealed class ClusterTests() : TempFolderTests("hybrid-cluster")
{
    static Process Start(params string[] args) => SignalTests.StartHybrid(args);

    static void WaitForRows(string metrics, int rows, Process learner)
    {
        var clock = Stopwatch.StartNew();
        while ((!File.Exists(metrics) || File.ReadAllLines(metrics).Length < rows + 1) && clock.Elapsed < TimeSpan.FromSeconds(60) && !learner.HasExited)
            Thread.Sleep(50);
    }

    /// <summary>Waits (at most 60 s, or until the learner exits) until <paramref name="processes"/> actor processes have sent env steps (actors.csv).</summary>
    static void WaitForActing(string run, int processes, Process learner)
    {
        string file = Path.Combine(run, "actors.csv");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60) && !learner.HasExited)
        {
            string[] rows = File.Exists(file) ? File.ReadAllLines(file) : [];
            int acting = rows.Skip(1).Select(r => r.Split(',')).Where(c => c.Length == 6 && c[4] != "0").Select(c => c[2]).Distinct().Count();
            if (acting >= processes) return;
            Thread.Sleep(50);
        }
    }

    static void KillAll(params Process?[] processes)
    {
        foreach (Process? p in processes)
        {
            if (p is { HasExited: false }) p.Kill(entireProcessTree: true);
            p?.Dispose();
        }
    }

    /// <summary>
    /// The tests that start a redis-server: ./run.sh test installs Debian's package where it can, and otherwise leaves
    /// these out (--filter Category!=Redis), saying so.
    /// </summary>
    public const string RedisCategory = "Redis";

    /// <summary>A redis-server on 127.0.0.1 at a free port, without persistence, stopped on dispose.</summary>
    sealed class RedisServer : IDisposable
    {
        readonly Process _server;

        public RedisServer()
        {
            string? server = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
            Assert.True(server is not null, "redis-server is not installed: ./run.sh test installs Debian's redis-server where it can (apt-get install redis-server), and otherwise leaves this test out");
            Port = Hybrid.Cli.Cluster.ClusterCommand.FreePort();
            _server = Process.Start(new ProcessStartInfo(server!, ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]) { RedirectStandardOutput = true })!;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                try
                {
                    using var probe = new System.Net.Sockets.TcpClient("127.0.0.1", Port);
                    return;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    Thread.Sleep(50);
                }
            }
            Assert.Fail($"redis-server did not listen on port {Port} within 10 s");
        }

        public int Port { get; }

        public string Cluster => $"redis://127.0.0.1:{Port}";

        public void Dispose() => KillAll(_server);
    }

    /// <summary>Bytes that are no Orleans message, sent to the learner's gateway port as a stranger would.</summary>
    static void SendForeignBytes(int port)
    {
        using var stranger = new System.Net.Sockets.TcpClient("127.0.0.1", port);
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        stranger.GetStream().Write(bytes);
    }

    [Fact]
    public void TheLearnerReachesTheThresholdWhenAnActorProcessIsKilledMidwayAndARestartedOneRejoins()
    {
        string run = Path.Combine(Folder, "run");
        Process? learner = null, first = null, second = null, third = null;
        try
        {
            learner = Start("cluster", "learner", "--cluster", "localhost:30101", "--stop-when-solved", "--quiet", "--out", run, "--log-interval", "5000");
            first = Start("cluster", "actors", "--cluster", "localhost:30101");
            second = Start("cluster", "actors", "--cluster", "localhost:30101");
            // Midway: both actors have sent unrolls.
            WaitForActing(run, 2, learner);
            SendForeignBytes(30101);
            second.Kill(); // SIGKILL: no goodbye
            third = Start("cluster", "actors", "--cluster", "localhost:30101", "--wait", "10");
            Assert.True(learner.WaitForExit(120_000), "the learner did not finish within 120 s");
            string output = learner.StandardOutput.ReadToEnd(), error = learner.StandardError.ReadToEnd();
            Assert.True(learner.ExitCode == 0, error);
            Assert.Contains("solved at", output);
            Assert.Contains("actor 1 joined", error);
            Assert.Contains("actor 2 joined", error); // the restarted actor process
            foreach (Process survivor in new[] { first, third })
            {
                Assert.True(survivor.WaitForExit(30_000), "a surviving actor did not exit after the run");
                // Each actor process names itself: two in one terminal or log are told apart.
                Assert.Contains($"actors (pid {survivor.Id}): the learner ended the run", survivor.StandardOutput.ReadToEnd());
                Assert.Equal(0, survivor.ExitCode);
            }
            string summary = File.ReadAllText(Path.Combine(run, "summary.json"));
            Assert.Contains("\"solved\": true", summary);
            // The cluster's telemetry: actors connected, unroll latency and bytes moved, per row and over the run.
            Assert.Contains("\"unroll_latency_ms\"", summary);
            Assert.Contains("\"bytes_per_second\"", summary);
            string[] rows = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
            int connected = Array.IndexOf(rows[0].Split(','), "actors_connected");
            Assert.True(connected > 0, rows[0]);
            Assert.Contains(rows.Skip(1), r => r.Split(',')[connected] == "2");
            // Env steps per actor process: actors.csv has each process's rows, summary.json its run totals, and they add up to the run's steps.
            string[] actors = File.ReadAllLines(Path.Combine(run, "actors.csv"));
            Assert.Equal(3, actors.Skip(1).Select(r => r.Split(',')[2]).Distinct().Count());
            using var json = System.Text.Json.JsonDocument.Parse(summary);
            var processes = json.RootElement.GetProperty("actor_processes").EnumerateArray().ToList();
            Assert.Equal(3, processes.Count);
            // The first two acted (the second until it was killed); the restarted one joined, and may have come late.
            foreach (Process acted in new[] { first, second })
            {
                var entry = processes.Single(p => p.GetProperty("process").GetString()!.EndsWith($":{acted.Id}", StringComparison.Ordinal));
                Assert.True(entry.GetProperty("env_steps").GetInt64() > 0 && entry.GetProperty("steps_per_second").GetDouble() > 0, entry.ToString());
            }
            Assert.Equal(json.RootElement.GetProperty("env_steps").GetInt64(), processes.Sum(p => p.GetProperty("env_steps").GetInt64()));
        }
        finally
        {
            KillAll(learner, first, second, third);
        }
    }

    [Fact]
    [Trait("Category", RedisCategory)]
    public void ThroughRedisTheLearnerReachesTheThresholdWhenAnActorProcessIsKilledMidway()
    {
        using var redis = new RedisServer();
        string run = Path.Combine(Folder, "redis-run");
        Process? learner = null, first = null, second = null;
        try
        {
            learner = Start("cluster", "learner", "--cluster", redis.Cluster, "--stop-when-solved", "--quiet", "--out", run, "--log-interval", "5000");
            first = Start("cluster", "actors", "--cluster", redis.Cluster);
            second = Start("cluster", "actors", "--cluster", redis.Cluster);
            WaitForActing(run, 2, learner);
            second.Kill();
            Assert.True(learner.WaitForExit(120_000), "the learner did not finish within 120 s");
            string output = learner.StandardOutput.ReadToEnd(), error = learner.StandardError.ReadToEnd();
            Assert.True(learner.ExitCode == 0, error);
            Assert.Contains("solved at", output);
            Assert.Contains($"the cluster in Redis at 127.0.0.1:{redis.Port}", error);
            Assert.Contains("actor 1 joined", error);
            Assert.True(first.WaitForExit(30_000), "the surviving actor did not exit after the run");
            Assert.Equal(0, first.ExitCode);
        }
        finally
        {
            KillAll(learner, first, second);
        }
    }

    [Fact]
    [Trait("Category", RedisCategory)]
    public void ActorsJoinOnlyALearnerOfTheirClusterId()
    {
        // One Redis, a learner named run-a: an actor of run-a joins it; once it acts, an actor of run-b finds no learner
        // of its own and exits saying so, and the learner never hears of it.
        using var redis = new RedisServer();
        string run = Path.Combine(Folder, "ids");
        Process? learner = null, member = null, stranger = null;
        try
        {
            learner = Start("cluster", "learner", "--cluster", redis.Cluster, "--cluster-id", "run-a", "--max-env-steps", "100000000", "--quiet",
                "--out", run, "--log-interval", "5000");
            member = Start("cluster", "actors", "--cluster", redis.Cluster, "--cluster-id", "run-a");
            WaitForActing(run, 1, learner);
            Assert.False(learner.HasExited, "the learner ended early");
            stranger = Start("cluster", "actors", "--cluster", redis.Cluster, "--cluster-id", "run-b");
            Assert.True(stranger.WaitForExit(60_000), "the actor of another cluster id did not give up");
            Assert.Equal(1, stranger.ExitCode);
            Assert.Contains("exiting", stranger.StandardError.ReadToEnd());
            learner.Kill();
            Assert.True(learner.WaitForExit(30_000));
            string log = learner.StandardError.ReadToEnd();
            Assert.Contains($"the cluster 'run-a' in Redis at 127.0.0.1:{redis.Port}", log);
            Assert.Contains("actor 0 joined", log);
            Assert.DoesNotContain("actor 1 joined", log);
        }
        finally
        {
            KillAll(learner, member, stranger);
        }
    }

    [Fact]
    public void ActorsExitWithAMessageWhenTheLocalhostLearnerIsKilled() => ActorsExitWithAMessageWhenTheLearnerIsKilled(throughRedis: false);

    [Fact]
    [Trait("Category", RedisCategory)]
    public void ActorsExitWithAMessageWhenTheLearnerBehindRedisIsKilled() => ActorsExitWithAMessageWhenTheLearnerIsKilled(throughRedis: true);

    void ActorsExitWithAMessageWhenTheLearnerIsKilled(bool throughRedis)
    {
        using RedisServer? redis = throughRedis ? new RedisServer() : null;
        string cluster = redis?.Cluster ?? "localhost:30102", run = Path.Combine(Folder, throughRedis ? "killed-redis" : "killed");
        Process? learner = null, first = null, second = null;
        try
        {
            learner = Start("cluster", "learner", "--cluster", cluster, "--max-env-steps", "100000000", "--quiet", "--out", run, "--log-interval", "5000");
            first = Start("cluster", "actors", "--cluster", cluster);
            second = Start("cluster", "actors", "--cluster", cluster);
            // Both actors acting (one that never reached the learner would say so instead).
            WaitForActing(run, 2, learner);
            learner.Kill();
            var clock = Stopwatch.StartNew();
            foreach (Process actor in new[] { first, second })
            {
                Assert.True(actor.WaitForExit(30_000), "an actor did not notice the learner had gone within 30 s");
                Assert.Equal(1, actor.ExitCode);
                string error = actor.StandardError.ReadToEnd();
                Assert.Contains("stopped answering", error);
                Assert.DoesNotContain("   at ", error);
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the actors took {clock.Elapsed.TotalSeconds:F1} s to notice");
        }
        finally
        {
            KillAll(learner, first, second);
        }
    }

    [Fact]
    public void AnActorStoppedBySigtermTellsTheLearnerAndTheLearnerStopsCleanlyOnItsOwn()
    {
        string run = Path.Combine(Folder, "signals");
        Process? learner = null, actor = null;
        try
        {
            learner = Start("cluster", "learner", "--cluster", "localhost:30104", "--max-env-steps", "100000000", "--quiet", "--out", run, "--log-interval", "5000");
            actor = Start("cluster", "actors", "--cluster", "localhost:30104", "--threads", "2");
            WaitForActing(run, 1, learner);
            SignalTests.Signal(actor, "TERM");
            Assert.True(actor.WaitForExit(30_000), "the actor did not stop within 30 s of SIGTERM");
            Assert.Equal(143, actor.ExitCode);
            Assert.Contains("told the learner they left", actor.StandardOutput.ReadToEnd());
            SignalTests.Signal(learner, "TERM");
            Assert.True(learner.WaitForExit(30_000), "the learner did not stop within 30 s of SIGTERM");
            Assert.Equal(143, learner.ExitCode);
            string error = learner.StandardError.ReadToEnd();
            Assert.Contains("actor 0 (", error);
            Assert.Contains("left: stopped by its user", error);
            Assert.Contains("to continue it: hybrid cluster learner --cluster localhost:30104 --resume", learner.StandardOutput.ReadToEnd());
            Assert.Contains("\"status\": \"interrupted\"", File.ReadAllText(Path.Combine(run, "summary.json")));
        }
        finally
        {
            KillAll(learner, actor);
        }
    }

    [Fact]
    public void TheClusterLearnerRunsAndContinuesOnlyImpalaApexAndD4pg()
    {
        string run = Path.Combine(Folder, "a2c");
        Assert.Equal(0, TrainCliTests.Cli(["train", "--algo", "a2c", "--max-env-steps", "2000", "--quiet", "--out", run]).Code);
        (int code, _, string error) = TrainCliTests.Cli(["cluster", "learner", "--resume", run]);
        Assert.Equal(2, code);
        Assert.Contains("is a2c; cluster learner continues only impala, apex and d4pg runs", error);
        (code, _, error) = TrainCliTests.Cli(["cluster", "learner", "--resume", run, "--algo", "apex"]);
        Assert.Equal(2, code);
        Assert.Contains("--resume continues the run with its own algorithm; --algo does not apply", error);
        (code, _, error) = TrainCliTests.Cli(["cluster", "learner", "--algo", "a3c", "--out", Path.Combine(Folder, "a3c")]);
        Assert.NotEqual(0, code);
        Assert.Contains("a3c", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void ALearnerWithNoActorStopsAfterItsIdleTimeoutWithACheckpoint()
    {
        // No actor ever comes: with no wall budget the learner would wait for ever; --idle-timeout 1 stops it.
        string run = Path.Combine(Folder, "idle");
        int port = Hybrid.Cli.Cluster.ClusterCommand.FreePort();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (int code, string output, string error) = TrainCliTests.Cli(["cluster", "learner", "--cluster", $"localhost:{port}", "--idle-timeout", "1",
            "--max-env-steps", "100000", "--quiet", "--out", run]);
        Assert.True(code == 1, $"exit {code}; {output} {error}");
        Assert.Contains("no actor has sent an unroll for 1 s (0 joined, 0 connected): stopping with a checkpoint to resume from.", error);
        Assert.Contains("stopped (no-actors) at 0 steps", output);
        Assert.Contains("to continue it:", output);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.bin")));
        Assert.Contains("\"status\": \"no-actors\"", File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.True(clock.Elapsed.TotalSeconds < 60, $"{clock.Elapsed.TotalSeconds:F0} s");
        (code, _, error) = TrainCliTests.Cli(["cluster", "learner", "--idle-timeout", "-1", "--out", Path.Combine(Folder, "x")]);
        Assert.Equal(2, code);
        Assert.Contains("--idle-timeout was -1; expected seconds >= 0", error);
    }

    [Fact]
    public void CompareRunsAClusterArmBesideOneInOneProcess()
    {
        string spec = Path.Combine(Folder, "cluster-arm.yaml"), output = Path.Combine(Folder, "compare");
        File.WriteAllText(spec, """
            name: cluster-arm
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 1000000
            stop_when_solved: true
            arms:
              - {name: one process, algo: impala}
              - {name: cluster, algo: impala, cluster_actors: 1}
            """);
        using Process compare = Start("compare", spec, "--out", output);
        try
        {
            Assert.True(compare.WaitForExit(120_000), "compare did not finish within 120 s");
            string stdout = compare.StandardOutput.ReadToEnd(), stderr = compare.StandardError.ReadToEnd();
            Assert.True(compare.ExitCode == 0, stdout + stderr);
            Assert.Contains("| `processes` | one process | cluster: learner + 1 actor process |", File.ReadAllText(Path.Combine(output, "report.md")));
            string run = Path.Combine(output, "runs", "CartPole-v1", "cluster", "s1");
            Assert.Contains("\"solved\": true", File.ReadAllText(Path.Combine(run, "summary.json")));
            Assert.Contains("actor 0 joined", File.ReadAllText(Path.Combine(run, "cluster.log")));
            Assert.True(File.Exists(Path.Combine(run, "actors.csv")));
        }
        finally
        {
            KillAll(compare);
        }
    }

    /// <summary>
    /// A learner of <paramref name="algo"/> with a budget of <paramref name="budget"/> steps and a checkpoint every
    /// <paramref name="every"/>, killed once metrics.csv has <paramref name="rows"/> rows, resumed with --resume; an actor
    /// started with --wait joins both parts. Returns the run folder, the checkpoint's steps and the metrics rows.
    /// </summary>
    (string Run, long Checkpointed, string[] Rows) KillAndResume(string algo, int port, long budget, long every, int rows)
    {
        string run = Path.Combine(Folder, $"{algo}-resumed"), cluster = $"localhost:{port}";
        Process? learner = null, actor = null, resumed = null;
        try
        {
            learner = Start("cluster", "learner", "--algo", algo, "--cluster", cluster, "--max-env-steps", $"{budget}", "--checkpoint-interval", $"{every}",
                "--quiet", "--out", run, "--log-interval", "10000");
            actor = Start("cluster", "actors", "--cluster", cluster, "--wait", "60");
            WaitForRows(Path.Combine(run, "metrics.csv"), rows, learner);
            learner.Kill();
            learner.WaitForExit();
            long checkpointed = Hybrid.Nn.Checkpoint.Load(Path.Combine(run, "checkpoint.bin")).EnvSteps;
            Assert.InRange(checkpointed, every, budget - 1);
            resumed = Start("cluster", "learner", "--cluster", cluster, "--resume", run, "--quiet");
            Assert.True(resumed.WaitForExit(120_000), "the resumed learner did not finish within 120 s");
            string output = resumed.StandardOutput.ReadToEnd(), error = resumed.StandardError.ReadToEnd();
            Assert.True(resumed.ExitCode == 0, error);
            Assert.Contains("actor 0 joined", error);
            Assert.True(actor.WaitForExit(30_000), "the waiting actor did not exit after the resumed run");
            Assert.Equal(0, actor.ExitCode);
            Assert.Contains("waiting up to 60 s", actor.StandardError.ReadToEnd());
            Assert.Contains("the learner ended the run", actor.StandardOutput.ReadToEnd());
            Assert.Contains("\"resumed\": 1", File.ReadAllText(Path.Combine(run, "summary.json")));
            string[] metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
            // One metrics row per log interval across both parts: none repeated, none after the budget.
            long[] steps = [.. metrics.Skip(1).Select(r => long.Parse(r.Split(',')[0], CultureInfo.InvariantCulture))];
            Assert.Equal(steps.Order(), steps);
            Assert.Equal(steps.Length, steps.Distinct().Count());
            Assert.True(steps[^1] >= budget, output);
            return (run, checkpointed, metrics);
        }
        finally
        {
            KillAll(learner, actor, resumed);
        }
    }

    [Fact]
    public void AKilledLearnerResumesFromItsCheckpointAndAWaitingActorJoinsItAgain() => KillAndResume("impala", 30103, 200_000, 20_000, 4);

    [Fact]
    public void ApexAcrossProcessesSolvesWhenAnActorProcessIsKilledMidway()
    {
        string run = Path.Combine(Folder, "apex");
        Process? learner = null, first = null, second = null;
        try
        {
            // Solved at 10,000-190,000 steps in the 5 seeds of experiments/apex-cluster.yaml; the budget leaves room.
            learner = Start("cluster", "learner", "--algo", "apex", "--cluster", "localhost:30105", "--stop-when-solved", "--max-env-steps", "1000000", "--quiet",
                "--out", run, "--log-interval", "5000");
            first = Start("cluster", "actors", "--cluster", "localhost:30105");
            second = Start("cluster", "actors", "--cluster", "localhost:30105");
            WaitForActing(run, 2, learner);
            second.Kill(); // SIGKILL: no goodbye
            Assert.True(learner.WaitForExit(120_000), "the learner did not finish within 120 s");
            string output = learner.StandardOutput.ReadToEnd(), error = learner.StandardError.ReadToEnd();
            Assert.True(learner.ExitCode == 0, error);
            Assert.Contains("apex CartPole-v1 seed 1", output);
            Assert.Contains("solved at", output);
            Assert.Contains("actor 1 joined", error);
            Assert.True(first.WaitForExit(30_000), "the surviving actor did not exit after the run");
            Assert.Contains($"actors (pid {first.Id}): the learner ended the run", first.StandardOutput.ReadToEnd());
            Assert.Equal(0, first.ExitCode);
            // The replay's telemetry beside the cluster's, and the processes' steps add up to the run's.
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
            JsonElement root = json.RootElement;
            Assert.True(root.GetProperty("solved").GetBoolean());
            Assert.True(root.GetProperty("runtime").GetProperty("replay_size").GetInt64() > 0, root.ToString());
            Assert.True(root.GetProperty("runtime").GetProperty("unroll_latency_ms").GetDouble() > 0, root.ToString());
            var processes = root.GetProperty("actor_processes").EnumerateArray().ToList();
            Assert.Equal(2, processes.Count);
            Assert.Equal(root.GetProperty("env_steps").GetInt64(), processes.Sum(p => p.GetProperty("env_steps").GetInt64()));
        }
        finally
        {
            KillAll(learner, first, second);
        }
    }

    [Fact]
    public void AKilledApexLearnerResumesWithItsReplayAndAWaitingActorJoinsItAgain()
    {
        (_, long checkpointed, string[] rows) = KillAndResume("apex", 30106, 60_000, 15_000, 3);
        // The replay came back with the checkpoint: the first row after it holds more than the resumed part added.
        int size = Array.IndexOf(rows[0].Split(','), "replay_size");
        string[] after = rows.Skip(1).Select(r => r.Split(',')).First(c => long.Parse(c[0], CultureInfo.InvariantCulture) > checkpointed);
        long added = long.Parse(after[0], CultureInfo.InvariantCulture) - checkpointed;
        Assert.True(long.Parse(after[size], CultureInfo.InvariantCulture) > added + checkpointed / 2, string.Join('\n', rows));
    }
}
