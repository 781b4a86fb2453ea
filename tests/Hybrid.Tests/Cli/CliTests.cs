using Hybrid.Cli;
using Hybrid.Cli.Bench;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Cli;

public class CliTests
{
    [Fact]
    public void BenchJsonLineHasTheAgreedKeys()
    {
        string line = NnBenchmark.ToJson(new NnBenchmark.Result(0.61234, 1234567.8, 1024, 3, Hybrid.Nn.Kernels.SimdWidth.Vector512));
        Assert.Equal("{\"bench\":\"nn\",\"forward_batch1_us\":0.612,\"train_batch1024_samples_per_s\":1234568}", line);
    }

    [Fact]
    public void BenchNnTimesTheNetworkAModelOrAnEnvNames()
    {
        // An env id names the network A2C builds for it: MinAtar's conv torso; the JSON line then says which.
        Hybrid.Nn.Models.ModelSpec minAtar = NnBenchmark.ModelOf("MinAtar/Breakout-v1");
        Assert.NotNull(minAtar.Conv);
        Assert.Equal(minAtar, NnBenchmark.ModelOf(minAtar.ToString()));
        Assert.Same(Hybrid.Nn.Models.ModelSpec.CartPoleActorCritic, NnBenchmark.ModelOf(null));
        NnBenchmark.Result r = NnBenchmark.Run(8, 1, Hybrid.Nn.Kernels.Simd.Best, 1, minAtar);
        Assert.True(r.TrainSamplesPerSecond > 0 && r.ForwardBatch1Microseconds > 0);
        Assert.StartsWith($"{{\"bench\":\"nn\",\"model\":\"{minAtar}\",\"forward_batch1_us\":", NnBenchmark.ToJson(r));
        Assert.Contains("categorical head", Assert.Throws<ArgumentException>(() => NnBenchmark.ModelOf("Pendulum-v1")).Message);
        Assert.Throws<FormatException>(() => NnBenchmark.ModelOf("actor-critic obs=four"));
    }

    [Fact]
    public void BenchNnTimesANetworkWithAnLstmOnUnrolls()
    {
        // Acting one step from a carried state; training on the batch cut into unrolls of 20 steps, so the batch is a multiple of 20.
        Hybrid.Nn.Models.ModelSpec lstm = NnBenchmark.ModelOf("actor-critic obs=2 hidden=16 act=tanh actions=discrete:2 lstm=8");
        NnBenchmark.Result r = NnBenchmark.Run(40, 1, Hybrid.Nn.Kernels.Simd.Best, 1, lstm);
        Assert.True(r.TrainSamplesPerSecond > 0 && r.ForwardBatch1Microseconds > 0);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => NnBenchmark.Run(30, 1, Hybrid.Nn.Kernels.Simd.Best, 1, lstm));
        Assert.Contains("batch was 30", e.Message);
    }

    [Fact]
    public void BenchTrainTakesTheConfigFilesEnvUnlessEnvIsGiven()
    {
        // A --config naming MinAtar once ran CartPole: the option's default overrode the file.
        Assert.Empty(TrainBenchmark.EnvOverride(null, "run.yaml"));
        Assert.Equal([("env", "MinAtar/Breakout-v1", "--env")], TrainBenchmark.EnvOverride("MinAtar/Breakout-v1", "run.yaml"));
        Assert.Equal([("env", "CartPole-v1", "the default")], TrainBenchmark.EnvOverride(null, null));
    }

    [Fact]
    public void BenchRejectsBadOptionsWithTheirNames()
    {
        var result = Program.BuildRoot().Parse(["bench", "nn", "--samples", "0"]);
        Assert.Contains(result.Errors, e => e.Message.Contains("--samples was 0"));
    }

    [Fact]
    public void NoArgumentsPrintsHelp()
    {
        var output = new StringWriter();
        // Other tests redirect the console too (TrainCliTests.Cli): one at a time, or one reads the other's output.
        lock (typeof(Console))
        {
            TextWriter original = Console.Out;
            try
            {
                Console.SetOut(output);
                Assert.Equal(0, Program.Main([]));
            }
            finally
            {
                Console.SetOut(original);
            }
        }
        Assert.Contains("bench", output.ToString());
        Assert.Contains("Usage", output.ToString());
    }
}

public class BenchInterruptTests
{
    [Fact]
    public void AStoppedBenchReportsItsFinishedRunsAndTheStepsOfTheOneInProgress()
    {
        var config = new Hybrid.Training.Algorithms.A2cConfig { Env = "CartPole-v1", Lanes = new() { NumEnvs = 8 }, MaxEnvSteps = 16_000 };
        var stop = new TrainBenchmark.StopBox();
        List<TrainBenchmark.Run> runs = TrainBenchmark.Measure(config, [1], 1, stopWhenSolved: false, stop: stop);
        Assert.Single(runs);
        // A second run in progress: 4,000 steps counted so far.
        var run = new Hybrid.Training.Runs.RunContext(config with { Seed = 2 }, null, null);
        run.Metrics.AddSteps(4_000);
        stop.Watch(run, 2, 1, warmup: false);
        string json = TrainBenchmark.Interrupted(config, stop, json: true);
        Assert.StartsWith("{\"bench\":\"train\",\"algo\":\"a2c\",\"env\":\"CartPole-v1\",\"num_envs\":8,\"interrupted\":true,\"runs\":[{\"seed\":1,\"threads\":1,\"status\":\"finished\",\"env_steps\":16000,", json);
        Assert.Contains("\"in_progress\":{\"seed\":2,\"threads\":1,\"warmup\":false,\"env_steps\":4000,\"seconds\":", json);
        string text = TrainBenchmark.Interrupted(config, stop, json: false);
        Assert.Contains("1 run(s) finished", text);
        Assert.Contains("threads 1, seed 2: stopped at 4,000 steps", text);
    }
}
