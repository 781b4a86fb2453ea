using Hybrid.Nn.Kernels;
using Hybrid.Threading;

namespace Hybrid.Tests.Nn;

public class GemmTests
{
    // Fixed seed so a failure reproduces.
    const ulong Seed = 20261121;

    public static TheoryData<GemmPath> VectorPaths => [GemmPath.Vector512, GemmPath.Vector256];

    /// <summary>Every length 0..256 in each of M, N and K, all four transpose combinations, against the scalar oracle.</summary>
    [Theory]
    [MemberData(nameof(VectorPaths))]
    public void EveryLengthMatchesScalarOracle(GemmPath path)
    {
        var rng = new Hybrid.Nn.Rng(Seed);
        for (int length = 0; length <= 256; length++)
        {
            foreach ((int m, int n, int k) in new[] { (length, 37, 5), (9, length, 19), (7, 33, length) })
                for (int t = 0; t < 4; t++)
                    CheckOne(m, n, k, (t & 1) != 0, (t & 2) != 0, accumulate: length % 2 == 1, path, rng);
        }
    }

    [Theory]
    [MemberData(nameof(VectorPaths))]
    public void NetworkShapesMatchScalarOracle(GemmPath path)
    {
        var rng = new Hybrid.Nn.Rng(Seed, 1);
        // The benchmark's shapes: forward, input gradient and weight gradient of 4-64-64-(2+1) at batch 1024,
        // plus K beyond one K block; and a 64-unit LSTM's recurrence for 1 and 8 lanes (h Wh, dG Wh^T) and its
        // weight gradient over 20 steps of 8 lanes.
        foreach ((int m, int n, int k, bool ta, bool tb) in new[]
                 {
                     (1024, 64, 4, false, false), (1024, 64, 64, false, false), (1024, 2, 64, false, false),
                     (1024, 64, 64, false, true), (1024, 64, 2, false, true), (64, 64, 1024, true, false),
                     (64, 2, 1024, true, false), (4, 64, 1024, true, false), (40, 70, 700, false, false),
                     (1, 256, 64, false, false), (8, 256, 64, false, false), (1, 64, 256, false, true), (8, 64, 256, false, true),
                     (64, 256, 160, true, false),
                 })
            CheckOne(m, n, k, ta, tb, accumulate: true, path, rng);
    }

    [Theory]
    [MemberData(nameof(VectorPaths))]
    public void SplitAcrossThreadsIsBitIdenticalToOneThread(GemmPath path)
    {
        var rng = new Hybrid.Nn.Rng(Seed, 3);
        // Sizes above the parallel threshold, with ragged row counts, every transpose, with and without accumulation.
        foreach ((int m, int n, int k) in new[] { (1024, 64, 64), (1001, 70, 33), (64, 64, 1024), (300, 129, 100) })
            for (int t = 0; t < 8; t++)
            {
                bool ta = (t & 1) != 0, tb = (t & 2) != 0, acc = (t & 4) != 0;
                float[] a = Random(rng, m * k), b = Random(rng, k * n), c = Random(rng, m * n);
                float[] one = (float[])c.Clone(), two = (float[])c.Clone(), many = (float[])c.Clone();
                Gemm.Multiply(a, ta, b, tb, one, m, n, k, acc, path, threads: 1);
                Gemm.Multiply(a, ta, b, tb, two, m, n, k, acc, path, threads: 2);
                Gemm.Multiply(a, ta, b, tb, many, m, n, k, acc, path, threads: 16);
                Assert.Equal(one, two);
                Assert.Equal(one, many);
            }
    }

    [Fact]
    public void WorkerExceptionReachesTheCallerWithTheWorkerId()
    {
        RowSplitter splitter = RowSplitter.Kernels;
        if (splitter.MaxParts < 2)
        {
            RunWhenFree(splitter, new ThrowingJob(), 4); // one core: the caller runs everything, part 0 only
            return;
        }
        var ex = Assert.Throws<InvalidOperationException>(() => RunWhenFree(splitter, new ThrowingJob(), 2));
        Assert.Contains("worker 1", ex.Message);
        Assert.Contains("part 1 of 2", ex.Message);
        // The splitter keeps working after a failed call.
        var counter = new CountingJob();
        RunWhenFree(splitter, counter, 2);
        Assert.Equal(2, counter.Runs);
    }

