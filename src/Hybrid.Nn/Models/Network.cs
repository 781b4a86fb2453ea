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
    readonly List<Layer> _heads = [];
    SimdWidth _width = Simd.Best;
    int _threads = 1;
    float[][] _activations = [];
    float[] _gradientA = [], _gradientB = [];
    int _capacity;

    private protected Network(ModelSpec spec)
    {
        Spec = spec;
        _torso = spec.BuildTorso();
        foreach (Layer layer in _torso) layer.Parameters = Layout.Allocate(layer.ToString(), layer.ParameterCount);
        ObservationSize = spec.ObservationSize;
        FeatureSize = _torso.Count == 0 ? ObservationSize : _torso[^1].OutputSize;
    }

    /// <summary>Values per observation.</summary>
    public int ObservationSize { get; }

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
        _activations = new float[_torso.Count][];
        int widest = ObservationSize;
        for (int i = 0; i < _torso.Count; i++)
        {
            _activations[i] = new float[batch * _torso[i].OutputSize];
            widest = Math.Max(widest, _torso[i].OutputSize);
        }
        _gradientA = new float[batch * widest];
        _gradientB = new float[batch * widest];
        GrowHeads(batch);
        _capacity = batch;
    }

    private protected abstract void GrowHeads(int batch);

    private protected void CheckCall(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Exactly(theta.Length, ParameterCount, nameof(theta));
        Guard.AtLeast(observations.Length, batch * ObservationSize, nameof(observations));
        EnsureCapacity(batch);
    }

    /// <summary>Runs the torso; returns the features [batch, FeatureSize].</summary>
    private protected ReadOnlySpan<float> ForwardTorso(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, int batch)
    {
        ReadOnlySpan<float> x = observations[..(batch * ObservationSize)];
        for (int i = 0; i < _torso.Count; i++)
        {
            Layer layer = _torso[i];
            Span<float> y = _activations[i].AsSpan(0, batch * layer.OutputSize);
            layer.Forward(layer.Parameters.Of(theta), x, y, batch);
            x = y;
        }
        return x;
    }

    /// <summary>Backpropagates dL/dfeatures (held in the buffer from <see cref="FeatureGradient"/>) through the torso.</summary>
    private protected void BackwardTorso(ReadOnlySpan<float> theta, ReadOnlySpan<float> observations, Span<float> gradients, int batch)
    {
        Span<float> dy = _gradientA, dx = _gradientB;
        for (int i = _torso.Count - 1; i >= 0; i--)
        {
            Layer layer = _torso[i];
            ReadOnlySpan<float> x = i == 0 ? observations[..(batch * ObservationSize)] : _activations[i - 1].AsSpan(0, batch * layer.InputSize);
            Span<float> dxUsed = i == 0 ? default : dx[..(batch * layer.InputSize)];
            layer.Backward(layer.Parameters.Of(theta), x, _activations[i].AsSpan(0, batch * layer.OutputSize),
                dy[..(batch * layer.OutputSize)], dxUsed, layer.Parameters.Of(gradients), batch);
            Span<float> swap = dy;
            dy = dx;
            dx = swap;
        }
    }

    /// <summary>The torso's output of the last forward pass (the observations themselves when the torso is empty).</summary>
    private protected ReadOnlySpan<float> Features(ReadOnlySpan<float> observations, int batch) =>
        _torso.Count == 0 ? observations[..(batch * FeatureSize)] : _activations[^1].AsSpan(0, batch * FeatureSize);

    /// <summary>The buffer the heads write dL/dfeatures into before <see cref="BackwardTorso"/>.</summary>
    private protected Span<float> FeatureGradient(int batch) => _gradientA.AsSpan(0, batch * FeatureSize);

    /// <summary>A second buffer of the same size, for a head's partial feature gradient.</summary>
    private protected Span<float> FeatureGradientScratch(int batch) => _gradientB.AsSpan(0, batch * FeatureSize);
}
