using Hybrid.Gpu.Kernels;

namespace Hybrid.Tests.Gpu;

/// <summary>The device's software FMA (what ILGPU's CPU accelerator runs) equals MathF.FusedMultiplyAdd bit for bit.</summary>
public sealed class DeviceMathTests
{
    [Fact]
    public void SoftwareFmaIsCorrectlyRounded()
    {
        var random = new Random(20261204);
        int mismatches = 0;
        const int cases = 400_000;
        for (int t = 0; t < cases; t++)
        {
            float a, b, c;
            switch (t % 4)
            {
                case 0: // any bits (infinities and NaNs included), c cancelling the product: the hardest roundings
                    a = BitConverter.Int32BitsToSingle(random.Next() | (random.Next(2) << 31));
                    b = (float)(random.NextDouble() * 4 - 2);
                    c = -a * b;
                    break;
                case 1:
                    a = BitConverter.Int32BitsToSingle(random.Next() | (random.Next(2) << 31));
                    b = BitConverter.Int32BitsToSingle(random.Next() | (random.Next(2) << 31));
                    c = BitConverter.Int32BitsToSingle(random.Next() | (random.Next(2) << 31));
                    break;
                case 2: // the magnitudes of a network's activations, near-halfway sums
                    a = (float)(random.NextDouble() * 2 - 1);
                    b = (float)(random.NextDouble() * 2 - 1);
                    c = -(float)((double)a * b) + (float)(random.NextDouble() - 0.5) * 1e-7f;
                    break;
                default: // subnormal results
                    a = (float)(random.NextDouble() * 1e-20);
                    b = (float)(random.NextDouble() * 1e-18);
                    c = (float)((random.NextDouble() - 0.5) * 1e-38);
                    break;
            }
            float expected = MathF.FusedMultiplyAdd(a, b, c), actual = DeviceMath.SoftwareFma(a, b, c);
            bool same = BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || float.IsNaN(expected) && float.IsNaN(actual);
            if (!same) mismatches++;
        }
        Assert.Equal(0, mismatches);
        // Where a * b + c rounds twice, the FMA does not: the check can tell them apart.
        const float x = 1f + 1f / (1 << 12);
        Assert.NotEqual(x * x - 1f, DeviceMath.SoftwareFma(x, x, -1f));
        Assert.Equal(MathF.FusedMultiplyAdd(x, x, -1f), DeviceMath.SoftwareFma(x, x, -1f));
        Assert.Equal(DeviceMath.Fma(x, x, -1f), DeviceMath.SoftwareFma(x, x, -1f));
    }
}
