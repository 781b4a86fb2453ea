using System.Text.Json;
using Hybrid.Cli.Train;
using Hybrid.Tests.Training;

namespace Hybrid.Tests.Cli;

public class TrainCliTests
{
    static (int Code, string Output, string Error) Train(params string[] args) => Cli(["train", .. args]);

    internal static (int Code, string Output, string Error) Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var root = Hybrid.Cli.Program.BuildRoot();
        var parse = root.Parse(args);
        int code;
        TextWriter oldOut = Console.Out, oldError = Console.Error;
        lock (typeof(Console))
        {
            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                code = Hybrid.Cli.Program.Invoke(parse, Console.Error);
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldError);
            }
        }
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void TrainOnTheDeviceKernelsAndTheAutoFallback()
    {
        string root = Directory.CreateTempSubdirectory("hybrid-cli").FullName;
        (int code, string output, string error) = Train("--algo", "a2c", "--device", "ilgpu-cpu", "--max-env-steps", "4000", "--quiet",
            "--out", Path.Combine(root, "device"));
        Assert.True(code == 0, error);
        Assert.Contains("train: device ilgpu-cpu: ILGPU CPU accelerator", error);
        Assert.Contains("a2c CartPole-v1 seed 1: 4,000 steps", output);
        using (JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "device", "summary.json"))))
        {
            Assert.Equal("ilgpu-cpu", summary.RootElement.GetProperty("device").GetString());
            Assert.Contains("ILGPU", summary.RootElement.GetProperty("device_name").GetString());
            Assert.True(summary.RootElement.GetProperty("device_memory_bytes").GetInt64() > 0);
        }
        // MinAtar trains on the device too (the composed rollout and the conv torso).
        (code, output, error) = Train("--algo", "a2c", "--env", "MinAtar/Breakout-v1", "--device", "ilgpu-cpu", "--max-env-steps", "400", "--quiet",
            "--out", Path.Combine(root, "minatar"));
        Assert.True(code == 0, error);
        Assert.Contains("a2c MinAtar/Breakout-v1 seed 1: 400 steps", output);
        Assert.Contains("\"device\": \"ilgpu-cpu\"", File.ReadAllText(Path.Combine(root, "minatar", "summary.json")));

        // No GPU here: auto says so in one line and trains on the CPU; a named device that cannot run the config is refused.
        if (Hybrid.Gpu.IlgpuDevice.TryOpenCuda(out _) is { } gpu)
        {
            gpu.Dispose();
            return;
        }
        (code, output, error) = Train("--algo", "a2c", "--max-env-steps", "4000", "--quiet", "--out", Path.Combine(root, "auto"));
        Assert.True(code == 0, error);
        Assert.Single(error.Split('\n'), line => line.StartsWith("train: device auto:", StringComparison.Ordinal) && line.Contains("training on the CPU"));
        Assert.Contains("\"device\": \"cpu\"", File.ReadAllText(Path.Combine(root, "auto", "summary.json")));
        (code, _, error) = Train("--algo", "a2c", "--env", "MinAtar/Breakout-v0", "--device", "ilgpu-cpu", "--rms-epsilon-outside", "true",
            "--out", Path.Combine(root, "refused"));
        Assert.Equal(2, code);
        Assert.Contains("rms_epsilon_outside needs --device cpu", error);
        Assert.DoesNotContain("   at ", error);
        Assert.False(Directory.Exists(Path.Combine(root, "refused")));
    }

    [Fact]
    public void TrainWritesTheRunFolder()
    {
        string dir = Path.Combine(Directory.CreateTempSubdirectory("hybrid-cli").FullName, "run");
        string yaml = Path.Combine(Path.GetDirectoryName(dir)!, "settings.yaml");
        File.WriteAllText(yaml, "# from a file\nalgo: a2c\nmax_env_steps: 20000\nlog_interval: 5000\nseed: 9\n");
        (int code, string output, string error) = Train("--algo", "a2c", "--config", yaml, "--seed", "5", "--out", dir);
        Assert.True(code == 0, error);
        Assert.Contains("a2c CartPole-v1 seed 5: 20,000 steps", output);
        Assert.Contains("steps/s", error); // progress lines

        string config = File.ReadAllText(Path.Combine(dir, "config.yaml"));
        Assert.Contains("seed: 5\n", config);              // the option beats the file
        Assert.Contains("max_env_steps: 20000\n", config); // the file beats the default
        Assert.Contains("t_max: 5\n", config);             // the default

        string[] metrics = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(5, metrics.Length);
        Assert.StartsWith("5000,", metrics[1]);

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        Assert.Equal(20000, summary.RootElement.GetProperty("env_steps").GetInt64());
        Assert.Equal(5, summary.RootElement.GetProperty("seed").GetInt32());

        string events = Directory.GetFiles(dir, "events.out.tfevents.*").Single();
        var tags = RunFolderTests.ReadEvents(events).SelectMany(e => e.Values).Select(v => v.Tag).ToHashSet();
        Assert.Superset(new HashSet<string> { "charts/episodic_return", "charts/sps", "losses/policy", "losses/value", "losses/entropy" }, tags);
    }

    [Theory]
    [InlineData("unknown", new[] { "--algo", "ppo" }, "algo 'ppo' is unknown")]
    [InlineData("env", new[] { "--algo", "a2c", "--env", "Pong-v5" }, "Pong-v5")]
    [InlineData("threads", new[] { "--algo", "a2c", "--threads", "0" }, "threads was 0; expected >= 1")]
    [InlineData("lr", new[] { "--algo", "a2c", "--learning-rate", "0" }, "learning_rate was 0; expected > 0")]
    [InlineData("t_max", new[] { "--algo", "a2c", "--t-max", "0" }, "t_max was 0; expected >= 1")]
    [InlineData("parse", new[] { "--algo", "a2c", "--t-max", "x" }, "t_max 'x' is not valid")]
    public void BadOptionsGiveOneClearLineAndExitTwo(string _, string[] args, string expected)
    {
        (int code, string output, string error) = Train([.. args, "--out", Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid())]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains(expected, error);
        Assert.DoesNotContain("(Parameter", error);
        Assert.DoesNotContain("   at ", error);
    }
}

