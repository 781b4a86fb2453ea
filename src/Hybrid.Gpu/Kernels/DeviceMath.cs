using System.Runtime.CompilerServices;
using Hybrid.Envs;
using Hybrid.Nn.Kernels;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// Math that kernels share, written so that ILGPU's CPU accelerator and a CUDA device compute the same values as
/// Hybrid's CPU path: sine and cosine by the same reduction and polynomials as the CPU envs (a GPU's sin and cos become
/// approximate instructions), and uniform draws from the same per-lane Weyl sequence and hash as <see cref="LaneRandom"/>.
/// </summary>
public static class DeviceMath
{
    // The constants of Hybrid.Envs.Simd.LaneMath.SinCos (Cody-Waite reduction by pi/2, Cephes sinf/cosf polynomials).
    const float PiOver2A = 1.5703125f, PiOver2B = 4.837512969970703125e-4f, PiOver2C = 7.54978995489188216e-8f;
    const float TwoOverPi = 0.636619772367581343f;
    const float S1 = -1.6666654611e-1f, S2 = 8.3321608736e-3f, S3 = -1.9515295891e-4f;
    const float C1 = 4.166664568298827e-2f, C2 = -1.388731625493765e-3f, C3 = 2.443315711809948e-5f;
    const float Unit = 1f / (1 << 24);

    /// <summary>
    /// a * b + c rounded once, the one fused multiply-add of device code. On CUDA it is the PTX instruction
    /// <c>fma.rn.f32</c>. ILGPU cannot take MathF.FusedMultiplyAdd there: it compiles it to a call to an external
    /// function no module defines, which the driver refuses to load; and it does not drop the branch that CUDA never
    /// takes, so that branch must compile too. It is <see cref="SoftwareFma"/>, which ILGPU's CPU accelerator runs and
    /// which equals MathF.FusedMultiplyAdd bit for bit, so the CPU accelerator keeps parity with Hybrid's CPU path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fma(float a, float b, float c)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float result, a, b, c);
            return result;
        }
        return SoftwareFma(a, b, c);
    }

    /// <summary>
    /// fmaf without an fma instruction, correctly rounded: the product of two floats is exact in double (24 + 24 bits),
    /// the sum is rounded to odd in double (TwoSum's exact error decides the last bit) and then to float, which is the
    /// correctly rounded result because double carries more than float's 24 + 2 bits (Boldo and Melquiond, "Emulation
    /// of FMA and correctly rounded sums: proved algorithms using rounding to odd", IEEE Trans. Computers 57(4), 2008).
    /// </summary>
    public static float SoftwareFma(float a, float b, float c)
    {
        double p = (double)a * b;
        double s = p + c;
        // TwoSum: s + e is exactly p + c (finite s only; an infinite or NaN s passes through).
        double bb = s - p;
        double e = (p - (s - bb)) + (c - bb);
        if (e != 0.0 && Math.Abs(s) <= double.MaxValue)
        {
            ulong bits = Interop.FloatAsInt(s);
            // Round to odd: an even s moves one ulp toward the exact sum.
            if ((bits & 1UL) == 0) s = Interop.IntAsFloat((e > 0.0) == (s > 0.0) ? bits + 1 : bits - 1);
        }
        return (float)s;
    }

    /// <summary>tanh as Hybrid's CPU kernels compute it (TanhOperator's rational function), with <see cref="Fma"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x) => TanhOperator.Invoke<DeviceFusedMultiplyAdd>(x);

    /// <summary>
    /// sin x and cos x by the CPU envs' method (LaneMath.SinCos), for |x| up to its reduction limit of 8192; the
    /// envs' angles stay far inside it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SinCos(float x, out float sin, out float cos)
    {
        float k = MathF.Round(x * TwoOverPi);
        float r = Fma(k, -PiOver2A, x);
        r = Fma(k, -PiOver2B, r);
        r = Fma(k, -PiOver2C, r);
        float z = r * r;
        float sinR = Fma(Fma(Fma(S3, z, S2), z, S1) * z, r, r);
        float cosR = Fma(Fma(Fma(C3, z, C2), z, C1), z * z,
            Fma(-0.5f, z, 1f));
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

/// <summary><see cref="DeviceMath.Fma"/> as the struct generic formulas (TanhOperator) are specialised with.</summary>
public readonly struct DeviceFusedMultiplyAdd : IFusedMultiplyAdd
{
    public float Invoke(float a, float b, float c) => DeviceMath.Fma(a, b, c);
}
