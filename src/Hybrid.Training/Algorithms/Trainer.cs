using Hybrid.Training.Devices;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// One algorithm as the rest of Hybrid sees it: its name on the command line, its default config (whose type names
/// it), the entry point that trains a config of that type on a device (null for the CPU-only methods, which ignore it),
/// and what it asks of a device.
/// </summary>
/// <param name="Name">The command line's name.</param>
/// <param name="Default">A fresh default config.</param>
/// <param name="Train">Trains a config of this algorithm's type on the device the caller opened, or (null) on the one its config names.</param>
/// <param name="Device">A config's device setting and the work it puts on the device; null for the methods that run on the CPU only.</param>
/// <param name="ThreadSetting">The setting a speedup file varies as the method's thread count: threads, or dyna-q's planning_threads.</param>
public sealed record Algorithm(string Name, Func<AlgoConfig> Default, Func<AlgoConfig, RunContext, IComputeDevice?, RunSummary> Train,
    Func<AlgoConfig, (DeviceKind Kind, DeviceWork Work)>? Device = null, string ThreadSetting = "threads")
{
    /// <summary>The config type (from <see cref="Default"/>).</summary>
    public Type ConfigType { get; } = Default().GetType();
}

/// <summary>The algorithms by name, in one table: their default configs, and one entry point that trains any of them.</summary>
public static class Trainer
{
    /// <summary>
    /// Every algorithm, in the order the command line lists them. A new algorithm is one row here (its config type and
    /// its Train), plus its presets if it has any; the CLI, compare and speedup find it through this table.
    /// </summary>
    public static IReadOnlyList<Algorithm> Registry { get; } =
    [
        new("a2c", () => new A2cConfig(), (c, m, d) => A2c.Train((A2cConfig)c, m, d ?? Default(c)),
            c => (((A2cConfig)c).Compute.Device, new DeviceWork.A2cStream((A2cConfig)c))),
        new("a3c", () => new A3cConfig(), (c, m, _) => A3c.Train((A3cConfig)c, m)),
        new("q1", () => new AsyncQConfig(AsyncQMethod.OneStepQ), (c, m, _) => AsyncQ.Train((AsyncQConfig)c, m)),
        new("sarsa1", () => new AsyncQConfig(AsyncQMethod.OneStepSarsa), (c, m, _) => AsyncQ.Train((AsyncQConfig)c, m)),
        new("qn", () => new AsyncQConfig(AsyncQMethod.NStepQ), (c, m, _) => AsyncQ.Train((AsyncQConfig)c, m)),
        new("dqn", () => new DqnConfig(), (c, m, _) => Dqn.Train((DqnConfig)c, m)),
        new("dyna-q", () => new DynaQConfig(), (c, m, _) => DynaQ.Train((DynaQConfig)c, m), ThreadSetting: "planning_threads"),
        new("apex", () => new ApexConfig(), (c, m, _) => Apex.Train((ApexConfig)c, m)),
        new("ddpg", () => new DdpgConfig(), (c, m, _) => Ddpg.Train((DdpgConfig)c, m)),
        new("d4pg", () => new D4pgConfig(), (c, m, _) => Ddpg.Train((D4pgConfig)c, m)),
        new("impala", () => new ImpalaConfig(), (c, m, d) => Impala.Train((ImpalaConfig)c, m, d ?? Default(c)),
            c => (((ImpalaConfig)c).Compute.Device, new DeviceWork.Learner(Acting.ActorCriticSpec(c), ((ImpalaConfig)c).LearnerShape))),
        new("ga3c", () => new Ga3cConfig(), (c, m, d) => Ga3c.Train((Ga3cConfig)c, m, d ?? Default(c)),
            c => (((Ga3cConfig)c).Compute.Device, new DeviceWork.Policy(Acting.ActorCriticSpec(c)))),
        new("hybrid", () => new HybridConfig(), (c, m, d) => HybridRegime.Train((HybridConfig)c, m, d ?? Default(c)),
            c => (((HybridConfig)c).Compute.Device, new DeviceWork.A2cStream(((HybridConfig)c).SyncStream))),
    ];

    /// <summary>Algorithm names, as the command line takes them.</summary>
    public static IReadOnlyList<string> Algorithms { get; } = [.. Registry.Select(a => a.Name)];

    /// <summary>The algorithms that also run across processes (<c>hybrid cluster learner</c>): a learner process and actor processes.</summary>
    public static IReadOnlyList<string> ClusterAlgorithms { get; } = ["impala", "apex", "d4pg"];

    /// <summary>Names as a sentence lists them: "a", "a or b", "a, b or c" (with <paramref name="conjunction"/>).</summary>
    public static string Listed(IReadOnlyList<string> names, string conjunction)
    {
        ArgumentNullException.ThrowIfNull(names);
        return names.Count <= 1 ? string.Join("", names) : $"{string.Join(", ", names.Take(names.Count - 1))} {conjunction} {names[^1]}";
    }

    /// <summary>The algorithm named <paramref name="algo"/>.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Algorithms"/>.</exception>
    public static Algorithm Named(string algo) => Registry.FirstOrDefault(a => a.Name == algo)
        ?? throw new ArgumentException($"algo '{algo}' is unknown; expected one of {string.Join(", ", Algorithms)}.", nameof(algo));

    /// <summary>The default config of <paramref name="algo"/>.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Algorithms"/>.</exception>
    public static AlgoConfig DefaultConfig(string algo) => Named(algo).Default();

    /// <summary>
    /// Trains with <paramref name="config"/> (each algorithm validates it first); metrics and the summary go to
    /// <paramref name="run"/>. A2C, IMPALA, GA3C and the hybrid regime run on <paramref name="device"/> (the device
    /// their config names, opened by the caller before the run's clock starts, so that compiling kernels is not
    /// counted as training), or when it is null on the device <see cref="CpuOnlyDevices"/> opens for the config: the CPU.
    /// </summary>
    public static RunSummary Train(AlgoConfig config, RunContext run, IComputeDevice? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Algorithm algorithm = Named(config.Algo);
        if (!algorithm.ConfigType.IsInstanceOfType(config))
            throw new ArgumentException($"config of type {config.GetType().Name} is not {algorithm.Name}'s ({algorithm.ConfigType.Name}).", nameof(config));
        return algorithm.Train(config, run, device);
    }

    /// <summary>The device a caller that opened none gets: the config's choice among the devices Training knows by itself (the CPU).</summary>
    static IComputeDevice Default(AlgoConfig config) => DeviceChoice.For(CpuOnlyDevices.Instance, config, null)!;
}
