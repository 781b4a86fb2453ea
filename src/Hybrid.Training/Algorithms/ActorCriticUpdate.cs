using System.Numerics.Tensors;

namespace Hybrid.Training.Algorithms;

/// <summary>V-trace's truncation levels (Espeholt et al. 2018: rho_bar = c_bar = 1).</summary>
/// <param name="RhoBar">Clip of the importance weight in the targets and the policy-gradient advantage.</param>
/// <param name="CBar">Clip of the trace-cutting weights.</param>
public readonly record struct VTraceClip(float RhoBar, float CBar);

/// <summary>
/// The actor-critic gradient of one rollout, shared by A2C (N lanes), each A3C worker (one lane) and the IMPALA
/// learner: bootstrap values, then per lane either GAE(lambda) advantages with returns = advantages + V (lambda = 1
/// gives n-step returns minus V), or, for a rollout collected by an older policy, V-trace targets and advantages;
/// then the loss of <see cref="ActorCriticLoss"/> over the whole batch and one backward pass. A recurrent network
/// recomputes the rollout's unroll from the state that entered it (with the rollout's resets) and backpropagates through
/// it; its bootstrap values step a second network from the states the unroll reached, so the unroll's activations stay.
/// </summary>
public sealed class ActorCriticUpdate
{
    readonly ActorCriticNetwork _net;
    readonly float[] _last, _bootstrap, _values, _rho, _advantages, _returns, _policyGradient, _valueGradient;
    readonly float[] _rT, _discountT, _continueT, _vTm1, _vT, _rhoT, _vsT, _advantageT;
    readonly ActorCriticNetwork? _stepNet;
    readonly float[] _stateHidden = [], _stateCell = [];

    public ActorCriticUpdate(ActorCriticNetwork net, int tMax, int lanes)
    {
        _net = net;
        int capacity = tMax * lanes;
        if (net.RecurrentSize > 0)
        {
            _stepNet = (ActorCriticNetwork)net.Spec.Build();
            _stepNet.EnsureCapacity(capacity);
            (_stateHidden, _stateCell) = (new float[capacity * net.RecurrentSize], new float[capacity * net.RecurrentSize]);
        }
        _last = new float[lanes];
        (_bootstrap, _values, _rho, _advantages, _returns, _valueGradient) =
            (new float[capacity], new float[capacity], new float[capacity], new float[capacity], new float[capacity], new float[capacity]);
        _policyGradient = new float[capacity * net.Actions];
        (_rT, _discountT, _continueT, _vTm1, _vT, _rhoT, _vsT, _advantageT) = (new float[tMax], new float[tMax], new float[tMax],
            new float[tMax], new float[tMax], new float[tMax], new float[tMax], new float[tMax]);
        net.EnsureCapacity(capacity);
    }

