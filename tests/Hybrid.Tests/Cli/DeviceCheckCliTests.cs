using Hybrid.Cli.Device;

namespace Hybrid.Tests.Cli;

/// <summary><c>hybrid devicecheck --ptx</c> and <c>--plan</c>: what can be checked about the GPU path without a GPU.</summary>
public sealed class DeviceCheckCliTests() : TempFolderTests("hybrid-devicecheck-")
{
    [Fact]
    public void PtxWritesEveryKernelForEveryArchitectureAndEachWouldLoad()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string folder = Path.Combine(Folder, "ptx");
        Assert.Equal(0, DeviceCheckCommand.WritePtx(folder, json: false, output, error));
        string[] files = Directory.GetFiles(folder, "*.ptx").Select(Path.GetFileName).ToArray()!;
        Assert.Equal(Hybrid.Gpu.Kernels.KernelCatalog.All.Count * 3, files.Length);
        Assert.Contains("ActorCriticKernels.Rollout.sm_90.ptx", files);
        Assert.Contains("EnvKernels.Step.sm_89.ptx", files);
        Assert.Contains("EnvKernels.Reset.sm_80.ptx", files);
        foreach (string file in files)
        {
            string text = File.ReadAllText(Path.Combine(folder, file));
            Assert.Empty(Hybrid.Gpu.Kernels.PtxModule.Problems(text));
        }
        Assert.Contains("the driver could load every one", output.ToString());
        Assert.Equal("", error.ToString());
    }

    [Fact]
    public void PlanPrintsTheCostTableAndTimesEachKernelOnADevice()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, DevicePlan.Run(null, "cpu", deviceGiven: false, json: false, output, error));
        string text = output.ToString();
        Assert.Contains("4,096 lanes x t_max 5 = 20,480 samples per update", text);
        Assert.Contains("65,536 lanes x t_max 5 = 327,680 samples per update", text);
        foreach (string kernel in new[] { "ActorCriticKernels.Rollout", "GradientKernels.Tiles", "GradientKernels.Reduce", "EpisodeKernels.Update", "update" })
            Assert.Equal(2, text.Split('\n').Count(l => l.TrimStart().StartsWith(kernel + " ", StringComparison.Ordinal)));
        Assert.Contains("32 threads/lane", text);
        Assert.Contains("88 bytes per lane-step", text);
        Assert.DoesNotContain("measured", text);

        // A small config on ILGPU's CPU accelerator: every kernel gets a measured time.
        string config = Path.Combine(Folder, "small.yaml");
        File.WriteAllText(config, "algo: a2c\nenv: CartPole-v1\nnum_envs: 8\n");
        output = new StringWriter();
        Assert.Equal(0, DevicePlan.Run(config, "ilgpu-cpu", deviceGiven: true, json: true, output, new StringWriter()));
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.All(lines, l => Assert.Matches("\"measured_ms\":[0-9.]+", l));
        Assert.All(lines, l => Assert.Contains("\"device\":\"ilgpu-cpu\"", l));
    }

    [Fact]
    public void PlanRefusesAConfigThatIsNotA2cInOneLine()
    {
        string config = Path.Combine(Folder, "impala.yaml");
        File.WriteAllText(config, "algo: impala\nenv: CartPole-v1\n");
        var error = new StringWriter();
        Assert.Equal(2, DevicePlan.Run(config, "cpu", deviceGiven: false, json: false, new StringWriter(), error));
        Assert.Contains("the plan covers A2C's device kernels", error.ToString());
        Assert.Contains("impala", error.ToString());
        Assert.Single(error.ToString().Trim().Split('\n'));
    }

    [Fact]
    public void PtxIntoAFolderThatCannotBeMadeSaysSoInOneLine()
    {
        string blocker = Path.Combine(Folder, "file");
        File.WriteAllText(blocker, "");
        var error = new StringWriter();
        Assert.Equal(2, DeviceCheckCommand.WritePtx(Path.Combine(blocker, "ptx"), json: false, new StringWriter(), error));
        Assert.Contains("--ptx", error.ToString());
        Assert.Single(error.ToString().Trim().Split('\n'));
    }
}

