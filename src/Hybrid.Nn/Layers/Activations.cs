using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Layers;

/// <summary>
/// A parameter-free element-wise layer: y = f(x) by <typeparamref name="TForward"/>, and dx = f'(x) dy by
/// <typeparamref name="TBackward"/>, which takes the output y (both tanh and ReLU have derivatives that are
/// functions of their output, so x need not be kept).
/// </summary>
public abstract class ElementwiseActivation<TForward, TBackward>(int size) : Layer
    where TForward : IUnaryOperator where TBackward : IBinaryOperator
{
    /// <inheritdoc/>
    public override int InputSize { get; } = Guard.PositiveValue(size, nameof(size));

    /// <inheritdoc/>
    public override int OutputSize => InputSize;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch)
    {
        CheckForward(parameters, x, y, batch);
        int n = batch * InputSize;
        Elementwise.Unary<TForward>(x[..n], y[..n], VectorWidth);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch)
    {
        CheckBackward(parameters, x, y, dy, dx, gradients, batch);
        int n = batch * InputSize;
        if (!dx.IsEmpty) Elementwise.Binary<TBackward>(y[..n], dy[..n], dx[..n], VectorWidth);
    }
}

/// <summary>y = tanh(x) element-wise.</summary>
public sealed class Tanh(int size) : ElementwiseActivation<TanhOperator, TanhBackwardOperator>(size)
{
    /// <inheritdoc/>
    public override string ToString() => "tanh";
}

/// <summary>y = max(x, 0) element-wise.</summary>
public sealed class Relu(int size) : ElementwiseActivation<ReluOperator, ReluBackwardOperator>(size)
{
    /// <inheritdoc/>
    public override string ToString() => "relu";
}
