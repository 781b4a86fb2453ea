using Hybrid.Envs;
using Hybrid.Envs.MinAtar;
using Hybrid.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// MinAtar lanes stepped in ILGPU kernels, their buffers on the device, with the CPU env's rules, sticky actions and
/// random streams, so that lane i of a device env and lane i of the CPU env reset with the same seed play the same
/// game under the same actions. As an <see cref="IVectorLanes"/> every host call copies what the contract shows back
/// to the host, so the lane-for-lane checks run on it unchanged. Observations are the CPU env's layout (C x 10 x 10,
/// channel-first, a lane's row after the other), which the conv torso reads. The games with device kernels are
/// listed in <see cref="Supported"/>.
/// </summary>
public sealed class DeviceMinAtarEnv : DeviceLanes, IReferenceLanes
{
    readonly MemoryBuffer1D<int, Stride1D.Dense> _state, _lastAction, _actionMap, _actions, _usesMt, _marked;
    readonly MemoryBuffer1D<float, Stride1D.Dense> _endedReturns;
    // The lanes' Mersenne Twisters: one word until a lane is first seeded like the reference (2.5 KB a lane after).
    MemoryBuffer1D<uint, Stride1D.Dense> _mt;
    readonly Action<Index1D, int, MinAtarLanes, ArrayView<float>, int> _reset, _observe;
    readonly Action<Index1D, int, MinAtarLanes, MinAtarOutputs> _step;
    readonly Action<Index1D, int, MinAtarLanes, MinAtarOutputs, ArrayView<int>> _resetMarked;
    readonly bool[] _pending;
    readonly int[] _hostState, _hostUsesMt, _hostActions;
    readonly float[] _hostFinalObs;
    readonly int _variables, _actionCount;
    readonly MinAtarOptions _options;

    /// <summary>The MinAtar games with device kernels (reference names).</summary>
    public static IReadOnlyList<string> Supported { get; } = ["asterix", "breakout", "freeway", "seaquest", "space_invaders"];

    /// <summary><paramref name="lanes"/> lanes of <paramref name="envId"/> (a MinAtar id) on <paramref name="device"/>, with <paramref name="options"/> (sticky actions, ramping).</summary>
    /// <exception cref="ArgumentException">The env is not MinAtar or its game has no device kernels, or lanes is not positive.</exception>
    public DeviceMinAtarEnv(IlgpuDevice device, string envId, int lanes, MinAtarOptions? options = null) : base(device, SpecOf(envId), lanes)
    {
        Game = GameOf(envId, out MinAtarGameInfo info, out bool minimal);
        _options = options ?? MinAtarOptions.Default;
        _options.Validate();
        _variables = MinAtarKernels.Variables(Game);
        int[] map = minimal ? info.MinimalActions : [0, 1, 2, 3, 4, 5];
        _actionCount = map.Length;
        Accelerator a = device.Accelerator;
        _state = a.Allocate1D<int>((long)_variables * lanes);
        _lastAction = a.Allocate1D<int>(lanes);
        _actionMap = a.Allocate1D(map);
        _actions = a.Allocate1D<int>(lanes);
        _usesMt = a.Allocate1D<int>(lanes);
        _marked = a.Allocate1D<int>(lanes);
        _endedReturns = a.Allocate1D<float>(lanes);
        _mt = a.Allocate1D<uint>(1);
        _resetMarked = a.LoadAutoGroupedStreamKernel<Index1D, int, MinAtarLanes, MinAtarOutputs, ArrayView<int>>(MinAtarKernels.ResetMarked);
        _reset = a.LoadAutoGroupedStreamKernel<Index1D, int, MinAtarLanes, ArrayView<float>, int>(MinAtarKernels.Reset);
        _observe = a.LoadAutoGroupedStreamKernel<Index1D, int, MinAtarLanes, ArrayView<float>, int>(MinAtarKernels.ObserveAll);
        _step = a.LoadAutoGroupedStreamKernel<Index1D, int, MinAtarLanes, MinAtarOutputs>(MinAtarKernels.Step);
        (_pending, _hostState, _hostUsesMt, _hostActions) = (new bool[lanes], new int[_variables * lanes], new int[lanes], new int[lanes]);
        _hostFinalObs = new float[lanes * Spec.ObservationSize];
        Channels = info.Channels;
    }

