namespace Hybrid.Nn.Heads;

/// <summary>
/// A diagonal Gaussian policy for a box action space: mean mu from the network, a state-independent
/// learned log standard deviation per dimension (as in Schulman et al. 2015's TRPO and SB3's continuous A2C).
/// log pi(a) = sum_d [ -(a_d - mu_d)^2 / (2 sigma_d^2) - log sigma_d - log(2 pi) / 2 ],
/// H = sum_d [ log sigma_d + (1 + log(2 pi)) / 2 ].
/// </summary>
public static class DiagonalGaussian
{
    /// <summary>log(2 pi) / 2.</summary>
    public const float HalfLogTwoPi = 0.9189385332046727f;

    /// <summary>log pi(action) for one sample.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static float LogProbability(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd, ReadOnlySpan<float> action)
    {
        Check(mean, logStd);
        Guard.SameLength(action.Length, mean.Length, nameof(action), nameof(mean));
        float sum = 0;
        for (int d = 0; d < mean.Length; d++)
        {
            float z = (action[d] - mean[d]) * MathF.Exp(-logStd[d]);
            sum += -0.5f * z * z - logStd[d] - HalfLogTwoPi;
        }
        return sum;
    }

    /// <summary>Entropy; it depends on the log-std only.</summary>
    public static float Entropy(ReadOnlySpan<float> logStd)
    {
        float sum = 0;
        for (int d = 0; d < logStd.Length; d++) sum += logStd[d] + 0.5f + HalfLogTwoPi;
        return sum;
    }

    /// <summary>action = mu + sigma * N(0, I).</summary>
    public static void Sample(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd, Rng rng, Span<float> action)
    {
        Check(mean, logStd);
        ArgumentNullException.ThrowIfNull(rng);
        Guard.SameLength(action.Length, mean.Length, nameof(action), nameof(mean));
        for (int d = 0; d < mean.Length; d++) action[d] = mean[d] + MathF.Exp(logStd[d]) * (float)rng.NextGaussian();
    }

    static void Check(ReadOnlySpan<float> mean, ReadOnlySpan<float> logStd)
    {
        if (mean.IsEmpty) throw new ArgumentException("mean is empty; expected one value per action dimension.", nameof(mean));
        Guard.SameLength(logStd.Length, mean.Length, nameof(logStd), nameof(mean));
    }
}
