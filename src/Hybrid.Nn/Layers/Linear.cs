using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Layers;

/// <summary>
/// y = x W + b with W stored [in, out] row-major (so a batch-1 forward streams W's rows into vector
/// accumulators), then b [out]. Batch 1 takes <see cref="Elementwise.LinearRow"/>; larger batches the GEMM.
/// </summary>
public sealed class Linear : Layer
{
    /// <summary>A linear layer from <paramref name="inputs"/> to <paramref name="outputs"/>.</summary>
    /// <param name="inputs">Input features.</param>
    /// <param name="outputs">Output features.</param>
    /// <param name="init">Initialization scheme.</param>
    /// <param name="gain">Gain for orthogonal initialization (ignored by scaled uniform).</param>
    public Linear(int inputs, int outputs, InitKind init = InitKind.Orthogonal, double gain = 1.0)
    {
        Guard.Positive(inputs, nameof(inputs));
        Guard.Positive(outputs, nameof(outputs));
        Guard.Positive(gain, nameof(gain));
        InputSize = inputs;
        OutputSize = outputs;
        Init = init;
        Gain = gain;
    }

    /// <inheritdoc/>
    public override int InputSize { get; }

    /// <inheritdoc/>
    public override int OutputSize { get; }

    /// <summary>Initialization scheme.</summary>
    public InitKind Init { get; }

    /// <summary>Orthogonal gain.</summary>
    public double Gain { get; }

    /// <inheritdoc/>
    public override int ParameterCount => InputSize * OutputSize + OutputSize;

    /// <inheritdoc/>
    public override string ToString() => $"linear {InputSize}x{OutputSize}";

    /// <inheritdoc/>
    public override void Initialize(Span<float> parameters, Rng rng) =>
        Nn.Init.WeightAndBias(Init, parameters[..(InputSize * OutputSize)], parameters[(InputSize * OutputSize)..],
            InputSize, OutputSize, Gain, rng);

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch)
    {
        CheckForward(parameters, x, y, batch);
        int weights = InputSize * OutputSize;
        ReadOnlySpan<float> w = parameters[..weights], b = parameters[weights..];
        if (batch == 1)
        {
            Elementwise.LinearRowCore(x[..InputSize], w, b, y[..OutputSize], Simd.Clamp(VectorWidth));
            return;
        }
        Elementwise.BroadcastRows(b, y, batch);
        Gemm.Multiply(x, false, w, false, y, batch, OutputSize, InputSize, accumulate: true, Path, Threads);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch)
    {
        CheckBackward(parameters, x, y, dy, dx, gradients, batch);
        int weights = InputSize * OutputSize;
        // dW += x^T dy, db += column sums of dy, dx = dy W^T.
        Gemm.Multiply(x, true, dy, false, gradients[..weights], InputSize, OutputSize, batch, accumulate: true, Path, Threads);
        Elementwise.AddColumnSums(dy, batch, gradients[weights..], VectorWidth);
        if (!dx.IsEmpty)
            Gemm.Multiply(dy, false, parameters[..weights], true, dx, batch, InputSize, OutputSize, accumulate: false, Path, Threads);
    }
}
