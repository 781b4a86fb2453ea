using System.Numerics.Tensors;

namespace Hybrid.Nn.Optim;

/// <summary>An update rule over a flat parameter span.</summary>
public interface IOptimizer
{
    /// <summary>Applies one update to theta from a gradient of the same length.</summary>
    void Step(Span<float> theta, ReadOnlySpan<float> gradient, float learningRate);

    /// <summary>The optimizer's statistics, by name, for checkpoints (theta excluded).</summary>
    IReadOnlyList<(string Name, float[] Values)> State { get; }
}

/// <summary>theta = theta - lr d.</summary>
public sealed class Sgd : IOptimizer
{
    /// <inheritdoc/>
    public void Step(Span<float> theta, ReadOnlySpan<float> gradient, float learningRate)
    {
        Guard.SameLength(gradient.Length, theta.Length, nameof(gradient), nameof(theta));
        TensorPrimitives.MultiplyAdd(gradient, -learningRate, theta, theta);
    }

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, float[] Values)> State => [];
}

/// <summary>
/// RMSProp in the form of Mnih et al. 2016 (section 4, "Optimization"): g = alpha g + (1 - alpha) d^2,
/// theta = theta - lr d / sqrt(g + eps). With <see cref="Statistics"/> shared by every thread and applied without
/// a lock, this is the paper's "Shared RMSProp", which it found the most robust of its optimizers.
/// </summary>
public sealed class RmsProp : IOptimizer
{
    /// <summary>RMSProp over <paramref name="count"/> parameters with fresh (zero) statistics.</summary>
    /// <param name="count">Parameters.</param>
    /// <param name="alpha">Decay of the squared-gradient average; 0.99 as in Mnih et al. 2016.</param>
    /// <param name="epsilon">Added inside the square root, as the paper's formula (and TensorFlow's RMSProp) has it; 1e-5 is
    /// OpenAI Baselines' and SB3's A2C value, but PyTorch's RMSprop, which SB3 uses, adds it outside: sqrt(g) + eps.</param>
    /// <param name="epsilonOutside">Add epsilon outside the square root, as PyTorch's RMSprop: lr d / (sqrt(g) + eps).</param>
    public RmsProp(int count, float alpha = 0.99f, float epsilon = 1e-5f, bool epsilonOutside = false)
    {
        EpsilonOutside = epsilonOutside;
        Guard.NonNegative(count, nameof(count));
        Guard.InRange(alpha, 0, 1, nameof(alpha));
        Guard.Positive(epsilon, nameof(epsilon));
        Statistics = new float[count];
        Alpha = alpha;
        Epsilon = epsilon;
    }

    /// <summary>g: the running average of squared gradients; share this array to share the statistics.</summary>
    public float[] Statistics { get; }

    /// <summary>Decay.</summary>
    public float Alpha { get; }

    /// <summary>Stabilizer.</summary>
    public float Epsilon { get; }

    /// <summary>Whether epsilon is added outside the square root (PyTorch's arrangement) rather than inside (the paper's).</summary>
    public bool EpsilonOutside { get; }

    /// <summary>The widest vector the update may use; lower it to run the scalar path as a baseline.</summary>
    public Kernels.SimdWidth VectorWidth { get; set; } = Kernels.Simd.Best;

    /// <inheritdoc/>
    public void Step(Span<float> theta, ReadOnlySpan<float> gradient, float learningRate) =>
        OptimizerKernels.RmsPropStep(theta, Statistics, gradient, learningRate, Alpha, Epsilon, VectorWidth, EpsilonOutside);

    /// <summary>The step on parameters <paramref name="start"/>..start+length-1 only (spans of that slice), so that threads can step disjoint slices.</summary>
    public void Step(Span<float> theta, ReadOnlySpan<float> gradient, float learningRate, int start) =>
        OptimizerKernels.RmsPropStep(theta, Statistics.AsSpan(start, theta.Length), gradient, learningRate, Alpha, Epsilon, VectorWidth, EpsilonOutside);

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, float[] Values)> State => [("rmsprop.g", Statistics)];

    /// <summary>
    /// One step of a slice of theta starting at <paramref name="start"/> with <paramref name="scale"/> * gradient, in one
    /// pass (<see cref="OptimizerKernels.RmsPropStepScaled"/>); returns the slice's new parameter sum.
    /// </summary>
    public double StepScaled(Span<float> theta, ReadOnlySpan<float> gradient, float scale, float learningRate, int start) =>
        OptimizerKernels.RmsPropStepScaled(theta, Statistics.AsSpan(start, theta.Length), gradient, scale, learningRate, Alpha, Epsilon, EpsilonOutside);
}

