using Hybrid.Training;

namespace Hybrid.Tests.Training;

public class ReturnsTests
{
    const float Gamma = 0.9f;

    /// <summary>A random trajectory with terminals and truncations: step t ends its episode with probability 0.2.</summary>
    static (float[] R, float[] Discount, float[] Continue, float[] Bootstrap, float[] V, float[] Rho) Trajectory(int steps, int seed)
    {
        var random = new Random(seed);
        float[] r = new float[steps], discount = new float[steps], cont = new float[steps], boot = new float[steps], v = new float[steps], rho = new float[steps];
        for (int t = 0; t < steps; t++)
        {
            r[t] = (float)(random.NextDouble() * 2 - 1);
            v[t] = (float)(random.NextDouble() * 4 - 2);
            rho[t] = (float)(random.NextDouble() * 2);
            bool ends = random.NextDouble() < 0.2 || t == steps - 1;
            bool terminal = ends && random.NextDouble() < 0.5;
            discount[t] = terminal ? 0f : Gamma;
            cont[t] = ends ? 0f : 1f;
            boot[t] = ends ? (float)(random.NextDouble() * 4 - 2) : float.NaN; // NaN where it must not be read
        }
        return (r, discount, cont, boot, v, rho);
    }

    /// <summary>First step at or after t whose successor is outside the episode segment.</summary>
    static int SegmentEnd(float[] cont, int t)
    {
        while (cont[t] != 0) t++;
        return t;
    }

    [Fact]
    public void NStepMatchesHandComputedValues()
    {
        // r = 1, 2, 3, 4; step 1 terminates; step 3 is the last, bootstrap 10.
        float[] r = [1, 2, 3, 4], d = [0.5f, 0f, 0.5f, 0.5f], c = [1, 0, 1, 0], b = [float.NaN, 99, float.NaN, 10];
        var g = new float[4];
        Returns.NStep(r, d, c, b, g);
        Assert.Equal([1 + 0.5f * 2, 2, 3 + 0.5f * (4 + 0.5f * 10), 4 + 0.5f * 10], g);
    }

    /// <summary>Trajectory lengths (one step, odd, long) and seeds.</summary>
    public static TheoryData<int, int> Lengths => new() { { 1, 1 }, { 17, 2 }, { 64, 3 } };

