namespace Hybrid.Training.Devices;

/// <summary>
/// Where device work runs, as the <c>device</c> setting names it: <c>auto</c> (cuda when an NVIDIA GPU is found and can
/// run the work, else the CPU, saying so), <c>cpu</c>, <c>cuda</c> or <c>ilgpu-cpu</c>. <see cref="DeviceChoice"/> turns it
/// into a device, in one place.
/// </summary>
public enum DeviceKind
{
    /// <summary>A GPU where there is one that can run the work; else the CPU.</summary>
    Auto,
    /// <summary>Hybrid's SIMD kernels.</summary>
    Cpu,
    /// <summary>ILGPU on an NVIDIA GPU.</summary>
    Cuda,
    /// <summary>The device kernels on ILGPU's CPU accelerator, for testing them.</summary>
    IlgpuCpu,
}

/// <summary>Where a run's synchronous stream ran, as summary.json and the report name it.</summary>
/// <param name="Kind"><c>cpu</c> (Hybrid's SIMD kernels), <c>cuda</c> (ILGPU on an NVIDIA GPU) or <c>ilgpu-cpu</c> (the device kernels on ILGPU's CPU accelerator).</param>
/// <param name="Name">The processor's name as its runtime reports it.</param>
/// <param name="MemoryBytes">The device's memory (the process's available memory for the CPU).</param>
public sealed record DeviceInfo(string Kind, string Name, long MemoryBytes)
{
    /// <summary>The device choices <c>--device</c> takes, as written.</summary>
    public static IReadOnlyList<string> Choices { get; } = [.. Enum.GetValues<DeviceKind>().Select(NameOf)];

    /// <summary>A kind as the setting writes it (<c>ilgpu-cpu</c>).</summary>
    public static string NameOf(DeviceKind kind) => Config.ConfigBinder.Format(kind);

    /// <summary>Reads a device choice.</summary>
    /// <exception cref="ArgumentException">It is none of <see cref="Choices"/>; the message lists them.</exception>
    public static DeviceKind Parse(string choice)
    {
        ArgumentNullException.ThrowIfNull(choice);
        foreach (DeviceKind kind in Enum.GetValues<DeviceKind>())
            if (NameOf(kind) == choice) return kind;
        throw new ArgumentException($"device '{choice}' is unknown; expected one of {string.Join(", ", Choices)}.");
    }

    /// <summary>The CPU path: Hybrid's own SIMD kernels.</summary>
    public static DeviceInfo Cpu { get; } = new("cpu", $"{CpuModel} ({Environment.ProcessorCount} cores)", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>The CPU model (Linux: /proc/cpuinfo's "model name"), or the architecture.</summary>
    public static string CpuModel
    {
        get
        {
            try
            {
                if (File.Exists("/proc/cpuinfo"))
                    foreach (string line in File.ReadLines("/proc/cpuinfo"))
                        if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