/// <summary>The cost model counts what the kernels' code does.</summary>
public sealed class CostModelTests
{
    [Fact]
    public void TheDefaultNetworksWorkIsCountedFromItsLayers()
    {
        // CartPole's 4-64-64 network with two actions: forward 4*64 + 64*64 + 64*2 + 64*1 = 4,544 multiply-adds per sample;
        // the torso's backward 64*(2+1) + 64*64 = 4,288; the rollout adds V(s_T), one forward per lane.
        var config = new Hybrid.Training.Algorithms.A2cConfig { Lanes = new() { NumEnvs = 4096 } };
        IReadOnlyList<Hybrid.Gpu.KernelCost> costs = Hybrid.Gpu.CostModel.A2cUpdate(config);
        Assert.Equal(["ActorCriticKernels.Rollout", "GradientKernels.Tiles", "GradientKernels.Reduce", "EpisodeKernels.Update"], costs.Select(c => c.Kernel));
        Assert.Equal(20_480.0 * (4_544 + 4_288) + 4_096.0 * 4_544, costs[0].MultiplyAdds);
        // 34 tiles of 16 x 16 (layer 1: 1 x 4, layer 2: 5 x 4, policy 5 x 1, value 5 x 1) over every sample.
        Assert.Equal(34.0 * 256 * 20_480, costs[1].MultiplyAdds);
        Assert.Equal(4_675, Hybrid.Gpu.CostModel.Parameters(config));
        // Sixteen times the lanes, sixteen times the tiles' and the rollout's work.
        IReadOnlyList<Hybrid.Gpu.KernelCost> large = Hybrid.Gpu.CostModel.A2cUpdate(config with { Lanes = new() { NumEnvs = 65_536 } });
        Assert.Equal(16 * costs[1].MultiplyAdds, large[1].MultiplyAdds);
        Assert.Equal(16 * costs[0].MultiplyAdds, large[0].MultiplyAdds);
    }

    [Fact]
    public void AnEnvStepMovesWhatItsKernelReadsAndWrites()
    {
        // CartPole: 4 state floats read and written, elapsed and return read and written, the action stream (state read
        // and written, step read), 4 observation floats, reward and two flags: 88 bytes.
        Assert.Equal(88, Hybrid.Gpu.CostModel.EnvStepBytes(Hybrid.Gpu.Kernels.DeviceEnvKind.CartPole));
        Hybrid.Gpu.KernelCost step = Hybrid.Gpu.CostModel.EnvStep("CartPole-v1", 1 << 20);
        Assert.Equal(88.0 * (1 << 20), step.Bytes);
        // Memory-bound: 92 MB at 4.8 TB/s, plus a launch.
        Assert.Equal("memory", step.Bound(Hybrid.Gpu.GpuSpec.H200));
        Assert.Equal((88.0 * (1 << 20) / 4.8e12 + Hybrid.Gpu.KernelCost.LaunchSeconds) * 1e3, step.Milliseconds(Hybrid.Gpu.GpuSpec.H200), 12);
    }

    [Fact]
    public void AMinAtarStepIsBoundByWritingItsObservation()
    {
        // Breakout: 9 state integers read and written (72), elapsed and return (16), the env and action streams (24),
        // the last action (8), the action map (4), a 4 x 100 float observation (1,600), reward and flags (12): 1,736 bytes.
        Assert.Equal(1_736, Hybrid.Gpu.CostModel.MinAtarStepBytes(Hybrid.Gpu.Kernels.DeviceGame.Breakout));
        Hybrid.Gpu.KernelCost step = Hybrid.Gpu.CostModel.EnvStep("MinAtar/Breakout-v1", 1 << 18);
        Assert.Equal("MinAtarKernels.Step", step.Kernel);
        Assert.Equal(1_736.0 * (1 << 18), step.Bytes);
        // Seaquest's ten channels and 290 state integers: the largest step of the five.
        Assert.True(Hybrid.Gpu.CostModel.MinAtarStepBytes(Hybrid.Gpu.Kernels.DeviceGame.Seaquest)
            > Hybrid.Gpu.CostModel.MinAtarStepBytes(Hybrid.Gpu.Kernels.DeviceGame.Freeway));
    }

