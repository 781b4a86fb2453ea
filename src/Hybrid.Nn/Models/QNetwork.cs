using Hybrid.Nn.Layers;

namespace Hybrid.Nn.Models;

/// <summary>
/// Torso, then one linear output per action: <c>Forward(obs[B * in]) -> Q[B * A]</c>. The same shape serves a
/// deterministic policy (one output per box dimension, before its squashing) and a critic on (state, action) (the
/// inputs are the observation and the action side by side; one output, or one per atom), whose gradient with respect to
/// its inputs <see cref="Backward"/> gives on request (the deterministic policy gradient chains dQ/da into the actor),
/// and a world model (inputs: the observation and the action one-hot; outputs: the observation's change, the reward and
/// the termination logit).
/// </summary>
public sealed class QNetwork : Network
{
    readonly Linear _head;
    float[] _q = [];

    internal QNetwork(ModelSpec spec) : base(spec)
    {
        _head = AddHead(spec.Kind switch { ModelKind.Deterministic => "mu", ModelKind.Critic => "critic", ModelKind.WorldModel => "model", _ => "q" },
            new Linear(FeatureSize, spec.Outputs, spec.Init, spec.Kind == ModelKind.Deterministic ? 0.01 : 1.0));
    }

    /// <summary>Number of actions (box dimensions for a deterministic policy or a critic).</summary>
    public int Actions => Spec.Actions;

    /// <summary>Outputs per row: the actions of a Q-network or deterministic policy, a critic's atoms.</summary>
    public int Outputs => Spec.Outputs;

    /// <summary>The outputs of the last forward pass (Q values), [batch * Outputs].</summary>
    public ReadOnlySpan<float> QValues(int batch) => _q.AsSpan(0, batch * Outputs);

    private protected override void InitializeHeads(Span<float> theta, Rng rng, int firstStream) =>
        _head.Initialize(_head.Parameters.Of(theta), rng.Split((ulong)firstStream));

    private protected override void GrowHeads(int batch) => _q = new float[batch * Outputs];

    /// <summary>Computes Q(s, .) for a batch of inputs (<see cref="Network.InputSize"/> floats each); read it with <see cref="QValues"/>.</summary>
    public void Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        CheckCall(theta, observations, batch);
        ReadOnlySpan<float> features = ForwardTorso(theta, observations, batch);
        _head.Forward(_head.Parameters.Of(theta), features, _q, batch);
    }

    /// <summary>
    /// Adds dL/dtheta into <paramref name="gradients"/> given dL/dQ [batch * Outputs], after <see cref="Forward"/> on the
    /// same inputs; with a non-empty <paramref name="inputGradient"/> [batch * InputSize] also writes dL/dinputs there.
    /// </summary>
    public void Backward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<float> qGradient,
        Span<float> gradients, int batch, Span<float> inputGradient = default)
    {
        CheckCall(theta, observations, batch);
        Guard.Exactly(gradients.Length, ParameterCount, nameof(gradients));
        Guard.AtLeast(qGradient.Length, batch * Outputs, nameof(qGradient));
        if (!inputGradient.IsEmpty) Guard.AtLeast(inputGradient.Length, batch * InputSize, nameof(inputGradient));
        _head.Backward(_head.Parameters.Of(theta), Features(observations, batch), _q, qGradient, FeatureGradient(batch),
            _head.Parameters.Of(gradients), batch);
        BackwardTorso(theta, observations, gradients, batch, inputGradient);
    }
}
