using Hybrid.Training.Devices;

namespace Hybrid.Training.Algorithms;

/// <summary>The algorithms by name: their default configs, and one entry point that trains any of them.</summary>
public static class Trainer
{
    /// <summary>Algorithm names, as the command line takes them.</summary>
    public static IReadOnlyList<string> Algorithms { get; } = ["a2c", "a3c", "q1", "sarsa1", "qn", "impala", "ga3c", "hybrid"];

    /// <summary>The default config of <paramref name="algo"/>.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Algorithms"/>.</exception>
    public static AlgoConfig DefaultConfig(string algo) => algo switch
    {
        "a2c" => new A2cConfig(),
        "a3c" => new A3cConfig(),
        "q1" => new AsyncQConfig(AsyncQMethod.OneStepQ),
        "sarsa1" => new AsyncQConfig(AsyncQMethod.OneStepSarsa),
        "qn" => new AsyncQConfig(AsyncQMethod.NStepQ),
        "impala" => new ImpalaConfig(),
        "ga3c" => new Ga3cConfig(),
        "hybrid" => new HybridConfig(),
        _ => throw new ArgumentException($"algo '{algo}' is unknown; expected one of {string.Join(", ", Algorithms)}.", nameof(algo)),
    };

    /// <summary>
    /// Trains with <paramref name="config"/> (each algorithm validates it first); metrics and the summary go to
    /// <paramref name="monitor"/>. A2C runs on <paramref name="device"/> (the device its config names, opened by the
    /// caller before the monitor's clock starts, so that compiling kernels is not counted as training), or when it is
    /// null on the device <see cref="CpuOnlyDevices"/> opens for the config: the CPU.
    /// </summary>
    public static RunSummary Train(AlgoConfig config, RunMonitor monitor, IComputeDevice? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config switch
        {
            A2cConfig a2c => A2c.Train(a2c, monitor, device ?? CpuOnlyDevices.Instance.Open(a2c.Device, null)),
            A3cConfig a3c => A3c.Train(a3c, monitor),
            AsyncQConfig q => AsyncQ.Train(q, monitor),
            ImpalaConfig impala => Impala.Train(impala, monitor, device ?? CpuOnlyDevices.Instance.Open(impala.Device, null)),
            Ga3cConfig ga3c => Ga3c.Train(ga3c, monitor, device ?? CpuOnlyDevices.Instance.Open(ga3c.Device, null)),
            HybridConfig hybrid => HybridRegime.Train(hybrid, monitor, device ?? CpuOnlyDevices.Instance.Open(hybrid.Device, null)),
            _ => throw new ArgumentException($"config of type {config.GetType().Name} has no trainer.", nameof(config)),
        };
    }
}
