using System.Numerics.Tensors;
using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Layers;

/// <summary>y = tanh(x) element-wise.</summary>
public sealed class Tanh(int size) : Layer
{
    /// <inheritdoc/>
    public override int InputSize { get; } = Guard.PositiveValue(size, nameof(size));

    /// <inheritdoc/>
    public override int OutputSize => InputSize;

    /// <inheritdoc/>
    public override string ToString() => "tanh";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch)
    {
        CheckForward(parameters, x, y, batch);
        int n = batch * InputSize;
        Elementwise.Unary<TanhOperator>(x[..n], y[..n], Simd.Best);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch)
    {
        CheckBackward(parameters, x, y, dy, dx, gradients, batch);
        int n = batch * InputSize;
        if (!dx.IsEmpty) Elementwise.Binary<TanhBackwardOperator>(y[..n], dy[..n], dx[..n], Simd.Best);
    }
}

/// <summary>y = max(x, 0) element-wise.</summary>
public sealed class Relu(int size) : Layer
{
    /// <inheritdoc/>
    public override int InputSize { get; } = Guard.PositiveValue(size, nameof(size));

    /// <inheritdoc/>
    public override int OutputSize => InputSize;

    /// <inheritdoc/>
    public override string ToString() => "relu";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch)
    {
        CheckForward(parameters, x, y, batch);
        int n = batch * InputSize;
        TensorPrimitives.Max(x[..n], 0f, y[..n]);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch)
    {
        CheckBackward(parameters, x, y, dy, dx, gradients, batch);
        int n = batch * InputSize;
        if (!dx.IsEmpty) Elementwise.Binary<ReluBackwardOperator>(y[..n], dy[..n], dx[..n], Simd.Best);
    }
}
