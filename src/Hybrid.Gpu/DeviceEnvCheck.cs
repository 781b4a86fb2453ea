using System.Globalization;
using Hybrid.Envs;
using Hybrid.Envs.Checking;

namespace Hybrid.Gpu;

/// <summary>
/// Checks a device env against the CPU env lane for lane: the same seed and the same random actions, over more steps
/// than an episode's time limit, so every lane crosses auto-resets. Resets draw from the same per-lane streams and steps
/// do the same arithmetic, so observations and rewards agree within the reference tolerance, flags and episodes exactly.
/// </summary>
public static class DeviceEnvCheck
{
    /// <summary>Disagreements reported in full; the rest are counted.</summary>
    public const int MaxReported = 10;

    /// <summary>Steps <paramref name="lanes"/> lanes of <paramref name="envId"/> on <paramref name="device"/> and on the CPU; returns the disagreements (empty: they agree).</summary>
    /// <exception cref="ArgumentException">The env has no device kernels.</exception>
    public static IReadOnlyList<string> CompareWithCpu(IlgpuDevice device, string envId, int lanes = 37, ulong seed = 7) =>
        CompareWithCpu(device, envId, lanes, seed, seed);

    /// <summary>As above with the CPU env seeded apart (tests show the check fails when the lanes differ).</summary>
    internal static IReadOnlyList<string> CompareWithCpu(IlgpuDevice device, string envId, int lanes, ulong seed, ulong cpuSeed)
    {
        ArgumentNullException.ThrowIfNull(device);
        using IDeviceLanes onDevice = DeviceEnvs.Open(device, envId, lanes);
        VectorEnv cpu = EnvRegistry.Make(envId, lanes);
        // The lanes are the tail of a larger env (first lane 3), as a thread's share would be.
        onDevice.Reset(seed, 3);
        cpu.Reset(cpuSeed, 3);
        // Past the time limit for classic control. MinAtar's is 108,000 steps; its games end far sooner (Freeway's
        // after exactly 2,501 steps), so it runs 600 steps and on until as many episodes as lanes have ended.
        bool minAtar = EnvRegistry.IsMinAtar(envId);
        int steps = minAtar ? 600 : Math.Max(400, cpu.Spec.MaxEpisodeSteps + 20), most = minAtar ? 3_000 : steps;
        var problems = new List<string>();
        int failures = 0;
        void Fail(string what)
        {
            if (++failures <= MaxReported) problems.Add(what);
        }
        var random = new Random(5);
        var actions = new int[lanes];
        var box = new float[lanes * cpu.Spec.ActionSpace.Size];
        int episodes = 0;
        for (int s = 0; s < steps || (s < most && episodes < lanes); s++)
        {
            if (cpu.Spec.ActionSpace is DiscreteSpace discrete)
            {
                for (int i = 0; i < lanes; i++) actions[i] = random.Next(discrete.N);
                onDevice.Step(actions);
                cpu.Step(actions);
            }
            else
            {
                // Past the bounds too: the envs clip what they execute and charge the action as drawn.
                for (int i = 0; i < box.Length; i++) box[i] = (float)(random.NextDouble() * 6 - 3);
                onDevice.Step(box);
                cpu.Step(box);
            }
            for (int k = 0; k < cpu.Observations.Length; k++)
                if (!ReferenceCheck.WithinTolerance(onDevice.Observations[k], cpu.Observations[k]))
                    Fail(Text($"step {s}, lane {k / cpu.ObservationSize}, obs[{k % cpu.ObservationSize}]: device {onDevice.Observations[k]:R}, cpu {cpu.Observations[k]:R}"));
            for (int i = 0; i < lanes; i++)
            {
                if (!ReferenceCheck.WithinTolerance(onDevice.Rewards[i], cpu.Rewards[i]))
                    Fail(Text($"step {s}, lane {i}: reward device {onDevice.Rewards[i]:R}, cpu {cpu.Rewards[i]:R}"));
                if (onDevice.Terminated[i] != cpu.Terminated[i] || onDevice.Truncated[i] != cpu.Truncated[i])
                    Fail(Text($"step {s}, lane {i}: terminated/truncated device {onDevice.Terminated[i]}/{onDevice.Truncated[i]}, cpu {cpu.Terminated[i]}/{cpu.Truncated[i]}"));
            }
            ReadOnlySpan<EpisodeRecord> records = cpu.Episodes.Records;
            if (records.Length != onDevice.Episodes.Count) Fail(Text($"step {s}: {onDevice.Episodes.Count} episodes ended on the device, {records.Length} on the cpu"));
            else
                for (int e = 0; e < records.Length; e++)
                {
                    var d = onDevice.Episodes[e];
                    if (d.Lane != records[e].Lane || d.Length != records[e].Length || Math.Abs(d.Return - records[e].Return) > 1e-3 + 1e-4 * Math.Abs(records[e].Return))
                        Fail(Text($"step {s}: episode of lane {records[e].Lane} (return {records[e].Return}, length {records[e].Length}) is lane {d.Lane} (return {d.Return}, length {d.Length}) on the device"));
                }
            episodes += records.Length;
            cpu.Episodes.Clear();
        }
        if (episodes < lanes) Fail($"only {episodes} episodes ended in {Math.Max(steps, most)} steps of {lanes} lanes; the check should cross auto-resets");
        if (failures > MaxReported) problems.Add($"... and {failures - MaxReported} more disagreements");
        return problems;
    }

    static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
