using Hybrid.Nn.Heads;

namespace Hybrid.Training.Losses;

/// <summary>Mean loss terms over a batch, as logged (<c>losses/policy</c>, <c>losses/value</c>, <c>losses/entropy</c>).</summary>
public readonly record struct LossTerms(float Policy, float Value, float Entropy)
{
    /// <summary>policy + valueCoef * value - entropyCoef * entropy.</summary>
    public float Total(float valueCoefficient, float entropyCoefficient) => Policy + valueCoefficient * Value - entropyCoefficient * Entropy;
}

/// <summary>
/// The actor-critic loss of Mnih et al. 2016 (Algorithm S3) averaged over a batch of B samples:
/// L = mean_b [ -log pi(a_b | s_b) A_b + c_v (R_b - V(s_b))^2 / 2 - c_e H(pi(. | s_b)) ],
/// where the advantage A_b is a constant (no gradient flows through it). Writes dL/d(policy output) and dL/dV.
/// </summary>
public static class ActorCriticLoss
{
    /// <summary>
    /// Categorical policy. For z the logits, pi = softmax(z):
    /// dL/dz_j = [ (pi_j - 1[j = a]) A + c_e pi_j (log pi_j + H) ] / B, dL/dV = c_v (V - R) / B.
    /// </summary>
    /// <exception cref="ArgumentException">A span length disagrees with the batch or the action count.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An action is not in [0, actions).</exception>
    public static LossTerms Categorical(ReadOnlySpan<float> logits, int actions, ReadOnlySpan<int> actionsTaken,
        ReadOnlySpan<float> advantages, ReadOnlySpan<float> returns, ReadOnlySpan<float> values,
        float valueCoefficient, float entropyCoefficient, Span<float> logitGradient, Span<float> valueGradient)
    {
        Guard.Positive(actions, nameof(actions));
        int batch = actionsTaken.Length;
        CheckBatch(batch, advantages, returns, values, valueGradient);
        Guard.Exactly(logits.Length, batch * actions, nameof(logits));
        Guard.Exactly(logitGradient.Length, batch * actions, nameof(logitGradient));
        foreach (int a in actionsTaken) Guard.InRange(a, 0, actions - 1, nameof(actionsTaken));

        float inverseBatch = 1f / batch;
        double policyLoss = 0, valueLoss = 0, entropySum = 0;
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> z = logits.Slice(b * actions, actions);
            Span<float> dz = logitGradient.Slice(b * actions, actions);
            // Softmax with the maximum subtracted; dz holds exp(z - max) until it is overwritten by the gradient.
            float max = z[0];
            for (int j = 1; j < actions; j++) max = MathF.Max(max, z[j]);
            float sum = 0;
            for (int j = 0; j < actions; j++) sum += dz[j] = MathF.Exp(z[j] - max);
            float logSum = MathF.Log(sum), inverseSum = 1f / sum;
            float entropy = 0;
            for (int j = 0; j < actions; j++) entropy -= dz[j] * inverseSum * (z[j] - max - logSum);
            int a = actionsTaken[b];
            float advantage = advantages[b];
            policyLoss -= (z[a] - max - logSum) * advantage;
            entropySum += entropy;
            for (int j = 0; j < actions; j++)
            {
                float pi = dz[j] * inverseSum, logPi = z[j] - max - logSum;
                float policyTerm = (pi - (j == a ? 1f : 0f)) * advantage;
                float entropyTerm = entropyCoefficient * pi * (logPi + entropy);
                dz[j] = (policyTerm + entropyTerm) * inverseBatch;
            }
            ValueTerm(b, returns, values, valueCoefficient, inverseBatch, valueGradient, ref valueLoss);
        }
        return new LossTerms((float)(policyLoss / batch), (float)(valueLoss / batch), (float)(entropySum / batch));
    }

    /// <summary>
    /// Diagonal-Gaussian policy with means mu [B * D] and a shared log-std [D]. With z = (a - mu) / sigma:
    /// dL/dmu = -z / sigma A / B; dL/dlog sigma (summed over the batch) = -(z^2 - 1) A / B - c_e.
    /// The log-std gradient is added into <paramref name="logStdGradient"/>.
    /// </summary>
    public static LossTerms Gaussian(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd, ReadOnlySpan<float> actionsTaken,
        ReadOnlySpan<float> advantages, ReadOnlySpan<float> returns, ReadOnlySpan<float> values,
        float valueCoefficient, float entropyCoefficient, Span<float> meanGradient, Span<float> logStdGradient, Span<float> valueGradient)
    {
        int dims = logStd.Length;
        Guard.Positive(dims, nameof(logStd));
        int batch = advantages.Length;
        CheckBatch(batch, advantages, returns, values, valueGradient);
        Guard.Exactly(mean.Length, batch * dims, nameof(mean));
        Guard.Exactly(actionsTaken.Length, batch * dims, nameof(actionsTaken));
        Guard.Exactly(meanGradient.Length, batch * dims, nameof(meanGradient));
        Guard.Exactly(logStdGradient.Length, dims, nameof(logStdGradient));

        float inverseBatch = 1f / batch;
        double policyLoss = 0, valueLoss = 0;
        float entropy = DiagonalGaussian.Entropy(logStd);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> mu = mean.Slice(b * dims, dims), action = actionsTaken.Slice(b * dims, dims);
            Span<float> dMu = meanGradient.Slice(b * dims, dims);
            float advantage = advantages[b];
            policyLoss -= DiagonalGaussian.LogProbability(mu, logStd, action) * advantage;
            for (int d = 0; d < dims; d++)
            {
                float inverseSigma = MathF.Exp(-logStd[d]);
                float z = (action[d] - mu[d]) * inverseSigma;
                dMu[d] = -z * inverseSigma * advantage * inverseBatch;
                logStdGradient[d] -= (z * z - 1f) * advantage * inverseBatch;
            }
            ValueTerm(b, returns, values, valueCoefficient, inverseBatch, valueGradient, ref valueLoss);
        }
        // dH/dlog sigma_d = 1 for each dimension; H does not depend on the batch.
        for (int d = 0; d < dims; d++) logStdGradient[d] -= entropyCoefficient;
        return new LossTerms((float)(policyLoss / batch), (float)(valueLoss / batch), entropy);
    }

    static void ValueTerm(int b, ReadOnlySpan<float> returns, ReadOnlySpan<float> values, float valueCoefficient,
        float inverseBatch, Span<float> valueGradient, ref double valueLoss)
    {
        float error = values[b] - returns[b];
        valueLoss += 0.5 * error * error;
        valueGradient[b] = valueCoefficient * error * inverseBatch;
    }

    static void CheckBatch(int batch, ReadOnlySpan<float> advantages, ReadOnlySpan<float> returns, ReadOnlySpan<float> values, Span<float> valueGradient)
    {
        Guard.Positive(batch, "batch");
        Guard.Exactly(advantages.Length, batch, nameof(advantages));
        Guard.Exactly(returns.Length, batch, nameof(returns));
        Guard.Exactly(values.Length, batch, nameof(values));
        Guard.Exactly(valueGradient.Length, batch, nameof(valueGradient));
    }
}