    /// <summary>The spec of a MinAtar env whose game has device kernels (checked before any buffer is allocated).</summary>
    static EnvSpec SpecOf(string envId)
    {
        GameOf(envId, out _, out _);
        return EnvRegistry.Spec(envId);
    }

    /// <summary>The device game of a MinAtar env id, with its info and whether it takes the minimal action set (-v1).</summary>
    /// <exception cref="ArgumentException">The id is not MinAtar's, or the game has no device kernels (the message lists those that do).</exception>
    public static DeviceGame GameOf(string envId, out MinAtarGameInfo info, out bool minimalActions)
    {
        ArgumentNullException.ThrowIfNull(envId);
        if (!EnvRegistry.IsMinAtar(envId)) throw new ArgumentException($"env '{envId}' is not a MinAtar game.", nameof(envId));
        EnvRegistry.Spec(envId); // an unknown id is refused with the registry's list
        string title = envId["MinAtar/".Length..envId.LastIndexOf("-v", StringComparison.Ordinal)];
        info = MinAtarGames.Find(title);
        minimalActions = envId.EndsWith("-v1", StringComparison.Ordinal);
        return info.Name switch
        {
            "asterix" => DeviceGame.Asterix,
            "breakout" => DeviceGame.Breakout,
            "freeway" => DeviceGame.Freeway,
            "seaquest" => DeviceGame.Seaquest,
            "space_invaders" => DeviceGame.SpaceInvaders,
            _ => throw new ArgumentException($"env '{envId}' has no device kernels yet; the device steps MinAtar {string.Join(", ", Supported)}. Use --device cpu."),
        };
    }

    /// <summary>Steps after which an episode is truncated: the spec's (108,000 frames), unless a check shortens it.</summary>
    internal int MaxSteps { get; set; } = MinAtarEnv.MaxEpisodeSteps;

    /// <summary>The game the lanes play.</summary>
    public DeviceGame Game { get; }

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public ReadOnlySpan<float> FinalObservations => _hostFinalObs;

    /// <summary>The lanes as kernels take them.</summary>
    internal MinAtarLanes Lanes => new()
    {
        State = _state.View, Elapsed = _elapsed.View, Returns = _returns.View, RandomState = _randomState.View, RandomStep = _randomStep.View,
        LastAction = _lastAction.View, ActionMap = _actionMap.View, UsesMt = _usesMt.View, Mt = _mt.View, Lanes = NumEnvs, Game = (int)Game, MaxSteps = MaxSteps,
        Ramping = _options.DifficultyRamping ? 1 : 0, Sticky = _options.StickyActionProbability,
    };

    /// <inheritdoc/>
    public override void Reset(ulong seed, int firstLane)
    {
        SeedStreams(seed, firstLane);
        // A seeded reset forgets the last executed actions and returns every lane to its own stream, as the CPU env
        // does; Reset() keeps them.
        _lastAction.MemSetToZero();
        _usesMt.MemSetToZero();
        Array.Clear(_hostUsesMt);
        Reset();
    }

