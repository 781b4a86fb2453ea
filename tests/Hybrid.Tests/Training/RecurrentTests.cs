using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;

namespace Hybrid.Tests.Training;

/// <summary>Actor-critics with an LSTM: learning a partially observed task, and their hot loops.</summary>
public class RecurrentTests
{
    /// <summary>A3C's preset for CartPoleNoVel-v1 on one worker (deterministic for a seed), with a smaller network so the test stays short.</summary>
    static A3cConfig NoVelocities(RecurrentKind memory) =>
        (A3cConfig)Presets.Resolve("a3c", [new SettingsLayer("the test's", [new Setting("env", "CartPoleNoVel-v1", "test")])], usePreset: true).Config with
    {
        Seed = 1,
        Threads = 1,
        Hidden = [32],
        MaxEnvSteps = 500_000,
        Memory = new() { Recurrent = memory, LstmUnits = 32 },
    };

    [Fact]
    public void A3cWithAnLstmLearnsCartPoleWithoutVelocitiesWhereFeedForwardDoesNot()
    {
        // The same settings, budget and seed, with and without memory. A policy that sees x and theta alone cannot tell
        // which way the pole moves: feed-forward A3C stays near 40 here (37-46 on seeds 1-3 at 400,000-600,000 steps); with
        // the LSTM seed 1 is past 200 by 500,000 steps (160-320 on seeds 1-3 at 600,000).
        (RunSummary lstm, _) = TrainingTestSupport.Train(NoVelocities(RecurrentKind.Lstm));
        (RunSummary feedForward, _) = TrainingTestSupport.Train(NoVelocities(RecurrentKind.None));
        Assert.True(feedForward.FinalMeanReturn < 80, $"feed-forward: {feedForward.FinalMeanReturn:F1}");
        Assert.True(lstm.FinalMeanReturn > 120 && lstm.FinalMeanReturn > 2 * feedForward.FinalMeanReturn,
            $"lstm {lstm.FinalMeanReturn:F1}, feed-forward {feedForward.FinalMeanReturn:F1}");
    }

}

/// <summary>The recurrent path's hot loops (process-wide allocation counts: nothing else runs meanwhile).</summary>
[Collection(nameof(AllocationCollection))]
public class RecurrentAllocationTests
{
    [Theory]
    [InlineData("a3c")]
    [InlineData("a2c")]
    public void TrainingWithAnLstmAllocatesNoMoreForMoreSteps(string algo)
    {
        // Acting from the carried state, the unroll, its backward pass and the bootstrap steps: nothing per step.
        var memory = new RecurrentSettings { Recurrent = RecurrentKind.Lstm, LstmUnits = 8 };
        AlgoConfig config = algo == "a3c"
            ? new A3cConfig { Env = "CartPoleNoVel-v1", Seed = 5, Hidden = [16], Memory = memory }
            : new A2cConfig { Env = "CartPoleNoVel-v1", Seed = 5, Hidden = [16], Memory = memory, Compute = new() { Device = Hybrid.Training.Devices.DeviceKind.Cpu } };
        (long growth, string message) = AsyncAllocationTests.Growth(config);
        Assert.True(growth < 256 * 1024, message);
    }
}
