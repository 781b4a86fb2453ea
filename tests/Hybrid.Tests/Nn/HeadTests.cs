using Hybrid.Nn;
using Hybrid.Nn.Heads;

namespace Hybrid.Tests.Nn;

public class HeadTests
{
    [Fact]
    public void CategoricalMatchesDirectFormulas()
    {
        float[] z = [0.3f, -1.2f, 2.0f, 0.0f];
        double sum = 0;
        foreach (float v in z) sum += Math.Exp(v);
        var logp = new float[4];
        Categorical.LogSoftmax(z, logp);
        double entropy = 0;
        for (int a = 0; a < 4; a++)
        {
            double p = Math.Exp(z[a]) / sum;
            Assert.Equal(Math.Log(p), logp[a], 5);
            Assert.Equal(Math.Log(p), Categorical.LogProbability(z, a), 5);
            entropy -= p * Math.Log(p);
        }
        Assert.Equal(entropy, Categorical.Entropy(z), 5);
        Assert.Equal(2, Categorical.Greedy(z));
        // Large logits do not overflow.
        Assert.Equal(0, Categorical.LogProbability([1000f, -1000f], 0), 5);
    }

    [Fact]
    public void CategoricalSamplesFollowTheProbabilities()
    {
        float[] z = [0f, (float)Math.Log(3), (float)Math.Log(6)]; // probabilities 0.1, 0.3, 0.6
        var rng = new Rng(3);
        var counts = new int[3];
        const int draws = 60_000;
        for (int i = 0; i < draws; i++) counts[Categorical.Sample(z, rng)]++;
        // 5 standard deviations of a binomial proportion at n = 60,000 is under 0.01.
        Assert.InRange(counts[0] / (double)draws, 0.09, 0.11);
        Assert.InRange(counts[1] / (double)draws, 0.29, 0.31);
        Assert.InRange(counts[2] / (double)draws, 0.59, 0.61);
    }

    [Fact]
    public void GaussianMatchesDirectFormulas()
    {
        float[] mean = [0.5f, -1f], logStd = [0.2f, -0.3f], action = [1f, -2f];
        double expected = 0;
        for (int d = 0; d < 2; d++)
        {
            double sigma = Math.Exp(logStd[d]);
            expected += -Math.Pow(action[d] - mean[d], 2) / (2 * sigma * sigma) - Math.Log(sigma) - 0.5 * Math.Log(2 * Math.PI);
        }
        Assert.Equal(expected, DiagonalGaussian.LogProbability(mean, logStd, action), 5);
        Assert.Equal(0.2 - 0.3 + 2 * 0.5 * (1 + Math.Log(2 * Math.PI)), DiagonalGaussian.Entropy(logStd), 5);
    }

    [Fact]
    public void GaussianSamplesHaveTheRightMoments()
    {
        float[] mean = [1.5f], logStd = [(float)Math.Log(0.5)];
        var rng = new Rng(4);
        var a = new float[1];
        double sum = 0, sumSq = 0;
        const int draws = 50_000;
        for (int i = 0; i < draws; i++)
        {
            DiagonalGaussian.Sample(mean, logStd, rng, a);
            sum += a[0];
            sumSq += a[0] * a[0];
        }
        double m = sum / draws, variance = sumSq / draws - m * m;
        Assert.InRange(m, 1.49, 1.51);
        Assert.InRange(variance, 0.24, 0.26);
    }

    [Fact]
    public void HeadsRejectBadInput()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Categorical.LogProbability([1f, 2f], 2));
        Assert.Equal("action", ex.ParamName);
        Assert.Throws<ArgumentException>(() => Categorical.Entropy([]));
        Assert.Throws<ArgumentException>(() => DiagonalGaussian.LogProbability([1f], [0f, 0f], [1f]));
    }
}
