using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hybrid.Envs.Simd;
using Hybrid.Threading;

namespace Hybrid.Envs;

/// <summary>
/// N environment lanes stepped together in place (docs/architecture.md, "Vector environment"). Buffers are structure-of-arrays and
/// owned by the env: <see cref="Observations"/> <c>[N * obsSize]</c> (lane i's row at <c>i * obsSize</c>),
/// <see cref="Rewards"/>, <see cref="Terminated"/> and <see cref="Truncated"/> <c>[N]</c>. A lane that ends is reset
/// in the same <c>Step</c> (unless <see cref="AutoReset"/> is off): its row of <see cref="Observations"/> then holds
/// the new episode's first observation and its row of <see cref="FinalObservations"/> the observation it ended on,
/// which a trainer needs to bootstrap a truncated episode. Finished episodes go to <see cref="Episodes"/>.
/// Lane i draws its resets from <c>(seed, i)</c> and every group width performs the same float operations, so a
/// lane's trajectory does not depend on N, the vector width or how lanes are split across threads.
/// A single-lane env (an A3C thread's) is this type with N = 1.
/// </summary>
/// <remarks>
/// Terminated and truncated are kept apart as in Gymnasium 0.29.1, and both can be set on the same step (the
/// <c>TimeLimit</c> wrapper truncates whatever the env reported). Internal state is float32; Gymnasium's is
/// float64, so long trajectories drift apart while each single step agrees to about 1e-6 relative (envcheck).
/// </remarks>
public abstract unsafe class VectorEnv : IRowJob, IVectorLanes
{
    /// <summary>Fewest lanes worth handing to another core: below this a step is shorter than the hand-off.</summary>
    public const int MinLanesPerThread = 2048;

    /// <summary>Lane groups are split between threads on multiples of this (the widest group), so a split never
    /// changes which lanes share a group.</summary>
    static int SplitQuantum => Lane16.Count;

    private protected readonly int _n, _obsSize;
    private protected readonly float[] _state, _obs, _finalObs, _rewards, _elapsed, _returns;
    private protected readonly bool[] _terminated, _truncated, _pendingReset;
    private protected readonly uint[] _randomState, _randomStep;
    private protected readonly bool _discrete;
    /// <summary>Discrete: the number of actions; continuous: floats per lane.</summary>
    readonly int _actionCount;
    private protected bool _autoReset = true;
    private protected int* _intActions;
    private protected float* _floatActions;
    readonly EpisodeLog _episodes;
    // Episodes that ended in this step, per part: each part records its own lanes, in lane order, and the log takes
    // the parts in order, so the log's order does not depend on the thread split.
    private protected EpisodeRecord[][] _ended;
    // Part p's count, written once per step by its thread, at _endedCount[p * CountStride]: a cache line each,
    // so parts finishing together do not contend for one line.
    private protected int[] _endedCount;
    private protected const int CountStride = 16;
    bool _hasReset;
    bool _anyPending;
    int _threads = 1;

    /// <summary>Entry b: the 8 bits of b as 8 bytes of 0 or 1, lowest bit first (bool flags from a mask).</summary>
    private protected static readonly ulong[] SpreadBytes = BuildSpreadBytes();

    static ulong[] BuildSpreadBytes()
    {
        var table = new ulong[256];
        for (int b = 0; b < 256; b++)
            for (int k = 0; k < 8; k++)
                if ((b >> k & 1) != 0) table[b] |= 1UL << (8 * k);
        return table;
    }

