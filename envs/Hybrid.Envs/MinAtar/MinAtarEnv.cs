using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hybrid.Envs.MinAtar.Games;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.MinAtar;

/// <summary>Settings of the reference package's <c>Environment</c> wrapper.</summary>
/// <param name="StickyActionProbability">Chance that a step repeats the previously executed action instead (0 to 1).</param>
/// <param name="DifficultyRamping">Whether Asterix, Seaquest and Space Invaders speed up as the game goes on.</param>
public sealed record MinAtarOptions(double StickyActionProbability = 0.1, bool DifficultyRamping = true)
{
    /// <summary>The reference package's defaults: sticky actions 0.1, ramping on.</summary>
    public static MinAtarOptions Default { get; } = new();

    /// <summary>Throws unless the probability is within [0, 1].</summary>
    public void Validate()
    {
        if (!(StickyActionProbability >= 0 && StickyActionProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(StickyActionProbability), StickyActionProbability,
                string.Create(CultureInfo.InvariantCulture, $"sticky action probability was {StickyActionProbability}; expected a number in [0, 1]."));
    }
}

/// <summary>
/// MinAtar lanes that can replay the reference package's episodes: a lane can be seeded like the reference's
/// <c>Environment</c> (Mersenne Twister), and the observation an episode ended on is kept. The CPU env and the device
/// env both are, so the conformance vectors replay on either.
/// </summary>
public interface IReferenceLanes : IVectorLanes
{
    /// <summary>Observation channels, C.</summary>
    int Channels { get; }

    /// <summary>Each lane's observation when its last episode ended [N * obs].</summary>
    ReadOnlySpan<float> FinalObservations { get; }

    /// <summary>Makes lane <paramref name="lane"/> a fresh reference <c>Environment</c> seeded with <paramref name="seed"/> and reset.</summary>
    void ResetLaneLikeReference(int lane, uint seed);
}

/// <summary>
/// N lanes of one MinAtar game (Young and Tian 2019), following the reference package at revision 4241f24 as
/// specified in RULES.md, quirks included. Observations are 0/1 floats, channel-first: lane i's row is
/// <c>[C x 10 x 10]</c> at <c>i * C * 100</c>, element <c>c * 100 + y * 10 + x</c>, ready for a conv torso.
/// </summary>
/// <remarks>
/// Each lane is the reference's <c>Environment</c>: every step draws one uniform double for the sticky-action test
/// (also when the probability is 0), a sticky step repeats the previously executed action, and that action carries
/// over an auto-reset as it does over the reference's <c>reset()</c>. Lanes draw from Hybrid's per-lane stream seeded
/// by <c>(seed, lane)</c>, with numpy's rules for doubles and bounded integers on top; <see cref="ResetLaneLikeReference"/>
/// switches a lane to the reference's Mersenne Twister instead, so that it replays a reference episode exactly.
/// The games set no time limit; Hybrid truncates at 108,000 steps (the ALE's 30-minute episode cap,
/// Machado et al. 2018) so that a Seaquest agent camping on the surface cannot stall a run.
/// </remarks>
public abstract class MinAtarEnv : VectorEnv, IReferenceLanes
{
    /// <summary>The truncation limit (see remarks).</summary>
    public const int MaxEpisodeSteps = 108_000;

    /// <summary>Agent action to game action: the identity for -v0, the minimal set for -v1.</summary>
    private protected readonly int[] _actionMap;

    private protected MinAtarEnv(EnvSpec spec, MinAtarGameInfo game, int numEnvs, LaneWidth width, MinAtarOptions options, bool minimalActions)
        : base(spec, numEnvs, width)
    {
        Game = game;
        Options = options;
        _actionMap = minimalActions ? (int[])game.MinimalActions.Clone() : [0, 1, 2, 3, 4, 5];
    }

    /// <summary>The game: names, channels, glyphs.</summary>
    public MinAtarGameInfo Game { get; }

    /// <summary>Sticky actions and ramping.</summary>
    public MinAtarOptions Options { get; }

