namespace Hybrid.Training.Devices;

/// <summary>Where a run's synchronous stream ran, as summary.json and the report name it.</summary>
/// <param name="Kind"><c>cpu</c> (Hybrid's SIMD kernels), <c>cuda</c> (ILGPU on an NVIDIA GPU) or <c>ilgpu-cpu</c> (the device kernels on ILGPU's CPU accelerator).</param>
/// <param name="Name">The processor's name as its runtime reports it.</param>
/// <param name="MemoryBytes">The device's memory (the process's available memory for the CPU).</param>
public sealed record DeviceInfo(string Kind, string Name, long MemoryBytes)
{
    /// <summary>The device choices <c>--device</c> takes.</summary>
    public static IReadOnlyList<string> Choices { get; } = ["auto", "cpu", "cuda", "ilgpu-cpu"];

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
