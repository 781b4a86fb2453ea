using System.Runtime.CompilerServices;

namespace Hybrid.Envs.MinAtar;

/// <summary>
/// MT19937 as numpy's legacy <c>RandomState(seed)</c> runs it: the classic single-integer initialisation
/// (<c>mt[i] = 1812433253 (mt[i-1] xor mt[i-1] >> 30) + i</c>) and the standard twist and tempering
/// (Matsumoto and Nishimura 1998). Used only for lanes seeded like the reference package
/// (<see cref="MinAtarEnv.ResetLaneLikeReference"/>), so that a lane replays a reference episode step for step. The
/// arithmetic is in static functions (<see cref="Seed"/>, <see cref="Twisted"/>, <see cref="Temper"/>) that the device
/// kernels' generator uses too.
/// </summary>
public sealed class Mt19937
{
    /// <summary>Words of state (n) and the twist's offset (m).</summary>
    public const int N = 624, M = 397;
    const uint MatrixA = 0x9908B0DF, UpperMask = 0x80000000, LowerMask = 0x7FFFFFFF;
    readonly uint[] _mt = new uint[N];
    int _index;

    /// <summary>A generator seeded with <paramref name="seed"/> (numpy: <c>RandomState(seed)</c>).</summary>
    public Mt19937(uint seed)
    {
        Seed(_mt, seed);
        _index = N;
    }

    /// <summary>Fills <paramref name="state"/>'s first <see cref="N"/> words as numpy's <c>RandomState(seed)</c> does.</summary>
    public static void Seed(Span<uint> state, uint seed)
    {
        state[0] = seed;
        for (uint i = 1; i < N; i++) state[(int)i] = 1812433253u * (state[(int)i - 1] ^ (state[(int)i - 1] >> 30)) + i;
    }

    /// <summary>Word i after a twist, from words i, i + 1 and i + m (mod n) before it.</summary>
    public static uint Twisted(uint word, uint next, uint ahead)
    {
        uint y = (word & UpperMask) | (next & LowerMask);
        return ahead ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0u);
    }

    /// <summary>The output of state word <paramref name="y"/>: the standard tempering.</summary>
    public static uint Temper(uint y)
    {
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        return y ^ (y >> 18);
    }

    /// <summary>The next raw 32-bit output.</summary>
    public uint Next()
    {
        if (_index >= N) Twist();
        return Temper(_mt[_index++]);
    }

    void Twist()
    {
        for (int i = 0; i < N; i++)
            _mt[i] = Twisted(_mt[i], _mt[(i + 1) % N], _mt[(i + M) % N]);
        _index = 0;
    }
}

/// <summary>A source of raw 32-bit outputs that numpy's draws are built on (<see cref="NumpyDraws"/>).</summary>
public interface IRawRandom
{
    /// <summary>The next raw 32-bit output.</summary>
    uint Next();
}

/// <summary>
/// numpy's legacy <c>RandomState</c> draws over any raw source (RULES.md section 2): the CPU lanes' <see cref="LaneRng"/>
/// and the device kernels' lane streams draw through these, so both consume raw outputs exactly as the reference does.
/// </summary>
public static class NumpyDraws
{
    const double TwoTo53 = 9007199254740992.0; // 2^53

    /// <summary>Uniform on [0, 1) from two raw outputs a, b: <c>(a >> 5) 2^26 + (b >> 6)) / 2^53</c> (numpy <c>random_sample</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Uniform<T>(ref T source) where T : IRawRandom, allows ref struct
    {
        uint a = source.Next() >> 5, b = source.Next() >> 6;
        return (a * 67108864.0 + b) / TwoTo53;
    }

    /// <summary>
    /// Uniform on <c>lo .. hi-1</c> by masked rejection (numpy legacy <c>randint</c>): no output is consumed when the
    /// range holds one value; otherwise outputs are masked to the smallest <c>2^k - 1 >= hi - lo - 1</c> until one
    /// is in range.
    /// </summary>
    public static int Int<T>(ref T source, int lo, int hi) where T : IRawRandom, allows ref struct
    {
        uint range = (uint)(hi - lo - 1);
        if (range == 0) return lo;
        uint mask = range;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint v = source.Next() & mask;
        while (v > range) v = source.Next() & mask;
        return lo + (int)v;
    }
}

/// <summary>
/// One lane's random stream for a MinAtar step. The raw 32-bit source is the lane's <see cref="LaneRandom"/> stream,
/// or an <see cref="Mt19937"/> when the lane was seeded like the reference package; the draws built on it follow
/// numpy's legacy <c>RandomState</c> exactly (RULES.md section 2), so a reference-seeded lane consumes the same raw
/// outputs as the Python code.
/// </summary>
public ref struct LaneRng : IRawRandom
{
    ref uint _state;
    readonly uint _step;
    readonly Mt19937? _mt;

    internal LaneRng(ref uint state, uint step, Mt19937? mt)
    {
        _state = ref state;
        _step = step;
        _mt = mt;
    }

    /// <summary>The next raw 32-bit output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Next() => _mt is null ? LaneRandom.Hash(_state += _step) : _mt.Next();

    /// <summary>Uniform on [0, 1) (<see cref="NumpyDraws.Uniform{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Uniform() => NumpyDraws.Uniform(ref this);

    /// <summary>Uniform on <c>lo .. hi-1</c> (<see cref="NumpyDraws.Int{T}"/>).</summary>
    public int Int(int lo, int hi) => NumpyDraws.Int(ref this, lo, hi);
}
