using Hybrid.Nn;

namespace Hybrid.Tests;

/// <summary>
/// Central finite differences, (L(x + h) - L(x - h)) / 2h, with the loss summed in double from float forward
/// passes, against an analytic gradient.
/// </summary>
internal static class GradientCheck
{
    // h = 1e-2 keeps float rounding in L (about 1e-7 relative) well under the tolerance once divided by 2h,
    // while the O(h^2) truncation error of the central difference stays near 1e-4.
    public const double Step = 1e-2;
    public const double RelativeTolerance = 3e-3;
    public const double AbsoluteTolerance = 3e-4;

    /// <summary>
    /// Checks analytic[i] against the central difference of <paramref name="loss"/> in x[i], for every index
    /// (or <paramref name="maxIndices"/> chosen by a fixed seed). With <paramref name="kinks"/>, an index where
    /// differences at h and h/2 disagree (a ReLU kink inside the interval) is skipped; at most a tenth may be.
    /// </summary>
    public static void Assert(float[] x, float[] analytic, Func<double> loss, string name, int maxIndices = 300, bool kinks = false)
    {
        Xunit.Assert.Equal(x.Length, analytic.Length);
        var pick = new Rng(99, (ulong)name.Length);
        int checkedCount = 0, skipped = 0;
        int count = Math.Min(x.Length, maxIndices);
        for (int c = 0; c < count; c++)
        {
            int i = x.Length <= maxIndices ? c : pick.NextInt(x.Length);
            double numeric = Central(x, i, loss, Step);
            if (kinks && Math.Abs(numeric - Central(x, i, loss, Step / 2)) > AbsoluteTolerance + RelativeTolerance * Math.Abs(numeric))
            {
                skipped++;
                continue;
            }
            double a = analytic[i];
            if (!(Math.Abs(a - numeric) <= AbsoluteTolerance + RelativeTolerance * Math.Max(Math.Abs(a), Math.Abs(numeric))))
                Xunit.Assert.Fail($"{name}[{i}]: analytic {a:G6}, numeric {numeric:G6}");
            checkedCount++;
        }
        Xunit.Assert.True(skipped <= count / 10, $"{name}: {skipped} of {count} indices sat on kinks");
        Xunit.Assert.True(checkedCount > 0 || x.Length == 0, $"{name}: nothing checked");
    }

    static double Central(float[] x, int i, Func<double> loss, double h)
    {
        float saved = x[i];
        x[i] = (float)(saved + h);
        double plus = loss();
        x[i] = (float)(saved - h);
        double minus = loss();
        x[i] = saved;
        // Divide by the step actually taken in float.
        return (plus - minus) / ((double)(float)(saved + h) - (float)(saved - h));
    }

    /// <summary>sum_k w_k y_k in double: a loss whose gradient in y is w.</summary>
    public static double Dot(ReadOnlySpan<float> y, ReadOnlySpan<float> w)
    {
        double sum = 0;
        for (int k = 0; k < y.Length; k++) sum += (double)y[k] * w[k];
        return sum;
    }

    public static float[] Random(Rng rng, int length, float scale = 1f)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = rng.NextFloat(-scale, scale);
        return x;
    }
}