    /// <summary>
    /// Makes lane <paramref name="lane"/> a fresh reference <c>Environment</c> seeded with <paramref name="seed"/> and
    /// reset, as the CPU env's method of the same name does: its draws now come from MT19937 seeded like numpy's
    /// <c>RandomState(seed)</c>, kept on the device, and its last action is no-op. <see cref="Reset(ulong, int)"/>
    /// returns every lane to its own stream.
    /// </summary>
    /// <exception cref="InvalidOperationException">The env was never reset with a seed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Bad lane.</exception>
    public void ResetLaneLikeReference(int lane, uint seed)
    {
        RequireSeeded("ResetLaneLikeReference");
        CheckLane(lane);
        long words = (long)NumEnvs * MinAtarRandom.MtWords;
        if (_mt.Length < words)
        {
            _mt.Dispose();
            _mt = _device.Accelerator.Allocate1D<uint>(words);
        }
        _mt.View.SubView((long)lane * MinAtarRandom.MtWords, MinAtarRandom.MtWords).CopyFromCPU(MinAtarRandom.SeedMt(seed));
        _hostUsesMt[lane] = 1;
        _usesMt.CopyFromCPU(_hostUsesMt);
        _lastAction.View.SubView(lane, 1).CopyFromCPU(new int[1]);
        var marked = new int[NumEnvs];
        marked[lane] = 1;
        _marked.CopyFromCPU(marked);
        _resetMarked(_device.ThreadsFor(NumEnvs), _device.ThreadsFor(NumEnvs), Lanes, Outputs(random: false, 0), _marked.View);
        _pending[lane] = false;
        Download();
    }

    private protected override void LaunchReset() =>
        _reset(_device.ThreadsFor(NumEnvs), _device.ThreadsFor(NumEnvs), Lanes, _obs.View, Spec.ObservationSize);

    private protected override void LaunchObserve() =>
        _observe(_device.ThreadsFor(NumEnvs), _device.ThreadsFor(NumEnvs), Lanes, _obs.View, Spec.ObservationSize);

    private protected override void OnReset() => Array.Clear(_pending);

    /// <summary>Sets a lane's game state (the device game's integer variables) and elapsed steps.</summary>
    /// <exception cref="ArgumentException">Bad lane or state length.</exception>
    public override void SetState(int lane, ReadOnlySpan<double> state, int elapsedSteps)
    {
        WriteLaneState(_state, _hostState, lane, state, elapsedSteps, static v => (int)v);
        _pending[lane] = false;
    }

