using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Gpu;
using Hybrid.Tests.Envs;

namespace Hybrid.Tests.Gpu;

/// <summary>The env kernels on ILGPU's CPU accelerator against the reference transitions and the CPU envs.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class DeviceEnvTests(IlgpuFixture fixture)
{
    public static TheoryData<string> DeviceEnvIds() => [.. DeviceEnvs.Supported];

    [Theory]
    [MemberData(nameof(DeviceEnvIds))]
    public void ReferenceTransitionsMatchOnTheDevice(string id)
    {
        string file = EnvTestSupport.ReferenceFile(id);
        var envs = new List<DeviceVectorEnv>();
        ReferenceCheckResult result = ReferenceCheck.Run(id, file, n =>
        {
            var env = new DeviceVectorEnv(fixture.Device, id, n);
            envs.Add(env);
            return env;
        });
        foreach (DeviceVectorEnv env in envs) env.Dispose();
        Assert.True(result.Passed, ReferenceCheck.Format(result));
        Assert.Equal(File.ReadLines(file).Count() - 1, result.Rows);
        Assert.Equal("ilgpu-cpu", result.SteppedOn);
    }

    [Theory]
    [MemberData(nameof(DeviceEnvIds))]
    public void DeviceLanesFollowTheCpuLanesStepForStep(string id)
    {
        IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(fixture.Device, id);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("Pendulum-v1")]
    public void TheWarpAggregatedEpisodeLogHoldsEveryEpisode(string id)
    {
        // On a GPU the env kernel takes one episode-counter atomic per warp (a prefix over the warp's flags); the CPU
        // accelerator normally takes one per episode. With aggregation on here (warps of 2), every episode must still
        // come back exactly, as the lane-for-lane check against the CPU env demands.
        fixture.Device.AggregateAtomics = true;
        try
        {
            IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(fixture.Device, id);
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            fixture.Device.AggregateAtomics = false;
        }
    }

    [Fact]
    public void TheLaneCheckCatchesADeviceThatDisagrees()
    {
        // The device lanes against the CPU env of another seed: their states differ from the first reset on.
        IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(fixture.Device, "CartPole-v1", 4, 1, 2);
        Assert.Equal(DeviceEnvCheck.MaxReported + 1, problems.Count);
        Assert.Contains("obs[", problems[0]);
        Assert.Contains("more disagreements", problems[^1]);
        Assert.Throws<ArgumentException>(() => DeviceEnvCheck.CompareWithCpu(fixture.Device, "MinAtar/Breakout-v0"));
    }
}
