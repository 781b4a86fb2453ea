using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Optim;

/// <summary>Fused optimizer updates over flat spans: one pass reads the gradient and writes theta and the statistics.</summary>
public static class OptimizerKernels
{
    /// <summary>
    /// RMSProp as in Mnih et al. 2016 (eq. 8-9): g = alpha g + (1 - alpha) d^2; theta = theta - lr d / sqrt(g + eps).
    /// Safe to call from many threads on the same theta and g without a lock (Hogwild): each element is read and
    /// written once, and a lost update is the paper's accepted cost.
    /// </summary>
    public static void RmsPropStep(Span<float> theta, Span<float> statistics, ReadOnlySpan<float> gradient,
        float learningRate, float alpha, float epsilon, SimdWidth width = SimdWidth.Vector512)
    {
        Guard.SameLength(statistics.Length, theta.Length, nameof(statistics), nameof(theta));
        Guard.SameLength(gradient.Length, theta.Length, nameof(gradient), nameof(theta));
        int n = theta.Length, i = 0;
        ref float t = ref MemoryMarshal.GetReference(theta);
        ref float g = ref MemoryMarshal.GetReference(statistics);
        ref float d = ref MemoryMarshal.GetReference(gradient);
        width = Simd.Clamp(width);
        float beta = 1f - alpha;
        if (width == SimdWidth.Vector512)
        {
            Vector512<float> a = Vector512.Create(alpha), b = Vector512.Create(beta), lr = Vector512.Create(learningRate), e = Vector512.Create(epsilon);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512<float> di = Vector512.LoadUnsafe(ref d, (nuint)i);
                Vector512<float> gi = a * Vector512.LoadUnsafe(ref g, (nuint)i) + b * (di * di);
                gi.StoreUnsafe(ref g, (nuint)i);
                (Vector512.LoadUnsafe(ref t, (nuint)i) - lr * di / Vector512.Sqrt(gi + e)).StoreUnsafe(ref t, (nuint)i);
            }
        }
        if (width >= SimdWidth.Vector256)
        {
            Vector256<float> a = Vector256.Create(alpha), b = Vector256.Create(beta), lr = Vector256.Create(learningRate), e = Vector256.Create(epsilon);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> di = Vector256.LoadUnsafe(ref d, (nuint)i);
                Vector256<float> gi = a * Vector256.LoadUnsafe(ref g, (nuint)i) + b * (di * di);
                gi.StoreUnsafe(ref g, (nuint)i);
                (Vector256.LoadUnsafe(ref t, (nuint)i) - lr * di / Vector256.Sqrt(gi + e)).StoreUnsafe(ref t, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float di = Unsafe.Add(ref d, i);
            float gi = alpha * Unsafe.Add(ref g, i) + beta * (di * di);
            Unsafe.Add(ref g, i) = gi;
            Unsafe.Add(ref t, i) -= learningRate * di / MathF.Sqrt(gi + epsilon);
        }
    }

    /// <summary>
    /// Adam (Kingma and Ba 2015), in PyTorch's arrangement: m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
    /// theta = theta - stepSize m / (sqrt(v) * invSqrtBias2 + eps), where stepSize = lr / (1 - b1^t) and
    /// invSqrtBias2 = 1 / sqrt(1 - b2^t).
    /// </summary>
    public static void AdamStep(Span<float> theta, Span<float> m, Span<float> v, ReadOnlySpan<float> gradient,
        float stepSize, float beta1, float beta2, float invSqrtBias2, float epsilon, SimdWidth width = SimdWidth.Vector512)
    {
        Guard.SameLength(m.Length, theta.Length, nameof(m), nameof(theta));
        Guard.SameLength(v.Length, theta.Length, nameof(v), nameof(theta));
        Guard.SameLength(gradient.Length, theta.Length, nameof(gradient), nameof(theta));
        int n = theta.Length, i = 0;
        ref float t = ref MemoryMarshal.GetReference(theta);
        ref float rm = ref MemoryMarshal.GetReference(m);
        ref float rv = ref MemoryMarshal.GetReference(v);
        ref float d = ref MemoryMarshal.GetReference(gradient);
        width = Simd.Clamp(width);
        float c1 = 1f - beta1, c2 = 1f - beta2;
        if (width == SimdWidth.Vector512)
        {
            Vector512<float> b1 = Vector512.Create(beta1), b2 = Vector512.Create(beta2), k1 = Vector512.Create(c1), k2 = Vector512.Create(c2);
            Vector512<float> step = Vector512.Create(stepSize), s2 = Vector512.Create(invSqrtBias2), e = Vector512.Create(epsilon);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512<float> di = Vector512.LoadUnsafe(ref d, (nuint)i);
                Vector512<float> mi = b1 * Vector512.LoadUnsafe(ref rm, (nuint)i) + k1 * di;
                Vector512<float> vi = b2 * Vector512.LoadUnsafe(ref rv, (nuint)i) + k2 * (di * di);
                mi.StoreUnsafe(ref rm, (nuint)i);
                vi.StoreUnsafe(ref rv, (nuint)i);
                (Vector512.LoadUnsafe(ref t, (nuint)i) - step * mi / (Vector512.Sqrt(vi) * s2 + e)).StoreUnsafe(ref t, (nuint)i);
            }
        }
        if (width >= SimdWidth.Vector256)
        {
            Vector256<float> b1 = Vector256.Create(beta1), b2 = Vector256.Create(beta2), k1 = Vector256.Create(c1), k2 = Vector256.Create(c2);
            Vector256<float> step = Vector256.Create(stepSize), s2 = Vector256.Create(invSqrtBias2), e = Vector256.Create(epsilon);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> di = Vector256.LoadUnsafe(ref d, (nuint)i);
                Vector256<float> mi = b1 * Vector256.LoadUnsafe(ref rm, (nuint)i) + k1 * di;
                Vector256<float> vi = b2 * Vector256.LoadUnsafe(ref rv, (nuint)i) + k2 * (di * di);
                mi.StoreUnsafe(ref rm, (nuint)i);
                vi.StoreUnsafe(ref rv, (nuint)i);
                (Vector256.LoadUnsafe(ref t, (nuint)i) - step * mi / (Vector256.Sqrt(vi) * s2 + e)).StoreUnsafe(ref t, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float di = Unsafe.Add(ref d, i);
            float mi = beta1 * Unsafe.Add(ref rm, i) + c1 * di;
            float vi = beta2 * Unsafe.Add(ref rv, i) + c2 * (di * di);
            Unsafe.Add(ref rm, i) = mi;
            Unsafe.Add(ref rv, i) = vi;
            Unsafe.Add(ref t, i) -= stepSize * mi / (MathF.Sqrt(vi) * invSqrtBias2 + epsilon);
        }
    }
}