/// <summary>Adam (Kingma and Ba 2015) with bias correction, arranged as PyTorch's torch.optim.Adam.</summary>
public sealed class Adam : IOptimizer
{
    /// <summary>Adam over <paramref name="count"/> parameters.</summary>
    public Adam(int count, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
    {
        Guard.NonNegative(count, nameof(count));
        Guard.InRange(beta1, 0, 0.999999, nameof(beta1));
        Guard.InRange(beta2, 0, 0.999999, nameof(beta2));
        Guard.Positive(epsilon, nameof(epsilon));
        FirstMoment = new float[count];
        SecondMoment = new float[count];
        (Beta1, Beta2, Epsilon) = (beta1, beta2, epsilon);
    }

    /// <summary>m.</summary>
    public float[] FirstMoment { get; }
    /// <summary>v.</summary>
    public float[] SecondMoment { get; }
    /// <summary>Steps taken (t), which the bias corrections depend on. Not among <see cref="State"/> (float arrays):
    /// when resuming from a checkpoint, set it from the checkpoint's update counter.</summary>
    public long Steps
    {
        get => _steps;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(Steps), value, $"Steps was {value}; expected >= 0.");
            _steps = value;
        }
    }

    long _steps;
    /// <summary>beta1.</summary>
    public float Beta1 { get; }
    /// <summary>beta2.</summary>
    public float Beta2 { get; }
    /// <summary>eps.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    public void Step(Span<float> theta, ReadOnlySpan<float> gradient, float learningRate)
    {
        _steps++;
        double bias1 = 1 - Math.Pow(Beta1, _steps), bias2 = 1 - Math.Pow(Beta2, _steps);
        OptimizerKernels.AdamStep(theta, FirstMoment, SecondMoment, gradient, (float)(learningRate / bias1),
            Beta1, Beta2, (float)(1 / Math.Sqrt(bias2)), Epsilon, Kernels.Simd.Best);
    }

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, float[] Values)> State => [("adam.m", FirstMoment), ("adam.v", SecondMoment)];
}

/// <summary>Gradient clipping and learning-rate schedules.</summary>
public static class GradientTools
{
    /// <summary>
    /// Scales the gradient so its L2 norm is at most <paramref name="maxNorm"/>, as PyTorch's clip_grad_norm_:
    /// d = d * maxNorm / (norm + 1e-6) when norm &gt; maxNorm. Returns the norm before clipping.
    /// </summary>
    public static float ClipGlobalNorm(Span<float> gradient, float maxNorm)
    {
        Guard.Positive(maxNorm, nameof(maxNorm));
        float norm = TensorPrimitives.Norm(gradient);
        if (norm > maxNorm) TensorPrimitives.Multiply(gradient, ClipScale(norm, maxNorm), gradient);
        return norm;
    }

    /// <summary>The factor <see cref="ClipGlobalNorm"/> scales by for a gradient of norm <paramref name="norm"/>: maxNorm / (norm + 1e-6) above maxNorm, else 1.</summary>
    public static float ClipScale(float norm, float maxNorm) => norm > maxNorm ? maxNorm / (norm + 1e-6f) : 1f;

    /// <summary>Linear annealing to zero: lr0 * max(0, 1 - step / totalSteps) (Mnih et al. 2016 anneal to 0 over training).</summary>
    public static float LinearDecay(float initial, long step, long totalSteps)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"totalSteps was {totalSteps}; expected > 0.");
        Guard.NonNegative(initial, nameof(initial));
        return initial * (float)Math.Max(0.0, 1.0 - (double)step / totalSteps);
    }
}
