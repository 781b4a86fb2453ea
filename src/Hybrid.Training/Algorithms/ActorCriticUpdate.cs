using System.Numerics.Tensors;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;
using Hybrid.Training.Losses;
using Hybrid.Training.Parallel;
using Hybrid.Training.Rollouts;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// The actor-critic gradient of one rollout, shared by A2C (N lanes) and each A3C worker (one lane): bootstrap
/// values, GAE(lambda) advantages per lane (lambda = 1 gives n-step returns minus V), returns = advantages + V,
/// then the loss of <see cref="ActorCriticLoss"/> over the whole batch and one backward pass.
/// </summary>
internal sealed class ActorCriticUpdate
{
    readonly ActorCriticNetwork _net;
    readonly float[] _last, _bootstrap, _advantages, _returns, _policyGradient, _valueGradient;
    readonly float[] _rT, _discountT, _continueT, _vTm1, _bootstrapT, _advantageT;

    public ActorCriticUpdate(ActorCriticNetwork net, int tMax, int lanes)
    {
        _net = net;
        int capacity = tMax * lanes;
        _last = new float[lanes];
        (_bootstrap, _advantages, _returns, _valueGradient) = (new float[capacity], new float[capacity], new float[capacity], new float[capacity]);
        _policyGradient = new float[capacity * net.Actions];
        (_rT, _discountT, _continueT, _vTm1, _bootstrapT, _advantageT) =
            (new float[tMax], new float[tMax], new float[tMax], new float[tMax], new float[tMax], new float[tMax]);
        net.EnsureCapacity(capacity);
    }

    /// <summary>Adds dL/dtheta of <paramref name="rollout"/> into <paramref name="gradient"/> (which the caller zeroes); returns the loss terms.</summary>
    /// <param name="theta">The parameters the rollout was collected with.</param>
    /// <param name="rollout">T steps of N lanes, values recorded while acting.</param>
    /// <param name="nextObservations">s_T of each lane (the env's current observations), for the bootstrap.</param>
    /// <param name="lambda">GAE lambda.</param>
    /// <param name="valueCoefficient">Value loss weight.</param>
    /// <param name="entropyCoefficient">Entropy bonus weight.</param>
    /// <param name="gradient">Accumulates the gradient.</param>
    public LossTerms AddGradient(ReadOnlySpan<float> theta, Rollout rollout, ReadOnlySpan<float> nextObservations, float lambda,
        float valueCoefficient, float entropyCoefficient, Span<float> gradient)
    {
        int n = rollout.Lanes, steps = rollout.Steps, count = rollout.Count;

        // Bootstrap values: V(s_T) after each lane's last step, and V(s) of every truncated step's final observation.
        _net.Forward(theta, nextObservations, n);
        _net.Values(n).CopyTo(_last);
        if (rollout.TruncatedCount > 0)
        {
            _net.Forward(theta, rollout.FinalObservations, rollout.TruncatedCount);
            ReadOnlySpan<float> v = _net.Values(rollout.TruncatedCount);
            for (int k = 0; k < rollout.TruncatedCount; k++) _bootstrap[rollout.TruncatedIndices[k]] = v[k];
        }

        // Advantages per lane by GAE(lambda); returns = advantages + V.
        for (int lane = 0; lane < n; lane++)
        {
            for (int t = 0; t < steps; t++)
            {
                int i = t * n + lane;
                bool last = t == steps - 1, cut = rollout.Truncated[i];
                _rT[t] = rollout.Rewards[i];
                _discountT[t] = rollout.Discounts[i];
                _vTm1[t] = rollout.Values[i];
                _continueT[t] = last || cut ? 0f : 1f;
                _bootstrapT[t] = cut ? _bootstrap[i] : last ? _last[lane] : 0f;
            }
            Returns.Gae(_rT.AsSpan(0, steps), _discountT.AsSpan(0, steps), _continueT.AsSpan(0, steps), _vTm1.AsSpan(0, steps),
                _bootstrapT.AsSpan(0, steps), lambda, _advantageT.AsSpan(0, steps));
            for (int t = 0; t < steps; t++) _advantages[t * n + lane] = _advantageT[t];
        }
        Span<float> advantages = _advantages.AsSpan(0, count), returns = _returns.AsSpan(0, count);
        TensorPrimitives.Add(advantages, rollout.Values.AsSpan(0, count), returns);

        // The loss over the batch, and its gradient.
        ReadOnlySpan<float> observations = rollout.Observations.AsSpan(0, count * rollout.ObservationSize);
        _net.Forward(theta, observations, count);
        Span<float> policyGradient = _policyGradient.AsSpan(0, count * _net.Actions), valueGradient = _valueGradient.AsSpan(0, count);
        LossTerms terms = rollout.Discrete
            ? ActorCriticLoss.Categorical(_net.Policy(count), _net.Actions, rollout.DiscreteActions.AsSpan(0, count), advantages, returns,
                _net.Values(count), valueCoefficient, entropyCoefficient, policyGradient, valueGradient)
            : ActorCriticLoss.Gaussian(_net.Policy(count), _net.LogStd.Of(theta), rollout.BoxActions.AsSpan(0, count * _net.Actions),
                advantages, returns, _net.Values(count), valueCoefficient, entropyCoefficient, policyGradient,
                _net.LogStd.Of(gradient), valueGradient);
        _net.Backward(theta, observations, policyGradient, valueGradient, gradient, count);
        return terms;
    }
}

/// <summary>Checks shared by every algorithm's update: finite losses and gradients, clipping, the learning-rate schedule.</summary>
internal static class UpdateRules
{
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

    /// <summary>Clips the gradient's global norm (when <paramref name="maxNorm"/> &gt; 0) and throws if the gradient is not finite.</summary>
    public static void Clip(Span<float> gradient, float maxNorm, string who, long update)
    {
        float norm = maxNorm > 0 ? GradientTools.ClipGlobalNorm(gradient, maxNorm) : TensorPrimitives.Norm(gradient);
        if (!float.IsFinite(norm)) throw new TrainingDivergedException($"{who}, update {update}: the gradient norm is {norm}.");
    }

    /// <summary>The learning rate at env step <paramref name="step"/>: constant, or annealed linearly to 0 over the budget.</summary>
    public static float LearningRate(Config.AlgoConfig config, long step) =>
        config.AnnealLearningRate ? GradientTools.LinearDecay(config.LearningRate, step, config.MaxEnvSteps) : config.LearningRate;
}
