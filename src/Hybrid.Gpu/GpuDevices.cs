using Hybrid.Gpu.Kernels;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// The devices the command line can train on: the CPU, an NVIDIA GPU through ILGPU's CUDA backend, and ILGPU's CPU
/// accelerator. An ILGPU device is opened once per process and its kernels compiled once, when it is opened.
/// </summary>
public sealed class GpuDevices : IDeviceProvider
{
    readonly object _gate = new();
    IlgpuComputeDevice? _cuda, _cpuAccelerator;
    string? _cudaMissing;

    /// <summary>The process's devices.</summary>
    public static GpuDevices Instance { get; } = new();

    /// <inheritdoc/>
    public IComputeDevice Open(string choice, Action<string>? note)
    {
        lock (_gate)
            switch (choice)
            {
                case "cpu":
                    return CpuDevice.Instance;
                case "ilgpu-cpu":
                    return Named(_cpuAccelerator ??= new IlgpuComputeDevice(IlgpuDevice.OpenCpuAccelerator()), note)!;
                case "cuda":
                    return Named(Cuda(), note) ?? throw new ArgumentException($"device 'cuda': {_cudaMissing}. Use --device auto or cpu.");
                case "auto":
                    IComputeDevice? cuda = Named(Cuda(), note);
                    if (cuda is not null) return cuda;
                    note?.Invoke($"device auto: {_cudaMissing}; training on the CPU (Hybrid's SIMD kernels).");
                    return CpuDevice.Instance;
                default:
                    throw new ArgumentException($"device '{choice}' is unknown; expected one of {string.Join(", ", DeviceInfo.Choices)}.");
            }
    }

    IlgpuComputeDevice? Cuda()
    {
        if (_cuda is not null || _cudaMissing is not null) return _cuda;
        IlgpuDevice? device = IlgpuDevice.TryOpenCuda(out string reason);
        if (device is null)
        {
            _cudaMissing = reason;
            return null;
        }
        return _cuda = new IlgpuComputeDevice(device);
    }

    /// <summary>Says which device each opening gets (and how long its kernels took to compile, when it was first opened).</summary>
    static IlgpuComputeDevice? Named(IlgpuComputeDevice? device, Action<string>? note)
    {
        if (device is not null)
            note?.Invoke($"device {device.Info.Kind}: {device.Info.Name}, {device.Info.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB; " +
                $"A2C's kernels compiled in {device.CompileSeconds:F2} s (the others compile when first used, before the run's clock starts)");
        return device;
    }
}

/// <summary>An ILGPU accelerator as a training device: A2C's kernels compiled on it once.</summary>
public sealed class IlgpuComputeDevice : IComputeDevice
{
    internal IlgpuComputeDevice(IlgpuDevice device)
    {
        Device = device;
        Kernels = new A2cKernels(device);
        _predict = new(() => Timed(() => new PredictKernel(device.Accelerator, Kernels.Group, device.ResidentThreads)));
        _vtrace = new(() => Timed(() => device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, RolloutViews, VTraceViews>(ActorCriticKernels.VTrace)));
    }

    /// <summary>The accelerator.</summary>
    public IlgpuDevice Device { get; }

    internal A2cKernels Kernels { get; }

    /// <summary>Seconds the kernels compiled so far took: A2C's (when the device opened), then any compiled when first used.</summary>
    public double CompileSeconds => Kernels.CompileSeconds + Volatile.Read(ref _laterCompileSeconds);

    double _laterCompileSeconds;

    T Timed<T>(Func<T> compile)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        T kernel = compile();
        double seconds = clock.Elapsed.TotalSeconds, seen;
        do seen = Volatile.Read(ref _laterCompileSeconds);
        while (Interlocked.CompareExchange(ref _laterCompileSeconds, seen + seconds, seen) != seen);
        return kernel;
    }

    /// <inheritdoc/>
    public DeviceInfo Info => Device.Info;

    /// <inheritdoc/>
    public ISyncStream OpenA2c(A2cConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return new IlgpuA2cStream(Device, Kernels, config);
    }

    /// <inheritdoc/>
    public IBatchPolicy OpenPolicy(ModelSpec spec, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        return new IlgpuBatchPolicy(Device, _predict.Value, spec, maxRows);
    }

    /// <inheritdoc/>
    public IUnrollLearner OpenLearner(ModelSpec spec, LearnerShape shape)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new IlgpuUnrollLearner(Device, Kernels, _predict.Value, _vtrace.Value, spec, shape);
    }

    readonly Lazy<PredictKernel> _predict;
    readonly Lazy<Action<Index1D, int, RolloutViews, VTraceViews>> _vtrace;
}
