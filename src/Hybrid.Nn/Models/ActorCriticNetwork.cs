using System.Numerics.Tensors;
using Hybrid.Nn.Layers;

namespace Hybrid.Nn.Models;

/// <summary>
/// Shared torso, then a policy head (logits for discrete actions; means plus a state-independent log-std for
/// a box) and a value head: <c>Forward(obs[B * in]) -> policy[B * A], value[B]</c>. With
/// <see cref="ModelSpec.SeparateValue"/> the value head has a torso of its own, the same shape: two networks. With
/// <see cref="ModelSpec.Recurrent"/> an LSTM sits between the torso and the heads; such a network acts with
/// <see cref="Step"/> from a carried state and learns with <see cref="ForwardSequence"/> and <see cref="BackwardSequence"/>.
/// </summary>
public sealed class ActorCriticNetwork : Network
{
    readonly Linear _policyHead;
    readonly Linear _valueHead;
    readonly TorsoPass? _valueTorso;
    readonly List<Layer>? _valueLayers;
    readonly LstmCell? _lstm;
    float[] _policy = [], _values = [];
    float[] _hidden = [], _finalCell = [], _dHidden = [], _dHiddenValue = []; // the LSTM's outputs and their gradients

    internal ActorCriticNetwork(ModelSpec spec) : base(spec)
    {
        if (spec.Recurrent > 0)
        {
            _lstm = new LstmCell(FeatureSize, spec.Recurrent);
            _lstm.Parameters = Layout.Allocate("lstm", _lstm.ParameterCount);
        }
        int headInputs = _lstm?.HiddenSize ?? FeatureSize;
        // Gains 0.01 (policy: near-uniform at start) and 1 (value), as OpenAI Baselines, SB3 and CleanRL use.
        _policyHead = AddHead("policy", new Linear(headInputs, spec.Actions, spec.Init, 0.01));
        if (spec.SeparateValue)
        {
            _valueLayers = spec.BuildTorso();
            _valueTorso = AddTorso("value", _valueLayers);
        }
        _valueHead = AddHead("value", new Linear(_valueTorso?.OutputSize ?? headInputs, 1, spec.Init, 1.0));
        LogStd = spec.ActionKind == ActionKind.Box ? Layout.Allocate("log_std", spec.Actions) : new ParameterSlice("log_std", Layout.Count, 0);
    }

    /// <summary>Actions (discrete) or action dimensions (box).</summary>
    public int Actions => Spec.Actions;

    /// <summary>The log-std parameters of a box policy (empty for discrete).</summary>
    public ParameterSlice LogStd { get; }

