using Hybrid.Envs;
using Hybrid.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// Env lanes stepped in ILGPU kernels, their buffers on the device. As an <see cref="IVectorLanes"/> every host call
/// (reset, set state, step) copies what the contract shows back to the host, so the CPU envs' checks run on it
/// unchanged; <see cref="DeviceLanes.StepRandom"/> steps on the device alone, as a trainer or a benchmark does.
/// </summary>
public sealed class DeviceVectorEnv : DeviceLanes
{
    readonly MemoryBuffer1D<float, Stride1D.Dense> _state, _actions;
    readonly Action<Index1D, int, EnvLanes, ArrayView<float>, int> _reset, _observe;
    readonly Action<KernelConfig, EnvLanes, StepOutputs> _step;
    readonly float[] _hostState, _hostActions;
    readonly int _stateSize;

    /// <summary><paramref name="lanes"/> lanes of <paramref name="envId"/> on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The env has no device kernels, or lanes is not positive.</exception>
    public DeviceVectorEnv(IlgpuDevice device, string envId, int lanes) : base(device, EnvRegistry.Spec(envId), lanes)
    {
        Kind = DeviceEnvs.Kind(envId);
        _stateSize = EnvDynamics.StateSize(Kind);
        Accelerator a = device.Accelerator;
        _state = a.Allocate1D<float>(_stateSize * lanes);
        _actions = a.Allocate1D<float>(lanes);
        _reset = a.LoadAutoGroupedStreamKernel<Index1D, int, EnvLanes, ArrayView<float>, int>(EnvKernels.Reset);
        _observe = a.LoadAutoGroupedStreamKernel<Index1D, int, EnvLanes, ArrayView<float>, int>(EnvKernels.ObserveAll);
        _step = a.LoadStreamKernel<EnvLanes, StepOutputs>(EnvKernels.Step);
        (_hostState, _hostActions) = (new float[_stateSize * lanes], new float[lanes]);
    }

    /// <summary>The device env kind.</summary>
    public DeviceEnvKind Kind { get; }


    /// <summary>The lanes' state as kernels take it.</summary>
    internal EnvLanes Lanes => new()
    {
        State = _state.View, Elapsed = _elapsed.View, Returns = _returns.View, RandomState = _randomState.View, RandomStep = _randomStep.View,
        Lanes = NumEnvs, Kind = (int)Kind, MaxSteps = Spec.MaxEpisodeSteps,
    };

    /// <inheritdoc/>
    public override void Reset(ulong seed, int firstLane)
    {
        SeedStreams(seed, firstLane);
        Reset();
    }

    private protected override void LaunchReset() =>
        _reset(_device.ThreadsFor(NumEnvs), _device.ThreadsFor(NumEnvs), Lanes, _obs.View, Spec.ObservationSize);

    private protected override void LaunchObserve() =>
        _observe(_device.ThreadsFor(NumEnvs), _device.ThreadsFor(NumEnvs), Lanes, _obs.View, Spec.ObservationSize);

    /// <inheritdoc/>
    public override void SetState(int lane, ReadOnlySpan<double> state, int elapsedSteps) =>
        WriteLaneState(_state, _hostState, lane, state, elapsedSteps, static v => (float)v);

