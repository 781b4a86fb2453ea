using Hybrid.Nn;
using Hybrid.Nn.Kernels;
using Hybrid.Nn.Optim;

namespace Hybrid.Tests.Nn;

/// <summary>Every hand-written kernel at every length 0..256, each vector width against the scalar path.</summary>
public class ElementwiseTests
{
    const ulong Seed = 7;

    public static TheoryData<SimdWidth> Widths => [SimdWidth.Vector512, SimdWidth.Vector256];

    [Theory]
    [MemberData(nameof(Widths))]
    public void TanhBackwardEveryLength(SimdWidth width) => CheckBinary<TanhBackwardOperator>(width);

    [Theory]
    [MemberData(nameof(Widths))]
    public void ReluBackwardEveryLength(SimdWidth width) => CheckBinary<ReluBackwardOperator>(width);

    [Theory]
    [MemberData(nameof(Widths))]
    public void TanhEveryLengthMatchesScalarPath(SimdWidth width) =>
        CheckUnary<TanhOperator>(width, stream: 10, scale: 6f, formula: null, tolerance: 1e-7f);

    [Theory]
    [MemberData(nameof(Widths))]
    public void ReluEveryLength(SimdWidth width)
    {
        CheckUnary<ReluOperator>(width, stream: 12, scale: 1f, formula: v => v > 0 ? v : 0f, tolerance: 0f);
        var nan = new float[20];
        Elementwise.Unary<ReluOperator>(Enumerable.Repeat(float.NaN, 20).ToArray(), nan, width);
        Assert.All(nan, v => Assert.True(float.IsNaN(v))); // a diverged network stays visibly diverged
    }

    /// <summary>Every length 0..256 at <paramref name="width"/>, against <paramref name="formula"/> or, without one, the scalar path.</summary>
    static void CheckUnary<TOp>(SimdWidth width, ulong stream, float scale, Func<float, float>? formula, float tolerance)
        where TOp : IUnaryOperator
    {
        var rng = new Rng(Seed, stream);
        for (int n = 0; n <= 256; n++)
        {
            float[] x = GemmTests.Random(rng, n);
            for (int i = 0; i < n; i++) x[i] *= scale;
            var expected = new float[n];
            var actual = new float[n];
            if (formula is null) Elementwise.Unary<TOp>(x, expected, SimdWidth.Scalar);
            else for (int i = 0; i < n; i++) expected[i] = formula(x[i]);
            Elementwise.Unary<TOp>(x, actual, width);
            GemmTests.AssertClose(expected, actual, tolerance, $"n={n}");
        }
    }

    [Fact]
    public void TanhApproximationIsWithinAFewUlpOfTheTrueTanh()
    {
        // Sweep [-12, 12], past the clamp at 9, and the tiny region where tanh(x) ~ x.
        double worstRelative = 0;
        for (int i = -120_000; i <= 120_000; i++)
        {
            float x = i * 1e-4f;
            float expected = (float)Math.Tanh(x), actual = TanhOperator.Invoke(x);
            double error = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-30);
            worstRelative = Math.Max(worstRelative, error);
        }
        foreach (float tiny in new[] { 1e-30f, -3e-8f, 1e-5f })
            Assert.Equal(tiny, TanhOperator.Invoke(tiny), Math.Abs(tiny) * 1e-5f);
        Assert.Equal(1f, TanhOperator.Invoke(50f));
        Assert.Equal(-1f, TanhOperator.Invoke(float.NegativeInfinity));
        // float epsilon is 1.19e-7; "a few ulp" means under 5e-7 relative.
        Assert.True(worstRelative < 5e-7, $"worst relative error {worstRelative:G3}");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ColumnSumsEveryLength(SimdWidth width)
    {
        var rng = new Rng(Seed, 11);
        for (int cols = 0; cols <= 256; cols++)
        {
            const int rows = 9;
            float[] x = GemmTests.Random(rng, rows * cols), start = GemmTests.Random(rng, cols);
            float[] expected = (float[])start.Clone(), actual = (float[])start.Clone();
            Elementwise.AddColumnSums(x, rows, expected, SimdWidth.Scalar);
            Elementwise.AddColumnSums(x, rows, actual, width);
            GemmTests.AssertClose(expected, actual, 1e-6f, $"cols={cols}");
        }
        float[] sums = [10f, 20f];
        Elementwise.AddColumnSums([1f, 2f, 3f, 4f, 5f, 6f], 3, sums, SimdWidth.Scalar);
        Assert.Equal([19f, 32f], sums);
    }

    [Fact]
    public void BinaryOperatorsComputeTheirFormulas()
    {
        Assert.Equal(0.5f * (1 - 0.25f), TanhBackwardOperator.Invoke(0.5f, 0.5f));
        Assert.Equal(0f, ReluBackwardOperator.Invoke(0f, 3f));
        Assert.Equal(3f, ReluBackwardOperator.Invoke(0.1f, 3f));
        Assert.Equal(0f, ReluBackwardOperator.Invoke(-0.1f, 3f));
    }

