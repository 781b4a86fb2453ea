using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Gpu;
using Hybrid.Tests.Envs;

namespace Hybrid.Tests.Gpu;

/// <summary>The env kernels on ILGPU's CPU accelerator against the reference transitions and the CPU envs.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class DeviceEnvTests(IlgpuFixture fixture)
{
    [Theory]
    [InlineData("CartPole-v1")]
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
    [InlineData("CartPole-v1")]
    public void DeviceLanesFollowTheCpuLanesStepForStep(string id)
    {
        // Same seed, same actions: resets draw the same values (the same per-lane streams), steps the same arithmetic,
        // so observations, rewards, flags and episodes agree over many auto-resets.
        const int lanes = 37, steps = 400;
        using var device = new DeviceVectorEnv(fixture.Device, id, lanes);
        VectorEnv cpu = EnvRegistry.Make(id, lanes);
        device.Reset(7, 3);
        cpu.Reset(7, 3);
        var rng = new Random(5);
        var actions = new int[lanes];
        int episodes = 0;
        for (int s = 0; s < steps; s++)
        {
            for (int i = 0; i < lanes; i++) actions[i] = rng.Next(2);
            device.Step(actions);
            cpu.Step(actions);
            for (int k = 0; k < cpu.Observations.Length; k++)
                Assert.True(Math.Abs(device.Observations[k] - cpu.Observations[k]) <= 1e-5 + 1e-4 * Math.Abs(cpu.Observations[k]),
                    $"step {s}, obs[{k}]: device {device.Observations[k]}, cpu {cpu.Observations[k]}");
            Assert.Equal(cpu.Terminated.ToArray(), device.Terminated.ToArray());
            Assert.Equal(cpu.Truncated.ToArray(), device.Truncated.ToArray());
            ReadOnlySpan<EpisodeRecord> records = cpu.Episodes.Records;
            Assert.Equal(records.Length, device.Episodes.Count);
            for (int e = 0; e < records.Length; e++)
            {
                Assert.Equal(records[e].Lane, device.Episodes[e].Lane);
                Assert.Equal(records[e].Length, device.Episodes[e].Length);
                Assert.Equal(records[e].Return, device.Episodes[e].Return);
            }
            episodes += records.Length;
            cpu.Episodes.Clear();
        }
        Assert.True(episodes > lanes, $"only {episodes} episodes ended; the test should cross many auto-resets");
    }
}