    /// <summary>Observation channels, C.</summary>
    public int Channels => Game.Channels;

    /// <summary>The game's action (0 no-op ... 5 fire) that agent action <paramref name="action"/> stands for.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The action is outside the env's action space.</exception>
    public int GameAction(int action) => (uint)action < (uint)_actionMap.Length ? _actionMap[action]
        : throw new ArgumentOutOfRangeException(nameof(action), action, $"{Id}: action was {action}; expected 0 to {_actionMap.Length - 1}.");

    /// <summary>
    /// Makes lane <paramref name="lane"/> a fresh reference <c>Environment</c> that was seeded with
    /// <paramref name="seed"/> and reset: its draws now come from MT19937 seeded like numpy's
    /// <c>RandomState(seed)</c> (sticky draws and game draws from one stream), its last action is no-op, and the game is
    /// reset from that stream. Later auto-resets of the lane continue the same stream, as the reference's
    /// <c>reset()</c> does; <see cref="VectorEnv.Reset(ulong)"/> returns every lane to Hybrid's own streams.
    /// </summary>
    /// <exception cref="InvalidOperationException">The env was never reset with <see cref="VectorEnv.Reset(ulong)"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Bad lane.</exception>
    public abstract void ResetLaneLikeReference(int lane, uint seed);

    /// <summary>
    /// Renders lane <paramref name="lane"/>'s current state from scratch into <paramref name="destination"/>
    /// (<c>C x 100</c> floats). <see cref="VectorEnv.Observations"/> is kept up to date by writing only the cells that
    /// change; this full render is what it must always equal.
    /// </summary>
    /// <exception cref="ArgumentException">Bad lane or destination length.</exception>
    public abstract void RenderLane(int lane, Span<float> destination);

    /// <summary>The registry name of a game: <c>MinAtar/Breakout-v0</c> (all six actions) or <c>-v1</c> (minimal set).</summary>
    public static string EnvId(MinAtarGameInfo game, bool minimalActions) => $"MinAtar/{game.Title}-v{(minimalActions ? 1 : 0)}";

    internal static EnvSpec MakeSpec(MinAtarGameInfo game, bool minimalActions)
    {
        int size = game.Channels * Grid.Cells;
        return new EnvSpec(EnvId(game, minimalActions), new BoxSpace(new float[size], Filled(size, 1f)),
            new DiscreteSpace(minimalActions ? game.MinimalActions.Length : MinAtarAction.Count),
            MaxEpisodeSteps, RewardThreshold: null, SolveThreshold: double.PositiveInfinity, StateNames: []);
    }

    static float[] Filled(int size, float value)
    {
        var array = new float[size];
        Array.Fill(array, value);
        return array;
    }
}

/// <summary>A <see cref="MinAtarEnv"/> whose lanes play <typeparamref name="TGame"/>.</summary>
public sealed unsafe class MinAtarEnv<TGame> : MinAtarEnv where TGame : unmanaged, IMinAtarGame<TGame>
{
    readonly TGame[] _games;
    readonly ObsBits[] _shown;     // the bits each lane's observation row holds
    readonly byte[] _lastAction;
    readonly int _words, _maxSteps;
    readonly double _sticky;
    readonly bool _ramping;
    Mt19937?[]? _mt;               // per lane, only once some lane is seeded like the reference

    /// <summary>An env of <paramref name="numEnvs"/> lanes; call <see cref="VectorEnv.Reset(ulong)"/> before stepping.</summary>
    /// <exception cref="ArgumentException">numEnvs below 1, or a sticky probability outside [0, 1].</exception>
    public MinAtarEnv(int numEnvs, bool minimalActions = false, MinAtarOptions? options = null, LaneWidth width = LaneWidth.Auto)
        : base(MakeSpec(TGame.Info, minimalActions), TGame.Info, numEnvs, width, options ?? MinAtarOptions.Default, minimalActions)
    {
        Options.Validate();
        _games = new TGame[numEnvs];
        _shown = new ObsBits[numEnvs];
        _lastAction = new byte[numEnvs];
        _words = (TGame.Info.Channels * Grid.Cells + 63) / 64;
        _maxSteps = Spec.MaxEpisodeSteps;
        _sticky = Options.StickyActionProbability;
        _ramping = Options.DifficultyRamping;
    }

