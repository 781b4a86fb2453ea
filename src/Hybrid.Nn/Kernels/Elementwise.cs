using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hybrid.Nn.Kernels;

/// <summary>Widest vector a kernel may use. Public entry points use <see cref="Simd.Best"/>; tests force each width.</summary>
public enum SimdWidth
{
    /// <summary>The scalar loop: fallback and test oracle.</summary>
    Scalar,
    /// <summary>Vector256 loop, scalar tail.</summary>
    Vector256,
    /// <summary>Vector512 loop, then Vector256, then scalar tail.</summary>
    Vector512,
}

/// <summary>Hardware capability, read once.</summary>
public static class Simd
{
    /// <summary>The widest accelerated vector on this CPU.</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.Vector512
        : Vector256.IsHardwareAccelerated ? SimdWidth.Vector256 : SimdWidth.Scalar;

    /// <summary>Caps a requested width at what the hardware accelerates.</summary>
    public static SimdWidth Clamp(SimdWidth requested) => (SimdWidth)Math.Min((int)requested, (int)Best);
}

/// <summary>d = f(x, y) element-wise, as three overloads of one formula (TensorPrimitives' operator pattern).</summary>
public interface IBinaryOperator
{
    /// <summary>Scalar form.</summary>
    static abstract float Invoke(float x, float y);
    /// <summary>Vector256 form.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    /// <summary>Vector512 form.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>d = f(x) element-wise, as three overloads of one formula.</summary>
public interface IUnaryOperator
{
    /// <summary>Scalar form.</summary>
    static abstract float Invoke(float x);
    /// <summary>Vector256 form.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> x);
    /// <summary>Vector512 form.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>a * b + c with one rounding, as a struct a generic formula is specialised with (no delegate, no virtual call).</summary>
public interface IFusedMultiplyAdd
{
    /// <summary>a * b + c, rounded once.</summary>
    float Invoke(float a, float b, float c);
}

/// <summary>The host's fused multiply-add (MathF.FusedMultiplyAdd: one instruction on x64 with FMA3 and on Arm64).</summary>
public readonly struct HostFusedMultiplyAdd : IFusedMultiplyAdd
{
    /// <inheritdoc/>
    public float Invoke(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
}

/// <summary>
/// tanh(x) as a 13/6-degree odd/even rational function on x clamped to [-9, 9], where float tanh is already
/// +-1: the interpolant and coefficients of Eigen's generic_fast_tanh_float (Gonnet and Guennebaud), accurate to
/// a few ulp. About 15 flops and one division per element, against a libm call per element for MathF.Tanh.
/// </summary>
public readonly struct TanhOperator : IUnaryOperator
{
    const float Clamp = 9f;
    // Numerator (odd powers) and denominator (even powers), from Eigen's MathFunctionsImpl.h.
    const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f, A7 = 5.12229709037114e-08f;
    const float A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <inheritdoc/>
    public static float Invoke(float x) => Invoke<HostFusedMultiplyAdd>(x);

    /// <summary>
    /// The scalar form with the multiply-adds of <typeparamref name="TFma"/>: device kernels pass one that emits the
    /// device's own fused instruction (a call to MathF.FusedMultiplyAdd does not compile to one everywhere), so the
    /// host and a device evaluate the same formula, rounding for rounding.
    /// </summary>
    public static float Invoke<TFma>(float x) where TFma : struct, IFusedMultiplyAdd
    {
        TFma fma = default;
        // Min and max rather than Math.Clamp, whose argument check ILGPU cannot compile: Hybrid.Gpu's kernels call this too.
        x = MathF.Min(MathF.Max(x, -Clamp), Clamp);
        float x2 = x * x;
        float p = fma.Invoke(x2, A13, A11);
        p = fma.Invoke(x2, p, A9);
        p = fma.Invoke(x2, p, A7);
        p = fma.Invoke(x2, p, A5);
        p = fma.Invoke(x2, p, A3);
        p = fma.Invoke(x2, p, A1);
        float q = fma.Invoke(x2, B6, B4);
        q = fma.Invoke(x2, q, B2);
        q = fma.Invoke(x2, q, B0);
        return x * p / q;
    }

    /// <inheritdoc/>
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-Clamp)), Vector256.Create(Clamp));
        Vector256<float> x2 = x * x;
        Vector256<float> p = Vector256.FusedMultiplyAdd(x2, Vector256.Create(A13), Vector256.Create(A11));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A9));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A7));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A5));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A3));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A1));
        Vector256<float> q = Vector256.FusedMultiplyAdd(x2, Vector256.Create(B6), Vector256.Create(B4));
        q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B2));
        q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B0));
        return x * p / q;
    }

    /// <inheritdoc/>
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-Clamp)), Vector512.Create(Clamp));
        Vector512<float> x2 = x * x;
        Vector512<float> p = Vector512.FusedMultiplyAdd(x2, Vector512.Create(A13), Vector512.Create(A11));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A9));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A7));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A5));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A3));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A1));
        Vector512<float> q = Vector512.FusedMultiplyAdd(x2, Vector512.Create(B6), Vector512.Create(B4));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(B2));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(B0));
        return x * p / q;
    }
}

