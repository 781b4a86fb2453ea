using Hybrid.Cli;
using Hybrid.Cli.Bench;

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
    public void BenchRejectsBadOptionsWithTheirNames()
    {
        var result = Program.BuildRoot().Parse(["bench", "nn", "--samples", "0"]);
        Assert.Contains(result.Errors, e => e.Message.Contains("--samples was 0"));
    }

    [Fact]
    public void NoArgumentsPrintsHelp()
    {
        var output = new StringWriter();
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
        Assert.Contains("bench", output.ToString());
        Assert.Contains("Usage", output.ToString());
    }
}
