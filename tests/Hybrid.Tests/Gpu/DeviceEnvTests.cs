using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Envs.MinAtar;
using Hybrid.Gpu;
using Hybrid.Gpu.Kernels;
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
        var e = Assert.Throws<ArgumentException>(() => new DeviceMinAtarEnv(fixture.Device, "CartPole-v1", 2));
        Assert.Contains("not a MinAtar game", e.Message);
        Assert.Equal(MinAtarGames.All.Select(g => g.Name).Order(), DeviceMinAtarEnv.Supported);
    }

    [Theory]
    [InlineData("MinAtar/Asterix-v0")]
    [InlineData("MinAtar/Asterix-v1")]
    [InlineData("MinAtar/Breakout-v0")]
    [InlineData("MinAtar/Breakout-v1")]
    [InlineData("MinAtar/Freeway-v1")]
    [InlineData("MinAtar/Seaquest-v0")]
    [InlineData("MinAtar/Seaquest-v1")]
    [InlineData("MinAtar/SpaceInvaders-v0")]
    [InlineData("MinAtar/SpaceInvaders-v1")]
    public void DeviceMinAtarLanesFollowTheCpuLanesStepForStep(string id)
    {
        // Sticky actions (0.1), the game's draws and auto-resets from each lane's stream: every observation cell,
        // reward, flag and episode the same as the CPU env's, lane for lane.
        IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(fixture.Device, id);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheMinAtarLaneCheckCatchesADeviceThatDisagrees()
    {
        // Another seed's CPU lanes: the ball starts in the other corner in about half of them, and they part at once.
        IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(fixture.Device, "MinAtar/Breakout-v1", 8, 1, 2);
        Assert.Equal(DeviceEnvCheck.MaxReported + 1, problems.Count);
        Assert.Contains("more disagreements", problems[^1]);
    }

    [Fact]
    public void ADeviceMinAtarLaneWithoutAutoResetWaitsForTheHost()
    {
        using var env = new DeviceMinAtarEnv(fixture.Device, "MinAtar/Breakout-v1", 2);
        env.AutoReset = false;
        env.Reset(3, 0);
        // Left every step: the ball is missed within a few dozen steps in every lane.
        var left = new[] { 1, 1 };
        for (int s = 0; s < 200 && !env.Terminated[0] && !env.Terminated[1]; s++) env.Step(left);
        int lane = env.Terminated[0] ? 0 : 1;
        Assert.True(env.Terminated[lane]);
        DeviceEpisode episode = Assert.Single(env.Episodes, ep => ep.Lane == lane);
        Assert.Equal(1, episode.Terminated);
        Assert.Equal(env.Observations.Slice(lane * 400, 400).ToArray(), env.FinalObservation(lane));
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(left));
        Assert.Contains($"lane {lane} ended at the previous step", e.Message);
        using var other = new DeviceMinAtarEnv(fixture.Device, "MinAtar/Breakout-v1", 2);
        Assert.Contains("expected 0 to 2", Assert.Throws<ArgumentOutOfRangeException>(() => other.Step([3, 0])).Message);
        env.Reset();
        env.Step(left);
    }

    [Fact]
    public void RandomActionsDrawnOnTheDeviceStepEveryGame()
    {
        // What bench env --device times: actions drawn from the lanes' own action streams, nothing copied back; the lanes
        // then step on from the host as usual, every observation still a grid of 0/1 cells with the player in it.
        foreach (MinAtarGameInfo game in MinAtarGames.All)
        {
            using var env = new DeviceMinAtarEnv(fixture.Device, MinAtarEnv.EnvId(game, minimalActions: true), 16);
            env.Reset(9, 0);
            env.StepRandom(300);
            env.Synchronize();
            env.Step(new int[16]);
            float[] obs = env.Observations.ToArray();
            Assert.All(obs, v => Assert.True(v is 0f or 1f));
            for (int lane = 0; lane < 16; lane++)
                Assert.Equal(1, obs.AsSpan(lane * game.Channels * 100, 100).ToArray().Count(v => v == 1f));
        }
    }

    public static TheoryData<string> MinAtarGameNames() => [.. MinAtarGames.All.Select(g => g.Name)];

    [Theory]
    [MemberData(nameof(MinAtarGameNames))]
    public void EveryConformanceRowMatchesOnTheDevice(string game)
    {
        // The reference package's episodes, replayed on device lanes seeded like the reference (a Mersenne Twister per
        // lane on the device): return, length and observation checksum of every row.
        MinAtarGameInfo info = MinAtarGames.Find(game);
        var rows = MinAtarConformance.Read(EnvTestSupport.MinAtarReferenceFile("conformance_vectors.csv")).Where(r => r.Game == game).ToArray();
        Assert.Equal(10, rows.Length);
        var envs = new List<DeviceMinAtarEnv>();
        ConformanceOutcome[] outcomes = MinAtarConformance.Run(info, rows, n =>
        {
            var env = new DeviceMinAtarEnv(fixture.Device, MinAtarEnv.EnvId(info, minimalActions: false), n);
            envs.Add(env);
            return env;
        });
        foreach (DeviceMinAtarEnv env in envs) env.Dispose();
        Assert.Empty(outcomes.Where(o => !o.Matches)
            .Select(o => $"seed {o.Expected.Seed}: return {o.Return}/{o.Expected.Return} length {o.Length}/{o.Expected.Length} checksum {o.Checksum}/{o.Expected.Checksum}"));
    }
}