    /// <summary>Adds dL/dtheta of <paramref name="rollout"/> into <paramref name="gradient"/> (which the caller zeroes); returns the loss terms.</summary>
    /// <param name="theta">The current parameters (for A2C and A3C, those the rollout was collected with).</param>
    /// <param name="rollout">T steps of N lanes; with V-trace, also the behaviour policy's log-probabilities.</param>
    /// <param name="nextObservations">s_T of each lane (the env's observations after the last step), for the bootstrap.</param>
    /// <param name="lambda">GAE lambda (ignored with V-trace).</param>
    /// <param name="valueCoefficient">Value loss weight.</param>
    /// <param name="entropyCoefficient">Entropy bonus weight.</param>
    /// <param name="vtrace">Null for on-policy advantages; the clips for V-trace.</param>
    /// <param name="gradient">Accumulates the gradient.</param>
    public LossTerms AddGradient(ReadOnlySpan<float> theta, Rollout rollout, ReadOnlySpan<float> nextObservations, float lambda,
        float valueCoefficient, float entropyCoefficient, VTraceClip? vtrace, Span<float> gradient)
    {
        int n = rollout.Lanes, steps = rollout.Steps, count = rollout.Count, actions = _net.Actions;
        if (rollout.RecurrentSize != _net.RecurrentSize)
            throw new ArgumentException($"rollout carries {rollout.RecurrentSize} LSTM units; the network has {_net.RecurrentSize}.", nameof(rollout));
        ReadOnlySpan<float> observations = rollout.Observations.AsSpan(0, count * rollout.ObservationSize);
        if (_stepNet is null)
        {
            // Bootstrap values: V(s_T) after each lane's last step, and V(s) of every truncated step's final observation.
            _net.Forward(theta, nextObservations, n);
            _net.Values(n).CopyTo(_last);
            if (rollout.TruncatedCount > 0)
            {
                _net.Forward(theta, rollout.FinalObservations, rollout.TruncatedCount);
                ReadOnlySpan<float> v = _net.Values(rollout.TruncatedCount);
                for (int k = 0; k < rollout.TruncatedCount; k++) _bootstrap[rollout.TruncatedIndices[k]] = v[k];
            }

            // The current policy and values on the whole batch; the backward pass below reuses these activations.
            _net.Forward(theta, observations, count);
        }
        else RecurrentForward(theta, rollout, nextObservations);
        ReadOnlySpan<float> policy = _net.Policy(count), logStd = _net.LogStd.Of(theta);
        _net.Values(count).CopyTo(_values);
        if (vtrace is not null)
            for (int i = 0; i < count; i++)
            {
                // rho = pi(a | s) / mu(a | s), from the current policy and the behaviour log-probability stored when acting.
                float logPi = rollout.Discrete
                    ? Nn.Heads.Categorical.LogProbability(policy.Slice(i * actions, actions), rollout.DiscreteActions[i])
                    : Nn.Heads.DiagonalGaussian.LogProbability(policy.Slice(i * actions, actions), logStd, rollout.BoxActions.AsSpan(i * actions, actions));
                _rho[i] = MathF.Exp(logPi - rollout.LogProbabilities[i]);
            }

        // Per lane: GAE(lambda) with returns = advantages + V, or V-trace targets v_s and advantages.
        for (int lane = 0; lane < n; lane++)
        {
            for (int t = 0; t < steps; t++)
            {
                int i = t * n + lane;
                bool last = t == steps - 1, cut = rollout.Truncated[i];
                _rT[t] = rollout.Rewards[i];
                _discountT[t] = rollout.Discounts[i];
                _vTm1[t] = _values[i];
                _rhoT[t] = _rho[i];
                _continueT[t] = last || cut ? 0f : 1f;
                _vT[t] = cut ? _bootstrap[i] : last ? _last[lane] : _values[i + n];
            }
            Span<float> advantageT = _advantageT.AsSpan(0, steps), vsT = _vsT.AsSpan(0, steps);
            if (vtrace is VTraceClip clip)
                Returns.VTrace(_vTm1.AsSpan(0, steps), _vT.AsSpan(0, steps), _rT.AsSpan(0, steps), _discountT.AsSpan(0, steps),
                    _continueT.AsSpan(0, steps), _rhoT.AsSpan(0, steps), clip.RhoBar, clip.CBar, vsT, advantageT);
            else
            {
                Returns.Gae(_rT.AsSpan(0, steps), _discountT.AsSpan(0, steps), _continueT.AsSpan(0, steps), _vTm1.AsSpan(0, steps),
                    _vT.AsSpan(0, steps), lambda, advantageT);
                TensorPrimitives.Add(advantageT, _vTm1.AsSpan(0, steps), vsT);
            }
            for (int t = 0; t < steps; t++)
            {
                _advantages[t * n + lane] = advantageT[t];
                _returns[t * n + lane] = vsT[t];
            }
        }

        // The loss over the batch, and its gradient.
        Span<float> advantages = _advantages.AsSpan(0, count), returns = _returns.AsSpan(0, count);
        Span<float> policyGradient = _policyGradient.AsSpan(0, count * actions), valueGradient = _valueGradient.AsSpan(0, count);
        LossTerms terms = rollout.Discrete
            ? ActorCriticLoss.Categorical(policy, actions, rollout.DiscreteActions.AsSpan(0, count), advantages, returns,
                _values.AsSpan(0, count), valueCoefficient, entropyCoefficient, policyGradient, valueGradient)
            : ActorCriticLoss.Gaussian(policy, logStd, rollout.BoxActions.AsSpan(0, count * actions), advantages, returns,
                _values.AsSpan(0, count), valueCoefficient, entropyCoefficient, policyGradient, _net.LogStd.Of(gradient), valueGradient);
        if (_stepNet is null) _net.Backward(theta, observations, policyGradient, valueGradient, gradient, count);
        else _net.BackwardSequence(theta, observations, policyGradient, valueGradient, gradient, n, steps);
        return terms;
    }

    /// <summary>
    /// The unroll of a recurrent network over the rollout, from the state that entered it; then the bootstrap values,
    /// each one step of the second network from the state the unroll reached: V(s_T) from the state after each lane's
    /// last step (zero where that step ended the episode), and a truncated step's V(final observation) from the state
    /// after that step.
    /// </summary>
    void RecurrentForward(ReadOnlySpan<float> theta, Rollout rollout, ReadOnlySpan<float> nextObservations)
    {
        int n = rollout.Lanes, steps = rollout.Steps, count = rollout.Count, units = _net.RecurrentSize;
        _net.ForwardSequence(theta, rollout.Observations.AsSpan(0, count * rollout.ObservationSize), rollout.InitialHidden, rollout.InitialCell,
            rollout.Resets[..count], n, steps);
        ReadOnlySpan<float> h = _net.HiddenStates(count), c = _net.CellStates(count);
        for (int lane = 0; lane < n; lane++)
        {
            int row = (steps - 1) * n + lane;
            Span<float> hLane = _stateHidden.AsSpan(lane * units, units), cLane = _stateCell.AsSpan(lane * units, units);
            if (rollout.EndedAt(row))
            {
                hLane.Clear();
                cLane.Clear();
            }
            else
            {
                h.Slice(row * units, units).CopyTo(hLane);
                c.Slice(row * units, units).CopyTo(cLane);
            }
        }
        _stepNet!.Step(theta, nextObservations, _stateHidden.AsSpan(0, n * units), _stateCell.AsSpan(0, n * units), n);
        _stepNet.Values(n).CopyTo(_last);
        int truncated = rollout.TruncatedCount;
        if (truncated == 0) return;
        for (int k = 0; k < truncated; k++)
        {
            int row = rollout.TruncatedIndices[k];
            h.Slice(row * units, units).CopyTo(_stateHidden.AsSpan(k * units, units));
            c.Slice(row * units, units).CopyTo(_stateCell.AsSpan(k * units, units));
        }
        _stepNet.Step(theta, rollout.FinalObservations, _stateHidden.AsSpan(0, truncated * units), _stateCell.AsSpan(0, truncated * units), truncated);
        ReadOnlySpan<float> v = _stepNet.Values(truncated);
        for (int k = 0; k < truncated; k++) _bootstrap[rollout.TruncatedIndices[k]] = v[k];
    }
}