    /// <inheritdoc/>
    public override void GetState(int lane, Span<double> destination) => ReadLaneState(_state, _hostState, lane, destination, static v => v);

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<int> actions)
    {
        if (Spec.ActionSpace is not DiscreteSpace space) throw new InvalidOperationException($"{Spec.Id} takes box actions; call Step(ReadOnlySpan<float>).");
        if (actions.Length != NumEnvs) throw new ArgumentException($"actions has {actions.Length} values; expected {NumEnvs} (one per lane).", nameof(actions));
        for (int i = 0; i < NumEnvs; i++)
        {
            if (!space.Contains(actions[i])) throw new ArgumentOutOfRangeException(nameof(actions), actions[i], $"lane {i}: action {actions[i]} is not in {space}.");
            _hostActions[i] = actions[i];
        }
        StepHost();
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<float> actions)
    {
        if (Spec.IsDiscrete) throw new InvalidOperationException($"{Spec.Id} takes discrete actions; call Step(ReadOnlySpan<int>).");
        if (actions.Length != NumEnvs * Spec.ActionSpace.Size)
            throw new ArgumentException($"actions has {actions.Length} values; expected {NumEnvs * Spec.ActionSpace.Size}.", nameof(actions));
        actions.CopyTo(_hostActions);
        StepHost();
    }

    void StepHost()
    {
        RequireSeeded("Step");
        _actions.CopyFromCPU(_hostActions);
        _episodeCount.MemSetToZero();
        Launch(random: false, step: 0);
        Download();
        DrainEpisodes();
    }

    private protected override void LaunchRandomStep(int step) => Launch(random: true, step);

    void Launch(bool random, int step)
    {
        var outputs = new StepOutputs
        {
            Observations = _obs.View, FinalObservations = _finalObs.View, Rewards = _rewards.View, Terminated = _terminated.View,
            Truncated = _truncated.View, Actions = _actions.View, ActionState = _actionState.View, ActionStep = _actionStep.View,
            Episodes = _episodes.View, EpisodeCount = _episodeCount.View, ObservationSize = Spec.ObservationSize, AutoReset = AutoReset ? 1 : 0,
            RandomActions = random ? 1 : 0, AggregateAtomics = _device.AggregateAtomics ? 1 : 0, ActionCount = Spec.ActionSpace is DiscreteSpace d ? d.N : 0, Step = step,
            ActionLow = Spec.ActionSpace is BoxSpace box ? box.Low[0] : 0f, ActionHigh = Spec.ActionSpace is BoxSpace high ? high.High[0] : 0f,
        };
        // A group per consecutive run of lanes, as many groups as the device keeps resident (the kernel strides over the rest).
        int group = _device.Group, groups = (int)Math.Min((NumEnvs + group - 1) / group, Math.Max(1, _device.Threads / group));
        _step(new KernelConfig(groups, group), Lanes, outputs);
    }

    /// <inheritdoc/>
    private protected override IEnumerable<MemoryBuffer> OwnBuffers => [_state, _actions];

    /// <inheritdoc/>
    private protected override void SaveState(BinaryWriter writer) => Write(writer, _state);

    /// <inheritdoc/>
    private protected override void LoadState(BinaryReader reader) => Read(reader, _state, "env state");
}

/// <summary>Which registered envs have device kernels.</summary>
public static class DeviceEnvs
{
    /// <summary>
    /// <paramref name="lanes"/> device lanes of <paramref name="envId"/>: a MinAtar game's (with <paramref name="options"/>,
    /// or the defaults) or a classic-control task's.
    /// </summary>
    /// <exception cref="ArgumentException">The env has no device kernels.</exception>
    public static DeviceLanes Open(IlgpuDevice device, string envId, int lanes, Hybrid.Envs.MinAtar.MinAtarOptions? options = null) =>
        EnvRegistry.IsMinAtar(envId) ? new DeviceMinAtarEnv(device, envId, lanes, options) : new DeviceVectorEnv(device, envId, lanes);

    /// <summary>Throws unless <paramref name="envId"/> has device kernels (a classic-control task or a MinAtar game), before anything is opened.</summary>
    /// <exception cref="ArgumentException">It has none; the message lists those that do.</exception>
    public static void Require(string envId)
    {
        if (EnvRegistry.IsMinAtar(envId)) DeviceMinAtarEnv.GameOf(envId, out _, out _);
        else Kind(envId);
    }

    /// <summary>The env ids the device path steps.</summary>
    public static IReadOnlyList<string> Supported { get; } = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"];

    /// <summary>The kernel kind of <paramref name="envId"/>.</summary>
    /// <exception cref="ArgumentException">The env has no device kernels.</exception>
    public static DeviceEnvKind Kind(string envId) => envId switch
    {
        "CartPole-v1" => DeviceEnvKind.CartPole,
        "Acrobot-v1" => DeviceEnvKind.Acrobot,
        "MountainCar-v0" => DeviceEnvKind.MountainCar,
        "MountainCarContinuous-v0" => DeviceEnvKind.MountainCarContinuous,
        "Pendulum-v1" => DeviceEnvKind.Pendulum,
        _ => throw new ArgumentException($"env '{envId}' has no device kernels; the device path steps {string.Join(", ", Supported)}. Use --device cpu."),
    };
}