    static void CheckBinary<TOp>(SimdWidth width) where TOp : IBinaryOperator
    {
        var rng = new Rng(Seed);
        for (int n = 0; n <= 256; n++)
        {
            float[] x = GemmTests.Random(rng, n), y = GemmTests.Random(rng, n);
            var expected = new float[n];
            var actual = new float[n + 1];
            actual[n] = 123f; // a sentinel past the end must survive
            Elementwise.Binary<TOp>(x, y, expected, SimdWidth.Scalar);
            Elementwise.Binary<TOp>(x, y, actual.AsSpan(0, n), width);
            Assert.Equal(expected, actual.AsSpan(0, n).ToArray());
            Assert.Equal(123f, actual[n]);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void LinearRowEveryLength(SimdWidth width)
    {
        var rng = new Rng(Seed, 1);
        for (int outputs = 0; outputs <= 256; outputs++)
            foreach (int inputs in new[] { 1, 4, 7 })
            {
                float[] x = GemmTests.Random(rng, inputs), w = GemmTests.Random(rng, inputs * outputs), b = GemmTests.Random(rng, outputs);
                var expected = new float[outputs];
                for (int j = 0; j < outputs; j++)
                {
                    double sum = b[j];
                    for (int i = 0; i < inputs; i++) sum += (double)x[i] * w[i * outputs + j];
                    expected[j] = (float)sum;
                }
                var actual = new float[outputs];
                Elementwise.LinearRow(x, w, b, actual, width);
                GemmTests.AssertClose(expected, actual, 1e-5f, $"outputs={outputs} inputs={inputs}");
            }
        // Every input length too, at a width with full vectors and a tail.
        for (int inputs = 0; inputs <= 256; inputs++)
        {
            const int outputs = 83;
            float[] x = GemmTests.Random(rng, inputs), w = GemmTests.Random(rng, inputs * outputs), b = GemmTests.Random(rng, outputs);
            var expected = new float[outputs];
            var actual = new float[outputs];
            Elementwise.LinearRow(x, w, b, expected, SimdWidth.Scalar);
            Elementwise.LinearRow(x, w, b, actual, width);
            GemmTests.AssertClose(expected, actual, 1e-5f * (1 + inputs), $"inputs={inputs}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void RmsPropStepEveryLength(SimdWidth width)
    {
        var rng = new Rng(Seed, 2);
        for (int n = 0; n <= 256; n++)
        {
            float[] theta = GemmTests.Random(rng, n), g = GemmTests.Random(rng, n), d = GemmTests.Random(rng, n);
            for (int i = 0; i < n; i++) g[i] = Math.Abs(g[i]);
            float[] theta2 = (float[])theta.Clone(), g2 = (float[])g.Clone();
            OptimizerKernels.RmsPropStep(theta, g, d, 0.01f, 0.99f, 1e-5f, SimdWidth.Scalar);
            OptimizerKernels.RmsPropStep(theta2, g2, d, 0.01f, 0.99f, 1e-5f, width);
            GemmTests.AssertClose(theta, theta2, 1e-6f, $"theta n={n}");
            GemmTests.AssertClose(g, g2, 1e-6f, $"g n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void AdamStepEveryLength(SimdWidth width)
    {
        var rng = new Rng(Seed, 3);
        for (int n = 0; n <= 256; n++)
        {
            float[] theta = GemmTests.Random(rng, n), m = GemmTests.Random(rng, n), v = GemmTests.Random(rng, n), d = GemmTests.Random(rng, n);
            for (int i = 0; i < n; i++) v[i] = Math.Abs(v[i]);
            float[] theta2 = (float[])theta.Clone(), m2 = (float[])m.Clone(), v2 = (float[])v.Clone();
            OptimizerKernels.AdamStep(theta, m, v, d, 0.001f, 0.9f, 0.999f, 1.2f, 1e-8f, SimdWidth.Scalar);
            OptimizerKernels.AdamStep(theta2, m2, v2, d, 0.001f, 0.9f, 0.999f, 1.2f, 1e-8f, width);
            GemmTests.AssertClose(theta, theta2, 1e-6f, $"theta n={n}");
            GemmTests.AssertClose(m, m2, 1e-6f, $"m n={n}");
            GemmTests.AssertClose(v, v2, 1e-6f, $"v n={n}");
        }
    }

    [Fact]
    public void KernelsRejectMismatchedLengths()
    {
        var ex = Assert.Throws<ArgumentException>(() => Elementwise.Binary<TanhBackwardOperator>(new float[3], new float[4], new float[3]));
        Assert.Equal("y", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => OptimizerKernels.RmsPropStep(new float[3], new float[2], new float[3], 0.1f, 0.9f, 0.1f));
        Assert.Equal("statistics", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => Elementwise.LinearRow(new float[3], new float[5], new float[2], new float[2]));
        Assert.Equal("w", ex.ParamName);
        Assert.Contains("expected exactly 6", ex.Message);
    }
}
