using System.Numerics.Tensors;

namespace Hybrid.Nn.Heads;

/// <summary>
/// A categorical policy over A actions from one row of logits z:
/// pi(a) = exp(z_a) / sum_b exp(z_b), log pi(a) = z_a - logsumexp(z), H = -sum_a pi(a) log pi(a).
/// Functions take one row; none allocates.
/// </summary>
public static class Categorical
{
    /// <summary>logp = z - logsumexp(z), computed with the maximum subtracted first.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> logProbabilities)
    {
        CheckRow(logits);
        Guard.SameLength(logProbabilities.Length, logits.Length, nameof(logProbabilities), nameof(logits));
        float logSumExp = LogSumExp(logits);
        TensorPrimitives.Subtract(logits, logSumExp, logProbabilities);
    }

    /// <summary>log pi(action).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="action"/> is not in [0, A).</exception>
    public static float LogProbability(ReadOnlySpan<float> logits, int action)
    {
        CheckRow(logits);
        Guard.InRange(action, 0, logits.Length - 1, nameof(action));
        return logits[action] - LogSumExp(logits);
    }

    /// <summary>H = logsumexp(z) - sum_a pi(a) z_a.</summary>
    public static float Entropy(ReadOnlySpan<float> logits)
    {
        CheckRow(logits);
        float max = TensorPrimitives.Max(logits), sum = 0, weighted = 0;
        for (int a = 0; a < logits.Length; a++)
        {
            float e = MathF.Exp(logits[a] - max);
            sum += e;
            weighted += e * logits[a];
        }
        return max + MathF.Log(sum) - weighted / sum;
    }

    /// <summary>Writes pi = softmax(z).</summary>
    public static void Probabilities(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        CheckRow(logits);
        Guard.SameLength(probabilities.Length, logits.Length, nameof(probabilities), nameof(logits));
        TensorPrimitives.SoftMax(logits, probabilities);
    }

    /// <summary>Draws an action from pi by inverting its CDF with one uniform draw.</summary>
    public static int Sample(ReadOnlySpan<float> logits, Rng rng)
    {
        CheckRow(logits);
        ArgumentNullException.ThrowIfNull(rng);
        float max = TensorPrimitives.Max(logits), sum = 0;
        for (int a = 0; a < logits.Length; a++) sum += MathF.Exp(logits[a] - max);
        float u = rng.NextFloat() * sum;
        for (int a = 0; a < logits.Length - 1; a++)
        {
            u -= MathF.Exp(logits[a] - max);
            if (u < 0) return a;
        }
        return logits.Length - 1;
    }

    /// <summary>argmax_a z_a (the first on ties).</summary>
    public static int Greedy(ReadOnlySpan<float> logits)
    {
        CheckRow(logits);
        return TensorPrimitives.IndexOfMax(logits);
    }

    static float LogSumExp(ReadOnlySpan<float> logits)
    {
        float max = TensorPrimitives.Max(logits), sum = 0;
        for (int a = 0; a < logits.Length; a++) sum += MathF.Exp(logits[a] - max);
        return max + MathF.Log(sum);
    }

    static void CheckRow(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("logits is empty; expected one value per action.", nameof(logits));
    }
}
