using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Optim;

/// <summary>
/// Fused optimizer updates over flat spans: one pass reads the gradient and writes theta and the statistics.
/// They stream three or four arrays once per update and are bound by memory, not arithmetic, so they use the
/// hardware-sized <see cref="Vector{T}"/> with a scalar tail (the scalar loop alone is the fallback) rather than
/// a loop per vector width.
/// </summary>
public static class OptimizerKernels
{
    /// <summary>
    /// RMSProp as in Mnih et al. 2016 (section 4): g = alpha g + (1 - alpha) d^2; theta = theta - lr d / sqrt(g + eps), or
    /// with <paramref name="epsilonOutside"/> as PyTorch's RMSprop: theta = theta - lr d / (sqrt(g) + eps).
    /// Safe to call from many threads on the same theta and g without a lock (Hogwild): each element is read and
    /// written once per call, and a lost update is the paper's accepted cost.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void RmsPropStep(Span<float> theta, Span<float> statistics, ReadOnlySpan<float> gradient,
        float learningRate, float alpha, float epsilon, SimdWidth width = SimdWidth.Vector512, bool epsilonOutside = false) =>
        RmsPropStepScaled(theta, statistics, gradient, 1f, learningRate, alpha, epsilon, epsilonOutside, width);

    /// <summary>
    /// <see cref="RmsPropStep"/> of <paramref name="scale"/> * gradient (a clipped gradient, without scaling it in
    /// memory first) in one pass, returning the sum of the new theta (finite unless a parameter is not): a learner that
    /// clips, steps and checks theta reads each array once instead of four times.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static double RmsPropStepScaled(Span<float> theta, Span<float> statistics, ReadOnlySpan<float> gradient, float scale,
        float learningRate, float alpha, float epsilon, bool epsilonOutside, SimdWidth width = SimdWidth.Vector512)
    {
        Guard.SameLength(statistics.Length, theta.Length, nameof(statistics), nameof(theta));
        Guard.SameLength(gradient.Length, theta.Length, nameof(gradient), nameof(theta));
        int n = theta.Length, i = 0;
        ref float t = ref MemoryMarshal.GetReference(theta);
        ref float g = ref MemoryMarshal.GetReference(statistics);
        ref float d = ref MemoryMarshal.GetReference(gradient);
        float beta = 1f - alpha;
        double sum = 0;
        if (Simd.Clamp(width) != SimdWidth.Scalar && Vector.IsHardwareAccelerated)
        {
            Vector<float> a = new(alpha), b = new(beta), lr = new(learningRate), e = new(epsilon), s = new(scale), total = Vector<float>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> di = s * Load(ref d, i);
                Vector<float> gi = a * Load(ref g, i) + b * (di * di);
                Store(gi, ref g, i);
                Vector<float> denominator = epsilonOutside ? Vector.SquareRoot(gi) + e : Vector.SquareRoot(gi + e);
                Vector<float> ti = Load(ref t, i) - lr * di / denominator;
                Store(ti, ref t, i);
                total += ti;
            }
            sum = Vector.Sum(total);
        }
        for (; i < n; i++)
        {
            float di = scale * Unsafe.Add(ref d, i);
            float gi = alpha * Unsafe.Add(ref g, i) + beta * (di * di);
            Unsafe.Add(ref g, i) = gi;
            float ti = Unsafe.Add(ref t, i) - learningRate * di / (epsilonOutside ? MathF.Sqrt(gi) + epsilon : MathF.Sqrt(gi + epsilon));
            Unsafe.Add(ref t, i) = ti;
            sum += ti;
        }
        return sum;
    }

    /// <summary>
    /// Adam (Kingma and Ba 2015), in PyTorch's arrangement: m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
    /// theta = theta - stepSize m / (sqrt(v) * invSqrtBias2 + eps), where stepSize = lr / (1 - b1^t) and
    /// invSqrtBias2 = 1 / sqrt(1 - b2^t).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
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
        float c1 = 1f - beta1, c2 = 1f - beta2;
        if (Simd.Clamp(width) != SimdWidth.Scalar && Vector.IsHardwareAccelerated)
        {
            Vector<float> b1 = new(beta1), b2 = new(beta2), k1 = new(c1), k2 = new(c2);
            Vector<float> step = new(stepSize), s2 = new(invSqrtBias2), e = new(epsilon);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> di = Load(ref d, i);
                Vector<float> mi = b1 * Load(ref rm, i) + k1 * di;
                Vector<float> vi = b2 * Load(ref rv, i) + k2 * (di * di);
                Store(mi, ref rm, i);
                Store(vi, ref rv, i);
                Store(Load(ref t, i) - step * mi / (Vector.SquareRoot(vi) * s2 + e), ref t, i);
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

    static Vector<float> Load(ref float source, int index) => Vector.LoadUnsafe(ref source, (nuint)index);

    static void Store(Vector<float> value, ref float destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);
}
