using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hybrid.Envs.Simd;

/// <summary>Which group width the env dynamics run at.</summary>
public enum LaneWidth
{
    /// <summary>The widest group the CPU accelerates: <see cref="Vector512"/>, else <see cref="Vector256"/>, else scalar.</summary>
    Auto,
    /// <summary>One lane at a time; the oracle the vector paths are tested against.</summary>
    Scalar,
    /// <summary>8 lanes per <see cref="Vector256{T}"/>.</summary>
    Vector256,
    /// <summary>16 lanes per <see cref="Vector512{T}"/>.</summary>
    Vector512,
}

/// <summary>
/// A group of float lanes with the operations the env dynamics need. Each dynamics function is written once,
/// generic over this interface, and runs as one lane (<see cref="Lane1"/>), 8 lanes (<see cref="Lane8"/>) or 16
/// lanes (<see cref="Lane16"/>). The three perform the same IEEE operations in the same order (fused multiply-adds
/// only where written, the same polynomial sine), so a lane's trajectory is bit-identical whichever group it was
/// stepped in.
/// Comparisons return masks: all bits set where true.
/// </summary>
public interface ILanes<TSelf> where TSelf : unmanaged, ILanes<TSelf>
{
    /// <summary>Lanes per group.</summary>
    static abstract int Count { get; }

    /// <summary>Whether the CPU runs this group width in hardware.</summary>
    static abstract bool IsHardwareAccelerated { get; }

    /// <summary>Every lane set to <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>Loads lanes <c>[index, index + Count)</c>.</summary>
    static abstract TSelf Load(ref float source, int index);

    /// <summary>Loads int lanes <c>[index, index + Count)</c>, converted to float (discrete actions).</summary>
    static abstract TSelf LoadConverted(ref int source, int index);

    /// <summary>Stores into lanes <c>[index, index + Count)</c>.</summary>
    static abstract void Store(TSelf value, ref float destination, int index);

    /// <summary>Lane-wise sum.</summary>
    static abstract TSelf operator +(TSelf a, TSelf b);
    /// <summary>Lane-wise difference.</summary>
    static abstract TSelf operator -(TSelf a, TSelf b);
    /// <summary>Lane-wise product.</summary>
    static abstract TSelf operator *(TSelf a, TSelf b);
    /// <summary>Lane-wise quotient.</summary>
    static abstract TSelf operator /(TSelf a, TSelf b);
    /// <summary>Lane-wise negation.</summary>
    static abstract TSelf operator -(TSelf a);

    /// <summary><c>a * b + c</c> lane-wise with one rounding (FMA), the same at every width.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>Lane-wise minimum (the second operand where either is NaN).</summary>
    static abstract TSelf Min(TSelf a, TSelf b);
    /// <summary>Lane-wise maximum (the second operand where either is NaN).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);
    /// <summary>Lane-wise floor.</summary>
    static abstract TSelf Floor(TSelf x);
    /// <summary>Lane-wise round half to even.</summary>
    static abstract TSelf Round(TSelf x);
    /// <summary>Lane-wise absolute value.</summary>
    static abstract TSelf Abs(TSelf x);

    /// <summary>Mask of <c>a &lt; b</c>.</summary>
    static abstract TSelf LessThan(TSelf a, TSelf b);
    /// <summary>Mask of <c>a &lt;= b</c>.</summary>
    static abstract TSelf LessThanOrEqual(TSelf a, TSelf b);
    /// <summary>Mask of <c>a == b</c>.</summary>
    static abstract TSelf Equal(TSelf a, TSelf b);
    /// <summary>Bitwise or (of masks).</summary>
    static abstract TSelf Or(TSelf a, TSelf b);
    /// <summary>Bitwise and (of masks).</summary>
    static abstract TSelf And(TSelf a, TSelf b);
    /// <summary><paramref name="whereTrue"/> where the mask is set, else <paramref name="whereFalse"/>.</summary>
    static abstract TSelf Select(TSelf mask, TSelf whereTrue, TSelf whereFalse);
    /// <summary>Bit j set where lane j of the mask is set.</summary>
    static abstract ulong MaskBits(TSelf mask);

