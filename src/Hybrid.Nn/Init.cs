namespace Hybrid.Nn;

/// <summary>How a weight matrix is initialized. Biases always start at zero, except under <see cref="ScaledUniform"/>.</summary>
public enum InitKind
{
    /// <summary>
    /// Orthogonal (Saxe et al. 2014) times a gain, biases zero: what OpenAI Baselines, Stable-Baselines3 and
    /// CleanRL use for actor-critic networks (gain sqrt 2 for hidden layers, 0.01 for the policy head, 1 for the value head).
    /// </summary>
    Orthogonal,
    /// <summary>
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases: PyTorch's default for nn.Linear and nn.Conv2d
    /// (kaiming_uniform with a = sqrt 5 reduces to this bound) and nn.LSTM (with fan_in taken as the hidden size).
    /// </summary>
    ScaledUniform,
}

/// <summary>Initializers over flat spans, drawing from a seeded <see cref="Rng"/>.</summary>
public static class Init
{
    /// <summary>
    /// Fills w, stored [rows, cols] row-major, with a scaled orthogonal matrix: orthonormal columns when
    /// rows &gt;= cols, orthonormal rows otherwise. A Gaussian matrix goes through Gram-Schmidt in double,
    /// which gives the QR factor whose R has a positive diagonal (PyTorch's orthogonal_ makes the same sign choice).
    /// </summary>
    /// <exception cref="ArgumentException">w is not rows x cols long.</exception>
    public static void Orthogonal(Span<float> w, int rows, int cols, double gain, Rng rng)
    {
        Guard.Positive(rows, nameof(rows));
        Guard.Positive(cols, nameof(cols));
        Guard.Exactly(w.Length, rows * cols, nameof(w));
        ArgumentNullException.ThrowIfNull(rng);
        int tall = Math.Max(rows, cols), narrow = Math.Min(rows, cols);
        // q[j][i]: column j of a tall x narrow Gaussian matrix, orthonormalized in place.
        var q = new double[narrow][];
        for (int j = 0; j < narrow; j++)
        {
            q[j] = new double[tall];
            for (int i = 0; i < tall; i++) q[j][i] = rng.NextGaussian();
        }
        for (int j = 0; j < narrow; j++)
        {
            double[] v = q[j];
            for (int prev = 0; prev < j; prev++)
            {
                double dot = 0;
                for (int i = 0; i < tall; i++) dot += v[i] * q[prev][i];
                for (int i = 0; i < tall; i++) v[i] -= dot * q[prev][i];
            }
            double norm = 0;
            for (int i = 0; i < tall; i++) norm += v[i] * v[i];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < tall; i++) v[i] /= norm;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                w[r * cols + c] = (float)(gain * (rows >= cols ? q[c][r] : q[r][c]));
    }

    /// <summary>Fills x with U(-bound, bound).</summary>
    public static void Uniform(Span<float> x, double bound, Rng rng)
    {
        Guard.NonNegative(bound, nameof(bound));
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = 0; i < x.Length; i++) x[i] = (float)((2 * rng.NextDouble() - 1) * bound);
    }

    /// <summary>Initializes a weight block [fanIn, fanOut] and its bias by <paramref name="kind"/>.</summary>
    public static void WeightAndBias(InitKind kind, Span<float> weight, Span<float> bias, int fanIn, int fanOut, double gain, Rng rng)
    {
        if (kind == InitKind.Orthogonal)
        {
            Orthogonal(weight, fanIn, fanOut, gain, rng);
            bias.Clear();
        }
        else
        {
            double bound = 1.0 / Math.Sqrt(fanIn);
            Uniform(weight, bound, rng);
            Uniform(bias, bound, rng);
        }
    }
}