    /// <summary>Each step's true successor value: the next step's, or the bootstrap at a boundary.</summary>
    static float[] Successors(float[] cont, float[] v, float[] boot)
    {
        var next = new float[v.Length];
        for (int t = 0; t < v.Length; t++) next[t] = cont[t] != 0 ? v[t + 1] : boot[t];
        return next;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void NStepAndGaeMatchTheirQuadraticDefinitions(int steps, int seed)
    {
        var (r, d, c, b, v, _) = Trajectory(steps, seed);
        var g = new float[steps];
        var gae = new float[steps];
        var gaeOne = new float[steps];
        Returns.NStep(r, d, c, b, g);
        const float Lambda = 0.95f;
        Returns.Gae(r, d, c, v, b, Lambda, gae);
        Returns.Gae(r, d, c, v, b, 1f, gaeOne);
        for (int t = 0; t < steps; t++)
        {
            int end = SegmentEnd(c, t);
            double expected = 0, discount = 1, advantage = 0, weight = 1;
            for (int k = t; k <= end; k++)
            {
                expected += discount * r[k];
                discount *= d[k];
                double successor = k < end ? v[k + 1] : b[k];
                advantage += weight * (r[k] + d[k] * successor - v[k]);
                weight *= d[k] * Lambda;
            }
            expected += discount * b[end];
            Assert.Equal(expected, g[t], 4);
            Assert.Equal(advantage, gae[t], 4);
            Assert.Equal(g[t] - v[t], gaeOne[t], 4); // lambda = 1: the n-step return minus the baseline
        }
    }

    [Fact]
    public void GaeWithLambdaZeroIsTheOneStepTdError()
    {
        var (r, d, c, b, v, _) = Trajectory(30, 4);
        var a = new float[30];
        Returns.Gae(r, d, c, v, b, 0f, a);
        float[] next = Successors(c, v, b);
        for (int t = 0; t < 30; t++) Assert.Equal(r[t] + d[t] * next[t] - v[t], a[t], 5);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void VTraceMatchesImpalaEquationOne(int steps, int seed)
    {
        var (r, d, c, b, v, rho) = Trajectory(steps, seed + 10);
        const float RhoBar = 1f, CBar = 0.9f;
        float[] vNext = Successors(c, v, b);
        var vs = new float[steps];
        var adv = new float[steps];
        Returns.VTrace(v, vNext, r, d, c, rho, RhoBar, CBar, vs, adv);
        for (int s = 0; s < steps; s++)
        {
            int end = SegmentEnd(c, s);
            double sum = 0, trace = 1;
            for (int t = s; t <= end; t++)
            {
                sum += trace * Math.Min(RhoBar, rho[t]) * (r[t] + d[t] * vNext[t] - v[t]);
                trace *= d[t] * Math.Min(CBar, rho[t]);
            }
            Assert.Equal(v[s] + sum, vs[s], 4);
            double q = c[s] != 0 ? vs[s + 1] : vNext[s];
            Assert.Equal(Math.Min(RhoBar, rho[s]) * (r[s] + d[s] * q - v[s]), adv[s], 4);
        }
    }

    [Fact]
    public void VTraceOnPolicyWithUnitClipsIsTheNStepReturn()
    {
        var (r, d, c, b, v, _) = Trajectory(40, 8);
        float[] vNext = Successors(c, v, b), ones = Enumerable.Repeat(1f, 40).ToArray();
        var vs = new float[40];
        var adv = new float[40];
        var g = new float[40];
        Returns.VTrace(v, vNext, r, d, c, ones, 1f, 1f, vs, adv);
        Returns.NStep(r, d, c, b, g);
        for (int t = 0; t < 40; t++) Assert.Equal(g[t], vs[t], 4);
    }

    [Fact]
    public void ATraceSplitWhereTheDiscountIsZeroEqualsTwoTraces()
    {
        var (r, d, c, b, v, rho) = Trajectory(30, 9);
        const int Split = 12;
        d[Split] = 0; // a terminal at the split: nothing flows back across it
        c[Split] = 0;
        b[Split] = 3;
        float[] vNext = Successors(c, v, b);

        float[] Whole(Func<int, int, float[]> run) => run(0, 30);
        float[] Halves(Func<int, int, float[]> run) => [.. run(0, Split + 1), .. run(Split + 1, 30 - Split - 1)];
        float[] NStep(int from, int count)
        {
            var g = new float[count];
            Returns.NStep(r.AsSpan(from, count), d.AsSpan(from, count), c.AsSpan(from, count), b.AsSpan(from, count), g);
            return g;
        }
        float[] Gae(int from, int count)
        {
            var a = new float[count];
            Returns.Gae(r.AsSpan(from, count), d.AsSpan(from, count), c.AsSpan(from, count), v.AsSpan(from, count), b.AsSpan(from, count), 0.9f, a);
            return a;
        }
        float[] VTrace(int from, int count)
        {
            var vs = new float[count];
            var adv = new float[count];
            Returns.VTrace(v.AsSpan(from, count), vNext.AsSpan(from, count), r.AsSpan(from, count), d.AsSpan(from, count),
                c.AsSpan(from, count), rho.AsSpan(from, count), 1f, 1f, vs, adv);
            return [.. vs, .. adv.AsSpan(0, count)];
        }
        Assert.Equal(Whole(NStep), Halves(NStep));
        Assert.Equal(Whole(Gae), Halves(Gae));
        float[] whole = VTrace(0, 30), first = VTrace(0, Split + 1), second = VTrace(Split + 1, 30 - Split - 1);
        float[] halves = [.. first[..(Split + 1)], .. second[..(30 - Split - 1)]];
        Assert.Equal(whole[..30], halves);
    }

    [Fact]
    public void QTargetsUseTheMaximumTheTakenActionOrTheNStepChain()
    {
        float[] r = [1, 2, 3], d = [0.5f, 0f, 0.5f];
        float[] qNext = [0, 4, -1, /**/ 7, 7, 7, /**/ 2, -3, 1]; // 3 actions
        var y = new float[3];
        Returns.OneStepQ(r, d, qNext, 3, y);
        Assert.Equal([1 + 0.5f * 4, 2, 3 + 0.5f * 2], y);
        Returns.Sarsa(r, d, qNext, 3, [2, 0, 1], y);
        Assert.Equal([1 + 0.5f * -1, 2, 3 + 0.5f * -3], y);
        // n-step Q over [0, 1, 2] with one boundary at the end: the chain bootstraps from max Q(s_3) = 2.
        Returns.NStepQ(r, [0.5f, 0.5f, 0.5f], [1, 1, 0], qNext, 3, y);
        float last = 3 + 0.5f * 2, middle = 2 + 0.5f * last;
        Assert.Equal([1 + 0.5f * middle, middle, last], y);
    }

    [Fact]
    public void BadShapesAndATrajectoryThatDoesNotEndAreRejected()
    {
        var g = new float[3];
        var e = Assert.Throws<ArgumentException>(() => Returns.NStep([1, 2, 3], [1, 1], [1, 1, 0], [0, 0, 0], g));
        Assert.Contains("discountT", e.Message);
        var last = Assert.Throws<ArgumentException>(() => Returns.NStep([1, 2, 3], [1, 1, 1], [1, 1, 1], [0, 0, 0], g));
        Assert.Contains("continueT[2] was 1", last.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Returns.Gae([1], [1], [0], [0], [0], 1.5f, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Returns.Sarsa([1], [1], [0, 0], 2, [2], new float[1]));
    }
}