    private protected VectorEnv(EnvSpec spec, int numEnvs, LaneWidth width)
    {
        if (numEnvs < 1) throw new ArgumentOutOfRangeException(nameof(numEnvs), numEnvs, $"{spec.Id}: numEnvs was {numEnvs}; expected at least 1.");
        Spec = spec;
        Width = ResolveWidth(spec.Id, width);
        _n = numEnvs;
        _obsSize = spec.ObservationSize;
        _discrete = spec.IsDiscrete;
        _actionCount = spec.ActionSpace is DiscreteSpace d ? d.N : spec.ActionSpace.Size;
        _state = new float[spec.StateSize * numEnvs];
        _obs = new float[numEnvs * _obsSize];
        _finalObs = new float[numEnvs * _obsSize];
        _rewards = new float[numEnvs];
        _elapsed = new float[numEnvs];
        _returns = new float[numEnvs];
        _terminated = new bool[numEnvs];
        _truncated = new bool[numEnvs];
        _pendingReset = new bool[numEnvs];
        _randomState = new uint[numEnvs];
        _randomStep = new uint[numEnvs];
        _episodes = new EpisodeLog(2 * numEnvs);
        _ended = [new EpisodeRecord[numEnvs]];
        _endedCount = new int[CountStride];
    }

    /// <summary>Name, spaces, time limit and thresholds.</summary>
    public EnvSpec Spec { get; }

    /// <summary>The registry name.</summary>
    public string Id => Spec.Id;

    /// <summary>Number of lanes, N.</summary>
    public int NumEnvs => _n;

    /// <summary>Floats per observation row.</summary>
    public int ObservationSize => _obsSize;

    /// <summary>The group width the dynamics run at (never <see cref="LaneWidth.Auto"/>).</summary>
    public LaneWidth Width { get; }

    /// <inheritdoc/>
    public string SteppedOn => Width.ToString();