    /// <summary>Lane <paramref name="lane"/>'s game state (for tests and rendering).</summary>
    public ref readonly TGame State(int lane) => ref _games[lane];

    private protected override void OnSeed()
    {
        _mt = null;
        Array.Clear(_lastAction);
    }

    private protected override void SaveMore(BinaryWriter writer)
    {
        if (_mt is not null && Array.Exists(_mt, m => m is not null))
            throw new NotSupportedException($"{Id}: a lane seeded like the reference (Mersenne Twister) cannot be saved.");
        BinaryState.Write<TGame>(writer, _games);
        BinaryState.Write<ObsBits>(writer, _shown);
        BinaryState.Write<byte>(writer, _lastAction);
    }

    private protected override void LoadMore(BinaryReader reader)
    {
        _mt = null;
        BinaryState.Read<TGame>(reader, _games, "game states");
        BinaryState.Read<ObsBits>(reader, _shown, "shown observations");
        BinaryState.Read<byte>(reader, _lastAction, "last actions");
    }

    /// <inheritdoc/>
    public override void ResetLaneLikeReference(int lane, uint seed)
    {
        if (!HasReset) throw new InvalidOperationException($"{Id}: ResetLaneLikeReference was called before Reset(seed).");
        if ((uint)lane >= (uint)_n) throw new ArgumentOutOfRangeException(nameof(lane), lane, $"{Id}: lane was {lane}; expected 0 to {_n - 1}.");
        _mt ??= new Mt19937?[_n];
        _mt[lane] = new Mt19937(seed);
        _lastAction[lane] = 0;
        ResetLane(lane);
        ClearLaneFlags(lane);
        _rewards[lane] = 0;
    }

    LaneRng Random(int lane) => new(ref _randomState[lane], _randomStep[lane], _mt?[lane]);

    private protected override void ResetLane(int lane)
    {
        LaneRng random = Random(lane);
        _games[lane].Reset(ref random);
        _elapsed[lane] = 0;
        _returns[lane] = 0;
        ObserveLane(lane);
    }

    // _shown[lane] always holds the bits of lane's observation row (both start all zero), so a fresh state is shown
    // by writing the difference, after a step and after a reset alike.
    private protected override void ObserveLane(int lane) => Show(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Show(int lane)
    {
        ObsBits now = default;
        _games[lane].Render(ref now);
        WriteChanged(ref _shown[lane], ref now, ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_obs), lane * _obsSize), _words);
    }

    /// <inheritdoc/>
    public override void RenderLane(int lane, Span<float> destination)
    {
        if ((uint)lane >= (uint)_n) throw new ArgumentOutOfRangeException(nameof(lane), lane, $"{Id}: lane was {lane}; expected 0 to {_n - 1}.");
        if (destination.Length != _obsSize)
            throw new ArgumentException($"{Id}: destination had {destination.Length} floats; expected {_obsSize} ({Channels} x 10 x 10).", nameof(destination));
        ObsBits bits = default;
        _games[lane].Render(ref bits);
        Expand(ref bits, destination, _words);
    }

    static void Expand(ref ObsBits bits, Span<float> row, int words)
    {
        row.Clear();
        for (int w = 0; w < words; w++)
            for (ulong word = bits[w]; word != 0; word &= word - 1) row[w * 64 + BitOperations.TrailingZeroCount(word)] = 1f;
    }

