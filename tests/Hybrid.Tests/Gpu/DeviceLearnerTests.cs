using Hybrid.Gpu;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Gpu;

/// <summary>The device's lagged learner (IMPALA's V-trace gradient) against the CPU's, and IMPALA trained through it, on ILGPU's CPU accelerator.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class DeviceLearnerTests(IlgpuFixture fixture)
{
    public static TheoryData<int> Cases() => [.. Enumerable.Range(0, LearnerCase.Standard.Count)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheDeviceLearnersGradientMatchesTheCpus(int index)
    {
        LearnerCase check = LearnerCase.Standard[index];
        LearnerParity parity = DeviceLearnerCheck.Run(new IlgpuComputeDevice(fixture.Device), check);
        Assert.True(parity.Passed, parity.ToJson());
        Assert.True(parity.Clipped > 0, "some importance weights should be clipped: " + parity.ToJson());
        if (check.Env == "Pendulum-v1") Assert.Equal(18, parity.Truncations); // every lane of the three unrolls, at step 200
        else Assert.True(parity.Terminals > 0, "the batch should hold terminal steps: " + parity.ToJson());
    }

    [Fact]
    public void TheLearnerCheckFailsWhenTheDeviceDisagrees()
    {
        var off = new LearnerParity(LearnerCase.Standard[0], 360, 5, 0, 100, GradientError: 2e-4, TermsError: 0);
        Assert.False(off.Passed);
        Assert.False((off with { GradientError = 0, TermsError = 2e-5 }).Passed);
        Assert.True((off with { GradientError = 0 }).Passed);
    }

    [Fact]
    public void TheDeviceLearnerRefusesOnPolicyUpdatesAndTakesConvTorsos()
    {
        var device = new IlgpuComputeDevice(fixture.Device);
        var config = new ImpalaConfig();
        var e = Assert.Throws<ArgumentException>(() => device.OpenLearner(Acting.ActorCriticSpec(config), config.LearnerShape with { RhoBar = 0 }));
        Assert.Contains("on-policy updates run on the CPU", e.Message);
        // Under auto an on-policy learner learns on the CPU, with a line saying so.
        var notes = new List<string>();
        var onPolicy = new Ga3cConfig { Vtrace = false };
        Assert.Contains("on-policy", device.CannotRun(new DeviceWork.Learner(Acting.ActorCriticSpec(onPolicy), config.LearnerShape with { RhoBar = 0, CBar = 0 })));
        // MinAtar's conv torso learns on the device now: auto takes the device for it, with no line.
        var minatar = new ImpalaConfig { Env = "MinAtar/Breakout-v1" };
        Assert.Null(device.CannotRun(new DeviceWork.Learner(Acting.ActorCriticSpec(minatar), minatar.LearnerShape)));
        IComputeDevice chosen = DeviceChoice.For(new DeviceTrainingTests.FixedDevices(device), minatar, notes.Add)!;
        Assert.Same(device, chosen);
        Assert.Empty(notes);
    }

    [Fact]
    public void ImpalaLearnsCartPoleWithItsLearnerOnTheDeviceKernels()
    {
        // IMPALA's defaults, the learner's forward and backward passes on the device kernels; 80,000 steps take 6-7 s on
        // two cores (the CPU accelerator runs kernels slowly). A uniformly random policy averages about 22 on CartPole-v1;
        // seeds 1-3 reached a mean of 97-116 here (the actors are threads, so a run is not repeatable to the step).
        var config = new ImpalaConfig { Env = "CartPole-v1", Seed = 3, MaxEnvSteps = 80_000, Compute = new() { Device = DeviceKind.IlgpuCpu } };
        RunSummary summary = Impala.Train(config, new RunContext(config, null, null), new IlgpuComputeDevice(fixture.Device));
        Assert.Equal("ilgpu-cpu", summary.Device);
        Assert.True(summary.EnvSteps >= 80_000);
        Assert.True(summary.FinalMeanReturn >= 50, $"mean return of the last 100 episodes {summary.FinalMeanReturn:F1}; a random policy gets about 22");
    }
}
