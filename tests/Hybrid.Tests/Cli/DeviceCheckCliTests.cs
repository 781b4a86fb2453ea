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
