using Hybrid.Envs;
using Hybrid.Envs.Simd;

namespace Hybrid.Tests.Envs;

public class LaneMathTests
{
    [Fact]
    public void SinCosIsWithinAFewUlpsOfMathAndTheSameAtEveryWidth()
    {
        var xs = new List<float>();
        for (float x = -200f; x <= 200f; x += 0.0137f) xs.Add(x);
        foreach (float x in new[] { 0f, -0f, MathF.PI / 4, MathF.PI / 2, 8191.9f, -8191.9f, 8192.5f, 1e6f, -3e7f }) xs.Add(x);
        while (xs.Count % 16 != 0) xs.Add(0.25f);
        float[] input = xs.ToArray();
        for (int i = 0; i < input.Length; i += 16)
        {
            (Lane16 s16, Lane16 c16) = LaneMath.SinCos(Lane16.Load(ref input[0], i));
            var wide = new float[32];
            Lane16.Store(s16, ref wide[0], 0);
            Lane16.Store(c16, ref wide[0], 16);
            for (int j = 0; j < 16; j++)
            {
                float x = input[i + j];
                (Lane1 s1, Lane1 c1) = LaneMath.SinCos(Lane1.Create(x));
                bool libraryPath = Math.Abs(input[i..(i + 16)].Max(MathF.Abs)) > LaneMath.ReductionLimit;
                if (!libraryPath)
                {
                    // Bit-identical lane by lane on the polynomial path, which is what makes trajectories width-free.
                    Assert.Equal(s1.Value, wide[j]);
                    Assert.Equal(c1.Value, wide[16 + j]);
                }
                // Float reduction of x loses up to half an ulp of x itself, so the bound grows with |x|.
                double bound = 3e-7 + Math.Abs(x) * 6e-8;
                Assert.InRange(s1.Value - Math.Sin(x), -bound, bound);
                Assert.InRange(c1.Value - Math.Cos(x), -bound, bound);
                Assert.InRange(wide[j] - Math.Sin(x), -bound, bound);
                Assert.InRange(wide[16 + j] - Math.Cos(x), -bound, bound);
            }
        }
    }

    [Fact]
    public void VectorDrawsEqualScalarDrawsLaneByLane()
    {
        const int N = 48;
        var state1 = new uint[N];
        var step = new uint[N];
        for (int i = 0; i < N; i++) (state1[i], step[i]) = LaneRandom.Seed(9, i);
        var state8 = (uint[])state1.Clone();
        var state16 = (uint[])state1.Clone();
        var masks = new Random(4);
        float yes = BitConverter.Int32BitsToSingle(-1);
        for (int round = 0; round < 50; round++)
        {
            var mask = new float[N];
            for (int i = 0; i < N; i++) mask[i] = masks.Next(3) == 0 ? yes : 0f;
            var expected = new float[N];
            for (int i = 0; i < N; i++)
                expected[i] = Lane1.NextUniform(ref state1[0], ref step[0], i, Lane1.Load(ref mask[0], i)).Value;
            var got8 = new float[N];
            var got16 = new float[N];
            for (int i = 0; i < N; i += 8) Lane8.Store(Lane8.NextUniform(ref state8[0], ref step[0], i, Lane8.Load(ref mask[0], i)), ref got8[0], i);
            for (int i = 0; i < N; i += 16) Lane16.Store(Lane16.NextUniform(ref state16[0], ref step[0], i, Lane16.Load(ref mask[0], i)), ref got16[0], i);
            for (int i = 0; i < N; i++)
            {
                if (mask[i] == 0f) continue;
                Assert.Equal(expected[i], got8[i]);
                Assert.Equal(expected[i], got16[i]);
            }
            Assert.Equal(state1, state8);
            Assert.Equal(state1, state16);
        }
    }

    [Fact]
    public void DrawsAreUniformOnTheUnitInterval()
    {
        // 100,000 draws from one lane into 20 bins: chi-square with 19 degrees of freedom stays below 43.8 (p = 0.001).
        (uint state, uint step) = LaneRandom.Seed(1, 0);
        var s = new[] { state };
        var t = new[] { step };
        var bins = new int[20];
        Lane1 all = Lane1.Equal(Lane1.Create(0), Lane1.Create(0));
        const int Draws = 100_000;
        for (int k = 0; k < Draws; k++)
        {
            float u = Lane1.NextUniform(ref s[0], ref t[0], 0, all).Value;
            Assert.InRange(u, 0f, 0.99999995f);
            bins[(int)(u * 20)]++;
        }
        double expected = Draws / 20.0, chi = bins.Sum(b => (b - expected) * (b - expected) / expected);
        Assert.InRange(chi, 0, 43.8);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    public void RowWritesAgreeAtEveryWidth(int width)
    {
        const int Lanes = 32;
        var columns = new float[6][];
        for (int c = 0; c < 6; c++) columns[c] = Enumerable.Range(0, Lanes).Select(i => c * 100f + i).ToArray();
        float[] Write<L>() where L : unmanaged, ILanes<L>
        {
            var rows = new float[Lanes * width];
            for (int lane = 0; lane < Lanes; lane += L.Count)
            {
                L Col(int c) => L.Load(ref columns[c][0], lane);
                switch (width)
                {
                    case 2: Rows.Write(ref rows[0], lane, Col(0), Col(1)); break;
                    case 3: Rows.Write(ref rows[0], lane, Col(0), Col(1), Col(2)); break;
                    case 4: Rows.Write(ref rows[0], lane, Col(0), Col(1), Col(2), Col(3)); break;
                    default: Rows.Write(ref rows[0], lane, Col(0), Col(1), Col(2), Col(3), Col(4), Col(5)); break;
                }
            }
            return rows;
        }
        float[] expected = Enumerable.Range(0, Lanes * width).Select(k => (k % width) * 100f + k / width).ToArray();
        Assert.Equal(expected, Write<Lane1>());
        Assert.Equal(expected, Write<Lane8>());
        Assert.Equal(expected, Write<Lane16>());
    }
}
