using System.Reflection;
using System.Runtime.InteropServices;
using Hybrid.Training.Devices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Hybrid.Gpu;

/// <summary>
/// An ILGPU accelerator Hybrid's kernels run on: an NVIDIA GPU through CUDA, or ILGPU's CPU accelerator, which runs the
/// same kernels on any machine (how the tests check them without a GPU). Kernels are grid-stride loops: a launch of
/// <see cref="Threads"/> threads (fewer for small work) walks any number of elements.
/// </summary>
public sealed class IlgpuDevice : IDisposable
{
    static int _resolverSet;

    IlgpuDevice(Context context, Accelerator accelerator, DeviceInfo info, int threads)
    {
        Context = context;
        Accelerator = accelerator;
        Info = info;
        Threads = threads;
        Group = GroupFor(accelerator);
    }

    /// <summary>Threads per group of the explicitly grouped kernels: 256 where the accelerator allows (a GPU), else its largest power of two (4 on the CPU accelerator).</summary>
    public int Group { get; }

    /// <summary>
    /// Whether the device runs the kernels that share work through shared memory and group barriers (the gradient's
    /// tiles, the convolution's tiled kernels): groups of 32 threads or more, a GPU's. ILGPU's CPU accelerator, whose
    /// barriers are operating-system thread switches, runs their plain equivalents, which add the same terms in the same order.
    /// </summary>
    public bool SharedMemoryKernels => Group >= 32;

    /// <summary>Whether kernels take one episode-counter atomic per warp (on a GPU) rather than one per episode (the CPU accelerator, where a warp shuffle costs more).</summary>
    public bool AggregateAtomics { get; internal set; }

    /// <summary>The group size for <paramref name="accelerator"/> (see <see cref="Group"/>).</summary>
    static int GroupFor(Accelerator accelerator)
    {
        int group = Kernels.GradientKernels.MinGroup;
        if (group > accelerator.MaxNumThreadsPerGroup)
            throw new NotSupportedException($"{accelerator.Name} runs at most {accelerator.MaxNumThreadsPerGroup} threads per group; Hybrid's kernels need {group}.");
        while (group * 2 <= Math.Min(256, accelerator.MaxNumThreadsPerGroup)) group *= 2;
        return group;
    }

    /// <summary>The ILGPU context (algorithms enabled).</summary>
    public Context Context { get; }

    /// <summary>The accelerator kernels are loaded on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>Kind, name and memory.</summary>
    public DeviceInfo Info { get; }

    /// <summary>Most threads one grid-stride launch uses.</summary>
    public int Threads { get; }

    /// <summary>Threads the device keeps resident at once (multiprocessors times threads per multiprocessor).</summary>
    public long ResidentThreads => (long)Accelerator.NumMultiprocessors * Accelerator.MaxNumThreadsPerMultiprocessor;

    /// <summary>Threads for a launch over <paramref name="elements"/> elements (at least 1).</summary>
    public int ThreadsFor(long elements) => (int)Math.Clamp(elements, 1, Threads);

    /// <summary>ILGPU's CPU accelerator (always present).</summary>
    public static IlgpuDevice OpenCpuAccelerator()
    {
        // Groups of 4 threads (two warps of 2), a multiprocessor per core: every simulated thread of a group is an OS
        // thread and a group barrier waits for all of them, so small groups keep the grouped kernels' barriers cheap.
        Context context = Context.Create(builder => builder.CPU(new CPUDevice(2, 2, Math.Max(2, Environment.ProcessorCount))).EnableAlgorithms());
        try
        {
            // Parallel mode; a handful of threads per launch: on the CPU accelerator one simulated thread per element
            // is tens of times slower than a grid-stride loop.
            Accelerator accelerator = context.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel);
            var info = new DeviceInfo("ilgpu-cpu", $"ILGPU CPU accelerator on {DeviceInfo.Cpu.Name}", DeviceInfo.Cpu.MemoryBytes);
            return new IlgpuDevice(context, accelerator, info, Math.Max(2, Environment.ProcessorCount) * 4);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>The first CUDA device, or null (with the reason) when there is none or its driver does not load.</summary>
    public static IlgpuDevice? TryOpenCuda(out string reason)
    {
        RegisterCudaResolver();
        Context? context = null;
        try
        {
            context = Context.Create(builder => builder.Cuda().EnableAlgorithms());
            var devices = context.GetCudaDevices();
            if (devices.Count == 0)
            {
                reason = "no CUDA device found (no NVIDIA driver, or no GPU visible to this process)";
                context.Dispose();
                return null;
            }
            CudaDevice device = devices[0];
            Accelerator accelerator = device.CreateAccelerator(context);
            var info = new DeviceInfo("cuda", device.Name, device.MemorySize);
            reason = "";
            // Enough resident threads to fill every multiprocessor.
            return new IlgpuDevice(context, accelerator, info, device.NumMultiprocessors * device.MaxNumThreadsPerMultiprocessor) { AggregateAtomics = true };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or InvalidOperationException
                                      or NotSupportedException or CudaException or BadImageFormatException)
        {
            context?.Dispose();
            reason = $"the CUDA driver did not load ({e.GetType().Name}: {e.Message})";
            return null;
        }
    }

    /// <summary>
    /// ILGPU imports the driver as "cuda"; on Linux the runtime finds libcuda.so, which only the CUDA toolkit installs,
    /// and reports no device when only the driver's libcuda.so.1 exists. Map the name to libcuda.so.1 when that loads.
    /// </summary>
    static void RegisterCudaResolver()
    {
        if (Interlocked.Exchange(ref _resolverSet, 1) == 1 || !OperatingSystem.IsLinux()) return;
        NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, static (string name, Assembly assembly, DllImportSearchPath? path) =>
        {
            if (name != "cuda" && name != "libcuda") return IntPtr.Zero;
            foreach (string candidate in new[] { "libcuda.so.1", "libcuda.so" })
                if (NativeLibrary.TryLoad(candidate, assembly, path, out IntPtr handle)) return handle;
            return IntPtr.Zero;
        });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}
