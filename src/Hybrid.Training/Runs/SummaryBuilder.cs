using System.Reflection;
using System.Runtime.InteropServices;
using Hybrid.Training.Metrics;

namespace Hybrid.Training.Runs;

/// <summary>Builds a run's summary.json from its context: the counters, the solve, the clocks, the machine's load, the device and where and when it ran.</summary>
public static class SummaryBuilder
{
    /// <summary>The summary of <paramref name="run"/> as things stand; <paramref name="device"/> is where it ran (the CPU if null).</summary>
    public static RunSummary Build(RunContext run, int threads, int numEnvs, Devices.DeviceInfo? device)
    {
        ArgumentNullException.ThrowIfNull(run);
        device ??= Devices.DeviceInfo.Cpu;
        var config = run.Config;
        double seconds = run.Clock.Seconds, cpu = run.Clock.CpuSeconds, evalSeconds = run.Clock.EvalSeconds;
        MachineLoad load = run.Metrics.Load.Finish(config.Threads + config.HelperThreads);
        StopPolicy stop = run.Stop;
        long steps = run.Metrics.EnvSteps;
        (double? lagMean, long? lagMax) = run.Metrics.PolicyLag;
        return new RunSummary(config.Algo, config.Env, config.Seed, device.Kind, threads, numEnvs, steps, run.Metrics.Updates, seconds,
            steps / Math.Max(seconds, 1e-9), stop.Threshold, stop.Solved, config.SolveCriterion, stop.SolvedAtSteps,
            stop.SolvedAtSeconds, run.Metrics.CriterionMean, run.Metrics.Episodes)
        {
            PolicyLagMean = lagMean,
            PolicyLagMax = lagMax,
            DeviceName = device.Name,
            DeviceMemoryBytes = device.MemoryBytes,
            Status = stop.Status,
            Version = HybridVersion,
            Command = run.Command,
            Machine = $"{Devices.DeviceInfo.Cpu.Name}; {RuntimeInformation.OSDescription}; {RuntimeInformation.FrameworkDescription}",
            Started = run.Clock.Started,
            Ended = RunClock.Timestamp(DateTimeOffset.Now),
            Resumed = run.Segment,
            Runtime = run.Metrics.Telemetry?.Total(seconds),
            CpuSeconds = cpu,
            SolvedAtCpuSeconds = stop.SolvedAtCpuSeconds,
            EvalSeconds = evalSeconds > 0 ? evalSeconds : null,
            Load = load,
        };
    }

    /// <summary>Hybrid's version with the commit it was built from (the SDK adds it when built in a git checkout).</summary>
    public static string HybridVersion { get; } =
        typeof(SummaryBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Replace("1.0.0+", "commit ")
        ?? "(version unknown)";
}
