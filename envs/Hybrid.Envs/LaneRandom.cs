using System.Runtime.CompilerServices;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs;

/// <summary>
/// Per-lane random numbers for resets, cheap enough to draw 16 lanes at a time: lane i walks its own Weyl sequence
/// <c>state += step</c> (step odd, so the period is 2^32 draws) and each draw is <c>Hash(state)</c>, a 32-bit
/// integer hash with low bias (Wellons' hash-prospector "lowbias32", constants as improved by TheIronBorn).
/// State and step are seeded from <c>(seed, lane)</c> by SplitMix64, so a lane's draws do not depend on how many
/// lanes there are, the group width, or which thread steps them.
/// </summary>
public static class LaneRandom
{
    const ulong Golden = 0x9E3779B97F4A7C15; // 2^64 / golden ratio, SplitMix64's increment
    internal const uint HashMultiplier1 = 0x21f0aaad, HashMultiplier2 = 0xd35a2d97;
    internal const float Unit = 1f / (1 << 24);

    /// <summary>Lane <paramref name="lane"/>'s starting state and (odd) step under <paramref name="seed"/>.</summary>
    public static (uint State, uint Step) Seed(ulong seed, int lane)
    {
        ulong z = Mix(Mix(seed + Golden) ^ ((ulong)lane + 1) * 0xD1B54A32D192ED03);
        return ((uint)z, (uint)(z >> 32) | 1);
    }

    /// <summary>The draw for Weyl state <paramref name="x"/>: lowbias32.</summary>
    public static uint Hash(uint x)
    {
        x = (x ^ (x >> 16)) * HashMultiplier1;
        x = (x ^ (x >> 15)) * HashMultiplier2;
        return x ^ (x >> 15);
    }

    static ulong Mix(ulong z)
    {
        // SplitMix64's finalizer (Steele, Lea and Flood 2014).
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}

/// <summary>The random states of all lanes (see <see cref="LaneRandom"/>), drawn a group of lanes at a time.</summary>
public readonly ref struct RandomLanes
{
    readonly ref uint _state;
    readonly ref uint _step;

    /// <summary>A view over per-lane states and steps.</summary>
    public RandomLanes(Span<uint> state, Span<uint> step)
    {
        _state = ref state[0];
        _step = ref step[0];
    }

    /// <summary>
    /// For lanes of <c>[lane, lane + L.Count)</c> set in <paramref name="mask"/>, a float uniform on
    /// <c>[low, high)</c> from 24 random bits; only those lanes' states advance.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public L Uniform<L>(int lane, L mask, float low, float high) where L : unmanaged, ILanes<L> =>
        L.Create(low) + L.Create(high - low) * L.NextUniform(ref _state, ref _step, lane, mask);
}
