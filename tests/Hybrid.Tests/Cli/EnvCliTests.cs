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

    static string ConformanceFile => EnvTestSupport.MinAtarReferenceFile("conformance_vectors.csv");

    static (int Code, string Output, string Error) Conformance(string env, string path)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = EnvCheckCommand.Run(env, null, LaneWidth.Auto, output, error, path);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void EnvcheckReplaysTheConformanceEpisodesOfTheEnvsGame()
    {
        (int code, string output, _) = Conformance("MinAtar/Breakout-v0", ConformanceFile);
        Assert.Equal(0, code);
        Assert.Contains("contract checks pass", output);
        Assert.Contains("10 of 10 conformance episodes match", output);
        Assert.DoesNotContain("asterix", output);
    }

    [Fact]
    public void EnvcheckFailsOnOneWrongChecksumAndNamesTheRow()
    {
        string[] lines = File.ReadAllLines(ConformanceFile);
        int index = Array.FindIndex(lines, l => l.StartsWith("freeway,3,", StringComparison.Ordinal));
        string[] f = lines[index].Split(',');
        f[5] = (uint.Parse(f[5]) ^ 1).ToString();
        lines[index] = string.Join(',', f);
        string path = Path.Combine(Path.GetTempPath(), $"hybrid-conf-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, lines);
        try
        {
            (int code, string output, _) = Conformance("MinAtar/Freeway-v0", path);
            Assert.Equal(1, code);
            Assert.Contains($"FAIL freeway seed 3 (line {index + 1})", output);
            Assert.Contains("9 of 10 conformance episodes match", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EnvcheckRejectsMismatchedFilesAndEnvs()
    {
        (int code, _, string error) = Conformance("CartPole-v1", ConformanceFile);
        Assert.Equal(1, code);
        Assert.Contains("not a MinAtar env", error);
        var output = new StringWriter();
        var errors = new StringWriter();
        Assert.Equal(1, EnvCheckCommand.Run("MinAtar/Asterix-v0", EnvTestSupport.ReferenceFile("CartPole-v1"), LaneWidth.Auto, output, errors));
        Assert.Contains("use --conformance", errors.ToString());
        (code, _, error) = Conformance("MinAtar/Asterix-v0", EnvTestSupport.ReferenceFile("CartPole-v1"));
        Assert.Equal(1, code);
        Assert.Contains("the first line must be 'game,seed,return,length,capped,checksum'", error);
    }

    [Fact]
    public void RenderPrintsTheLegendAndOneGridPerStep()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RenderCommand.Run("MinAtar/Breakout-v0", 0, 12, new Hybrid.Envs.MinAtar.MinAtarOptions(), false, output, error);
        Assert.Equal(0, code);
        string text = output.ToString();
        Assert.Contains("legend: = paddle, o ball, . trail, # brick", text);
        Assert.Equal(13, text.Split('\n').Count(l => l == "+----------+") / 2);
        Assert.Contains("|##########|", text);
        Assert.Contains("step 12: pressed", text);
        Assert.Equal(2, RenderCommand.Run("CartPole-v1", 0, 5, new Hybrid.Envs.MinAtar.MinAtarOptions(), false, output, error));
        Assert.Contains("MinAtar games only", error.ToString());
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