    /// <summary>The LSTM's units, 0 for a feed-forward network: the carried state is this many h and as many c per lane.</summary>
    public int RecurrentSize => _lstm?.HiddenSize ?? 0;

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
        // The LSTM (never with a separate value torso): the stream after the heads'.
        _lstm?.Initialize(_lstm.Parameters.Of(theta), rng.Split((ulong)firstStream + 2));
    }

    private protected override void GrowHeads(int batch)
    {
        _policy = new float[batch * Actions];
        _values = new float[batch];
        if (_lstm is null) return;
        int units = _lstm.HiddenSize;
        (_hidden, _finalCell, _dHidden, _dHiddenValue) = (new float[batch * units], new float[batch * units], new float[batch * units], new float[batch * units]);
    }

    void RequireFeedForward(string method)
    {
        if (_lstm is not null)
            throw new InvalidOperationException($"{method} runs a feed-forward network; this one has an LSTM ({Spec}): use Step, ForwardSequence and BackwardSequence.");
    }

    LstmCell RequireRecurrent(string method) =>
        _lstm ?? throw new InvalidOperationException($"{method} runs a network with an LSTM; this one has none ({Spec}): use Forward and Backward.");

    /// <summary>
    /// One step of <paramref name="lanes"/> lanes from their carried state: computes the policy output and values for the
    /// observations (read them with <see cref="Policy"/> and <see cref="Values"/>) and replaces <paramref name="hidden"/>
    /// and <paramref name="cell"/> ([lanes * <see cref="RecurrentSize"/>] each) with the state after the step.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network has no LSTM.</exception>
    public void Step(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, Span<float> hidden, Span<float> cell, int lanes)
    {
        ForwardSequence(theta, observations, hidden, cell, default, lanes, 1);
        int size = lanes * RecurrentSize;
        _hidden.AsSpan(0, size).CopyTo(hidden);
        _finalCell.AsSpan(0, size).CopyTo(cell);
    }

    /// <summary>
    /// An unroll of <paramref name="steps"/> steps of <paramref name="lanes"/> lanes: observations time-major
    /// [steps * lanes * in], the state entering the first step <paramref name="hidden0"/> and <paramref name="cell0"/>
    /// [lanes * units], and where <paramref name="resets"/> [steps * lanes] (may be empty) is true, the lane's state zeroed
    /// before that step (its episode began there). The policy outputs and values of every row are then read with
    /// <see cref="Policy"/> and <see cref="Values"/>, the LSTM's h_t with <see cref="HiddenStates"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network has no LSTM.</exception>
    public void ForwardSequence(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<float> hidden0, ReadOnlySpan<float> cell0,
        ReadOnlySpan<bool> resets, int lanes, int steps)
    {
        LstmCell lstm = RequireRecurrent(nameof(ForwardSequence));
        Guard.Positive(lanes, nameof(lanes));
        Guard.Positive(steps, nameof(steps));
        int batch = lanes * steps, units = lstm.HiddenSize;
        CheckCall(theta, observations, batch);
        ReadOnlySpan<float> features = ForwardTorso(theta, observations, batch);
        Span<float> h = _hidden.AsSpan(0, batch * units);
        lstm.ForwardSequence(lstm.Parameters.Of(theta), features, hidden0, cell0, h, _finalCell.AsSpan(0, lanes * units), lanes, steps, resets);
        _policyHead.Forward(_policyHead.Parameters.Of(theta), h, _policy, batch);
        _valueHead.Forward(_valueHead.Parameters.Of(theta), h, _values, batch);
    }

    /// <summary>The LSTM's h_t of every row of the last <see cref="ForwardSequence"/>, [rows * units].</summary>
    public ReadOnlySpan<float> HiddenStates(int rows) => _hidden.AsSpan(0, rows * RecurrentSize);

    /// <summary>The LSTM's c_t of every row of the last <see cref="ForwardSequence"/>, [rows * units].</summary>
    public ReadOnlySpan<float> CellStates(int rows) => RequireRecurrent(nameof(CellStates)).CellStates[..(rows * RecurrentSize)];

    /// <summary>
    /// Backpropagation through the unroll of the last <see cref="ForwardSequence"/> (same theta, observations, lanes and
    /// steps), truncated at its first step: adds dL/dtheta into <paramref name="gradients"/> given dL/dpolicy and dL/dvalue
    /// of every row. The log-std gradient of a box policy is the loss's to add.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network has no LSTM, or the shapes differ from the forward pass.</exception>
    public void BackwardSequence(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, ReadOnlySpan<float> policyGradient,
        ReadOnlySpan<float> valueGradient, Span<float> gradients, int lanes, int steps)
    {
        LstmCell lstm = RequireRecurrent(nameof(BackwardSequence));
        Guard.Positive(lanes, nameof(lanes));
        Guard.Positive(steps, nameof(steps));
        int batch = lanes * steps, units = lstm.HiddenSize;
        CheckCall(theta, observations, batch);
        Guard.Exactly(gradients.Length, ParameterCount, nameof(gradients));
        Guard.AtLeast(policyGradient.Length, batch * Actions, nameof(policyGradient));
        Guard.AtLeast(valueGradient.Length, batch, nameof(valueGradient));
        ReadOnlySpan<float> h = _hidden.AsSpan(0, batch * units);
        Span<float> dh = _dHidden.AsSpan(0, batch * units), dFromValue = _dHiddenValue.AsSpan(0, batch * units);
        _policyHead.Backward(_policyHead.Parameters.Of(theta), h, _policy, policyGradient, dh, _policyHead.Parameters.Of(gradients), batch);
        _valueHead.Backward(_valueHead.Parameters.Of(theta), h, _values, valueGradient, dFromValue, _valueHead.Parameters.Of(gradients), batch);
        TensorPrimitives.Add(dh, dFromValue, dh);
        lstm.BackwardSequence(lstm.Parameters.Of(theta), Features(observations, batch), dh, default, default, FeatureGradient(batch), default, default,
            lstm.Parameters.Of(gradients), lanes, steps);
        BackwardTorso(theta, observations, gradients, batch);
    }

    /// <summary>Computes the policy output and values for a batch; read them with <see cref="Policy"/> and <see cref="Values"/>.</summary>
    /// <exception cref="ArgumentException">theta is not <see cref="Network.ParameterCount"/> long, or observations too short.</exception>
    /// <exception cref="InvalidOperationException">The network has an LSTM (it steps from a state).</exception>
    public void Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        RequireFeedForward(nameof(Forward));
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
        RequireFeedForward(nameof(Backward));
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
