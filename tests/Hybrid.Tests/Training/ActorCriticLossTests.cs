using Hybrid.Nn;
using Hybrid.Nn.Heads;
using Hybrid.Training.Losses;

namespace Hybrid.Tests.Training;

public class ActorCriticLossTests
{
    const float ValueCoefficient = 0.5f, EntropyCoefficient = 0.05f;

    [Fact]
    public void CategoricalGradientMatchesFiniteDifferences()
    {
        const int batch = 6, actions = 4;
        var rng = new Rng(31);
        float[] logits = GradientCheck.Random(rng, batch * actions, 2f), values = GradientCheck.Random(rng, batch);
        float[] advantages = GradientCheck.Random(rng, batch), returns = GradientCheck.Random(rng, batch, 3f);
        int[] taken = new int[batch];
        for (int b = 0; b < batch; b++) taken[b] = rng.NextInt(actions);
        var dLogits = new float[logits.Length];
        var dValues = new float[batch];
        ActorCriticLoss.Categorical(logits, actions, taken, advantages, returns, values, ValueCoefficient, EntropyCoefficient, dLogits, dValues);

        double Loss() => ActorCriticLoss.Categorical(logits, actions, taken, advantages, returns, values, ValueCoefficient, EntropyCoefficient,
            new float[logits.Length], new float[batch]).Total(ValueCoefficient, EntropyCoefficient);
        GradientCheck.Assert(logits, dLogits, Loss, "logits");
        GradientCheck.Assert(values, dValues, Loss, "values");
    }

    [Fact]
    public void CategoricalTermsMatchTheirDefinitions()
    {
        float[] logits = [1f, 2f, 0.5f, -1f, 0f, 0f];
        int[] taken = [1, 0];
        float[] advantages = [2f, -1f], returns = [1f, 0f], values = [0.5f, 2f];
        LossTerms terms = ActorCriticLoss.Categorical(logits, 3, taken, advantages, returns, values, 1f, 0f, new float[6], new float[2]);
        double lse0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(0.5)), lse1 = Math.Log(Math.Exp(-1) + 2);
        double policy = (-(2 - lse0) * 2 + (-1 - lse1) * 1) / 2;
        Assert.Equal(policy, terms.Policy, 5);
        Assert.Equal((0.5 * 0.25 + 0.5 * 4) / 2, terms.Value, 5);
        Assert.Equal((Categorical.Entropy(logits.AsSpan(0, 3)) + Categorical.Entropy(logits.AsSpan(3, 3))) / 2, terms.Entropy, 5);
    }

    [Fact]
    public void GaussianGradientMatchesFiniteDifferences()
    {
        const int batch = 5, dims = 3;
        var rng = new Rng(32);
        float[] mean = GradientCheck.Random(rng, batch * dims), logStd = GradientCheck.Random(rng, dims, 0.5f);
        float[] taken = GradientCheck.Random(rng, batch * dims, 2f), values = GradientCheck.Random(rng, batch);
        float[] advantages = GradientCheck.Random(rng, batch), returns = GradientCheck.Random(rng, batch);
        var dMean = new float[mean.Length];
        var dLogStd = new float[dims];
        var dValues = new float[batch];
        ActorCriticLoss.Gaussian(mean, logStd, taken, advantages, returns, values, ValueCoefficient, EntropyCoefficient, dMean, dLogStd, dValues);

        double Loss() => ActorCriticLoss.Gaussian(mean, logStd, taken, advantages, returns, values, ValueCoefficient, EntropyCoefficient,
            new float[mean.Length], new float[dims], new float[batch]).Total(ValueCoefficient, EntropyCoefficient);
        GradientCheck.Assert(mean, dMean, Loss, "mean");
        GradientCheck.Assert(logStd, dLogStd, Loss, "logStd");
        GradientCheck.Assert(values, dValues, Loss, "values");
    }

    [Fact]
    public void RejectsBadActionsAndLengths()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ActorCriticLoss.Categorical(new float[4], 2, [0, 2], new float[2], new float[2],
            new float[2], 1, 0, new float[4], new float[2]));
        Assert.Equal("actionsTaken", ex.ParamName);
        Assert.Contains("was 2", ex.Message);
        var len = Assert.Throws<ArgumentException>(() => ActorCriticLoss.Categorical(new float[4], 2, [0, 1], new float[3], new float[2],
            new float[2], 1, 0, new float[4], new float[2]));
        Assert.Equal("advantages", len.ParamName);
    }
}
