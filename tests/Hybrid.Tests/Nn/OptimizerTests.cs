using Hybrid.Nn;
using Hybrid.Nn.Optim;

namespace Hybrid.Tests.Nn;

/// <summary>Optimizer steps against values computed by hand (shown in the comments).</summary>
public class OptimizerTests
{
    [Fact]
    public void SgdStep()
    {
        float[] theta = [1f, -2f];
        new Sgd().Step(theta, [0.5f, -1f], 0.1f);
        Assert.Equal([0.95f, -1.9f], theta);
    }

    [Fact]
    public void RmsPropTwoSteps()
    {
        var rms = new RmsProp(1, alpha: 0.9f, epsilon: 0.1f);
        float[] theta = [1f];
        // g = 0.9 * 0 + 0.1 * 2^2 = 0.4; theta = 1 - 0.5 * 2 / sqrt(0.4 + 0.1) = 1 - 1.41421356 = -0.41421356
        rms.Step(theta, [2f], 0.5f);
        Assert.Equal(0.4f, rms.Statistics[0], 6);
        Assert.Equal(-0.41421356f, theta[0], 5);
        // g = 0.9 * 0.4 + 0.1 * 1 = 0.46; theta = -0.41421356 - 0.5 * (-1) / sqrt(0.56) = -0.41421356 + 0.66815310 = 0.25393954
        rms.Step(theta, [-1f], 0.5f);
        Assert.Equal(0.46f, rms.Statistics[0], 6);
        Assert.Equal(0.25393954f, theta[0], 5);
    }

    [Fact]
    public void RmsPropWithEpsilonOutsideTheRootIsPyTorchs()
    {
        // g = 0.1 * 2^2 = 0.4; theta = 1 - 0.5 * 2 / (sqrt(0.4) + 0.1) = 1 - 1 / 0.73245553 = -0.36526...
        var rms = new RmsProp(1, alpha: 0.9f, epsilon: 0.1f, epsilonOutside: true);
        float[] theta = [1f];
        rms.Step(theta, [2f], 0.5f);
        Assert.Equal(1 - 1 / (MathF.Sqrt(0.4f) + 0.1f), theta[0], 5);
        // The vector path (17 elements: a whole vector and a tail) agrees with the scalar one.
        var wide = new RmsProp(17, alpha: 0.9f, epsilon: 0.1f, epsilonOutside: true);
        float[] many = Enumerable.Repeat(1f, 17).ToArray();
        wide.Step(many, Enumerable.Repeat(2f, 17).ToArray(), 0.5f);
        Assert.All(many, v => Assert.Equal(theta[0], v, 5));
    }

    [Fact]
    public void TheScaledStepIsScalingThenSteppingInOnePass()
    {
        // 37 values: vectors and a tail; both epsilon placements. The one-pass step equals scaling the gradient in
        // memory and then stepping, exactly, and returns theta's new sum.
        var rng = new Rng(9, 0);
        foreach (bool outside in new[] { false, true })
        {
            float[] theta = GradientCheck.Random(rng, 37), gradient = GradientCheck.Random(rng, 37, 3f);
            float[] expected = (float[])theta.Clone(), scaled = gradient.Select(d => 0.3f * d).ToArray();
            var a = new RmsProp(37, 0.95f, 1e-5f, outside);
            var b = new RmsProp(37, 0.95f, 1e-5f, outside);
            a.Step(expected, scaled, 0.01f);
            double sum = b.StepScaled(theta, gradient, 0.3f, 0.01f, 0);
            Assert.Equal(expected, theta);
            Assert.Equal(a.Statistics, b.Statistics);
            Assert.Equal(expected.Sum(x => (double)x), sum, 4);
        }
    }

    [Fact]
    public void RmsPropSharedStatisticsAreTheArrayItself()
    {
        var rms = new RmsProp(3);
        float[] thetaA = [0, 0, 0], thetaB = [0, 0, 0];
        rms.Step(thetaA, [1, 1, 1], 0.1f);
        float after = rms.Statistics[0];
        rms.Step(thetaB, [1, 1, 1], 0.1f);
        Assert.True(rms.Statistics[0] > after); // the second apply sees the first's statistics
    }

    [Fact]
    public void AdamFirstTwoSteps()
    {
        var adam = new Adam(1, beta1: 0.9f, beta2: 0.999f, epsilon: 1e-8f);
        float[] theta = [0f];
        // t=1: m = 0.1 * 2 = 0.2, v = 0.001 * 4 = 0.004; m_hat = 2, v_hat = 4; theta = 0 - 0.1 * 2 / (2 + 1e-8) = -0.1
        adam.Step(theta, [2f], 0.1f);
        Assert.Equal(-0.1f, theta[0], 6);
        // t=2: m = 0.18 + 0.1*1 = 0.28, v = 0.003996 + 0.001 = 0.004996; m_hat = 0.28/0.19 = 1.4736842,
        // v_hat = 0.004996/0.001999 = 2.4992496; theta = -0.1 - 0.1 * 1.4736842 / 1.5808952 = -0.1932184
        adam.Step(theta, [1f], 0.1f);
        Assert.Equal(-0.1932184f, theta[0], 5);
        Assert.Equal(2, adam.Steps);
    }

    [Fact]
    public void ClipGlobalNorm()
    {
        float[] g = [3f, 4f];
        float norm = GradientTools.ClipGlobalNorm(g, 1f);
        Assert.Equal(5f, norm, 6);
        Assert.Equal(0.6f, g[0], 5);
        Assert.Equal(0.8f, g[1], 5);
        float[] small = [0.3f, 0.4f];
        GradientTools.ClipGlobalNorm(small, 1f);
        Assert.Equal([0.3f, 0.4f], small);
    }

    [Fact]
    public void LinearDecayReachesZero()
    {
        Assert.Equal(7e-4f, GradientTools.LinearDecay(7e-4f, 0, 100), 9);
        Assert.Equal(3.5e-4f, GradientTools.LinearDecay(7e-4f, 50, 100), 9);
        Assert.Equal(0f, GradientTools.LinearDecay(7e-4f, 100, 100));
        Assert.Equal(0f, GradientTools.LinearDecay(7e-4f, 150, 100));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => GradientTools.LinearDecay(1f, 0, 0));
        Assert.Equal("totalSteps", ex.ParamName);
    }

    [Fact]
    public void OptimizersValidateArguments()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(3, alpha: 1.5f));
        Assert.Equal("alpha", ex.ParamName);
        Assert.Throws<ArgumentException>(() => new RmsProp(3).Step(new float[3], new float[2], 0.1f));
    }
}
