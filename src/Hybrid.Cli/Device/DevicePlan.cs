using System.Globalization;
using System.Text;
using Hybrid.Cli.Train;
using Hybrid.Gpu;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;

namespace Hybrid.Cli.Device;

/// <summary>
/// <c>hybrid devicecheck --plan [--config FILE] [--device D]</c>: the cost model of A2C's device kernels for a config
/// (launch shape, bytes moved, multiply-adds and the roofline estimate on an H200 and an A100, per kernel and per
/// update), and, where a device opens, each kernel timed on its own beside the estimate.
/// </summary>
internal static class DevicePlan
{
    /// <summary>Seconds each timed loop runs for.</summary>
    const double SecondsPerKernel = 0.25;

    /// <summary>Lanes of the env-stepping row (the figure the GPU check's 10G lane-steps/s target is set at).</summary>
    const int EnvLanes = 1 << 20;

    /// <summary>Prints the plan; returns the exit code (2 for a config the plan cannot cover).</summary>
    public static int Run(string? configFile, string device, bool deviceGiven, bool json, TextWriter output, TextWriter error)
    {
        List<A2cConfig> configs;
        try
        {
            configs = configFile is null
                ? [new A2cConfig { Lanes = new() { NumEnvs = 4096 } }, new A2cConfig { Lanes = new() { NumEnvs = 65536 } }]
                : [(A2cConfig)TrainCommand.Resolve("a2c", configFile, [], usePreset: false, out _)];
            foreach (A2cConfig c in configs) CostModel.A2cUpdate(c);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException)
        {
            string message = ErrorText.Of(e);
            error.WriteLine(message.Contains("but --algo is 'a2c'", StringComparison.Ordinal)
                ? $"devicecheck --plan: the plan covers A2C's device kernels; {message.Replace(" but --algo is 'a2c'", "", StringComparison.Ordinal)}, not a2c."
                : $"devicecheck --plan: {message}");
            return 2;
        }
        IlgpuComputeDevice? onDevice = null;
        if (deviceGiven || device == "auto")
        {
            try
            {
                onDevice = GpuDevices.Instance.Open(device, deviceGiven ? error.WriteLine : null) as IlgpuComputeDevice;
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"devicecheck --plan: {ErrorText.Of(e)}");
                return 2;
            }
        }
        if (onDevice is null && !json)
            output.WriteLine("No GPU here: estimates only (--device ilgpu-cpu times the kernels on ILGPU's CPU accelerator).");
        foreach (A2cConfig config in configs)
        {
            IReadOnlyList<KernelCost> costs = CostModel.A2cUpdate(config);
            IReadOnlyList<(string Kernel, double Milliseconds, int Launches)>? measured = onDevice is null ? null
                : KernelTiming.A2cUpdate(onDevice, config with { Compute = new() { Device = DeviceInfo.Parse(onDevice.Info.Kind) } }, SecondsPerKernel);
            output.Write(json ? Json(config, costs, measured, onDevice) : Table(config, costs, measured, onDevice));
        }
        KernelCost step = CostModel.EnvStep(configs[0].Env, EnvLanes);
        (double Milliseconds, int Launches)? stepMeasured = onDevice is null ? null : KernelTiming.EnvStep(onDevice, configs[0].Env, EnvLanes, SecondsPerKernel);
        output.Write(json ? EnvJson(configs[0].Env, step, stepMeasured, onDevice) : EnvTable(configs[0].Env, step, stepMeasured, onDevice));
        return 0;
    }

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string Table(A2cConfig config, IReadOnlyList<KernelCost> costs, IReadOnlyList<(string Kernel, double Milliseconds, int Launches)>? measured, IlgpuComputeDevice? device)
    {
        long samples = (long)config.Lanes.NumEnvs * config.TMax;
        var text = new StringBuilder();
        int parameters = CostModel.Parameters(config);
        text.AppendLine(string.Create(Inv, $"plan: a2c on {config.Env}, {config.Lanes.NumEnvs:N0} lanes x t_max {config.TMax} = {samples:N0} samples per update, {parameters:N0} parameters"));
        IReadOnlyList<string> launches = CostModel.A2cLaunches(config, GpuSpec.H200);
        text.AppendLine(string.Create(Inv, $"  {"kernel",-28} {"launch on an H200",-52} {"MB moved",9} {"M mult-adds",12} {"H200 ms",13} {"A100 ms",13}{(measured is null ? "" : $" {"measured ms",12}")}"));
        for (int i = 0; i < costs.Count; i++)
        {
            KernelCost c = costs[i];
            text.Append(string.Create(Inv, $"  {c.Kernel,-28} {launches[i],-52} {c.Bytes / 1e6,9:F1} {c.MultiplyAdds / 1e6,12:F1} {$"{c.Milliseconds(GpuSpec.H200):F3} {Short(c.Bound(GpuSpec.H200))}",13} {$"{c.Milliseconds(GpuSpec.A100):F3} {Short(c.Bound(GpuSpec.A100))}",13}"));
            if (measured is not null) text.Append(string.Create(Inv, $" {measured[i].Milliseconds,12:F3}"));
            text.AppendLine();
        }
        double h200 = costs.Sum(c => c.Milliseconds(GpuSpec.H200)), a100 = costs.Sum(c => c.Milliseconds(GpuSpec.A100));
        text.Append(string.Create(Inv, $"  {"update",-28} {"",-52} {costs.Sum(c => c.Bytes) / 1e6,9:F1} {costs.Sum(c => c.MultiplyAdds) / 1e6,12:F1} {h200,13:F3} {a100,13:F3}"));
        if (measured is not null) text.Append(string.Create(Inv, $" {measured[^1].Milliseconds,12:F3}"));
        text.AppendLine();
        text.Append(string.Create(Inv, $"  estimated env steps/s: H200 {samples / h200 * 1e3 / 1e6:N1}M, A100 {samples / a100 * 1e3 / 1e6:N1}M"));
        if (measured is not null) text.Append(string.Create(Inv, $"; measured on {device!.Info.Kind} ({device.Info.Name}): {samples / measured[^1].Milliseconds * 1e3 / 1e6:N2}M"));
        text.AppendLine(" (bounds: mem = memory, alu = arithmetic, lds = on-chip loads; 4 us per launch added)");
        return text.ToString();
    }

    static string Short(string bound) => bound switch { "memory" => "mem", "arithmetic" => "alu", _ => "lds" };

    static string EnvTable(string env, KernelCost step, (double Milliseconds, int Launches)? measured, IlgpuComputeDevice? device)
    {
        double perLane = step.Bytes / EnvLanes;
        string line = string.Create(Inv,
            $"env step: {env}, {EnvLanes:N0} lanes, {perLane:F0} bytes per lane-step: estimated H200 {EnvLanes / step.Milliseconds(GpuSpec.H200) * 1e3 / 1e9:N1}G lane-steps/s, A100 {EnvLanes / step.Milliseconds(GpuSpec.A100) * 1e3 / 1e9:N1}G");
        if (measured is { } m) line += string.Create(Inv, $"; measured on {device!.Info.Kind}: {EnvLanes / m.Milliseconds * 1e3 / 1e9:N3}G ({m.Milliseconds:F3} ms per step)");
        return line + Environment.NewLine;
    }

    static string Json(A2cConfig config, IReadOnlyList<KernelCost> costs, IReadOnlyList<(string Kernel, double Milliseconds, int Launches)>? measured, IlgpuComputeDevice? device)
    {
        var text = new StringBuilder();
        for (int i = 0; i <= costs.Count; i++)
        {
            bool total = i == costs.Count;
            string kernel = total ? "update" : costs[i].Kernel;
            double bytes = total ? costs.Sum(c => c.Bytes) : costs[i].Bytes, macs = total ? costs.Sum(c => c.MultiplyAdds) : costs[i].MultiplyAdds;
            double h200 = total ? costs.Sum(c => c.Milliseconds(GpuSpec.H200)) : costs[i].Milliseconds(GpuSpec.H200);
            double a100 = total ? costs.Sum(c => c.Milliseconds(GpuSpec.A100)) : costs[i].Milliseconds(GpuSpec.A100);
            string time = measured is null ? "null" : measured[i].Milliseconds.ToString("0.####", Inv);
            text.AppendLine(string.Create(Inv,
                $"{{\"check\":\"plan\",\"env\":\"{config.Env}\",\"num_envs\":{config.Lanes.NumEnvs},\"t_max\":{config.TMax},\"kernel\":\"{kernel}\",\"bytes\":{bytes:0},\"multiply_adds\":{macs:0},\"h200_ms\":{h200:0.####},\"a100_ms\":{a100:0.####},\"device\":{(device is null ? "null" : $"\"{device.Info.Kind}\"")},\"measured_ms\":{time}}}"));
        }
        return text.ToString();
    }

    static string EnvJson(string env, KernelCost step, (double Milliseconds, int Launches)? measured, IlgpuComputeDevice? device) =>
        string.Create(Inv,
            $"{{\"check\":\"plan\",\"env\":\"{env}\",\"num_envs\":{EnvLanes},\"kernel\":\"EnvKernels.Step\",\"bytes\":{step.Bytes:0},\"h200_ms\":{step.Milliseconds(GpuSpec.H200):0.####},\"a100_ms\":{step.Milliseconds(GpuSpec.A100):0.####},\"device\":{(device is null ? "null" : $"\"{device.Info.Kind}\"")},\"measured_ms\":{(measured is { } m ? m.Milliseconds.ToString("0.####", Inv) : "null")}}}")
        + Environment.NewLine;
}
