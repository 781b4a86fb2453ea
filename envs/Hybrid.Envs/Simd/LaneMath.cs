using System.Runtime.CompilerServices;

namespace Hybrid.Envs.Simd;

/// <summary>Math over lane groups, written once for every width.</summary>
public static class LaneMath
{
    // Cody-Waite reduction by pi/2 in three parts, each with few enough mantissa bits that k * part is exact for
    // |k| < 2^13 (Cephes sinf.c: DP1..DP3 for pi/4, doubled here); valid while |x| <= ReductionLimit.
    const float PiOver2A = 1.5703125f, PiOver2B = 4.837512969970703125e-4f, PiOver2C = 7.54978995489188216e-8f;
    const float TwoOverPi = 0.636619772367581343f;
    /// <summary>Largest |x| the polynomial path serves; beyond it the runtime's SinCos is used (Cephes' lossth).</summary>
    public const float ReductionLimit = 8192f;

    // Minimax polynomials on [-pi/4, pi/4] from Cephes sinf.c and cosf.c (Moshier), about 1 ulp in float.
    const float S1 = -1.6666654611e-1f, S2 = 8.3321608736e-3f, S3 = -1.9515295891e-4f;
    const float C1 = 4.166664568298827e-2f, C2 = -1.388731625493765e-3f, C3 = 2.443315711809948e-5f;

    /// <summary>
    /// Sine and cosine of every lane: reduction to r in [-pi/4, pi/4] with quadrant k = round(2x/pi), polynomials
    /// on r (Horner, fused multiply-adds), then the quadrant's swap and signs. Uses only operations every width
    /// performs identically, so a lane's
    /// result does not depend on the group width. Lanes beyond <see cref="ReductionLimit"/> fall back to
    /// <see cref="ILanes{TSelf}.LibrarySinCos"/> for the whole group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (L Sin, L Cos) SinCos<L>(L x) where L : unmanaged, ILanes<L>
    {
        if (L.MaskBits(L.LessThan(L.Create(ReductionLimit), L.Abs(x))) != 0) return L.LibrarySinCos(x);
        // Fused multiply-adds: one rounding each, and half the latency of a multiply then an add, which is what a
        // single lane (an A3C thread's env) waits on.
        L k = L.Round(x * L.Create(TwoOverPi));
        L r = L.MultiplyAdd(k, L.Create(-PiOver2A), x);
        r = L.MultiplyAdd(k, L.Create(-PiOver2B), r);
        r = L.MultiplyAdd(k, L.Create(-PiOver2C), r);
        L z = r * r;
        L sinR = L.MultiplyAdd(L.MultiplyAdd(L.MultiplyAdd(L.Create(S3), z, L.Create(S2)), z, L.Create(S1)) * z, r, r);
        L cosR = L.MultiplyAdd(L.MultiplyAdd(L.MultiplyAdd(L.Create(C3), z, L.Create(C2)), z, L.Create(C1)), z * z,
            L.MultiplyAdd(L.Create(-0.5f), z, L.Create(1f)));
        // Quadrant q = k mod 4, exact in float for |k| < 2^24.
        L q = k - L.Create(4f) * L.Floor(k * L.Create(0.25f));
        L q1 = L.Equal(q, L.Create(1f)), q2 = L.Equal(q, L.Create(2f)), q3 = L.Equal(q, L.Create(3f));
        L swap = L.Or(q1, q3);
        L sin = L.Select(swap, cosR, sinR), cos = L.Select(swap, sinR, cosR);
        sin = L.Select(L.Or(q2, q3), -sin, sin);
        cos = L.Select(L.Or(q1, q2), -cos, cos);
        return (sin, cos);
    }

    /// <summary><c>min(max(x, low), high)</c> lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static L Clamp<L>(L x, L low, L high) where L : unmanaged, ILanes<L> => L.Min(L.Max(x, low), high);
}
