using System.Numerics.Tensors;
using Hybrid.Nn.Layers;

namespace Hybrid.Nn.Models;

/// <summary>
/// Shared torso, then a policy head (logits for discrete actions; means plus a state-independent log-std for
/// a box) and a value head: <c>Forward(obs[B * in]) -> policy[B * A], value[B]</c>. With
/// <see cref="ModelSpec.SeparateValue"/> the value head has a torso of its own, the same shape: two networks.
/// </summary>
public sealed class ActorCriticNetwork : Network
{
    readonly Linear _policyHead;
    readonly Linear _valueHead;
    readonly TorsoPass? _valueTorso;
    readonly List<Layer>? _valueLayers;
    float[] _policy = [], _values = [];

    internal ActorCriticNetwork(ModelSpec spec) : base(spec)
    {
        // Gains 0.01 (policy: near-uniform at start) and 1 (value), as OpenAI Baselines, SB3 and CleanRL use.
        _policyHead = AddHead("policy", new Linear(FeatureSize, spec.Actions, spec.Init, 0.01));
        if (spec.SeparateValue)
        {
            _valueLayers = spec.BuildTorso();
            _valueTorso = AddTorso("value", _valueLayers);
        }
        _valueHead = AddHead("value", new Linear(_valueTorso?.OutputSize ?? FeatureSize, 1, spec.Init, 1.0));
        LogStd = spec.ActionKind == ActionKind.Box ? Layout.Allocate("log_std", spec.Actions) : new ParameterSlice("log_std", Layout.Count, 0);
    }

    /// <summary>Actions (discrete) or action dimensions (box).</summary>
    public int Actions => Spec.Actions;

    /// <summary>The log-std parameters of a box policy (empty for discrete).</summary>
    public ParameterSlice LogStd { get; }

    /// <summary>The policy head's output of the last forward pass: logits or means, [batch * Actions].</summary>
    public ReadOnlySpan<float> Policy(int batch) => _policy.AsSpan(0, batch * Actions);

    /// <summary>The value head's output of the last forward pass, [batch].</summary>
    public ReadOnlySpan<float> Values(int batch) => _values.AsSpan(0, batch);

    private protected override void InitializeHeads(Span<float> theta, Rng rng, int firstStream)
    {
        _policyHead.Initialize(_policyHead.Parameters.Of(theta), rng.Split((ulong)firstStream));
        _valueHead.Initialize(_valueHead.Parameters.Of(theta), rng.Split((ulong)firstStream + 1));
        // A separate value torso: its own streams, after the heads'.
        for (int i = 0; i < (_valueLayers?.Count ?? 0); i++)
            _valueLayers![i].Initialize(_valueLayers[i].Parameters.Of(theta), rng.Split((ulong)(firstStream + 2 + i)));
        // log sigma = 0: unit standard deviation at the start, as SB3 does.
        LogStd.Of(theta).Clear();
    }

    private protected override void GrowHeads(int batch)
    {
        _policy = new float[batch * Actions];
        _values = new float[batch];
    }

    /// <summary>Computes the policy output and values for a batch; read them with <see cref="Policy"/> and <see cref="Values"/>.</summary>
    /// <exception cref="ArgumentException">theta is not <see cref="Network.ParameterCount"/> long, or observations too short.</exception>
    public void Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        CheckCall(theta, observations, batch);
        ReadOnlySpan<float> features = ForwardTorso(theta, observations, batch);
        _policyHead.Forward(_policyHead.Parameters.Of(theta), features, _policy, batch);
        ReadOnlySpan<float> valueFeatures = _valueTorso is null ? features : _valueTorso.Forward(theta, observations, batch);
        _valueHead.Forward(_valueHead.Parameters.Of(theta), valueFeatures, _values, batch);
    }

    /// <summary>
    /// Adds dL/dtheta into <paramref name="gradients"/> given dL/dpolicy [batch * Actions] and dL/dvalue [batch],
    /// for the same theta and observations as the last <see cref="Forward"/>. The log-std gradient of a box
    /// policy is the loss's to add (it does not flow through the network).
    /// </summary>
    public void Backward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<float> policyGradient,
        ReadOnlySpan<float> valueGradient, Span<float> gradients, int batch)
    {
        CheckCall(theta, observations, batch);
        Guard.Exactly(gradients.Length, ParameterCount, nameof(gradients));
        Guard.AtLeast(policyGradient.Length, batch * Actions, nameof(policyGradient));
        Guard.AtLeast(valueGradient.Length, batch, nameof(valueGradient));
        ReadOnlySpan<float> features = Features(observations, batch);
        Span<float> dFeatures = FeatureGradient(batch);
        _policyHead.Backward(_policyHead.Parameters.Of(theta), features, _policy, policyGradient, dFeatures,
            _policyHead.Parameters.Of(gradients), batch);
        if (_valueTorso is null)
        {
            // One torso: the value head's feature gradient joins the policy head's.
            Span<float> dFromValue = FeatureGradientScratch(batch);
            _valueHead.Backward(_valueHead.Parameters.Of(theta), features, _values, valueGradient, dFromValue,
                _valueHead.Parameters.Of(gradients), batch);
            TensorPrimitives.Add(dFeatures, dFromValue, dFeatures);
        }
        else
        {
            _valueHead.Backward(_valueHead.Parameters.Of(theta), _valueTorso.Features(observations, batch), _values, valueGradient,
                _valueTorso.FeatureGradient(batch), _valueHead.Parameters.Of(gradients), batch);
            _valueTorso.Backward(theta, observations, gradients, batch);
        }
        BackwardTorso(theta, observations, gradients, batch);
    }
}
