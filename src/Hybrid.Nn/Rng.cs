using System.Runtime.CompilerServices;

namespace Hybrid.Nn;

/// <summary>
/// A deterministic, splittable random-number generator: xoshiro256** (Blackman and Vigna 2018)
/// whose 256-bit state is filled by SplitMix64 from <c>(seed, stream)</c>. Stream <c>i</c> of a seed is
/// independent of how many other streams exist or in which order they are drawn, so lane <c>i</c> or
/// thread <c>i</c> draws the same numbers however the work is split.
/// </summary>
/// <remarks>Not thread-safe: give each thread or lane its own stream.</remarks>
public sealed class Rng
{
    // SplitMix64's increment (Steele, Lea and Flood 2014): the odd integer nearest 2^64 / golden ratio.
    const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;

    ulong _s0, _s1, _s2, _s3;
    double _spareGaussian;
    bool _hasSpareGaussian;

    /// <summary>The seed this generator was derived from.</summary>
    public ulong Seed { get; }

    /// <summary>The stream index this generator was derived from.</summary>
    public ulong Stream { get; }

    /// <summary>Creates stream <paramref name="stream"/> of <paramref name="seed"/>.</summary>
    public Rng(ulong seed, ulong stream = 0)
    {
        Seed = seed;
        Stream = stream;
        // Mix the stream index through SplitMix64 first, so streams 0, 1, 2... of one seed start far apart.
        ulong x = seed ^ Mix(stream * GoldenGamma + 0x632BE59BD9B4E019UL);
        _s0 = Mix(x += GoldenGamma);
        _s1 = Mix(x += GoldenGamma);
        _s2 = Mix(x += GoldenGamma);
        _s3 = Mix(x += GoldenGamma);
        // The all-zero state is the one state xoshiro never leaves.
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = GoldenGamma;
    }

    /// <summary>A child generator: stream <paramref name="index"/> of a seed derived from this generator's seed and stream.</summary>
    public Rng Split(ulong index) => new(Mix(Seed ^ Mix(Stream + GoldenGamma)), index);

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitRotate(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitRotate(_s3, 45);
        return result;
    }

    static ulong BitRotate(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform in [0, 1), 24 bits of precision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1), 53 bits of precision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public float NextFloat(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>Uniform integer in [0, <paramref name="n"/>), unbiased (Lemire 2019, multiply and reject).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public int NextInt(int n)
    {
        if (n <= 0) ThrowNotPositive(n);
        ulong m = (ulong)(uint)NextUInt64() * (uint)n;
        uint low = (uint)m;
        if (low < (uint)n)
        {
            uint threshold = (uint)-n % (uint)n;
            while (low < threshold)
            {
                m = (ulong)(uint)NextUInt64() * (uint)n;
                low = (uint)m;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>A standard normal sample (Box-Muller; the second value of each pair is kept for the next call).</summary>
    public double NextGaussian()
    {
        if (_hasSpareGaussian)
        {
            _hasSpareGaussian = false;
            return _spareGaussian;
        }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        double angle = 2.0 * Math.PI * u2;
        _spareGaussian = radius * Math.Sin(angle);
        _hasSpareGaussian = true;
        return radius * Math.Cos(angle);
    }

    /// <summary>Writes the generator's state (a checkpoint's), so that <see cref="Load"/> continues the same sequence.</summary>
    public void Save(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_s0);
        writer.Write(_s1);
        writer.Write(_s2);
        writer.Write(_s3);
        writer.Write(_spareGaussian);
        writer.Write(_hasSpareGaussian);
    }

    /// <summary>Restores the state <see cref="Save"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The data ends early, or holds the all-zero state xoshiro cannot leave.</exception>
    public void Load(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        try
        {
            (_s0, _s1, _s2, _s3) = (reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64());
            (_spareGaussian, _hasSpareGaussian) = (reader.ReadDouble(), reader.ReadBoolean());
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("saved state: a random generator's state ends early.", e);
        }
        if ((_s0 | _s1 | _s2 | _s3) == 0) throw new InvalidDataException("saved state: a random generator's state is all zero.");
    }

    static void ThrowNotPositive(int n) =>
        throw new ArgumentOutOfRangeException(nameof(n), n, "n must be positive.");
}
