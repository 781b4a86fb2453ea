using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Layers;

/// <summary>
/// 2-D convolution over channels-last (NHWC) samples, or channel-first (NCHW) ones such as Hybrid's MinAtar
/// observations (<c>channelsFirst</c>). Lowered to one GEMM by im2col: each output pixel's receptive field becomes a
/// row of [kernel * kernel * channels] (kernel row, kernel column, channel), multiplied by the weights
/// [kernel * kernel * channels, filters]; the result [batch * outH * outW, filters] is the NHWC output whatever the
/// input layout. Zero padding; square kernel and stride.
/// </summary>
public sealed class Conv2d : Layer
{
    float[] _columns = [];
    float[] _columnGradients = [];

    /// <summary>A convolution of <paramref name="filters"/> kernels of size <paramref name="kernel"/> x <paramref name="kernel"/>.</summary>
    public Conv2d(int height, int width, int channels, int filters, int kernel, int stride = 1, int padding = 0,
        InitKind init = InitKind.Orthogonal, double gain = 1.0, bool channelsFirst = false)
    {
        ChannelsFirst = channelsFirst;
        Guard.Positive(height, nameof(height));
        Guard.Positive(width, nameof(width));
        Guard.Positive(channels, nameof(channels));
        Guard.Positive(filters, nameof(filters));
        Guard.Positive(kernel, nameof(kernel));
        Guard.Positive(stride, nameof(stride));
        Guard.NonNegative(padding, nameof(padding));
        Guard.Positive(gain, nameof(gain));
        if (height + 2 * padding < kernel || width + 2 * padding < kernel)
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel,
                $"kernel was {kernel}; expected at most the padded input ({height + 2 * padding} x {width + 2 * padding}).");
        (Height, Width, Channels, Filters, Kernel, Stride, Padding, Init, Gain) =
            (height, width, channels, filters, kernel, stride, padding, init, gain);
        OutHeight = (height + 2 * padding - kernel) / stride + 1;
        OutWidth = (width + 2 * padding - kernel) / stride + 1;
    }

    /// <summary>Whether each input sample is laid out [channels, height, width] rather than [height, width, channels].</summary>
    public bool ChannelsFirst { get; }

    /// <summary>Input rows.</summary>
    public int Height { get; }
    /// <summary>Input columns.</summary>
    public int Width { get; }
    /// <summary>Input channels.</summary>
    public int Channels { get; }
    /// <summary>Output channels.</summary>
    public int Filters { get; }
    /// <summary>Kernel side.</summary>
    public int Kernel { get; }
    /// <summary>Stride in both directions.</summary>
    public int Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }
    /// <summary>Output rows: (H + 2P - K) / S + 1.</summary>
    public int OutHeight { get; }
    /// <summary>Output columns.</summary>
    public int OutWidth { get; }
    /// <summary>Initialization scheme.</summary>
    public InitKind Init { get; }
    /// <summary>Orthogonal gain.</summary>
    public double Gain { get; }

    int Patch => Kernel * Kernel * Channels;

    /// <inheritdoc/>
    public override int InputSize => Height * Width * Channels;

    /// <inheritdoc/>
    public override int OutputSize => OutHeight * OutWidth * Filters;

    /// <inheritdoc/>
    public override int ParameterCount => Patch * Filters + Filters;

    /// <inheritdoc/>
    public override string ToString() =>
        $"conv {Height}x{Width}x{Channels}{(ChannelsFirst ? " (channels first)" : "")} -> {Filters} k{Kernel} s{Stride} p{Padding}";

    /// <inheritdoc/>
    public override void Initialize(Span<float> parameters, Rng rng) =>
        Nn.Init.WeightAndBias(Init, parameters[..(Patch * Filters)], parameters[(Patch * Filters)..], Patch, Filters, Gain, rng);

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, int batch)
    {
        CheckForward(parameters, x, y, batch);
        int rows = batch * OutHeight * OutWidth;
        Span<float> columns = Scratch(ref _columns, rows * Patch);
        ImageToColumns(x, batch, columns);
        Elementwise.BroadcastRows(parameters[(Patch * Filters)..], y, rows);
        Gemm.Multiply(columns, false, parameters[..(Patch * Filters)], false, y, rows, Filters, Patch, accumulate: true, Path, Threads);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> gradients, int batch)
    {
        CheckBackward(parameters, x, y, dy, dx, gradients, batch);
        int rows = batch * OutHeight * OutWidth, weights = Patch * Filters;
        // The columns are rebuilt from x rather than kept from Forward, so Backward depends only on its arguments.
        Span<float> columns = Scratch(ref _columns, rows * Patch);
        ImageToColumns(x, batch, columns);
        Gemm.Multiply(columns, true, dy, false, gradients[..weights], Patch, Filters, rows, accumulate: true, Path, Threads);
        Elementwise.AddColumnSums(dy, rows, gradients[weights..], VectorWidth);
        if (dx.IsEmpty) return;
        Span<float> columnGradients = Scratch(ref _columnGradients, rows * Patch);
        Gemm.Multiply(dy, false, parameters[..weights], true, columnGradients, rows, Patch, Filters, accumulate: false, Path, Threads);
        ColumnsToImage(columnGradients, batch, dx[..(batch * InputSize)]);
    }

    static Span<float> Scratch(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    void ImageToColumns(ReadOnlySpan<float> x, int batch, Span<float> columns)
    {
        // Refs instead of slices: the patch rows are short (kernel^2 runs of C floats), so per-slice bounds checks and
        // copy set-up would cost more than the copies. The spans' lengths were checked by Forward/Backward.
        ref float source = ref MemoryMarshal.GetReference(x);
        ref float column = ref MemoryMarshal.GetReference(columns);
        int plane = Height * Width;
        // Channel c of pixel (ih, iw) of sample b is at b * InputSize + offset(ih, iw) + c * channelStride.
        int channelStride = ChannelsFirst ? plane : 1, pixelStride = ChannelsFirst ? 1 : Channels;
        for (int b = 0, row = 0; b < batch; b++)
            for (int oh = 0; oh < OutHeight; oh++)
                for (int ow = 0; ow < OutWidth; ow++, row++)
                    for (int kh = 0; kh < Kernel; kh++)
                    {
                        int ih = oh * Stride - Padding + kh;
                        for (int kw = 0; kw < Kernel; kw++)
                        {
                            ref float dst = ref Unsafe.Add(ref column, row * Patch + (kh * Kernel + kw) * Channels);
                            int iw = ow * Stride - Padding + kw;
                            if ((uint)ih >= (uint)Height || (uint)iw >= (uint)Width)
                            {
                                for (int c = 0; c < Channels; c++) Unsafe.Add(ref dst, c) = 0;
                                continue;
                            }
                            ref float src = ref Unsafe.Add(ref source, b * InputSize + (ih * Width + iw) * pixelStride);
                            for (int c = 0; c < Channels; c++) Unsafe.Add(ref dst, c) = Unsafe.Add(ref src, c * channelStride);
                        }
                    }
    }

    void ColumnsToImage(ReadOnlySpan<float> columns, int batch, Span<float> dx)
    {
        dx.Clear();
        int row = 0;
        for (int b = 0; b < batch; b++)
            for (int oh = 0; oh < OutHeight; oh++)
                for (int ow = 0; ow < OutWidth; ow++, row++)
                    for (int kh = 0; kh < Kernel; kh++)
                        for (int kw = 0; kw < Kernel; kw++)
                        {
                            int ih = oh * Stride - Padding + kh, iw = ow * Stride - Padding + kw;
                            if ((uint)ih >= (uint)Height || (uint)iw >= (uint)Width) continue;
                            ReadOnlySpan<float> src = columns.Slice(row * Patch + (kh * Kernel + kw) * Channels, Channels);
                            if (ChannelsFirst)
                            {
                                for (int c = 0; c < Channels; c++) dx[((b * Channels + c) * Height + ih) * Width + iw] += src[c];
                                continue;
                            }
                            Span<float> dst = dx.Slice(((b * Height + ih) * Width + iw) * Channels, Channels);
                            System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
                        }
    }
}
