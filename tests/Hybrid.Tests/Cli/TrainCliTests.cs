using System.Text.Json;
using Hybrid.Cli.Train;
using Hybrid.Tests.Training;

namespace Hybrid.Tests.Cli;

public class TrainCliTests
{
    static (int Code, string Output, string Error) Train(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var root = Hybrid.Cli.Program.BuildRoot();
        var parse = root.Parse(["train", .. args]);
        int code;
        TextWriter oldOut = Console.Out, oldError = Console.Error;
        lock (typeof(Console))
        {
            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                code = parse.Invoke();
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