    // Other tests running in parallel may hold the shared splitter for a moment; TryRun then declines.
    static void RunWhenFree(RowSplitter splitter, IRowJob job, int parts)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!splitter.TryRun(job, parts))
        {
            Assert.True(DateTime.UtcNow < deadline, "the shared splitter stayed busy for 30 s");
            Thread.Sleep(1);
        }
    }

    sealed class ThrowingJob : IRowJob
    {
        public void Execute(int part, int parts)
        {
            if (part == 1) throw new InvalidDataException($"part {part} of {parts}");
        }
    }

    sealed class CountingJob : IRowJob
    {
        int _runs;
        public int Runs => _runs;
        public void Execute(int part, int parts) => Interlocked.Increment(ref _runs);
    }

    [Fact]
    public void StridedOperandsAndOutput()
    {
        var rng = new Hybrid.Nn.Rng(Seed, 2);
        const int m = 13, n = 21, k = 17;
        // A with row stride 40 and column stride 2; B with row stride 3 and column stride 60; C transposed into a wide buffer.
        float[] a = Random(rng, m * 40 + k * 2), b = Random(rng, k * 3 + n * 60), c = Random(rng, n * 50 + m);
        float[] expected = (float[])c.Clone();
        Gemm.Reference(m, n, k, a, 40, 2, b, 3, 60, expected, 1, 50, accumulate: true);
        Gemm.Multiply(m, n, k, a, 40, 2, b, 3, 60, c, 1, 50, accumulate: true);
        AssertClose(expected, c, 1e-4f);
    }

    [Fact]
    public void RejectsShortSpansWithArgumentName()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[5], false, new float[6], false, new float[4], 2, 2, 3, false));
        Assert.Equal("a", ex.ParamName);
        Assert.Contains("length 5", ex.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[5], false, new float[6], false, new float[4], -1, 2, 3, false));
        Assert.Equal("m", range.ParamName);
        var threads = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[6], false, new float[6], false, new float[4], 2, 2, 3, false, threads: 0));
        Assert.Equal("threads", threads.ParamName);
    }

    [Fact]
    public void EmptyKZeroesOrKeepsOutput()
    {
        float[] c = [1, 2, 3, 4];
        Gemm.Multiply([], false, [], false, c, 2, 2, 0, accumulate: true);
        Assert.Equal([1, 2, 3, 4], c);
        Gemm.Multiply([], false, [], false, c, 2, 2, 0, accumulate: false);
        Assert.Equal([0, 0, 0, 0], c);
    }

    static void CheckOne(int m, int n, int k, bool transposeA, bool transposeB, bool accumulate, GemmPath path, Hybrid.Nn.Rng rng)
    {
        float[] a = Random(rng, m * k), b = Random(rng, k * n), c = Random(rng, m * n);
        float[] expected = (float[])c.Clone();
        // The oracle sums in double, so only the kernel's float rounding is left in the difference.
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? expected[i * n + j] : 0;
                for (int p = 0; p < k; p++)
                    sum += (double)a[transposeA ? p * m + i : i * k + p] * b[transposeB ? j * k + p : p * n + j];
                expected[i * n + j] = (float)sum;
            }
        Gemm.Multiply(a, transposeA, b, transposeB, c, m, n, k, accumulate, path);
        // Relative to sqrt(k): the error of a float dot product of k unit-scale terms grows at most about that fast.
        AssertClose(expected, c, 2e-6f * (4 + k), $"m={m} n={n} k={k} tA={transposeA} tB={transposeB} acc={accumulate} {path}");
    }

    internal static float[] Random(Hybrid.Nn.Rng rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = rng.NextFloat(-1f, 1f);
        return x;
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string context = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{context}: element {i} expected {expected[i]} got {actual[i]} (tolerance {tolerance})");
    }
}
