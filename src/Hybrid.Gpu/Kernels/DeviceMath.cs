using System.Runtime.CompilerServices;
using Hybrid.Envs;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// Math that kernels share, written so that ILGPU's CPU accelerator and a CUDA device compute the same values as
/// Hybrid's CPU path: sine and cosine by the same reduction and polynomials as the CPU envs (a GPU's sin and cos become
/// approximate instructions), and uniform draws from the same per-lane Weyl sequence and hash as <see cref="LaneRandom"/>.
/// </summary>
internal static class DeviceMath
{
    // The constants of Hybrid.Envs.Simd.LaneMath.SinCos (Cody-Waite reduction by pi/2, Cephes sinf/cosf polynomials).
    const float PiOver2A = 1.5703125f, PiOver2B = 4.837512969970703125e-4f, PiOver2C = 7.54978995489188216e-8f;
    const float TwoOverPi = 0.636619772367581343f;
    const float S1 = -1.6666654611e-1f, S2 = 8.3321608736e-3f, S3 = -1.9515295891e-4f;
    const float C1 = 4.166664568298827e-2f, C2 = -1.388731625493765e-3f, C3 = 2.443315711809948e-5f;
    const float Unit = 1f / (1 << 24);

    /// <summary>
    /// sin x and cos x by the CPU envs' method (LaneMath.SinCos), for |x| up to its reduction limit of 8192; the
    /// envs' angles stay far inside it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SinCos(float x, out float sin, out float cos)
    {
        float k = MathF.Round(x * TwoOverPi);
        float r = MathF.FusedMultiplyAdd(k, -PiOver2A, x);
        r = MathF.FusedMultiplyAdd(k, -PiOver2B, r);
        r = MathF.FusedMultiplyAdd(k, -PiOver2C, r);
        float z = r * r;
        float sinR = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(S3, z, S2), z, S1) * z, r, r);
        float cosR = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C3, z, C2), z, C1), z * z,
            MathF.FusedMultiplyAdd(-0.5f, z, 1f));
        float q = k - 4f * MathF.Floor(k * 0.25f);
        bool swap = q == 1f || q == 3f;
        sin = swap ? cosR : sinR;
        cos = swap ? sinR : cosR;
        if (q == 2f || q == 3f) sin = -sin;
        if (q == 1f || q == 2f) cos = -cos;
    }

    /// <summary>
    /// The next uniform float on [low, high) of a lane's stream: <c>state += step</c>, then the lowbias32 hash, 24 bits
    /// (as <see cref="LaneRandom"/> and the CPU envs draw; the int cast keeps the conversion exact on every backend).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(ref uint state, uint step, float low, float high)
    {
        state += step;
        return low + (high - low) * ((int)(LaneRandom.Hash(state) >> 8) * Unit);
    }
}
