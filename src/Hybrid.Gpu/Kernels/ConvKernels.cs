using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// A convolution as the CPU's <c>Conv2d</c> computes it (Hybrid.Nn.Layers): weights [kernel row, kernel column, channel;
/// filter] row-major in theta at <see cref="Offset"/>, the filters' biases after them, zero padding, square kernel and
/// stride, the output pixel-major (filter fastest: <c>(oh * outWidth + ow) * filters + f</c>), as the dense layer after
/// it reads it.
/// </summary>
public struct ConvShape
{
    public ArrayView<float> Theta;
    public int Offset;
    public int Height;
    public int Width;
    public int Channels;
    public int Filters;
    public int Kernel;
    public int Stride;
    public int Padding;
    public int OutHeight;
    public int OutWidth;
    /// <summary>Non-zero: each input sample is [channels, height, width] (Hybrid's MinAtar observations); else [height, width, channels].</summary>
    public int ChannelsFirst;

    /// <summary>Outputs per sample.</summary>
    public readonly int Outputs => OutHeight * OutWidth * Filters;
}

/// <summary>The convolutional torso's kernels on the device.</summary>
public static class ConvKernels
{
    /// <summary>
    /// The convolution and its ReLU for <paramref name="rows"/> samples, a thread per output: inputs row-major (sample b's
    /// at <c>b * inputSize</c>), outputs feature-major into <paramref name="features"/> (output k of sample b at
    /// <c>k * capacity + b</c>), where the dense layers' kernels read their input.
    /// </summary>
    public static void ForwardRelu(Index1D index, int stride, ConvShape c, ArrayView<float> inputs, ArrayView<float> features, int rows, int capacity)
    {
        int outputs = c.Outputs, total = rows * outputs, inputSize = c.Height * c.Width * c.Channels, plane = c.Height * c.Width;
        int patch = c.Kernel * c.Kernel * c.Channels;
        for (int i = index; i < total; i += stride)
        {
            int b = i / outputs, o = i - b * outputs, f = o % c.Filters, pixel = o / c.Filters, oh = pixel / c.OutWidth, ow = pixel - oh * c.OutWidth;
            float sum = c.Theta[c.Offset + patch * c.Filters + f];
            for (int kh = 0; kh < c.Kernel; kh++)
            {
                int ih = oh * c.Stride - c.Padding + kh;
                if (ih < 0 || ih >= c.Height) continue;
                for (int kw = 0; kw < c.Kernel; kw++)
                {
                    int iw = ow * c.Stride - c.Padding + kw;
                    if (iw < 0 || iw >= c.Width) continue;
                    int weight = c.Offset + (kh * c.Kernel + kw) * c.Channels * c.Filters + f;
                    for (int ch = 0; ch < c.Channels; ch++)
                    {
                        float x = inputs[b * inputSize + (c.ChannelsFirst != 0 ? ch * plane + ih * c.Width + iw : (ih * c.Width + iw) * c.Channels + ch)];
                        sum += x * c.Theta[weight + ch * c.Filters];
                    }
                }
            }
            features[o * capacity + b] = sum > 0f ? sum : 0f;
        }
    }
}
