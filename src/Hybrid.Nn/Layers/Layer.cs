using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Layers;

/// <summary>
/// One layer of a network over a batch of row-major samples. A layer owns a slice of the model's flat
/// parameter array and is handed that slice (of theta, or a thread's theta') and the matching gradient
/// slice on each call, so one layer object serves any copy of the parameters. Layers keep scratch buffers,
/// so one instance belongs to one thread.
/// </summary>
public abstract class Layer
{
    /// <summary>Values per input sample.</summary>
    public abstract int InputSize { get; }

    /// <summary>Values per output sample.</summary>
    public abstract int OutputSize { get; }

    /// <summary>The layer's parameters in the model's flat array; empty for parameter-free layers.</summary>
    public ParameterSlice Parameters { get; internal set; }

    /// <summary>
    /// The widest vector the layer's kernels may use; <see cref="Simd.Best"/> by default. Lower it to run the
    /// scalar path as a baseline or an oracle.
    /// </summary>
    public SimdWidth VectorWidth { get; set; } = Simd.Best;

    /// <summary>
    /// Cores a batched pass may use: large products are cut into row blocks (<see cref="Gemm.Multiply(int, int, int, ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, int, int, Span{float}, int, int, bool, GemmPath, int)"/>).
    /// 1 by default, so threads that each run their own network (A3C) do not compete for cores.
    /// </summary>
    public int Threads
    {
        get => _threads;
        set
        {
            Guard.Positive(value, nameof(Threads));
            _threads = value;
        }
    }

    int _threads = 1;

    /// <summary>The GEMM path matching <see cref="VectorWidth"/>.</summary>
    protected GemmPath Path => Gemm.PathFor(VectorWidth);

    /// <summary>How many parameters the layer needs.</summary>
    public virtual int ParameterCount => 0;

    /// <summary>A short description, e.g. <c>linear 4x64</c>.</summary>
    public abstract override string ToString();

    /// <summary>Initializes the layer's own parameter slice.</summary>
    public virtual void Initialize(Span<float> parameters, Rng rng) { }

    /// <summary>y[batch, OutputSize] = f(x[batch, InputSize]; parameters).</summary>
    public abstract void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch);

    /// <summary>
    /// Given x and y from the forward pass and dy = dL/dy: adds dL/dparameters into <paramref name="gradients"/>
    /// and writes dx = dL/dx (skipped when <paramref name="dx"/> is empty, as for a network's first layer).
    /// </summary>
    public abstract void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch);

    /// <summary>Checks the spans of a call once, at the boundary.</summary>
    protected void CheckForward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Exactly(parameters.Length, ParameterCount, nameof(parameters));
        Guard.AtLeast(x.Length, batch * InputSize, nameof(x));
        Guard.AtLeast(y.Length, batch * OutputSize, nameof(y));
    }

    /// <summary>Checks the spans of a backward call once, at the boundary.</summary>
    protected void CheckBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch)
    {
        Guard.NonNegative(batch, nameof(batch));
        Guard.Exactly(parameters.Length, ParameterCount, nameof(parameters));
        Guard.Exactly(gradients.Length, ParameterCount, nameof(gradients));
        Guard.AtLeast(x.Length, batch * InputSize, nameof(x));
        Guard.AtLeast(y.Length, batch * OutputSize, nameof(y));
        Guard.AtLeast(dy.Length, batch * OutputSize, nameof(dy));
        if (!dx.IsEmpty) Guard.AtLeast(dx.Length, batch * InputSize, nameof(dx));
    }
}
