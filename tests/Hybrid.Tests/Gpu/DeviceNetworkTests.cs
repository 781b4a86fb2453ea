using Hybrid.Gpu;

namespace Hybrid.Tests.Gpu;

/// <summary>A2C's kernels against the CPU network (<see cref="DeviceNetworkCheck"/>) on ILGPU's CPU accelerator.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class DeviceNetworkTests(IlgpuFixture fixture)
{
    public static TheoryData<int> Cases() => [.. Enumerable.Range(0, NetworkCase.Standard.Count)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void DeviceForwardGradientAndStepMatchTheCpuNetwork(int index)
    {
        NetworkCase check = NetworkCase.Standard[index];
        NetworkParity parity = DeviceNetworkCheck.Run(new IlgpuComputeDevice(fixture.Device), check);
        Assert.True(parity.Passed, parity.ToJson());
        if (check.Env == "CartPole-v1") Assert.True(parity.Terminals > 0, "the compared rollout should hold terminal steps");
        else if (check.MaxSteps is null) Assert.Equal(24, parity.Truncations);
        else
        {
            // MinAtar: the conv torso's forward and gradient, with ended and cut episodes in the compared rollout.
            Assert.True(parity.Truncations > 0, parity.ToJson());
            Assert.True(parity.Terminals > 0, parity.ToJson());
        }
    }

    [Fact]
    public void TheCheckFailsWhenTheDeviceDisagrees()
    {
        // The tolerances are what they say: a result off by more fails.
        var off = new NetworkParity(NetworkCase.Standard[0], 144, 1, 0, ForwardError: 2e-5, GradientError: 0, StepError: 0);
        Assert.False(off.Passed);
        Assert.False((off with { ForwardError = 0, GradientError = 2e-4 }).Passed);
        Assert.False((off with { ForwardError = 0, StepError = 2e-6 }).Passed);
        Assert.True((off with { ForwardError = 0 }).Passed);
    }
}