    private protected override void StepLanes(int start, int end, int part)
    {
        EpisodeRecord[] records = _ended[part];
        int count = 0;
        ref int actions = ref Unsafe.AsRef<int>(_intActions);
        for (int lane = start; lane < end; lane++)
        {
            LaneRng random = Random(lane);
            // The wrapper's sticky draw comes first, on every step (RULES.md section 1).
            int action = _actionMap[Unsafe.Add(ref actions, lane)];
            if (random.Uniform() < _sticky) action = _lastAction[lane];
            _lastAction[lane] = (byte)action;

            ref TGame game = ref _games[lane];
            int reward = game.Step(action, _ramping, ref random);
            float steps = _elapsed[lane] + 1, sum = _returns[lane] + reward;
            bool terminated = game.Terminal, truncated = steps >= _maxSteps;
            _rewards[lane] = reward;
            _terminated[lane] = terminated;
            _truncated[lane] = truncated;
            Show(lane);
            if (terminated | truncated)
            {
                EndEpisode(lane, records, ref count, sum, steps, terminated);
                continue;
            }
            _elapsed[lane] = steps;
            _returns[lane] = sum;
        }
        _endedCount[part * CountStride] = count;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void EndEpisode(int lane, EpisodeRecord[] records, ref int count, float sum, float steps, bool terminated)
    {
        _obs.AsSpan(lane * _obsSize, _obsSize).CopyTo(_finalObs.AsSpan(lane * _obsSize, _obsSize));
        records[count++] = new EpisodeRecord(lane, sum, (int)steps, terminated);
        if (!_autoReset)
        {
            _pendingReset[lane] = true;
            _elapsed[lane] = steps;
            _returns[lane] = sum;
            return;
        }
        // The reference's reset(): the game resets from the same stream; the last action carries over.
        ResetLane(lane);
    }

    /// <summary>Writes the floats whose bit differs between <paramref name="shown"/> and <paramref name="now"/>, then remembers <paramref name="now"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void WriteChanged(ref ObsBits shown, ref ObsBits now, ref float row, int words)
    {
        for (int w = 0; w < words; w++)
        {
            ulong value = now[w], changed = shown[w] ^ value;
            if (changed == 0) continue;
            shown[w] = value;
            ref float block = ref Unsafe.Add(ref row, w * 64);
            for (; changed != 0; changed &= changed - 1)
            {
                int j = BitOperations.TrailingZeroCount(changed);
                Unsafe.Add(ref block, j) = (value >> j) & 1;
            }
        }
    }
}

/// <summary>The five MinAtar games, by name.</summary>
public static class MinAtarGames
{
    /// <summary>Every game's info, in the reference's order.</summary>
    public static IReadOnlyList<MinAtarGameInfo> All { get; } = [Asterix.Info, Breakout.Info, Freeway.Info, Seaquest.Info, SpaceInvaders.Info];

    /// <summary>A new env of <paramref name="numEnvs"/> lanes of the game named <paramref name="name"/> (reference name or title).</summary>
    /// <exception cref="ArgumentException">Unknown game.</exception>
    public static MinAtarEnv Make(string name, int numEnvs, bool minimalActions = false, MinAtarOptions? options = null, LaneWidth width = LaneWidth.Auto) =>
        Find(name).Name switch
        {
            "asterix" => new MinAtarEnv<Asterix>(numEnvs, minimalActions, options, width),
            "breakout" => new MinAtarEnv<Breakout>(numEnvs, minimalActions, options, width),
            "freeway" => new MinAtarEnv<Freeway>(numEnvs, minimalActions, options, width),
            "seaquest" => new MinAtarEnv<Seaquest>(numEnvs, minimalActions, options, width),
            _ => new MinAtarEnv<SpaceInvaders>(numEnvs, minimalActions, options, width),
        };

    /// <summary>The game named <paramref name="name"/>: <c>space_invaders</c> or <c>SpaceInvaders</c>.</summary>
    /// <exception cref="ArgumentException">Unknown game.</exception>
    public static MinAtarGameInfo Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (MinAtarGameInfo game in All)
            if (game.Name == name || game.Title == name) return game;
        throw new ArgumentException($"game was '{name}'; expected one of {string.Join(", ", All.Select(g => g.Name))}.", nameof(name));
    }
}
