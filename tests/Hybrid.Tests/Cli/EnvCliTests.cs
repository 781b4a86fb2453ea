using Hybrid.Cli;
using Hybrid.Cli.Bench;
using Hybrid.Cli.Envs;
using Hybrid.Envs.Simd;
using Hybrid.Tests.Envs;

namespace Hybrid.Tests.Cli;

public class EnvCliTests
{
    static (int Code, string Output, string Error) EnvCheck(string env, string? reference)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = EnvCheckCommand.Run(env, reference, LaneWidth.Auto, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void EnvcheckPassesOnTheReferenceFileAndPrintsTheLargestErrors()
    {
        (int code, string output, _) = EnvCheck("MountainCar-v0", EnvTestSupport.ReferenceFile("MountainCar-v0"));
        Assert.Equal(0, code);
        Assert.Contains("contract checks pass", output);
        Assert.Contains("1600 reference transitions", output);
        Assert.Contains("max abs error", output);
        Assert.Contains("pass: every float within relative 1e-4 or absolute 1e-5", output);
    }

    [Fact]
    public void EnvcheckExitsOneOnAnotherEnvsFileOrAnUnknownEnv()
    {
        (int code, _, string error) = EnvCheck("CartPole-v1", EnvTestSupport.ReferenceFile("Acrobot-v1"));
        Assert.Equal(1, code);
        Assert.Contains("is this another env's file?", error);

        (code, _, error) = EnvCheck("Breakout-v9", null);
        Assert.Equal(1, code);
        Assert.Contains("'Breakout-v9'", error);
        Assert.DoesNotContain("(Parameter", error);
    }

    [Fact]
    public void BenchEnvJsonLineHasTheAgreedKeys()
    {
        string line = EnvBenchmark.ToJson(new EnvBenchmark.Result("CartPole-v1", 16384, 2, LaneWidth.Vector512, 301234567.8, 7));
        Assert.Equal("{\"bench\":\"env\",\"env\":\"CartPole-v1\",\"num_envs\":16384,\"threads\":2,\"steps_per_second\":301234568}", line);
    }

    [Fact]
    public void BenchEnvMeasuresASmallEnv()
    {
        EnvBenchmark.Result r = EnvBenchmark.Run("Pendulum-v1", 64, 1, 1, laneStepsPerBlock: 20_000);
        Assert.Equal(64, r.NumEnvs);
        Assert.True(r.StepsPerSecond > 0);
    }

    [Theory]
    [InlineData("--num-envs", "0", "--num-envs was 0")]
    [InlineData("--threads", "0", "--threads was 0")]
    [InlineData("--env", "Pong-v5", "--env was 'Pong-v5'")]
    public void BenchEnvRejectsBadOptionsWithTheirNames(string option, string value, string message)
    {
        var result = Program.BuildRoot().Parse(["bench", "env", option, value]);
        Assert.Contains(result.Errors, e => e.Message.Contains(message));
    }
}
