using Hybrid.Nn;

namespace Hybrid.Tests.Nn;

public class RngAndInitTests
{
    [Fact]
    public void SameSeedAndStreamGiveSameSequence()
    {
        var a = new Rng(5, 3);
        var b = new Rng(5, 3);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
    }

    [Fact]
    public void StreamsAndSeedsDiffer()
    {
        var seen = new HashSet<ulong>();
        for (ulong seed = 0; seed < 4; seed++)
            for (ulong stream = 0; stream < 16; stream++)
                Assert.True(seen.Add(new Rng(seed, stream).NextUInt64()), $"seed {seed} stream {stream} repeats another's first draw");
        // A stream does not depend on which other streams were drawn from.
        var lone = new Rng(1, 7).NextUInt64();
        var first = new Rng(1, 0);
        for (int i = 0; i < 50; i++) first.NextUInt64();
        Assert.Equal(lone, new Rng(1, 7).NextUInt64());
        Assert.Equal(new Rng(1, 7).Split(2).NextUInt64(), new Rng(1, 7).Split(2).NextUInt64());
        Assert.NotEqual(new Rng(1, 7).Split(2).NextUInt64(), new Rng(1, 7).Split(3).NextUInt64());
    }

    [Fact]
    public void UniformIntegersAreInRangeAndRoughlyUniform()
    {
        var rng = new Rng(11);
        var counts = new int[6];
        const int draws = 60_000;
        for (int i = 0; i < draws; i++) counts[rng.NextInt(6)]++;
        // Each count ~ Binomial(60000, 1/6): mean 10000, sd 91; 5 sd bounds.
        foreach (int c in counts) Assert.InRange(c, 9545, 10455);
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
        for (int i = 0; i < 1000; i++)
        {
            float f = rng.NextFloat();
            Assert.InRange(f, 0f, 0.99999999f);
        }
    }

    [Fact]
    public void GaussianHasUnitMoments()
    {
        var rng = new Rng(12);
        double sum = 0, sumSq = 0;
        const int draws = 100_000;
        for (int i = 0; i < draws; i++)
        {
            double g = rng.NextGaussian();
            sum += g;
            sumSq += g * g;
        }
        Assert.InRange(sum / draws, -0.02, 0.02);
        Assert.InRange(sumSq / draws, 0.98, 1.02);
    }

    [Theory]
    [InlineData(64, 64)]
    [InlineData(4, 64)]
    [InlineData(64, 2)]
    public void OrthogonalInitHasOrthonormalRowsOrColumns(int rows, int cols)
    {
        const double gain = 1.5;
        var w = new float[rows * cols];
        Init.Orthogonal(w, rows, cols, gain, new Rng(13));
        // The Gram matrix of the shorter side's vectors is gain^2 I.
        bool columns = rows >= cols;
        int vectors = columns ? cols : rows, length = columns ? rows : cols;
        for (int p = 0; p < vectors; p++)
            for (int q = 0; q < vectors; q++)
            {
                double dot = 0;
                for (int i = 0; i < length; i++)
                    dot += columns ? (double)w[i * cols + p] * w[i * cols + q] : (double)w[p * cols + i] * w[q * cols + i];
                Assert.Equal(p == q ? gain * gain : 0, dot, 4);
            }
    }

    [Fact]
    public void ScaledUniformStaysInItsBound()
    {
        var w = new float[64 * 10];
        var b = new float[10];
        Init.WeightAndBias(InitKind.ScaledUniform, w, b, 64, 10, 1.0, new Rng(14));
        Assert.All(w, v => Assert.InRange(v, -0.125f, 0.125f));
        Assert.All(b, v => Assert.InRange(v, -0.125f, 0.125f));
        Assert.Contains(w, v => Math.Abs(v) > 0.1f); // and actually spreads over it
    }
}