/// <summary>dx = dy (1 - y^2), the tanh derivative written in terms of the output y = tanh(x).</summary>
public readonly struct TanhBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public static float Invoke(float y, float dy) => dy * (1f - y * y);
    /// <inheritdoc/>
    public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy) => dy * (Vector256<float>.One - y * y);
    /// <inheritdoc/>
    public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) => dy * (Vector512<float>.One - y * y);
}

/// <summary>max(x, 0); NaN stays NaN, so a diverged network is not silently zeroed.</summary>
public readonly struct ReluOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public static float Invoke(float x) => MathF.Max(x, 0f);
    /// <inheritdoc/>
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);
    /// <inheritdoc/>
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
}

/// <summary>dx = dy where y = relu(x) &gt; 0, else 0 (the subgradient at 0 is taken as 0, as PyTorch does).</summary>
public readonly struct ReluBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public static float Invoke(float y, float dy) => y > 0f ? dy : 0f;
    /// <inheritdoc/>
    public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), dy, Vector256<float>.Zero);
    /// <inheritdoc/>
    public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), dy, Vector512<float>.Zero);
}

/// <summary>Element-wise and row kernels used by the layers.</summary>
public static class Elementwise
{
    /// <summary>destination[i] = TOp(x[i], y[i]).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, SimdWidth width = SimdWidth.Vector512)
        where TOp : IBinaryOperator
    {
        Guard.SameLength(y.Length, x.Length, nameof(y), nameof(x));
        Guard.SameLength(destination.Length, x.Length, nameof(destination), nameof(x));
        BinaryCore<TOp>(x, y, destination, Simd.Clamp(width));
    }

