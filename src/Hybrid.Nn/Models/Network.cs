using Hybrid.Nn.Kernels;
using Hybrid.Nn.Layers;

namespace Hybrid.Nn.Models;

/// <summary>
/// A built model: its layers, where each one's parameters sit in the flat array, and the scratch buffers of
/// one thread. Parameters are not held here: every call takes theta (or a thread's theta') and, for backward,
/// a gradient array of <see cref="ParameterCount"/> floats, so many threads can each own a network and share
/// or copy one parameter array.
/// </summary>
public abstract class Network
{
    readonly List<Layer> _torso;
    readonly TorsoPass _pass;
    readonly List<Layer> _heads = [];
    SimdWidth _width = Simd.Best;
    int _threads = 1;
    int _capacity;

    private protected Network(ModelSpec spec)
    {
        Spec = spec;
        _torso = spec.BuildTorso();
        foreach (Layer layer in _torso) layer.Parameters = Layout.Allocate(layer.ToString(), layer.ParameterCount);
        _pass = new TorsoPass(_torso, spec.InputSize);
        ObservationSize = spec.ObservationSize;
        InputSize = spec.InputSize;
        FeatureSize = _torso.Count == 0 ? InputSize : _torso[^1].OutputSize;
    }

    /// <summary>Values per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Values per input row: the observation's, and for a critic the action's after them.</summary>
    public int InputSize { get; }

    /// <summary>The spec this network was built from.</summary>
    public ModelSpec Spec { get; }

    /// <summary>Where every layer's parameters sit.</summary>
    public ParameterLayout Layout { get; } = new();

    /// <summary>Length of theta and of the gradient array.</summary>
    public int ParameterCount => Layout.Count;

    /// <summary>Width of the torso's output.</summary>
    public int FeatureSize { get; }

    /// <summary>The torso's layers, input first.</summary>
    public IReadOnlyList<Layer> Torso => _torso;

    /// <summary>
    /// The widest vector every layer may use (<see cref="Simd.Best"/> by default); <see cref="SimdWidth.Scalar"/>
    /// runs the whole network on the scalar paths, as a baseline or an oracle.
    /// </summary>
    public SimdWidth VectorWidth
    {
        get => _width;
        set
        {
            _width = value;
            Configure(_torso);
            Configure(_heads);
        }
    }

    /// <summary>Cores each layer's batched pass may use (see <see cref="Layer.Threads"/>); 1 by default.</summary>
    public int Threads
    {
        get => _threads;
        set
        {
            Guard.Positive(value, nameof(Threads));
            _threads = value;
            Configure(_torso);
            Configure(_heads);
        }
    }

    void Configure(List<Layer> layers)
    {
        foreach (Layer layer in layers)
        {
            layer.VectorWidth = _width;
            layer.Threads = _threads;
        }
    }

    /// <summary>Adds a head layer after the torso and gives it its parameter slice.</summary>
    /// <summary>A second torso for a head of its own (its layers' parameters after everything allocated so far), configured with the rest.</summary>
    private protected TorsoPass AddTorso(string name, List<Layer> layers)
    {
        foreach (Layer layer in layers)
        {
            layer.Parameters = Layout.Allocate($"{name}/{layer}", layer.ParameterCount);
            _heads.Add(layer);
        }
        Configure(_heads);
        var pass = new TorsoPass(layers, InputSize);
        _extraPasses.Add(pass);
        return pass;
    }

    readonly List<TorsoPass> _extraPasses = [];

    private protected TLayer AddHead<TLayer>(string name, TLayer head) where TLayer : Layer
    {
        head.Parameters = Layout.Allocate(name, head.ParameterCount);
        _heads.Add(head);
        Configure(_heads);
        return head;
    }

    /// <summary>Allocates parameters, gradients and nothing else: a convenience for single-threaded use.</summary>
    public ParameterArena CreateArena() => new(Layout);