public class TrainCliOptionTests
{
    [Fact]
    public void BenchTrainReportsTimeToSolveAndStepsPerSecondAsJson()
    {
        (int code, string output, string error) = TrainCliTests.Cli("bench", "train", "--algo", "a2c", "--seeds", "1", "--json");
        Assert.True(code == 0, error);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var group = doc.RootElement.GetProperty("groups")[0];
        Assert.Equal(1, group.GetProperty("threads").GetInt32());
        Assert.Equal(1, group.GetProperty("solved").GetInt32());
        Assert.InRange(group.GetProperty("median_seconds_to_solve").GetDouble(), 0.01, 60);
        Assert.InRange(group.GetProperty("median_steps_to_solve").GetDouble(), 10_000, 500_000);
        Assert.True(group.GetProperty("median_steps_per_second").GetDouble() > 1000);
    }

    [Fact]
    public void BenchReplayReportsInsertsAndSamplesPerSecond()
    {
        (int code, string output, string error) = TrainCliTests.Cli("bench", "replay", "--env", "MinAtar/Breakout-v1", "--buffer-size", "2000",
            "--replay", "prioritized", "--samples", "1", "--json");
        Assert.True(code == 0, error);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal("prioritized", doc.RootElement.GetProperty("replay").GetString());
        Assert.Equal(400, doc.RootElement.GetProperty("observation_size").GetInt32());
        Assert.True(doc.RootElement.GetProperty("inserts_per_second").GetDouble() > 1_000);
        Assert.True(doc.RootElement.GetProperty("samples_per_second").GetDouble() > 1_000);
        (code, _, error) = TrainCliTests.Cli("bench", "replay", "--env", "Pong-v5");
        Assert.Equal(2, code);
        Assert.Contains("Pong-v5", error);
    }

    [Fact]
    public void BenchTrainRefusesABadThreadList()
    {
        (int code, _, string error) = TrainCliTests.Cli("bench", "train", "--algo", "a3c", "--threads", "1,zero");
        Assert.Equal(2, code);
        Assert.Contains("--threads '1,zero' is not a comma-separated list", error);
    }

    [Theory]
    [InlineData("q1", "Pendulum-v1", "has a continuous (box) action space; q1 needs discrete actions")]
    [InlineData("qn", "MountainCarContinuous-v0", "qn needs discrete actions")]
    public void DiscreteOnlyAlgorithmsRefuseBoxEnvs(string algo, string env, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => TrainCommand.Resolve(algo, null, [("env", env, "--env")], true, out _));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AnOptionOfAnotherAlgorithmIsRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainCommand.Resolve("a2c", null, [("update", "lock", "--update")], true, out _));
        Assert.Contains("--update: 'update' is not a setting of a2c", e.Message);
    }

    [Fact]
    public void EveryAlgorithmsSettingsAreOptionsWithTheirDefaultsInTheHelp()
    {
        var train = Hybrid.Cli.Program.BuildRoot().Subcommands.Single(c => c.Name == "train");
        var options = train.Options.ToDictionary(o => o.Name);
        Assert.Contains("a2c, hybrid 8", options["--num-envs"].Description);
        Assert.Contains("impala 4", options["--num-envs"].Description);
        Assert.Contains("a3c, q1, sarsa1, qn, dqn, dyna-q, apex hogwild; hybrid lock", options["--update"].Description);
        Assert.Contains("(a2c, a3c, impala only)", options["--recurrent"].Description);
        Assert.Contains("(dyna-q only)", options["--planning-threads"].Description);
        Assert.Contains("(a2c, a3c, hybrid only)", options["--gae-lambda"].Description);
        foreach (string name in new[] { "--threads", "--max-env-steps", "--stop-when-solved", "--seed", "--env", "--out", "--config",
                     "--learning-rate", "--t-max", "--target-interval", "--eval-interval", "--rho-bar", "--refresh-interval" })
            Assert.True(options.ContainsKey(name), name);
    }
}