    [Fact]
    public void AMinAtarA2cUpdateCountsTheComposedRolloutAndTheConvolutionsGradient()
    {
        // Breakout-v1 (3 actions), 8 lanes x t_max 5: the convolution (1,024 outputs of a 3x3x4 patch) and the dense
        // layers (1,024 x 128 + 128 x 3 + 128 x 1 = 131,584 per row) over the 40 samples and the 8 bootstrap rows, and
        // the torso's backward pass of each sample (the heads' 4 gradients into the 128 hidden units).
        var config = new Hybrid.Training.Algorithms.A2cConfig { Env = "MinAtar/Breakout-v1" };
        IReadOnlyList<Hybrid.Gpu.KernelCost> costs = Hybrid.Gpu.CostModel.A2cUpdate(config);
        Assert.Equal(["MinAtar rollout", "GradientKernels.Tiles", "ConvKernels backward", "GradientKernels.Reduce", "EpisodeKernels.Update"], costs.Select(c => c.Kernel));
        Assert.Equal(48.0 * 1_024 * 36 + 48.0 * 131_584 + 40.0 * 128 * 4, costs[0].MultiplyAdds);
        // Observe once; per step the convolution, the dense layers, the actions, the games and the record; the
        // bootstrap rows' convolution and dense layers; the targets.
        Assert.Equal(1 + 5 * 5 + 2 + 1, costs[0].Launches);
        // A row of several kernels is estimated as their estimates added, not as one kernel's roofline.
        Assert.Equal(costs[0].Parts!.Sum(p => p.Milliseconds(Hybrid.Gpu.GpuSpec.H200)), costs[0].Milliseconds(Hybrid.Gpu.GpuSpec.H200), 12);
        Assert.Equal(3, costs[2].Launches);
        Assert.Equal(40.0 * 1_024 * 128 + 40.0 * 64 * 576, costs[2].MultiplyAdds);
    }

    [Fact]
    public void TheConvKernelsOfALearnerUpdateAreCountedFromTheirCode()
    {
        // Breakout's torso: 4 x 10 x 10 in, 16 3x3 filters (592 parameters), 1,024 outputs, then a dense 128.
        var spec = Hybrid.Training.Algorithms.Acting.ActorCriticSpec(new Hybrid.Training.Algorithms.ImpalaConfig { Env = "MinAtar/Breakout-v1" });
        IReadOnlyList<Hybrid.Gpu.KernelCost> costs = Hybrid.Gpu.CostModel.ConvLearner(spec, samples: 64, bootstrapRows: 8);
        Assert.Equal(["ConvKernels.ForwardRelu", "ConvKernels.InputDeltas", "ConvKernels.WeightPartials", "ConvKernels.ReducePartials"], costs.Select(c => c.Kernel));
        Assert.Equal(72.0 * 1_024 * 36, costs[0].MultiplyAdds);           // every output of every row: a 3x3x4 patch
        Assert.Equal(64.0 * 1_024 * 128, costs[1].MultiplyAdds);          // every output of every sample: the dense layer's 128 deltas
        Assert.Equal(64.0 * 64 * 576, costs[2].MultiplyAdds);             // every weight: every pixel of every sample
        Assert.Equal((2.0 * 592 + 592) * 4, costs[3].Bytes);              // two 32-sample chunks' partials read, the gradient written
        Assert.Throws<ArgumentException>(() => Hybrid.Gpu.CostModel.ConvLearner(Hybrid.Nn.Models.ModelSpec.CartPoleActorCritic, 64, 8));
    }
}
