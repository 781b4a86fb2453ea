using Hybrid.Nn.Layers;

namespace Hybrid.Nn.Models;

/// <summary>Torso, then one linear output per action: <c>Forward(obs[B * in]) -> Q[B * A]</c>.</summary>
public sealed class QNetwork : Network
{
    readonly Linear _head;
    float[] _q = [];

    internal QNetwork(ModelSpec spec) : base(spec)
    {
        _head = AddHead("q", new Linear(FeatureSize, spec.Actions, spec.Init, 1.0));
    }

    /// <summary>Number of actions.</summary>
    public int Actions => Spec.Actions;

    /// <summary>Q values of the last forward pass, [batch * Actions].</summary>
    public ReadOnlySpan<float> QValues(int batch) => _q.AsSpan(0, batch * Actions);

    private protected override void InitializeHeads(Span<float> theta, Rng rng, int firstStream) =>
        _head.Initialize(_head.Parameters.Of(theta), rng.Split((ulong)firstStream));

    private protected override void GrowHeads(int batch) => _q = new float[batch * Actions];

    /// <summary>Computes Q(s, .) for a batch; read it with <see cref="QValues"/>.</summary>
    public void Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        CheckCall(theta, observations, batch);
        ReadOnlySpan<float> features = ForwardTorso(theta, observations, batch);
        _head.Forward(_head.Parameters.Of(theta), features, _q, batch);
    }

    /// <summary>Adds dL/dtheta into <paramref name="gradients"/> given dL/dQ [batch * Actions], after <see cref="Forward"/> on the same inputs.</summary>
    public void Backward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<float> qGradient,
        Span<float> gradients, int batch)
    {
        CheckCall(theta, observations, batch);
        Guard.Exactly(gradients.Length, ParameterCount, nameof(gradients));
        Guard.AtLeast(qGradient.Length, batch * Actions, nameof(qGradient));
        _head.Backward(_head.Parameters.Of(theta), Features(observations, batch), _q, qGradient, FeatureGradient(batch),
            _head.Parameters.Of(gradients), batch);
        BackwardTorso(theta, observations, gradients, batch);
    }
}