    /// <summary>destination[i] = TOp(x[i]); x and destination may be the same span.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> destination, SimdWidth width = SimdWidth.Vector512)
        where TOp : IUnaryOperator
    {
        Guard.SameLength(destination.Length, x.Length, nameof(destination), nameof(x));
        int n = x.Length, i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        width = Simd.Clamp(width);
        if (width == SimdWidth.Vector512)
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        if (width >= SimdWidth.Vector256)
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref rd, i) = TOp.Invoke(Unsafe.Add(ref rx, i));
    }

    static void BinaryCore<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, SimdWidth width)
        where TOp : IBinaryOperator
    {
        int n = x.Length, i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        if (width == SimdWidth.Vector512)
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        if (width >= SimdWidth.Vector256)
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref rd, i) = TOp.Invoke(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i));
    }

    /// <summary>
    /// One row of a linear layer: y[j] = bias[j] + sum_i x[i] w[i * y.Length + j], w stored [in, out].
    /// The batch-1 path: no packing, no allocation, four accumulators per pass to hide FMA latency.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match x.Length and y.Length.</exception>
    public static void LinearRow(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, SimdWidth width = SimdWidth.Vector512)
    {
        Guard.Exactly(w.Length, x.Length * y.Length, nameof(w));
        Guard.Exactly(bias.Length, y.Length, nameof(bias));
        LinearRowCore(x, w, bias, y, Simd.Clamp(width));
    }

    internal static void LinearRowCore(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, SimdWidth width)
    {
        int inputs = x.Length, outputs = y.Length, j = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rb = ref MemoryMarshal.GetReference(bias);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (width == SimdWidth.Vector512)
        {
            const int V = 16;
            for (; j <= outputs - 4 * V; j += 4 * V)
            {
                Vector512<float> a0 = Vector512.LoadUnsafe(ref rb, (nuint)j), a1 = Vector512.LoadUnsafe(ref rb, (nuint)(j + V));
                Vector512<float> a2 = Vector512.LoadUnsafe(ref rb, (nuint)(j + 2 * V)), a3 = Vector512.LoadUnsafe(ref rb, (nuint)(j + 3 * V));
                ref float row = ref Unsafe.Add(ref rw, j);
                for (int i = 0; i < inputs; i++, row = ref Unsafe.Add(ref row, outputs))
                {
                    Vector512<float> xi = Vector512.Create(Unsafe.Add(ref rx, i));
                    a0 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref row), a0);
                    a1 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref row, V), a1);
                    a2 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref row, 2 * V), a2);
                    a3 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref row, 3 * V), a3);
                }
                a0.StoreUnsafe(ref ry, (nuint)j);
                a1.StoreUnsafe(ref ry, (nuint)(j + V));
                a2.StoreUnsafe(ref ry, (nuint)(j + 2 * V));
                a3.StoreUnsafe(ref ry, (nuint)(j + 3 * V));
            }
            for (; j <= outputs - V; j += V)
            {
                Vector512<float> a0 = Vector512.LoadUnsafe(ref rb, (nuint)j);
                ref float row = ref Unsafe.Add(ref rw, j);
                for (int i = 0; i < inputs; i++, row = ref Unsafe.Add(ref row, outputs))
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref rx, i)), Vector512.LoadUnsafe(ref row), a0);
                a0.StoreUnsafe(ref ry, (nuint)j);
            }
        }
        if (width >= SimdWidth.Vector256)
        {
            const int V = 8;
            for (; j <= outputs - V; j += V)
            {
                Vector256<float> a0 = Vector256.LoadUnsafe(ref rb, (nuint)j);
                ref float row = ref Unsafe.Add(ref rw, j);
                for (int i = 0; i < inputs; i++, row = ref Unsafe.Add(ref row, outputs))
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref rx, i)), Vector256.LoadUnsafe(ref row), a0);
                a0.StoreUnsafe(ref ry, (nuint)j);
            }
        }
        for (; j < outputs; j++)
        {
            float sum = Unsafe.Add(ref rb, j);
            for (int i = 0; i < inputs; i++)
                sum += Unsafe.Add(ref rx, i) * Unsafe.Add(ref rw, i * outputs + j);
            Unsafe.Add(ref ry, j) = sum;
        }
    }

    /// <summary>Copies <paramref name="bias"/> into each of the rows of <paramref name="destination"/> ([rows, bias.Length]).</summary>
    public static void BroadcastRows(ReadOnlySpan<float> bias, Span<float> destination, int rows)
    {
        Guard.AtLeast(destination.Length, rows * bias.Length, nameof(destination));
        for (int r = 0; r < rows; r++) bias.CopyTo(destination.Slice(r * bias.Length, bias.Length));
    }

    /// <summary>
    /// destination[j] += sum over rows r of x[r * destination.Length + j]: the bias gradient. Column blocks are
    /// summed in registers down all rows, then added once.
    /// </summary>
    /// <exception cref="ArgumentException">x holds fewer than rows x destination.Length values.</exception>
    public static void AddColumnSums(ReadOnlySpan<float> x, int rows, Span<float> destination, SimdWidth width = SimdWidth.Vector512)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.AtLeast(x.Length, rows * destination.Length, nameof(x));
        int cols = destination.Length, j = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        width = Simd.Clamp(width);
        if (width == SimdWidth.Vector512)
            for (; j <= cols - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                Vector512<float> sum = Vector512<float>.Zero;
                for (int r = 0; r < rows; r++) sum += Vector512.LoadUnsafe(ref rx, (nuint)(r * cols + j));
                (Vector512.LoadUnsafe(ref rd, (nuint)j) + sum).StoreUnsafe(ref rd, (nuint)j);
            }
        if (width >= SimdWidth.Vector256)
            for (; j <= cols - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256<float> sum = Vector256<float>.Zero;
                for (int r = 0; r < rows; r++) sum += Vector256.LoadUnsafe(ref rx, (nuint)(r * cols + j));
                (Vector256.LoadUnsafe(ref rd, (nuint)j) + sum).StoreUnsafe(ref rd, (nuint)j);
            }
        for (; j < cols; j++)
        {
            float sum = 0;
            for (int r = 0; r < rows; r++) sum += Unsafe.Add(ref rx, r * cols + j);
            Unsafe.Add(ref rd, j) += sum;
        }
    }
}