    /// <summary>
    /// Cores a step may use (default 1). Lanes are split in chunks of at least <see cref="MinLanesPerThread"/>, so
    /// small envs stay on the calling thread whatever this says.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int Threads
    {
        get => _threads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, $"{Id}: Threads was {value}; expected at least 1.");
            _threads = value;
        }
    }

    /// <summary>
    /// Whether a lane that ends is reset within the same step (default true). When off, an ended lane keeps its final
    /// state and must be given a new one with <see cref="SetState"/> or <see cref="Reset()"/> before the next step.
    /// </summary>
    public bool AutoReset
    {
        get => _autoReset;
        set => _autoReset = value;
    }

    /// <summary>Observation rows <c>[N * obsSize]</c>; after an auto-reset, the new episode's first observation.</summary>
    public ReadOnlySpan<float> Observations => _obs;

    /// <summary>
    /// For lanes that ended at the last step (<see cref="Terminated"/> or <see cref="Truncated"/>), the observation
    /// the episode ended on, before the auto-reset; other rows are stale.
    /// </summary>
    public ReadOnlySpan<float> FinalObservations => _finalObs;

    /// <summary>Reward of the last step, per lane.</summary>
    public ReadOnlySpan<float> Rewards => _rewards;

    /// <summary>Lanes whose episode reached a terminal state at the last step.</summary>
    public ReadOnlySpan<bool> Terminated => _terminated;

    /// <summary>Lanes whose episode hit the time limit (<see cref="EnvSpec.MaxEpisodeSteps"/>) at the last step.</summary>
    public ReadOnlySpan<bool> Truncated => _truncated;

    /// <summary>Episodes finished so far, for the trainer to read and clear.</summary>
    public EpisodeLog Episodes => _episodes;

    /// <summary>The return lane <paramref name="lane"/>'s episode in progress has gathered so far (0 just after a reset).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The lane is not one of this env's.</exception>
    public float RunningReturn(int lane)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lane);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(lane, _returns.Length);
        return _returns[lane];
    }

    /// <summary>Steps taken so far in each lane's current episode.</summary>
    public int ElapsedSteps(int lane)
    {
        CheckLane(lane);
        return (int)_elapsed[lane];
    }

    /// <summary>Seeds lane i from <c>(<paramref name="seed"/>, i)</c> and resets every lane.</summary>
    public void Reset(ulong seed) => Reset(seed, 0);

    /// <summary>
    /// Seeds lane i from <c>(<paramref name="seed"/>, <paramref name="firstLane"/> + i)</c> and resets every lane: this
    /// env then runs lanes firstLane.. of a larger env reset with the same seed, step for step (a slice of its lanes
    /// that another thread steps).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstLane"/> is negative.</exception>
    public void Reset(ulong seed, int firstLane)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstLane);
        for (int i = 0; i < _n; i++) (_randomState[i], _randomStep[i]) = LaneRandom.Seed(seed, firstLane + i);
        OnSeed();
        ResetAll();
    }

    /// <summary>Called by <see cref="Reset(ulong)"/> after the lanes' streams are seeded, before they reset.</summary>
    private protected virtual void OnSeed() { }

    /// <summary>Whether <see cref="Reset(ulong)"/> has run.</summary>
    private protected bool HasReset => _hasReset;

    /// <summary>Resets every lane, continuing each lane's random stream (Gymnasium's <c>reset()</c> with no seed).</summary>
    /// <exception cref="InvalidOperationException">The env was never seeded with <see cref="Reset(ulong)"/>.</exception>
    public void Reset()
    {
        if (!_hasReset) throw new InvalidOperationException($"{Id}: Reset() continues the lanes' random streams; seed them first with Reset(seed).");
        ResetAll();
    }

    void ResetAll()
    {
        for (int i = 0; i < _n; i++) ResetLane(i);
        Array.Clear(_terminated);
        Array.Clear(_truncated);
        Array.Clear(_rewards);
        Array.Clear(_pendingReset);
        _anyPending = false;
        _episodes.ResetTotals();
        _hasReset = true;
    }

    /// <summary>Steps every lane with discrete actions, one per lane.</summary>
    /// <exception cref="InvalidOperationException">Called before <see cref="Reset(ulong)"/>, on a continuous env, or
    /// with a lane waiting for a reset.</exception>
    /// <exception cref="ArgumentException">The buffer is not N long, or an action is outside the space; the message
    /// names the env, the lane and the value. Nothing is stepped then.</exception>
    public void Step(ReadOnlySpan<int> actions)
    {
        // Checks first, each cheap on the good path, with the message built out of line: a single-lane env
        // (an A3C thread's) pays them on every step.
        if (!_discrete) ThrowWrongKind("continuous", "float");
        CheckReady(actions.Length, 1);
        int bad = FirstOutside(actions, _actionCount);
        if (bad >= 0) ThrowOutside(bad, actions[bad]);
        fixed (int* p = actions)
        {
            _intActions = p;
            try { RunParts(); }
            finally { _intActions = null; }
        }
    }

    /// <summary>
    /// Steps every lane with continuous actions, <c>[N * actionSize]</c>. Finite values outside the box are clipped by
    /// the dynamics exactly as Gymnasium does; NaN and infinities are rejected.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called before <see cref="Reset(ulong)"/>, on a discrete env, or
    /// with a lane waiting for a reset.</exception>
    /// <exception cref="ArgumentException">The buffer has the wrong length or holds a NaN or infinity; the message
    /// names the env, the lane and the value. Nothing is stepped then.</exception>
    public void Step(ReadOnlySpan<float> actions)
    {
        if (_discrete) ThrowWrongKind("discrete", "int");
        CheckReady(actions.Length, _actionCount);
        int bad = FirstNonFinite(actions);
        if (bad >= 0) ThrowNonFinite(bad, actions[bad]);
        fixed (float* p = actions)
        {
            _floatActions = p;
            try { RunParts(); }
            finally { _floatActions = null; }
        }
    }

    /// <summary>
    /// Sets lane <paramref name="lane"/>'s internal state (variables in <see cref="EnvSpec.StateNames"/> order, stored
    /// as float32) and its step count within the episode; recomputes its observation and clears its flags.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called before <see cref="Reset(ulong)"/>.</exception>
    /// <exception cref="ArgumentException">Bad lane, wrong state length, a NaN or infinite value, or a step count
    /// outside [0, MaxEpisodeSteps).</exception>
    /// <exception cref="NotSupportedException">The env has no float state (MinAtar).</exception>
    public void SetState(int lane, ReadOnlySpan<double> state, int elapsedSteps)
    {
        if (!_hasReset) throw new InvalidOperationException($"{Id}: SetState was called before Reset(seed).");
        CheckHasState();
        CheckLane(lane);
        if (state.Length != Spec.StateSize)
            throw new ArgumentException($"{Id}: state had {state.Length} values; expected {Spec.StateSize} ({string.Join(", ", Spec.StateNames)}).", nameof(state));
        if ((uint)elapsedSteps >= (uint)Spec.MaxEpisodeSteps)
            throw new ArgumentOutOfRangeException(nameof(elapsedSteps), elapsedSteps, $"{Id}: elapsedSteps was {elapsedSteps}; expected 0 to {Spec.MaxEpisodeSteps - 1}.");
        for (int v = 0; v < state.Length; v++)
            if (!double.IsFinite(state[v]))
                throw new ArgumentOutOfRangeException(nameof(state), state[v], $"{Id}: {Spec.StateNames[v]} was {state[v]}; expected a finite number.");
        for (int v = 0; v < state.Length; v++) _state[v * _n + lane] = (float)state[v];
        _elapsed[lane] = elapsedSteps;
        _returns[lane] = 0;
        ClearLaneFlags(lane);
        ObserveLane(lane);
    }

    /// <summary>
    /// Makes lane <paramref name="lane"/> count <paramref name="elapsedSteps"/> steps in its current episode, as if it
    /// had run them (the time limit then comes that much sooner); its state and return so far are kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called before <see cref="Reset(ulong)"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Bad lane, or a count outside [0, MaxEpisodeSteps).</exception>
    public void SetElapsedSteps(int lane, int elapsedSteps)
    {
        if (!_hasReset) throw new InvalidOperationException($"{Id}: SetElapsedSteps was called before Reset(seed).");
        CheckLane(lane);
        if ((uint)elapsedSteps >= (uint)Spec.MaxEpisodeSteps)
            throw new ArgumentOutOfRangeException(nameof(elapsedSteps), elapsedSteps, $"{Id}: elapsedSteps was {elapsedSteps}; expected 0 to {Spec.MaxEpisodeSteps - 1}.");
        _elapsed[lane] = elapsedSteps;
    }

    /// <summary>Clears lane <paramref name="lane"/>'s flags and its wait for a reset (it was given a new state).</summary>
    private protected void ClearLaneFlags(int lane)
    {
        _terminated[lane] = _truncated[lane] = false;
        if (_pendingReset[lane])
        {
            _pendingReset[lane] = false;
            _anyPending = Array.IndexOf(_pendingReset, true) >= 0;
        }
    }

    /// <summary>Copies lane <paramref name="lane"/>'s internal state into <paramref name="destination"/>.</summary>
    public void GetState(int lane, Span<double> destination)
    {
        CheckHasState();
        CheckLane(lane);
        if (destination.Length != Spec.StateSize)
            throw new ArgumentException($"{Id}: destination had {destination.Length} values; expected {Spec.StateSize}.", nameof(destination));
        for (int v = 0; v < destination.Length; v++) destination[v] = _state[v * _n + lane];
    }

    /// <summary>
    /// Writes everything the lanes will need to continue step for step: states, observations, flags, step counts,
    /// returns so far, random streams and the episodes waiting in the log (a checkpoint's env section).
    /// </summary>
    /// <exception cref="InvalidOperationException">Called before <see cref="Reset(ulong)"/>.</exception>
    /// <exception cref="NotSupportedException">A lane was seeded like the reference (MinAtar's Mersenne Twister).</exception>
    public void SaveState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!_hasReset) throw new InvalidOperationException($"{Id}: SaveState was called before Reset(seed).");
        BinaryState.WriteTag(writer, "env " + Id);
        writer.Write(_n);
        BinaryState.Write<float>(writer, _state);
        BinaryState.Write<float>(writer, _obs);
        BinaryState.Write<float>(writer, _finalObs);
        BinaryState.Write<float>(writer, _rewards);
        BinaryState.Write<float>(writer, _elapsed);
        BinaryState.Write<float>(writer, _returns);
        BinaryState.Write<bool>(writer, _terminated);
        BinaryState.Write<bool>(writer, _truncated);
        BinaryState.Write<bool>(writer, _pendingReset);
        BinaryState.Write<uint>(writer, _randomState);
        BinaryState.Write<uint>(writer, _randomStep);
        BinaryState.Write(writer, _episodes.Records);
        writer.Write(_episodes.TotalEpisodes);
        SaveMore(writer);
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote, from an env of the same id and lane count.</summary>
    /// <exception cref="InvalidDataException">The data is for another env or lane count, or is cut short.</exception>
    public void LoadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        BinaryState.ReadTag(reader, "env " + Id);
        int n = reader.ReadInt32();
        if (n != _n) throw new InvalidDataException($"saved state: {Id} has {n} lanes; this env has {_n}.");
        BinaryState.Read<float>(reader, _state, "env state");
        BinaryState.Read<float>(reader, _obs, "observations");
        BinaryState.Read<float>(reader, _finalObs, "final observations");
        BinaryState.Read<float>(reader, _rewards, "rewards");
        BinaryState.Read<float>(reader, _elapsed, "episode steps");
        BinaryState.Read<float>(reader, _returns, "episode returns");
        BinaryState.Read<bool>(reader, _terminated, "terminated flags");
        BinaryState.Read<bool>(reader, _truncated, "truncated flags");
        BinaryState.Read<bool>(reader, _pendingReset, "pending resets");
        BinaryState.Read<uint>(reader, _randomState, "random states");
        BinaryState.Read<uint>(reader, _randomStep, "random steps");
        int waiting = reader.ReadInt32();
        if (waiting < 0 || waiting > 2 * _n + 1_000_000) throw new InvalidDataException($"saved state: {Id} has {waiting} waiting episodes.");
        var records = new EpisodeRecord[waiting];
        System.Span<byte> bytes = MemoryMarshal.AsBytes(records.AsSpan());
        if (reader.Read(bytes) != bytes.Length) throw new InvalidDataException($"saved state: {Id}'s episode log ends early.");
        _episodes.Restore(records, reader.ReadInt64());
        _anyPending = Array.IndexOf(_pendingReset, true) >= 0;
        _hasReset = true;
        LoadMore(reader);
    }

    /// <summary>A kind of env's own state beyond the common arrays, for <see cref="SaveState"/>.</summary>
    private protected virtual void SaveMore(BinaryWriter writer) { }

    /// <summary>Reads what <see cref="SaveMore"/> wrote.</summary>
    private protected virtual void LoadMore(BinaryReader reader) { }

    /// <summary>Draws lane <paramref name="lane"/>'s initial state and writes its observation.</summary>
    private protected abstract void ResetLane(int lane);

    /// <summary>Recomputes lane <paramref name="lane"/>'s observation row from its state.</summary>
    private protected abstract void ObserveLane(int lane);

    /// <summary>
    /// Steps lanes <c>[start, end)</c> (<paramref name="start"/> a multiple of the group width) and records the
    /// episodes that end in <c>_ended[part]</c>.
    /// </summary>
    private protected abstract void StepLanes(int start, int end, int part);

    void IRowJob.Execute(int part, int parts)
    {
        int groups = (_n + SplitQuantum - 1) / SplitQuantum;
        int start = (int)((long)groups * part / parts) * SplitQuantum;
        int end = Math.Min(_n, (int)((long)groups * (part + 1) / parts) * SplitQuantum);
        if (start < end) StepLanes(start, end, part); // writes the part's episode count
        else _endedCount[part * CountStride] = 0;
    }

    void RunParts()
    {
        if (_threads > 1 && _n >= 2 * MinLanesPerThread)
        {
            int parts = Math.Min(_threads, _n / MinLanesPerThread);
            parts = Math.Min(parts, RowSplitter.Envs.MaxParts);
            if (_ended.Length < parts) GrowParts(parts);
            if (RowSplitter.Envs.TryRun(this, parts))
            {
                for (int p = 0; p < parts; p++) TakeEnded(p);
                return;
            }
        }
        StepLanes(0, _n, 0);
        TakeEnded(0);
    }

    void TakeEnded(int part)
    {
        int count = _endedCount[part * CountStride];
        if (count == 0) return;
        _episodes.AddRange(_ended[part].AsSpan(0, count));
        // Without auto-reset, every lane that ended now waits for a new state.
        if (!_autoReset) _anyPending = true;
    }

    /// <summary>Per-part buffers for a larger thread count (when Threads grows; not per step).</summary>
    void GrowParts(int parts)
    {
        var ended = new EpisodeRecord[parts][];
        for (int p = 0; p < parts; p++) ended[p] = p < _ended.Length ? _ended[p] : new EpisodeRecord[_n];
        _ended = ended;
        _endedCount = new int[parts * CountStride];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void CheckReady(int actionLength, int actionSize)
    {
        if (!_hasReset | actionLength != _n * actionSize | _anyPending) ThrowNotReady(actionLength, actionSize);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowNotReady(int actionLength, int actionSize)
    {
        if (!_hasReset) throw new InvalidOperationException($"{Id}: Step was called before Reset(seed).");
        if (actionLength != _n * actionSize)
            throw new ArgumentException($"{Id}: actions had {actionLength} values; expected {_n * actionSize} ({_n} lanes x {actionSize}).", "actions");
        throw new InvalidOperationException(
            $"{Id}: lane {Array.IndexOf(_pendingReset, true)} ended at the previous step and AutoReset is off; give it a state with SetState or call Reset first.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowWrongKind(string kind, string type) =>
        throw new InvalidOperationException($"{Id} has the {kind} action space {Spec.ActionSpace}; step it with {type} actions.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowOutside(int lane, int value) =>
        throw new ArgumentOutOfRangeException("actions", value,
            $"{Id}: the action for lane {lane} was {value}; expected an integer in [0, {_actionCount}) ({Spec.ActionSpace}).");

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowNonFinite(int index, float value) =>
        throw new ArgumentOutOfRangeException("actions", value, string.Create(CultureInfo.InvariantCulture,
            $"{Id}: the action for lane {index / _actionCount} was {value}; expected a finite number (finite values outside {Spec.ActionSpace} are clipped)."));

    void CheckHasState()
    {
        if (Spec.StateSize == 0)
            throw new NotSupportedException($"{Id} has no float state to get or set; seed lanes instead (SetElapsedSteps moves a lane towards its time limit).");
    }

    void CheckLane(int lane)
    {
        if ((uint)lane >= (uint)_n)
            throw new ArgumentOutOfRangeException(nameof(lane), lane, $"{Id}: lane was {lane}; expected 0 to {_n - 1}.");
    }

    /// <summary>First lane whose action is outside <c>[0, n)</c>, or -1.</summary>
    static int FirstOutside(ReadOnlySpan<int> actions, int n)
    {
        ref uint a = ref Unsafe.As<int, uint>(ref MemoryMarshal.GetReference(actions));
        int i = 0;
        var limit = Vector256.Create((uint)n);
        // One unsigned compare catches both negatives and values >= n.
        for (; i + Vector256<uint>.Count <= actions.Length; i += Vector256<uint>.Count)
            if (!Vector256.LessThanAll(Vector256.LoadUnsafe(ref a, (nuint)i), limit)) break;
        for (; i < actions.Length; i++)
            if ((uint)actions[i] >= (uint)n) return i;
        return -1;
    }

    /// <summary>First index holding a NaN or infinity, or -1.</summary>
    static int FirstNonFinite(ReadOnlySpan<float> actions)
    {
        ref float a = ref MemoryMarshal.GetReference(actions);
        int i = 0;
        // x - x is 0 for finite x and NaN for NaN and infinities.
        for (; i + Vector256<float>.Count <= actions.Length; i += Vector256<float>.Count)
        {
            Vector256<float> v = Vector256.LoadUnsafe(ref a, (nuint)i);
            if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero)) break;
        }
        for (; i < actions.Length; i++)
            if (!float.IsFinite(actions[i])) return i;
        return -1;
    }

    static LaneWidth ResolveWidth(string id, LaneWidth width)
    {
        if (width == LaneWidth.Auto)
            return Lane16.IsHardwareAccelerated ? LaneWidth.Vector512 : Lane8.IsHardwareAccelerated ? LaneWidth.Vector256 : LaneWidth.Scalar;
        bool ok = width switch
        {
            LaneWidth.Scalar => true,
            LaneWidth.Vector256 => Lane8.IsHardwareAccelerated,
            LaneWidth.Vector512 => Lane16.IsHardwareAccelerated,
            _ => throw new ArgumentOutOfRangeException(nameof(width), width, $"{id}: width was {width}; expected Auto, Scalar, Vector256 or Vector512."),
        };
        if (!ok) throw new ArgumentException($"{id}: width was {width}, which this CPU does not accelerate; use Auto.", nameof(width));
        return width;
    }
}

/// <summary>A <see cref="VectorEnv"/> whose lanes move by <typeparamref name="TDynamics"/>.</summary>
public sealed unsafe class VectorEnv<TDynamics> : VectorEnv where TDynamics : IVectorDynamics<TDynamics>
{
    readonly float _maxSteps;

    /// <summary>An env of <paramref name="numEnvs"/> lanes; call <see cref="VectorEnv.Reset(ulong)"/> before stepping.</summary>
    /// <exception cref="ArgumentException">numEnvs below 1, or a width the CPU does not accelerate.</exception>
    public VectorEnv(int numEnvs, LaneWidth width = LaneWidth.Auto) : base(TDynamics.Spec, numEnvs, width)
    {
        _maxSteps = Spec.MaxEpisodeSteps;
    }

    StateView State
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_state, _n);
    }

    RandomLanes Random
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_randomState, _randomStep);
    }

    private protected override void StepLanes(int start, int end, int part)
    {
        // Fewer lanes than a group (a single-lane env) go straight to the one-lane loop; every width computes the
        // same values, so this changes only the speed.
        int lanes = end - start;
        switch (Width)
        {
            case LaneWidth.Vector512 when lanes >= Lane16.Count: StepLanes<Lane16>(start, end, part); break;
            case LaneWidth.Vector256 when lanes >= Lane8.Count: StepLanes<Lane8>(start, end, part); break;
            default: StepLanes<Lane1>(start, end, part); break;
        }
    }

    // Each width's loop is its own compilation root: the JIT inlines only so much into one method, and this loop
    // needs every lane operation inlined.
    [MethodImpl(MethodImplOptions.NoInlining)]
    void StepLanes<L>(int start, int end, int part) where L : unmanaged, ILanes<L>
    {
        // The part's episode count is kept on this thread's stack while it steps, written back once.
        var ended = new EndedBuffer(_ended[part]);
        int lane = start;
        for (; lane + L.Count <= end; lane += L.Count) StepGroup<L>(lane, ref ended);
        if (lane < end) StepTail(lane, end, ref ended);
        _endedCount[part * CountStride] = ended.Count;
    }

    /// <summary>A part's episode records and how many it has written.</summary>
    struct EndedBuffer(EpisodeRecord[] records)
    {
        public readonly EpisodeRecord[] Records = records;
        public int Count;
    }

    // The scalar tail and the rare ended-lanes path are compiled apart from the vector loop for the same reason.
    [MethodImpl(MethodImplOptions.NoInlining)]
    void StepTail(int start, int end, ref EndedBuffer ended)
    {
        for (int lane = start; lane < end; lane++) StepGroup<Lane1>(lane, ref ended);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void StepGroup<L>(int lane, ref EndedBuffer ended) where L : unmanaged, ILanes<L>
    {
        StateView state = State;
        L action = _discrete ? L.LoadConverted(ref *_intActions, lane) : L.Load(ref *_floatActions, lane);
        L terminated = TDynamics.Step(state, lane, action, out L reward);

        ref float elapsed = ref MemoryMarshal.GetArrayDataReference(_elapsed);
        ref float returns = ref MemoryMarshal.GetArrayDataReference(_returns);
        L.Store(reward, ref MemoryMarshal.GetArrayDataReference(_rewards), lane);
        L steps = L.Load(ref elapsed, lane) + L.Create(1f);
        L sum = L.Load(ref returns, lane) + reward;
        // Gymnasium's TimeLimit truncates at the limit whether or not the env also terminated.
        L truncated = L.LessThanOrEqual(L.Create(_maxSteps), steps);
        if (L.MaskBits(L.Or(terminated, truncated)) != 0)
        {
            EndGroup(lane, ref ended, terminated, truncated, steps, sum);
            return;
        }
        L.Store(steps, ref elapsed, lane);
        L.Store(sum, ref returns, lane);
        TDynamics.Observe<L>(state, lane, ref MemoryMarshal.GetArrayDataReference(_obs));
        ref byte t = ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetArrayDataReference(_terminated));
        ref byte u = ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetArrayDataReference(_truncated));
        Unsafe.InitBlockUnaligned(ref Unsafe.Add(ref t, lane), 0, (uint)L.Count);
        Unsafe.InitBlockUnaligned(ref Unsafe.Add(ref u, lane), 0, (uint)L.Count);
    }

    /// <summary>
    /// A group in which some lane ended: final observations and episode totals, flags, then the reset. Whole-group
    /// stores keep it branch-free: rows of lanes that did not end are stale by contract.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void EndGroup<L>(int lane, ref EndedBuffer buffer, L terminated, L truncated, L steps, L sum) where L : unmanaged, ILanes<L>
    {
        StateView state = State;
        L ended = L.Or(terminated, truncated);
        TDynamics.Observe<L>(state, lane, ref MemoryMarshal.GetArrayDataReference(_finalObs));
        ulong endedBits = L.MaskBits(ended), terminatedBits = L.MaskBits(terminated);
        Record(lane, ref buffer, endedBits, terminatedBits, ref Unsafe.As<L, float>(ref sum), ref Unsafe.As<L, float>(ref steps));
        StoreFlags(terminatedBits, _terminated, lane, L.Count);
        StoreFlags(L.MaskBits(truncated), _truncated, lane, L.Count);
        if (_autoReset)
        {
            TDynamics.Reset(state, lane, ended, Random);
            steps = L.Select(ended, L.Create(0f), steps);
            sum = L.Select(ended, L.Create(0f), sum);
        }
        else
        {
            MarkPending(endedBits, lane);
        }
        L.Store(steps, ref MemoryMarshal.GetArrayDataReference(_elapsed), lane);
        L.Store(sum, ref MemoryMarshal.GetArrayDataReference(_returns), lane);
        TDynamics.Observe<L>(state, lane, ref MemoryMarshal.GetArrayDataReference(_obs));
    }

    /// <summary>Appends the group's ended lanes to the part's episode records.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Record(int lane, ref EndedBuffer buffer, ulong ended, ulong terminated, ref float sum, ref float steps)
    {
        for (; ended != 0; ended &= ended - 1)
        {
            int j = BitOperations.TrailingZeroCount(ended);
            buffer.Records[buffer.Count++] = new EpisodeRecord(lane + j, Unsafe.Add(ref sum, j), (int)Unsafe.Add(ref steps, j), ((terminated >> j) & 1) != 0);
        }
    }

    /// <summary>Writes lanes' flags from mask bits, eight at a time through a table of spread bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreFlags(ulong bits, bool[] flags, int lane, int count)
    {
        ref byte first = ref Unsafe.As<bool, byte>(ref flags[lane]);
        if (count == 1)
        {
            first = (byte)bits;
            return;
        }
        for (int k = 0; k < count; k += 8)
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref first, k), SpreadBytes[(int)((bits >> k) & 0xFF)]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void MarkPending(ulong bits, int lane)
    {
        for (; bits != 0; bits &= bits - 1) _pendingReset[lane + BitOperations.TrailingZeroCount(bits)] = true;
    }

    private protected override void ResetLane(int lane)
    {
        Lane1 all = Lane1.Equal(Lane1.Create(0f), Lane1.Create(0f));
        TDynamics.Reset(State, lane, all, Random);
        _elapsed[lane] = 0;
        _returns[lane] = 0;
        ObserveLane(lane);
    }

    private protected override void ObserveLane(int lane)
    {
        TDynamics.Observe<Lane1>(State, lane, ref MemoryMarshal.GetArrayDataReference(_obs));
    }
}