    /// <summary>The runtime's sine and cosine, used for arguments beyond the polynomial's reduction range.</summary>
    static abstract (TSelf Sin, TSelf Cos) LibrarySinCos(TSelf x);

    /// <summary>
    /// A uniform float on [0, 1) from 24 random bits per lane: lane i advances <c>states[i] += steps[i]</c> and hashes
    /// it (see <see cref="LaneRandom"/>); only lanes set in <paramref name="mask"/> advance, so each lane's sequence is
    /// the same whichever group it is drawn in.
    /// </summary>
    static abstract TSelf NextUniform(ref uint states, ref uint steps, int lane, TSelf mask);

    /// <summary>Writes rows of two floats: lane j's row <c>(a[j], b[j])</c> at <c>rows[(lane + j) * 2]</c>.</summary>
    static abstract void StoreRows2(ref float rows, int lane, TSelf a, TSelf b);

    /// <summary>Writes rows of four floats: lane j's row <c>(a[j], b[j], c[j], d[j])</c> at <c>rows[(lane + j) * 4]</c>.</summary>
    static abstract void StoreRows4(ref float rows, int lane, TSelf a, TSelf b, TSelf c, TSelf d);
}

/// <summary>
/// One lane: the scalar path and the oracle for the vector paths. The value sits in element 0 of a
/// <see cref="Vector128{T}"/> (upper elements zero) so that masks, selects and rounding are single instructions, as
/// scalar SSE/NEON arithmetic is; every operation is the same IEEE operation as on the wider groups.
/// </summary>
public readonly struct Lane1 : ILanes<Lane1>
{
    readonly Vector128<float> _v;
    Lane1(Vector128<float> v) => _v = v;

    /// <summary>The lane's value.</summary>
    public float Value => _v.ToScalar();

    /// <inheritdoc/>
    public static int Count => 1;
    /// <inheritdoc/>
    public static bool IsHardwareAccelerated => true;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Create(float value) => new(Vector128.CreateScalar(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Load(ref float source, int index) => new(Vector128.CreateScalar(Unsafe.Add(ref source, index)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 LoadConverted(ref int source, int index) => new(Vector128.CreateScalar((float)Unsafe.Add(ref source, index)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lane1 value, ref float destination, int index) => Unsafe.Add(ref destination, index) = value._v.ToScalar();
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator +(Lane1 a, Lane1 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator -(Lane1 a, Lane1 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator *(Lane1 a, Lane1 b) => new(a._v * b._v);
    // Upper elements are 0 / 0 = NaN here; they are never read.
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator /(Lane1 a, Lane1 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator -(Lane1 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 MultiplyAdd(Lane1 a, Lane1 b, Lane1 c) => new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Min(Lane1 a, Lane1 b) => new(Vector128.ConditionalSelect(Vector128.LessThan(a._v, b._v), a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Max(Lane1 a, Lane1 b) => new(Vector128.ConditionalSelect(Vector128.GreaterThan(a._v, b._v), a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Floor(Lane1 x) => new(Vector128.Floor(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Round(Lane1 x) => new(Vector128.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Abs(Lane1 x) => new(Vector128.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 LessThan(Lane1 a, Lane1 b) => new(Vector128.LessThan(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 LessThanOrEqual(Lane1 a, Lane1 b) => new(Vector128.LessThanOrEqual(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Equal(Lane1 a, Lane1 b) => new(Vector128.Equals(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Or(Lane1 a, Lane1 b) => new(a._v | b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 And(Lane1 a, Lane1 b) => new(a._v & b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Select(Lane1 mask, Lane1 whereTrue, Lane1 whereFalse) => new(Vector128.ConditionalSelect(mask._v, whereTrue._v, whereFalse._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MaskBits(Lane1 mask) => mask._v.ExtractMostSignificantBits() & 1;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lane1 Sin, Lane1 Cos) LibrarySinCos(Lane1 x)
    {
        (float s, float c) = MathF.SinCos(x._v.ToScalar());
        return (Create(s), Create(c));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 NextUniform(ref uint states, ref uint steps, int lane, Lane1 mask)
    {
        if (MaskBits(mask) == 0) return default;
        ref uint state = ref Unsafe.Add(ref states, lane);
        state += Unsafe.Add(ref steps, lane);
        return Create((int)(LaneRandom.Hash(state) >> 8) * LaneRandom.Unit);
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRows2(ref float rows, int lane, Lane1 a, Lane1 b) => Rows.Columns(ref rows, lane, 2, a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRows4(ref float rows, int lane, Lane1 a, Lane1 b, Lane1 c, Lane1 d) => Rows.Columns(ref rows, lane, 4, a, b, c, d);
}

/// <summary>8 lanes in a <see cref="Vector256{T}"/>.</summary>
public readonly struct Lane8 : ILanes<Lane8>
{
    readonly Vector256<float> _v;
    Lane8(Vector256<float> v) => _v = v;

    /// <inheritdoc/>
    public static int Count => 8;
    /// <inheritdoc/>
    public static bool IsHardwareAccelerated => Vector256.IsHardwareAccelerated;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Create(float value) => new(Vector256.Create(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Load(ref float source, int index) => new(Vector256.LoadUnsafe(ref source, (nuint)index));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 LoadConverted(ref int source, int index) =>
        new(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref source, (nuint)index)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lane8 value, ref float destination, int index) => value._v.StoreUnsafe(ref destination, (nuint)index);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 operator +(Lane8 a, Lane8 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 operator -(Lane8 a, Lane8 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 operator *(Lane8 a, Lane8 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 operator /(Lane8 a, Lane8 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 operator -(Lane8 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 MultiplyAdd(Lane8 a, Lane8 b, Lane8 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Min(Lane8 a, Lane8 b) => new(Vector256.ConditionalSelect(Vector256.LessThan(a._v, b._v), a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Max(Lane8 a, Lane8 b) => new(Vector256.ConditionalSelect(Vector256.GreaterThan(a._v, b._v), a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Floor(Lane8 x) => new(Vector256.Floor(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Round(Lane8 x) => new(Vector256.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Abs(Lane8 x) => new(Vector256.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 LessThan(Lane8 a, Lane8 b) => new(Vector256.LessThan(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 LessThanOrEqual(Lane8 a, Lane8 b) => new(Vector256.LessThanOrEqual(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Equal(Lane8 a, Lane8 b) => new(Vector256.Equals(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Or(Lane8 a, Lane8 b) => new(a._v | b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 And(Lane8 a, Lane8 b) => new(a._v & b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 Select(Lane8 mask, Lane8 whereTrue, Lane8 whereFalse) => new(Vector256.ConditionalSelect(mask._v, whereTrue._v, whereFalse._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MaskBits(Lane8 mask) => mask._v.ExtractMostSignificantBits();
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lane8 Sin, Lane8 Cos) LibrarySinCos(Lane8 x)
    {
        (Vector256<float> s, Vector256<float> c) = Vector256.SinCos(x._v);
        return (new(s), new(c));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane8 NextUniform(ref uint states, ref uint steps, int lane, Lane8 mask)
    {
        Vector256<uint> state = Vector256.LoadUnsafe(ref states, (nuint)lane);
        Vector256<uint> next = state + Vector256.LoadUnsafe(ref steps, (nuint)lane);
        Vector256.ConditionalSelect(mask._v.AsUInt32(), next, state).StoreUnsafe(ref states, (nuint)lane);
        Vector256<uint> x = (next ^ (next >> 16)) * Vector256.Create(LaneRandom.HashMultiplier1);
        x = (x ^ (x >> 15)) * Vector256.Create(LaneRandom.HashMultiplier2);
        x ^= x >> 15;
        return new(Vector256.ConvertToSingle((x >> 8).AsInt32()) * Vector256.Create(LaneRandom.Unit));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRows2(ref float rows, int lane, Lane8 a, Lane8 b) => Rows.Columns(ref rows, lane, 2, a, b);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRows4(ref float rows, int lane, Lane8 a, Lane8 b, Lane8 c, Lane8 d) => Rows.Columns(ref rows, lane, 4, a, b, c, d);

}

/// <summary>16 lanes in a <see cref="Vector512{T}"/>.</summary>
public readonly struct Lane16 : ILanes<Lane16>
{
    readonly Vector512<float> _v;
    Lane16(Vector512<float> v) => _v = v;

    /// <inheritdoc/>
    public static int Count => 16;
    /// <inheritdoc/>
    public static bool IsHardwareAccelerated => Vector512.IsHardwareAccelerated;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Create(float value) => new(Vector512.Create(value));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Load(ref float source, int index) => new(Vector512.LoadUnsafe(ref source, (nuint)index));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 LoadConverted(ref int source, int index) =>
        new(Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref source, (nuint)index)));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lane16 value, ref float destination, int index) => value._v.StoreUnsafe(ref destination, (nuint)index);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 operator +(Lane16 a, Lane16 b) => new(a._v + b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 operator -(Lane16 a, Lane16 b) => new(a._v - b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 operator *(Lane16 a, Lane16 b) => new(a._v * b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 operator /(Lane16 a, Lane16 b) => new(a._v / b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 operator -(Lane16 a) => new(-a._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 MultiplyAdd(Lane16 a, Lane16 b, Lane16 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Min(Lane16 a, Lane16 b) => new(Vector512.ConditionalSelect(Vector512.LessThan(a._v, b._v), a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Max(Lane16 a, Lane16 b) => new(Vector512.ConditionalSelect(Vector512.GreaterThan(a._v, b._v), a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Floor(Lane16 x) => new(Vector512.Floor(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Round(Lane16 x) => new(Vector512.Round(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Abs(Lane16 x) => new(Vector512.Abs(x._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 LessThan(Lane16 a, Lane16 b) => new(Vector512.LessThan(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 LessThanOrEqual(Lane16 a, Lane16 b) => new(Vector512.LessThanOrEqual(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Equal(Lane16 a, Lane16 b) => new(Vector512.Equals(a._v, b._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Or(Lane16 a, Lane16 b) => new(a._v | b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 And(Lane16 a, Lane16 b) => new(a._v & b._v);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 Select(Lane16 mask, Lane16 whereTrue, Lane16 whereFalse) => new(Vector512.ConditionalSelect(mask._v, whereTrue._v, whereFalse._v));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MaskBits(Lane16 mask) => mask._v.ExtractMostSignificantBits();
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lane16 Sin, Lane16 Cos) LibrarySinCos(Lane16 x)
    {
        (Vector512<float> s, Vector512<float> c) = Vector512.SinCos(x._v);
        return (new(s), new(c));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane16 NextUniform(ref uint states, ref uint steps, int lane, Lane16 mask)
    {
        Vector512<uint> state = Vector512.LoadUnsafe(ref states, (nuint)lane);
        Vector512<uint> next = state + Vector512.LoadUnsafe(ref steps, (nuint)lane);
        Vector512.ConditionalSelect(mask._v.AsUInt32(), next, state).StoreUnsafe(ref states, (nuint)lane);
        Vector512<uint> x = (next ^ (next >> 16)) * Vector512.Create(LaneRandom.HashMultiplier1);
        x = (x ^ (x >> 15)) * Vector512.Create(LaneRandom.HashMultiplier2);
        x ^= x >> 15;
        return new(Vector512.ConvertToSingle((x >> 8).AsInt32()) * Vector512.Create(LaneRandom.Unit));
    }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRows2(ref float rows, int lane, Lane16 a, Lane16 b)
    {
        if (!Avx512F.IsSupported)
        {
            Rows.Columns(ref rows, lane, 2, a, b);
            return;
        }
        ref float row = ref Unsafe.Add(ref rows, lane * 2);
        Avx512F.PermuteVar16x32x2(a._v, PairLow, b._v).StoreUnsafe(ref row);
        Avx512F.PermuteVar16x32x2(a._v, PairHigh, b._v).StoreUnsafe(ref row, 16);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRows4(ref float rows, int lane, Lane16 a, Lane16 b, Lane16 c, Lane16 d)
    {
        if (!Avx512F.IsSupported)
        {
            Rows.Columns(ref rows, lane, 4, a, b, c, d);
            return;
        }
        // (a, b) and (c, d) interleaved into pairs, then the pairs interleaved as 64-bit units: a0 b0 c0 d0 a1 b1 ...
        Vector512<double> abLow = Avx512F.PermuteVar16x32x2(a._v, PairLow, b._v).AsDouble();
        Vector512<double> abHigh = Avx512F.PermuteVar16x32x2(a._v, PairHigh, b._v).AsDouble();
        Vector512<double> cdLow = Avx512F.PermuteVar16x32x2(c._v, PairLow, d._v).AsDouble();
        Vector512<double> cdHigh = Avx512F.PermuteVar16x32x2(c._v, PairHigh, d._v).AsDouble();
        ref float row = ref Unsafe.Add(ref rows, lane * 4);
        Avx512F.PermuteVar8x64x2(abLow, QuadLow, cdLow).AsSingle().StoreUnsafe(ref row);
        Avx512F.PermuteVar8x64x2(abLow, QuadHigh, cdLow).AsSingle().StoreUnsafe(ref row, 16);
        Avx512F.PermuteVar8x64x2(abHigh, QuadLow, cdHigh).AsSingle().StoreUnsafe(ref row, 32);
        Avx512F.PermuteVar8x64x2(abHigh, QuadHigh, cdHigh).AsSingle().StoreUnsafe(ref row, 48);
    }

    static Vector512<int> PairLow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    }
    static Vector512<int> PairHigh
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    }
    static Vector512<long> QuadLow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0L, 8, 1, 9, 2, 10, 3, 11);
    }
    static Vector512<long> QuadHigh
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(4L, 12, 5, 13, 6, 14, 7, 15);
    }

}

/// <summary>Writing lane groups as observation rows.</summary>
public static class Rows
{
    /// <summary>Rows of two: <c>(a, b)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write<L>(ref float rows, int lane, L a, L b) where L : unmanaged, ILanes<L> => L.StoreRows2(ref rows, lane, a, b);

    /// <summary>Rows of three: <c>(a, b, c)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write<L>(ref float rows, int lane, L a, L b, L c) where L : unmanaged, ILanes<L> =>
        Columns(ref rows, lane, 3, a, b, c);

    /// <summary>Rows of four: <c>(a, b, c, d)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write<L>(ref float rows, int lane, L a, L b, L c, L d) where L : unmanaged, ILanes<L> =>
        L.StoreRows4(ref rows, lane, a, b, c, d);

    /// <summary>Rows of six: <c>(a, b, c, d, e, f)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write<L>(ref float rows, int lane, L a, L b, L c, L d, L e, L f) where L : unmanaged, ILanes<L>
    {
        Columns(ref rows, lane, 6, a, b, c);
        Column(ref rows, lane, 6, 3, d);
        Column(ref rows, lane, 6, 4, e);
        Column(ref rows, lane, 6, 5, f);
    }

    /// <summary>Columns 0.. of rows <paramref name="width"/> wide, element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Columns<L>(ref float rows, int lane, int width, L a, L b, L c = default, L d = default) where L : unmanaged, ILanes<L>
    {
        Column(ref rows, lane, width, 0, a);
        Column(ref rows, lane, width, 1, b);
        if (width > 2) Column(ref rows, lane, width, 2, c);
        if (width > 3) Column(ref rows, lane, width, 3, d);
    }

    /// <summary>Column <paramref name="column"/> of rows <paramref name="width"/> wide, element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Column<L>(ref float rows, int lane, int width, int column, L value) where L : unmanaged, ILanes<L>
    {
        ref float source = ref Unsafe.As<L, float>(ref value);
        ref float target = ref Unsafe.Add(ref rows, lane * width + column);
        for (int j = 0; j < L.Count; j++) Unsafe.Add(ref target, j * width) = Unsafe.Add(ref source, j);
    }
}
