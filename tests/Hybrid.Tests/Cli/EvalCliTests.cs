using System.Text.Json;

namespace Hybrid.Tests.Cli;

/// <summary><c>hybrid eval</c> and <c>render --policy</c> on run folders made by <c>train</c>.</summary>
public sealed class EvalCliTests() : TempFolderTests("hybrid-eval")
{
    JsonElement Eval(params string[] args)
    {
        (int code, string output, string error) = TrainCliTests.Cli(["eval", .. args, "--json"]);
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    string Train(string name, params string[] args)
    {
        string run = Path.Combine(Folder, name);
        (int code, _, string error) = TrainCliTests.Cli(["train", "--quiet", "--out", run, .. args]);
        Assert.True(code == 0, error);
        return run;
    }

    [Fact]
    public void EvalReportsTheTrainedPolicysReturnWithAnInterval()
    {
        // A2C's CartPole preset learns within 300,000 steps (seed 1); 2,000 steps is a handful of updates.
        string trained = Train("trained", "--algo", "a2c", "--seed", "1", "--max-env-steps", "300000", "--device", "cpu");
        string barely = Train("barely", "--algo", "a2c", "--seed", "1", "--max-env-steps", "2000", "--device", "cpu");

        JsonElement good = Eval(trained, "--episodes", "30", "--greedy"), poor = Eval(barely, "--episodes", "30", "--greedy");
        double mean = good.GetProperty("mean_return").GetDouble();
        Assert.Equal(30, good.GetProperty("episodes").GetInt32());
        Assert.Equal("greedy", good.GetProperty("actions").GetString());
        Assert.InRange(mean, good.GetProperty("ci95_low").GetDouble(), good.GetProperty("ci95_high").GetDouble());
        Assert.InRange(mean, 200, 500);
        Assert.True(mean > 3 * poor.GetProperty("mean_return").GetDouble(), $"trained {mean}, barely trained {poor.GetProperty("mean_return").GetDouble()}");

        // Sampled actions by default; the same seed gives the same episodes, another seed others.
        JsonElement a = Eval(trained, "--episodes", "10", "--seed", "42"), b = Eval(trained, "--episodes", "10", "--seed", "42");
        Assert.Equal("sampled", a.GetProperty("actions").GetString());
        Assert.Equal(a.GetProperty("mean_return").GetDouble(), b.GetProperty("mean_return").GetDouble());
        Assert.Equal(a.GetProperty("mean_length").GetDouble(), b.GetProperty("mean_length").GetDouble());

        (int code, string text, _) = TrainCliTests.Cli("eval", trained, "--episodes", "5");
        Assert.Equal(0, code);
        Assert.Contains("5 episodes, sampled actions", text);
        Assert.Contains("(95% CI ", text);
    }

    [Theory]
    [InlineData("q1")]
    [InlineData("dqn")]
    [InlineData("apex")]
    public void EvalOfAQRunIsGreedyOnQ(string algo)
    {
        string run = Train(algo, "--algo", algo, "--max-env-steps", "5000");
        Assert.Equal("greedy on Q", Eval(run, "--episodes", "4").GetProperty("actions").GetString());
    }

    [Fact]
    public void EvalOfADdpgRunActsWithItsDeterministicPolicyInTheBox()
    {
        string run = Train("ddpg", "--algo", "ddpg", "--env", "Pendulum-v1", "--max-env-steps", "3000", "--batch-size", "32");
        JsonElement result = Eval(run, "--episodes", "3");
        Assert.Equal("deterministic (mu without exploration noise)", result.GetProperty("actions").GetString());
        // Pendulum's episodes last 200 steps, each of reward in [-16.3, 0].
        Assert.Equal(200, result.GetProperty("mean_length").GetDouble());
        Assert.InRange(result.GetProperty("min_return").GetDouble(), -16.3 * 200, 0);
        Assert.InRange(result.GetProperty("max_return").GetDouble(), -16.3 * 200, 0);
    }

    [Fact]
    public void RenderPlaysATrainedMinAtarPolicyAndDrawsTheFrames()
    {
        string run = Train("breakout", "--algo", "a2c", "--env", "MinAtar/Breakout-v1", "--max-env-steps", "3000", "--num-envs", "4");
        string image = Path.Combine(Folder, "frames.png");
        (int code, string output, string error) = TrainCliTests.Cli("render", "--policy", run, "--steps", "12", "--greedy", "--image", image);
        Assert.True(code == 0, error);
        Assert.Contains("greedy actions of the policy in", output);
        Assert.Contains("step 12: pressed", output);
        Assert.Contains("image: " + image + " (13 frames", output);
        byte[] png = File.ReadAllBytes(image);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        // Width: ten frames of 80 pixels and eleven 4-pixel gaps (the IHDR chunk's width, big-endian, at byte 16).
        Assert.Equal(10 * 80 + 11 * 4, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        // Each frame carries its number beneath it in white: "1" lights 8 font cells, "11" twice as many (2 x 2 pixels each).
        using (var bitmap = SkiaSharp.SKBitmap.Decode(image))
        {
            int White(int frame)
            {
                int left = 4 + frame % 10 * 84, top = 4 + frame / 10 * (80 + 14 + 4) + 80 + 2, lit = 0;
                for (int y = top; y < top + 10; y++)
                    for (int x = left; x < left + 80; x++)
                        if (bitmap.GetPixel(x, y) == SkiaSharp.SKColors.White) lit++;
                return lit;
            }
            Assert.Equal(8 * 4, White(1));
            Assert.Equal(16 * 4, White(11));
            Assert.Equal(12 * 4, White(0)); // "0" is a ring of 12 cells
        }

        (code, _, error) = TrainCliTests.Cli("render", "--policy", run, "--env", "MinAtar/Asterix-v1");
        Assert.Equal(2, code);
        Assert.Contains("trained on MinAtar/Breakout-v1; leave --env out", error);
    }
}
