using Hybrid.Envs;
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
    public IComputeDevice Open(DeviceKind kind, Action<string>? note)
    {
        lock (_gate)
            return kind switch
            {
                DeviceKind.Cpu => CpuDevice.Instance,
                DeviceKind.IlgpuCpu => Named(_cpuAccelerator ??= new IlgpuComputeDevice(IlgpuDevice.OpenCpuAccelerator()), note)!,
                DeviceKind.Cuda => Named(Cuda(), note) ?? throw new ArgumentException($"device 'cuda': {_cudaMissing}. Use --device auto or cpu."),
                _ => throw new ArgumentException("device auto is DeviceChoice's to decide; open a named device."),
            };
    }

    /// <inheritdoc/>
    public IComputeDevice? TryOpenGpu(Action<string>? note, out string missing)
    {
        lock (_gate)
        {
            IComputeDevice? cuda = Named(Cuda(), note);
            missing = _cudaMissing ?? "";
            return cuda;
        }
    }

    /// <summary>The device <paramref name="choice"/> names (auto: the GPU if there is one, else the CPU, saying why), for the tools that take a --device of their own.</summary>
    /// <exception cref="ArgumentException">The choice is unknown, or the device named is absent.</exception>
    public IComputeDevice Open(string choice, Action<string>? note) => DeviceChoice.Choose(this, DeviceInfo.Parse(choice), null, note);

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
                $"A2C's kernels compiled in {device.CompileSeconds:F2} s (what a run needs beyond them compiles before its clock starts)");
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

    /// <summary>
    /// Compiles what the work needs beyond A2C's kernels, before the run's clock starts: for MinAtar's A2C stream (the
    /// games' steps, the convolution's kernels, the composed rollout's) by opening a one-lane stream of the config's
    /// network, whose kernels the run's stream then finds cached; for a predictor or a learner, the forward pass and
    /// V-trace. The seconds count in <see cref="CompileSeconds"/>.
    /// </summary>
    public void Prepare(DeviceWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        switch (work)
        {
            case DeviceWork.A2cStream a2c when EnvRegistry.IsMinAtar(a2c.Config.Env):
                Timed(() =>
                {
                    using var stream = new IlgpuA2cStream(Device, Kernels, a2c.Config with { Lanes = new() { NumEnvs = 1 } }, a2c.Spec);
                    return stream.Threads;
                });
                break;
            case DeviceWork.Learner:
                _ = _predict.Value;
                _ = _vtrace.Value;
                break;
            case DeviceWork.Policy:
                _ = _predict.Value;
                break;
        }
    }

    /// <inheritdoc/>
    public string? CannotRun(DeviceWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        try
        {
            switch (work)
            {
                case DeviceWork.A2cStream a2c: IlgpuA2cStream.Check(Info.Kind, a2c.Config, a2c.Spec); break;
                case DeviceWork.Learner learner: IlgpuUnrollLearner.Check(Info.Kind, learner.Spec, learner.Shape); break;
                case DeviceWork.Policy policy: IlgpuBatchPolicy.Check(Info.Kind, policy.Spec); break;
            }
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    readonly Lazy<PredictKernel> _predict;
    readonly Lazy<Action<Index1D, int, RolloutViews, VTraceViews>> _vtrace;
}
