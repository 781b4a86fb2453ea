using Hybrid.Envs;
using Hybrid.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>Env lanes on a device, as the checks step them: the vector-env contract, and the episodes each host step finished.</summary>
public interface IDeviceLanes : IVectorLanes, IDisposable
{
    /// <summary>Episodes the last host step finished, in lane order.</summary>
    List<DeviceEpisode> Episodes { get; }
}

/// <summary>
/// What every device env keeps (classic control's and MinAtar's): the buffers of the vector-env contract on the
/// device (observations, final observations, rewards, flags, returns, episode steps, the episode log and each
/// lane's random stream), their host mirrors, and the host side of a step: seeding, copying the contract back,
/// draining the episode log in lane order.
/// </summary>
public abstract class DeviceLanes : IDeviceLanes
{
    private protected readonly IlgpuDevice _device;
    private protected readonly MemoryBuffer1D<float, Stride1D.Dense> _returns, _obs, _finalObs, _rewards;
    private protected readonly MemoryBuffer1D<int, Stride1D.Dense> _elapsed, _terminated, _truncated, _episodeCount;
    private protected readonly MemoryBuffer1D<uint, Stride1D.Dense> _randomState, _randomStep, _actionState, _actionStep;
    private protected readonly MemoryBuffer1D<DeviceEpisode, Stride1D.Dense> _episodes;
    private protected readonly float[] _hostObs, _hostRewards;
    private protected readonly bool[] _hostTerminated, _hostTruncated;
    private protected readonly int[] _hostFlags, _hostElapsed;
    private protected bool _seeded;
    private protected int _stepInLog;