    /// <summary>Reads a lane's game state (the device game's integer variables).</summary>
    /// <exception cref="ArgumentException">Bad lane or destination length.</exception>
    public override void GetState(int lane, Span<double> destination) => ReadLaneState(_state, _hostState, lane, destination, static v => v);

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<int> actions)
    {
        if (actions.Length != NumEnvs) throw new ArgumentException($"actions has {actions.Length} values; expected {NumEnvs} (one per lane).", nameof(actions));
        for (int i = 0; i < actions.Length; i++)
            if ((uint)actions[i] >= (uint)_actionCount)
                throw new ArgumentOutOfRangeException(nameof(actions), actions[i], $"{Spec.Id}: lane {i}'s action was {actions[i]}; expected 0 to {_actionCount - 1}.");
        int waiting = Array.IndexOf(_pending, true);
        if (waiting >= 0)
            throw new InvalidOperationException($"{Spec.Id}: lane {waiting} ended at the previous step and AutoReset is off; give it a state with SetState or call Reset first.");
        RequireSeeded("Step");
        actions.CopyTo(_hostActions);
        _actions.CopyFromCPU(_hostActions);
        _episodeCount.MemSetToZero();
        Launch(random: false, _stepInLog++);
        Download();
        _finalObs.CopyToCPU(_hostFinalObs);
        DrainEpisodes();
        if (!AutoReset)
            for (int i = 0; i < NumEnvs; i++) _pending[i] = _hostTerminated[i] || _hostTruncated[i];
    }

    private protected override void LaunchRandomStep(int step) => Launch(random: true, step);

    void Launch(bool random, int step)
    {
        int threads = _device.ThreadsFor(NumEnvs);
        _step(threads, threads, Lanes, Outputs(random, step));
    }

    MinAtarOutputs Outputs(bool random, int step) => new()
    {
        Actions = _actions.View, Observations = _obs.View, FinalObservations = _finalObs.View, Rewards = _rewards.View,
        Terminated = _terminated.View, Truncated = _truncated.View, EndedReturns = _endedReturns.View, Episodes = _episodes.View, EpisodeCount = _episodeCount.View,
        ActionState = _actionState.View, ActionStep = _actionStep.View, ObservationSize = Spec.ObservationSize, AutoReset = AutoReset ? 1 : 0,
        RandomActions = random ? 1 : 0, ActionCount = _actionCount, Step = step,
    };

    /// <summary>MinAtar takes discrete actions only.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override void Step(ReadOnlySpan<float> actions) => throw new InvalidOperationException($"{Spec.Id} takes discrete actions; call Step(ReadOnlySpan<int>).");

    /// <summary>The observation a lane had when its last episode ended (C x 100 floats).</summary>
    public float[] FinalObservation(int lane)
    {
        CheckLane(lane);
        var row = new float[Spec.ObservationSize];
        _finalObs.View.SubView((long)lane * row.Length, row.Length).CopyToCPU(row);
        return row;
    }

    /// <inheritdoc/>
    private protected override IEnumerable<MemoryBuffer> OwnBuffers => [_state, _lastAction, _actionMap, _actions, _usesMt, _marked, _mt, _endedReturns];

    /// <summary>The game state and each lane's last executed action (sticky actions repeat it).</summary>
    /// <exception cref="InvalidOperationException">A lane draws from a Mersenne Twister seeded like the reference (a conformance check's lane, not a trainer's).</exception>
    private protected override void SaveState(BinaryWriter writer)
    {
        if (Array.IndexOf(_hostUsesMt, 1) is int lane and >= 0)
            throw new InvalidOperationException($"{Spec.Id}: lane {lane} was seeded like the reference env; such lanes are for conformance checks and are not saved.");
        Write(writer, _state);
        Write(writer, _lastAction);
    }

    /// <inheritdoc/>
    private protected override void LoadState(BinaryReader reader)
    {
        Read(reader, _state, "env state");
        Read(reader, _lastAction, "last actions");
        _usesMt.MemSetToZero();
        Array.Clear(_hostUsesMt);
        Array.Clear(_pending);
    }

    /// <summary>The agents' actions a device step reads, one per lane (a trainer's sampling kernel writes them).</summary>
    internal ArrayView<int> ActionInputs => _actions.View;

    /// <summary>Writes every lane's observation from its state into <paramref name="observations"/> (row-major, a lane's row after the other).</summary>
    internal void ObserveInto(ArrayView<float> observations) =>
        _observe(_device.ThreadsFor(NumEnvs), _device.ThreadsFor(NumEnvs), Lanes, observations, Spec.ObservationSize);

    /// <summary>
    /// One step of every lane under <see cref="ActionInputs"/>, on the device alone (a trainer's): the next observations
    /// into <paramref name="observations"/>, the episodes that end into <paramref name="episodes"/> stamped <paramref name="step"/>,
    /// counted in <paramref name="episodeCount"/>; rewards, flags, ended returns and final observations stay in the env's
    /// buffers (<see cref="Recorded"/>). The lanes reset themselves.
    /// </summary>
    internal void StepOnDevice(ArrayView<float> observations, ArrayView<DeviceEpisode> episodes, ArrayView<int> episodeCount, int step)
    {
        MinAtarOutputs o = Outputs(random: false, step);
        (o.Observations, o.Episodes, o.EpisodeCount, o.AutoReset) = (observations, episodes, episodeCount, 1);
        int threads = _device.ThreadsFor(NumEnvs);
        _step(threads, threads, Lanes, o);
    }

    /// <summary>What the last <see cref="StepOnDevice"/> left for a rollout to record at sample column <paramref name="column"/> + lane.</summary>
    internal StepRecord Recorded(ArrayView<float> scratchInputs, ArrayView<int> scratchCount, int column) => new()
    {
        Rewards = _rewards.View, Terminated = _terminated.View, Truncated = _truncated.View, EndedReturns = _endedReturns.View,
        FinalObservations = _finalObs.View, ScratchInputs = scratchInputs, ScratchCount = scratchCount, ObservationSize = Spec.ObservationSize,
        Lanes = NumEnvs, Column = column,
    };

    /// <summary>The number of actions the agent picks from (the minimal set of a -v1 id, else all six).</summary>
    internal int ActionCount => _actionCount;
}
