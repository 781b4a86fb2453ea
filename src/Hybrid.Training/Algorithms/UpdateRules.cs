using System.Numerics.Tensors;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>Checks shared by every algorithm's update: finite losses and gradients, clipping, the learning-rate schedule.</summary>
public static class UpdateRules
{
    /// <summary>
    /// What every algorithm checks first: both arguments given, the run made for this config (its budget and stop
    /// rule are the config's), and the config valid.
    /// </summary>
    /// <exception cref="ArgumentException">The run was made for another config, or the config is invalid (the message names the field).</exception>
    public static void Begin(AlgoConfig config, RunContext run)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(run);
        run.CheckConfig(config);
        config.Validate();
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> naming the update if an actor-critic loss term is NaN or infinite.</summary>
    public static void CheckFinite(LossTerms terms, string who, long update)
    {
        if (!float.IsFinite(terms.Policy) || !float.IsFinite(terms.Value) || !float.IsFinite(terms.Entropy))
            throw new TrainingDivergedException($"{who}, update {update}: a loss is NaN or infinite (policy {terms.Policy}, value {terms.Value}, entropy {terms.Entropy}).");
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> naming the update if a TD loss is NaN or infinite.</summary>
    public static void CheckFinite(float tdLoss, string who, long update)
    {
        if (!float.IsFinite(tdLoss)) throw new TrainingDivergedException($"{who}, update {update}: the TD loss is {tdLoss}.");
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> naming the update if a parameter is NaN or infinite.</summary>
    public static void CheckParameters(ReadOnlySpan<float> theta, string who, long update)
    {
        // The sum is NaN or infinite if any parameter is (and, harmlessly, if theta's sum overflows float).
        CheckParameterSum(TensorPrimitives.Sum(theta), who, update);
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> unless a sum over the parameters is finite (see <see cref="CheckParameters"/>).</summary>
    public static void CheckParameterSum(double sum, string who, long update)
    {
        if (!double.IsFinite(sum) || !float.IsFinite((float)sum))
            throw new TrainingDivergedException($"{who}, update {update}: parameters became NaN or infinite.");
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> unless the gradient's norm is finite.</summary>
    public static void CheckNorm(float norm, string who, long update)
    {
        if (!float.IsFinite(norm)) throw new TrainingDivergedException($"{who}, update {update}: the gradient norm is {norm}.");
    }

    /// <summary>Clips the gradient's global norm (when <paramref name="maxNorm"/> &gt; 0) and throws if the gradient is not finite.</summary>
    public static void Clip(Span<float> gradient, float maxNorm, string who, long update)
    {
        CheckNorm(maxNorm > 0 ? GradientTools.ClipGlobalNorm(gradient, maxNorm) : TensorPrimitives.Norm(gradient), who, update);
    }

    /// <summary>RMSProp over <paramref name="count"/> parameters with the config's alpha and epsilon (shared by the workers in the async methods).</summary>
    public static RmsProp RmsProp(Config.AlgoConfig config, int count) => new(count, config.RmsAlpha, config.RmsEpsilon, config.RmsEpsilonOutside);

    /// <summary>The learning rate at env step <paramref name="step"/>: constant, or annealed linearly to 0 over <see cref="Config.AlgoConfig.AnnealHorizon"/>.</summary>
    public static float LearningRate(Config.AlgoConfig config, long step) =>
        config.AnnealLearningRate ? GradientTools.LinearDecay(config.LearningRate, step, config.AnnealHorizon) : config.LearningRate;
}