    private protected DeviceLanes(IlgpuDevice device, EnvSpec spec, int lanes)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (lanes < 1) throw new ArgumentOutOfRangeException(nameof(lanes), lanes, $"lanes was {lanes}; expected >= 1.");
        (_device, Spec, NumEnvs) = (device, spec, lanes);
        Accelerator a = device.Accelerator;
        int obs = spec.ObservationSize;
        _returns = a.Allocate1D<float>(lanes);
        _obs = a.Allocate1D<float>((long)lanes * obs);
        _finalObs = a.Allocate1D<float>((long)lanes * obs);
        _rewards = a.Allocate1D<float>(lanes);
        _elapsed = a.Allocate1D<int>(lanes);
        _terminated = a.Allocate1D<int>(lanes);
        _truncated = a.Allocate1D<int>(lanes);
        _episodeCount = a.Allocate1D<int>(1);
        _randomState = a.Allocate1D<uint>(lanes);
        _randomStep = a.Allocate1D<uint>(lanes);
        _actionState = a.Allocate1D<uint>(lanes);
        _actionStep = a.Allocate1D<uint>(lanes);
        // A lane ends at most one episode per step; the log is drained after every host step.
        _episodes = a.Allocate1D<DeviceEpisode>(lanes);
        (_hostObs, _hostRewards) = (new float[lanes * obs], new float[lanes]);
        (_hostTerminated, _hostTruncated, _hostFlags, _hostElapsed) = (new bool[lanes], new bool[lanes], new int[lanes], new int[lanes]);
    }

    /// <inheritdoc/>
    public EnvSpec Spec { get; }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public string SteppedOn => _device.Info.Kind;

    /// <inheritdoc/>
    public bool AutoReset { get; set; } = true;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Observations => _hostObs;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Rewards => _hostRewards;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Terminated => _hostTerminated;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Truncated => _hostTruncated;

    /// <inheritdoc/>
    public List<DeviceEpisode> Episodes { get; } = [];

    /// <inheritdoc/>
    public abstract void Reset(ulong seed, int firstLane);

    /// <inheritdoc/>
    public void Reset()
    {
        if (!_seeded) throw new InvalidOperationException($"{Spec.Id}: Reset() continues the lanes' random streams; seed them first with Reset(seed, firstLane).");
        LaunchReset();
        _terminated.MemSetToZero();
        _truncated.MemSetToZero();
        _rewards.MemSetToZero();
        OnReset();
        Download();
    }

    /// <summary>Launches the env's reset kernel: every lane a new episode from its stream, and its first observation.</summary>
    private protected abstract void LaunchReset();

    /// <summary>Launches the kernel that writes every lane's observation from its state.</summary>
    private protected abstract void LaunchObserve();

    /// <summary>What a derived env clears at a reset besides the contract's flags.</summary>
    private protected virtual void OnReset() { }

    /// <inheritdoc/>
    public abstract void SetState(int lane, ReadOnlySpan<double> state, int elapsedSteps);

    /// <inheritdoc/>
    public abstract void GetState(int lane, Span<double> destination);

    /// <summary>
    /// Writes <paramref name="values"/> as lane <paramref name="lane"/>'s state variables into <paramref name="state"/>
    /// (variable v of lane i at <c>v * N + i</c>, through the host copy <paramref name="host"/>), with its elapsed steps,
    /// then its observation from the new state.
    /// </summary>
    /// <exception cref="ArgumentException">Bad lane or state length.</exception>
    private protected void WriteLaneState<T>(MemoryBuffer1D<T, Stride1D.Dense> state, T[] host, int lane, ReadOnlySpan<double> values, int elapsedSteps,
        Func<double, T> convert) where T : unmanaged
    {
        CheckLane(lane);
        int variables = host.Length / NumEnvs;
        if (values.Length != variables) throw new ArgumentException($"state has {values.Length} values; {Spec.Id} has {variables}.", "state");
        state.CopyToCPU(host);
        _elapsed.CopyToCPU(_hostElapsed);
        for (int v = 0; v < variables; v++) host[v * NumEnvs + lane] = convert(values[v]);
        _hostElapsed[lane] = elapsedSteps;
        state.CopyFromCPU(host);
        _elapsed.CopyFromCPU(_hostElapsed);
        LaunchObserve();
        _obs.CopyToCPU(_hostObs);
    }

    /// <summary>Reads lane <paramref name="lane"/>'s state variables from <paramref name="state"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">Bad lane or destination length.</exception>
    private protected void ReadLaneState<T>(MemoryBuffer1D<T, Stride1D.Dense> state, T[] host, int lane, Span<double> destination, Func<T, double> convert)
        where T : unmanaged
    {
        CheckLane(lane);
        int variables = host.Length / NumEnvs;
        if (destination.Length != variables) throw new ArgumentException($"destination has {destination.Length} values; {Spec.Id} has {variables}.", nameof(destination));
        state.CopyToCPU(host);
        for (int v = 0; v < variables; v++) destination[v] = convert(host[v * NumEnvs + lane]);
    }

    /// <inheritdoc/>
    public abstract void Step(ReadOnlySpan<int> actions);

    /// <inheritdoc/>
    public abstract void Step(ReadOnlySpan<float> actions);

    /// <summary>Seed offset of the lanes' action streams (benchmarks' random actions), apart from their reset streams.</summary>
    const ulong ActionStream = 0x5EED_AC71_0000_0001;

    /// <summary>
    /// Seeds lane i's stream from <c>(seed, firstLane + i)</c>, as the CPU env seeds its lane i, and its action stream
    /// (for <see cref="StepRandom"/>) apart from it.
    /// </summary>
    private protected void SeedStreams(ulong seed, int firstLane)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstLane);
        var state = new uint[NumEnvs];
        var step = new uint[NumEnvs];
        for (int i = 0; i < NumEnvs; i++) (state[i], step[i]) = LaneRandom.Seed(seed, firstLane + i);
        _randomState.CopyFromCPU(state);
        _randomStep.CopyFromCPU(step);
        for (int i = 0; i < NumEnvs; i++) (state[i], step[i]) = LaneRandom.Seed(seed ^ ActionStream, firstLane + i);
        _actionState.CopyFromCPU(state);
        _actionStep.CopyFromCPU(step);
        _seeded = true;
    }

    /// <summary>
    /// <paramref name="steps"/> steps of every lane with uniform random actions drawn on the device, nothing copied
    /// back (what <c>bench env --device</c> times); the episode log wraps. Call <see cref="Synchronize"/> to wait.
    /// </summary>
    public void StepRandom(int steps)
    {
        RequireSeeded("StepRandom");
        for (int s = 0; s < steps; s++)
        {
            if (_stepInLog++ % 64 == 0) _episodeCount.MemSetToZero();
            LaunchRandomStep(s);
        }
    }

    /// <summary>Launches one step of every lane with actions drawn from the lanes' action streams.</summary>
    private protected abstract void LaunchRandomStep(int step);

    /// <summary>Waits for the device.</summary>
    public void Synchronize() => _device.Accelerator.Synchronize();

    /// <summary>Throws unless the lanes were seeded (<paramref name="call"/> names what was called).</summary>
    private protected void RequireSeeded(string call)
    {
        if (!_seeded) throw new InvalidOperationException($"{Spec.Id}: {call} was called before Reset(seed, firstLane).");
    }

    /// <summary>Copies the observations, rewards and flags back to the host.</summary>
    private protected void Download()
    {
        _obs.CopyToCPU(_hostObs);
        _rewards.CopyToCPU(_hostRewards);
        _terminated.CopyToCPU(_hostFlags);
        for (int i = 0; i < NumEnvs; i++) _hostTerminated[i] = _hostFlags[i] != 0;
        _truncated.CopyToCPU(_hostFlags);
        for (int i = 0; i < NumEnvs; i++) _hostTruncated[i] = _hostFlags[i] != 0;
    }

    /// <summary>The episodes the last step logged, in lane order, into <see cref="Episodes"/>.</summary>
    private protected void DrainEpisodes()
    {
        var count = new int[1];
        _episodeCount.CopyToCPU(count);
        var records = new DeviceEpisode[Math.Min(count[0], NumEnvs)];
        if (records.Length > 0) _episodes.View.SubView(0, records.Length).CopyToCPU(records);
        Array.Sort(records, static (x, y) => x.Lane.CompareTo(y.Lane));
        Episodes.Clear();
        Episodes.AddRange(records);
    }

    /// <summary>The lanes' action streams (state, step), for kernels that sample actions.</summary>
    internal (ArrayView<uint> State, ArrayView<uint> Step) ActionStreams => (_actionState.View, _actionStep.View);

    /// <summary>
    /// Writes what a trainer that steps the lanes on the device (A2C's rollout) needs to continue them: the game state,
    /// episode steps and returns so far, and the lanes' env and action streams, copied from the device.
    /// </summary>
    internal void SaveLanes(BinaryWriter writer)
    {
        BinaryState.WriteTag(writer, "device env " + Spec.Id);
        writer.Write(NumEnvs);
        SaveState(writer);
        Write(writer, _elapsed);
        Write(writer, _returns);
        foreach (MemoryBuffer1D<uint, Stride1D.Dense> stream in new[] { _randomState, _randomStep, _actionState, _actionStep }) Write(writer, stream);
    }

    /// <summary>Restores what <see cref="SaveLanes"/> wrote onto the device.</summary>
    /// <exception cref="InvalidDataException">The data is of another env or lane count, or is cut short.</exception>
    internal void LoadLanes(BinaryReader reader)
    {
        BinaryState.ReadTag(reader, "device env " + Spec.Id);
        int lanes = reader.ReadInt32();
        if (lanes != NumEnvs) throw new InvalidDataException($"saved state: {Spec.Id} has {lanes} lanes; this env has {NumEnvs}.");
        LoadState(reader);
        Read(reader, _elapsed, "episode steps");
        Read(reader, _returns, "episode returns");
        foreach (MemoryBuffer1D<uint, Stride1D.Dense> stream in new[] { _randomState, _randomStep, _actionState, _actionStep }) Read(reader, stream, "random streams");
        _seeded = true;
    }

    /// <summary>Writes the derived env's game state (what <see cref="SaveLanes"/> saves first).</summary>
    private protected abstract void SaveState(BinaryWriter writer);

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    private protected abstract void LoadState(BinaryReader reader);

    /// <summary>Writes a device buffer, copied to the host.</summary>
    private protected static void Write<T>(BinaryWriter writer, MemoryBuffer1D<T, Stride1D.Dense> buffer) where T : unmanaged
    {
        var host = new T[buffer.Length];
        buffer.CopyToCPU(host);
        BinaryState.Write<T>(writer, host);
    }

    /// <summary>Reads a device buffer's values (<paramref name="what"/> names them in the error of a short read).</summary>
    private protected static void Read<T>(BinaryReader reader, MemoryBuffer1D<T, Stride1D.Dense> buffer, string what) where T : unmanaged
    {
        var host = new T[buffer.Length];
        BinaryState.Read<T>(reader, host, what);
        buffer.CopyFromCPU(host);
    }

    /// <summary>Throws unless <paramref name="lane"/> is a lane.</summary>
    private protected void CheckLane(int lane)
    {
        if ((uint)lane >= (uint)NumEnvs) throw new ArgumentOutOfRangeException(nameof(lane), lane, $"lane was {lane}; expected 0..{NumEnvs - 1}.");
    }

    /// <summary>The buffers a derived env allocated, freed with the shared ones.</summary>
    private protected abstract IEnumerable<MemoryBuffer> OwnBuffers { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (MemoryBuffer b in OwnBuffers.Concat([_returns, _obs, _finalObs, _rewards, _elapsed, _terminated, _truncated, _episodeCount,
                     _randomState, _randomStep, _actionState, _actionStep, _episodes]))
            b.Dispose();
        GC.SuppressFinalize(this);
    }
}