    /// <summary>Initializes theta: each layer from its own stream of <paramref name="rng"/>, so adding a layer does not change the others.</summary>
    public void Initialize(Span<float> theta, Rng rng)
    {
        Guard.Exactly(theta.Length, ParameterCount, nameof(theta));
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = 0; i < _torso.Count; i++) _torso[i].Initialize(_torso[i].Parameters.Of(theta), rng.Split((ulong)i));
        InitializeHeads(theta, rng, _torso.Count);
    }

    private protected abstract void InitializeHeads(Span<float> theta, Rng rng, int firstStream);

    /// <summary>Grows the scratch buffers to hold <paramref name="batch"/> samples (allocates only when growing).</summary>
    public void EnsureCapacity(int batch)
    {
        Guard.Positive(batch, nameof(batch));
        if (batch <= _capacity) return;
        _pass.Grow(batch);
        foreach (TorsoPass pass in _extraPasses) pass.Grow(batch);
        GrowHeads(batch);
        _capacity = batch;
    }

    private protected abstract void GrowHeads(int batch);

    private protected void CheckCall(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Exactly(theta.Length, ParameterCount, nameof(theta));
        Guard.AtLeast(observations.Length, batch * InputSize, nameof(observations));
        EnsureCapacity(batch);
    }

    /// <summary>Runs the torso on a batch; returns its output (the observations themselves when there is no torso).</summary>
    private protected ReadOnlySpan<float> ForwardTorso(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch) =>
        _pass.Forward(theta, observations, batch);

    /// <summary>
    /// Backpropagates <see cref="FeatureGradient"/> (dL/dfeatures, filled by the caller) through the torso, adding into
    /// gradients; with a non-empty <paramref name="inputGradient"/> also writes dL/dinputs there.
    /// </summary>
    private protected void BackwardTorso(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, Span<float> gradients, int batch,
        Span<float> inputGradient = default) =>
        _pass.Backward(theta, observations, gradients, batch, inputGradient);

    /// <summary>The torso's output of the last forward pass.</summary>
    private protected ReadOnlySpan<float> Features(ReadOnlySpan<float> observations, int batch) => _pass.Features(observations, batch);

    /// <summary>Where the caller puts dL/dfeatures before <see cref="BackwardTorso"/>.</summary>
    private protected Span<float> FeatureGradient(int batch) => _pass.FeatureGradient(batch);

    /// <summary>A second feature-sized scratch buffer (free until <see cref="BackwardTorso"/> runs).</summary>
    private protected Span<float> FeatureGradientScratch(int batch) => _pass.FeatureGradientScratch(batch);

    /// <summary>
    /// One torso's forward and backward passes with the scratch they need (its activations and two gradient buffers):
    /// the network's own, and a second one where a model has another torso (an actor-critic's separate value network).
    /// </summary>
    private protected sealed class TorsoPass(List<Layer> layers, int inputSize)
    {
        float[][] _activations = [];
        float[] _gradientA = [], _gradientB = [];

        /// <summary>Width of the output.</summary>
        public int OutputSize { get; } = layers.Count == 0 ? inputSize : layers[^1].OutputSize;

        /// <summary>Makes room for batches of up to <paramref name="batch"/> rows.</summary>
        public void Grow(int batch)
        {
            _activations = new float[layers.Count][];
            int widest = inputSize;
            for (int i = 0; i < layers.Count; i++)
            {
                _activations[i] = new float[batch * layers[i].OutputSize];
                widest = Math.Max(widest, layers[i].OutputSize);
            }
            _gradientA = new float[batch * widest];
            _gradientB = new float[batch * widest];
        }

        public ReadOnlySpan<float> Forward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
        {
            ReadOnlySpan<float> x = observations[..(batch * inputSize)];
            for (int i = 0; i < layers.Count; i++)
            {
                Layer layer = layers[i];
                Span<float> y = _activations[i].AsSpan(0, batch * layer.OutputSize);
                layer.Forward(layer.Parameters.Of(theta), x, y, batch);
                x = y;
            }
            return x;
        }

        public void Backward(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, Span<float> gradients, int batch, Span<float> inputGradient = default)
        {
            if (layers.Count == 0)
            {
                // No torso: the features are the inputs.
                if (!inputGradient.IsEmpty) _gradientA.AsSpan(0, batch * inputSize).CopyTo(inputGradient);
                return;
            }
            Span<float> dy = _gradientA, dx = _gradientB;
            for (int i = layers.Count - 1; i >= 0; i--)
            {
                Layer layer = layers[i];
                ReadOnlySpan<float> x = i == 0 ? observations[..(batch * inputSize)] : _activations[i - 1].AsSpan(0, batch * layer.InputSize);
                Span<float> dxUsed = i == 0 ? (inputGradient.IsEmpty ? default : inputGradient[..(batch * inputSize)]) : dx[..(batch * layer.InputSize)];
                layer.Backward(layer.Parameters.Of(theta), x, _activations[i].AsSpan(0, batch * layer.OutputSize),
                    dy[..(batch * layer.OutputSize)], dxUsed, layer.Parameters.Of(gradients), batch);
                Span<float> swap = dy;
                dy = dx;
                dx = swap;
            }
        }

        public ReadOnlySpan<float> Features(ReadOnlySpan<float> observations, int batch) =>
            layers.Count == 0 ? observations[..(batch * OutputSize)] : _activations[^1].AsSpan(0, batch * OutputSize);

        public Span<float> FeatureGradient(int batch) => _gradientA.AsSpan(0, batch * OutputSize);

        public Span<float> FeatureGradientScratch(int batch) => _gradientB.AsSpan(0, batch * OutputSize);
    }
}
